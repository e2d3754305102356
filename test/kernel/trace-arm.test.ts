// Arming and disarming a trace, with the commands recorded (no root): the table, the monitors,
// the marker pings that prove a monitor listens, and that every way out removes what was made.
import { readFileSync } from 'node:fs';
import t from 'tap';
import { RecordingRunner } from '../../src/kernel/exec.js';
import { armTrace, markersIn, monitorCommand, type MonitorProcess, routeGet, TRACE_MARKER_ADDRESS, traceRuleset } from '../../src/kernel/trace.js';
import type { NamespaceCapture } from '../../src/trace/types.js';

const MARKER = (id: string) =>
  `PACKET: 1 ${id} OUT=lo NFPROTO=2 SRC=127.0.0.1 DST=${TRACE_MARKER_ADDRESS} LEN=84 TOS=0x0 TTL=64 ID=1 DF \n TRACE: 1 ${id} knetlab-trace:out-raw:rule:0xb:CONTINUE  \n`;

/** Monitors whose output grows by a marker each time the runner pings in their namespace (or never, for `deaf`). */
function fakes(deaf: string[] = []) {
  const out = new Map<string, string>();
  const stopped: string[] = [];
  const runner = new RecordingRunner((argv) => {
    const ns = argv[3]!;
    if (argv.includes('ping') && !deaf.includes(ns) && ns !== 'lo-down') out.set(ns, (out.get(ns) ?? '') + MARKER(`m${ns}`));
    if (argv.includes('conntrack'))
      return { stdout: `tcp      6 119 SYN_SENT src=10.0.0.2 dst=10.0.0.3 sport=40001 dport=80 [UNREPLIED] src=10.0.0.3 dst=10.0.0.2 sport=80 dport=40001 mark=0 use=1\n` };
    if (argv.includes('ping') && ns === 'lo-down') return { exitCode: 2, stderr: 'ping: connect: Network is unreachable\n' };
    if (argv.join(' ').endsWith('ip -j -d link show') && ns === 'tunnelled')
      return { stdout: '[{"ifname":"lo"},{"ifname":"flannel.1","linkinfo":{"info_kind":"vxlan","info_data":{"id":1,"local":"192.168.8.202","port":8472}}}]' };
    if (argv.includes('route') && argv.includes('flannel.1')) return { stdout: '[{"dst":"10.244.0.0/24","gateway":"10.244.0.0","flags":["onlink"]}]' };
    if (argv.includes('neigh')) return { stdout: '[{"dst":"10.244.0.0","lladdr":"02:00:00:00:00:01","state":["PERMANENT"]}]' };
    if (argv.includes('fdb')) return { stdout: '[{"mac":"02:00:00:00:00:01","dst":"192.168.8.201","flags":["self"],"state":"permanent"}]' };
    if (argv.includes('ipvsadm'))
      return {
        exitCode: 2,
        stderr:
          "modprobe: FATAL: Module ip_vs not found\nCan't initialize ipvs: Protocol not available\nAre you sure that IP Virtual Server is built in the kernel or as module?\n",
      };
    if (argv.includes('nft') && argv.includes('-f') && ns === 'broken') return { exitCode: 1, stderr: 'Error: Could not process rule: Operation not supported' };
    return {};
  });
  const startMonitor = (argv: readonly string[]): MonitorProcess => {
    const ns = argv[3]!;
    // `overflowing`: a monitor that ended by itself, as xtables-monitor does when its socket overflows.
    const overflowing = ns === 'overflowing';
    return {
      output: () => (overflowing ? '' : (out.get(ns) ?? '')),
      stop: async () => {
        stopped.push(ns);
        return { stdout: overflowing ? '' : (out.get(ns) ?? ''), stderr: overflowing ? 'cannot receive from nfnetlink socket: No buffer space available' : '' };
      },
      ended: () => overflowing,
    };
  };
  return { runner, startMonitor, stopped };
}

t.test('the ruleset marks only the probe: its source port, the DSCP mark it then carries, its connections (a label bit of its port), the marker', async (t) => {
  t.equal(
    traceRuleset({ proto: 'udp', sport: 40002 }),
    `table inet knetlab-trace {
  chain pre-raw {
    type filter hook prerouting priority raw - 1; policy accept;
    meta l4proto udp th sport 40002 ip dscp set 0x2d
    ip dscp 0x2d meta nftrace set 1
    meta l4proto udp th dport 40002 meta nftrace set 1
  }
  chain out-raw {
    type filter hook output priority raw - 1; policy accept;
    meta l4proto udp th sport 40002 ip dscp set 0x2d
    ip dscp 0x2d meta nftrace set 1
    meta l4proto udp th dport 40002 meta nftrace set 1
    ip daddr 127.0.0.127 meta nftrace set 1
  }
  chain pre-ct {
    type filter hook prerouting priority -199; policy accept;
    ip dscp 0x2d ct label set 66
    ct label 66 meta nftrace set 1
  }
  chain out-ct {
    type filter hook output priority -199; policy accept;
    ip dscp 0x2d ct label set 66
    ct label 66 meta nftrace set 1
  }
  chain in-unmark {
    type filter hook input priority 400; policy accept;
    ip dscp 0x2d ip dscp set cs0
  }
}
`,
  );
  t.match(
    traceRuleset({ proto: 'icmp', sport: 4242 }),
    /pre-raw \{\n.*\n {4}icmp type echo-request icmp id 4242 ip dscp set 0x2d\n {4}ip dscp 0x2d meta nftrace set 1\n {4}icmp type echo-reply icmp id 4242 meta nftrace set 1\n/,
    'ICMP: the echo identifier',
  );
  t.same(monitorCommand('node-1', 'xtables'), ['ip', 'netns', 'exec', 'node-1', 'xtables-monitor', '--trace']);
  t.same(monitorCommand('node-1', 'nft'), ['ip', 'netns', 'exec', 'node-1', 'nft', '-a', 'monitor', 'trace']);
});

t.test('arm: a table and a listening monitor per namespace; disarm: a flush marker, conntrack, then nothing left', async (t) => {
  const { runner, startMonitor, stopped } = fakes();
  const trace = await armTrace(runner, { namespaces: ['a', 'b'], probe: { proto: 'tcp', sport: 40001 }, monitor: 'xtables', startMonitor });
  const armed = runner.calls.map((c) => c.argv.join(' '));
  t.same(
    armed.filter((c) => c.includes('nft -f -')),
    ['ip netns exec a nft -f -', 'ip netns exec b nft -f -'],
  );
  t.equal(runner.calls[0]!.input, traceRuleset({ proto: 'tcp', sport: 40001 }), 'the ruleset on stdin');
  t.ok(
    armed.some((c) => c === `ip netns exec a ping -n -q -c 1 -W 0.2 ${TRACE_MARKER_ADDRESS}`),
    'a marker ping until the monitor shows it',
  );
  runner.calls.length = 0;
  const captures: NamespaceCapture[] = await trace.disarm();
  const disarmed = runner.calls.map((c) => c.argv.join(' '));
  t.same(
    disarmed.filter((c) => !c.includes('ping')),
    [
      'ip netns exec a conntrack -L -p tcp',
      'ip netns exec b conntrack -L -p tcp',
      'ip netns exec a ip -j -d link show',
      'ip netns exec b ip -j -d link show',
      'ip netns exec a nft delete table inet knetlab-trace',
      'ip netns exec b nft delete table inet knetlab-trace',
    ],
  );
  t.same(stopped, ['a', 'b'], 'every monitor stopped');
  t.same(
    captures.map((c) => [c.netns, c.monitor, markersIn(c.trace)]),
    [
      ['a', 'xtables', 2],
      ['b', 'xtables', 2],
    ],
  );
  t.match(captures[0]!.conntrack, /sport=40001/);
  await t.rejects(trace.disarm(), /disarmed twice/);
});

t.test('disarm also reads the tunnel devices (route, neighbours, fdb), nft maps in nft mode, IPVS connections in IPVS mode (skipped loudly without ip_vs)', async (t) => {
  const { runner, startMonitor } = fakes();
  const trace = await armTrace(runner, { namespaces: ['tunnelled', 'pod'], probe: { proto: 'tcp', sport: 40001 }, monitor: 'nft', ipvs: true, startMonitor });
  runner.calls.length = 0;
  const [node, pod] = await trace.disarm();
  // Namespaces are read in parallel: each one's commands in order.
  const state = (ns: string) =>
    runner.calls
      .filter((c) => c.argv[3] === ns)
      .map((c) => c.argv.slice(4).join(' '))
      .filter((c) => !/ping|conntrack|delete table/.test(c));
  t.same(state('tunnelled'), [
    'ip -j -d link show',
    'ip -j route show dev flannel.1',
    'ip -j neigh show dev flannel.1',
    'bridge -j fdb show dev flannel.1',
    'nft -j list maps ip',
    'ipvsadm -Lnc',
  ]);
  t.same(state('pod'), ['ip -j -d link show', 'nft -j list maps ip', 'ipvsadm -Lnc']);
  t.same(
    node!.tunnels?.map((x) => [x.device, JSON.parse(x.link).linkinfo.info_data.port, JSON.parse(x.fdb)[0].dst]),
    [['flannel.1', 8472, '192.168.8.201']],
  );
  t.notOk(pod!.tunnels, 'no tunnel device, no tunnels');
  t.same(pod!.ipvs, { skipped: "ipvsadm -Lnc failed, the kernel's ip_vs is needed: Can't initialize ipvs: Protocol not available" });
});

t.test('a monitor that shows nothing fails arming, bounded, naming the namespace; what was made is removed', async (t) => {
  const { runner, startMonitor, stopped } = fakes(['b']);
  const started = Date.now();
  await t.rejects(armTrace(runner, { namespaces: ['a', 'b'], probe: { proto: 'tcp', sport: 1 }, monitor: 'nft', startMonitor, readyTimeoutMs: 300 }), {
    code: 'ECOMMAND',
    message: 'the trace monitor in b printed no marker packet in 0.3 s',
  });
  t.ok(Date.now() - started < 3000, 'within its bound');
  t.same(stopped.sort(), ['a', 'b', 'b'], 'both monitors stopped');
  t.same(
    runner.calls.map((c) => c.argv.join(' ')).filter((c) => c.includes('delete table')),
    ['ip netns exec a nft delete table inet knetlab-trace', 'ip netns exec b nft delete table inet knetlab-trace'],
  );
});

t.test('a monitor that ended by itself fails arming at once, with its reason, not after the bound', async (t) => {
  const { runner, startMonitor } = fakes();
  const started = Date.now();
  await t.rejects(armTrace(runner, { namespaces: ['a', 'overflowing'], probe: { proto: 'tcp', sport: 1 }, monitor: 'xtables', startMonitor, readyTimeoutMs: 20_000 }), {
    code: 'ECOMMAND',
    message: 'the trace monitor in overflowing ended before it printed a marker packet: monitor: cannot receive from nfnetlink socket: No buffer space available',
  });
  t.ok(Date.now() - started < 5000, 'well within its 20 s bound');
});

t.test('a namespace whose marker ping fails says so', async (t) => {
  const { runner, startMonitor } = fakes();
  await t.rejects(armTrace(runner, { namespaces: ['lo-down'], probe: { proto: 'udp', sport: 1 }, monitor: 'nft', startMonitor, readyTimeoutMs: 200 }), {
    message: 'the trace monitor in lo-down printed no marker packet in 0.2 s: marker ping to 127.0.0.127 (needs lo up): ping: connect: Network is unreachable',
  });
});

t.test('disarm waits for a marker sent after the probe, however many the monitor printed before', async (t) => {
  const { runner, startMonitor } = fakes();
  const trace = await armTrace(runner, { namespaces: ['a'], probe: { proto: 'tcp', sport: 1 }, monitor: 'xtables', startMonitor });
  await runner.run(['ip', 'netns', 'exec', 'a', 'ping', 'again']); // a second marker printed while armed
  runner.calls.length = 0;
  const [capture] = await trace.disarm();
  t.equal(runner.calls.filter((c) => c.argv.includes('ping')).length, 1, 'one more marker ping');
  t.equal(markersIn(capture!.trace), 3);
});

t.test('a table the kernel refuses: the error, and the tables made before it removed', async (t) => {
  const { runner, startMonitor, stopped } = fakes();
  await t.rejects(
    armTrace(runner, { namespaces: ['a', 'broken'], probe: { proto: 'tcp', sport: 1 }, monitor: 'nft', startMonitor }),
    /^cannot arm tracing in broken: nft -f - failed \(exit 1\): Error: Could not process rule: Operation not supported$/,
  );
  t.same(stopped, [], 'no monitor was started');
  t.same(
    runner.calls.map((c) => c.argv.join(' ')).filter((c) => c.includes('delete table')),
    ['ip netns exec a nft delete table inet knetlab-trace'],
  );
});

t.test('markersIn counts each marker packet once, in both monitors’ real output', async (t) => {
  for (const mode of ['iptables', 'nftables']) {
    const f = JSON.parse(readFileSync(`test/trace/fixtures/${mode}.json`, 'utf8')) as { probes: { captures: NamespaceCapture[] }[] };
    for (const c of f.probes.flatMap((p) => p.captures)) t.equal(markersIn(c.trace), 2, `${mode} ${c.netns}: the arming marker and the flushing one`);
  }
});

t.test('routeGet: the decision from ip -j, or the refusal', async (t) => {
  const ok = new RecordingRunner(() => ({ stdout: '[{"dst":"10.0.0.5","from":"10.0.0.9","dev":"va","flags":[],"cache":[],"iif":"vb"}]' }));
  t.same(await routeGet(ok, 'r', { dst: '10.0.0.5', from: '10.0.0.9', iif: 'vb' }), { type: 'unicast', dst: '10.0.0.5', dev: 'va' });
  t.same(ok.calls[0]!.argv, ['ip', 'netns', 'exec', 'r', 'ip', '-j', 'route', 'get', '10.0.0.5', 'from', '10.0.0.9', 'iif', 'vb']);
  const none = new RecordingRunner(() => ({ exitCode: 2, stderr: 'RTNETLINK answers: Network is unreachable\n' }));
  t.same(await routeGet(none, 'r', { dst: '8.8.8.8' }), { type: 'unreachable', dst: '8.8.8.8', error: 'Network is unreachable' });
});

t.test("a step's tries: one ruleset marks every try's port (ping: echo id), each try one of the set", async (t) => {
  const tcp = traceRuleset({ proto: 'tcp', sport: 20100 }, [20100, 20101, 20102]);
  t.match(tcp, 'meta l4proto tcp th sport { 20100, 20101, 20102 } ip dscp set 0x2d');
  t.match(tcp, 'meta l4proto tcp th dport { 20100, 20101, 20102 } meta nftrace set 1');
  const icmp = traceRuleset({ proto: 'icmp', sport: 7 }, [7, 8]);
  t.match(icmp, 'icmp type echo-request icmp id { 7, 8 } ip dscp set 0x2d');
  t.match(icmp, 'icmp type echo-reply icmp id { 7, 8 } meta nftrace set 1');
  t.equal(traceRuleset({ proto: 'udp', sport: 40002 }, [40002]), traceRuleset({ proto: 'udp', sport: 40002 }), 'one port: the ruleset of one probe');
});
