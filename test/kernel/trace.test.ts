// Tracing one probe on the real kernel, in both kube-proxy modes: trace-sandbox.mjs (under unshare,
// against the compiled dist/) builds client -> router -> server namespaces with kube-proxy-shaped
// rules on the router and traces a TCP and a UDP probe through DNAT and masquerade, one dropped
// and one rejected; the structured result is asserted here, and that disarming left nothing.
// The fixtures of test/trace/ are this script's output:
//   unshare --net --mount --pid --fork --mount-proc -- node test/kernel/trace-sandbox.mjs MODE
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import t from 'tap';
import { chainsOf, isOutbound, traceResult } from '../../src/trace/result.js';
import type { NamespaceCapture, TraceProto } from '../../src/trace/types.js';

const sandbox = 'test/kernel/trace-sandbox.mjs';
const notRoot = process.getuid?.() !== 0 ? 'needs root: it creates network namespaces and nf_tables tables (in a private sandbox)' : false;

interface Run {
  mode: string;
  routes: Record<string, unknown>;
  probes: { name: string; proto: TraceProto; sport: number; answer: string; captures: NamespaceCapture[]; tablesLeft: string[]; monitorsLeft: string[] }[];
}

function inSandbox(mode: string): { status: number | null; stdout: string; stderr: string } {
  const { NODE_OPTIONS: _loader, ...env } = process.env; // the helper is plain JavaScript: no TypeScript loader
  return spawnSync('unshare', ['--net', '--mount', '--pid', '--fork', '--mount-proc', '--', process.execPath, sandbox, mode], { encoding: 'utf8', env, timeout: 120_000 });
}

for (const mode of ['iptables', 'nftables'] as const) {
  t.test(`${mode} mode: a probe's path, NAT and drop, from the kernel's own trace`, { skip: notRoot }, async (t) => {
    if (!existsSync('dist/kernel/trace.js')) throw new Error('dist/kernel/trace.js is missing: run `npm run build` first (npm test does)');
    const r = inSandbox(mode);
    t.equal(r.status, 0, r.stderr);
    if (r.status !== 0) return;
    const run = JSON.parse(r.stdout) as Run;
    const probe = (name: string) => run.probes.find((p) => p.name === name)!;
    const result = (name: string) => traceResult({ proto: probe(name).proto, sport: probe(name).sport }, probe(name).captures);

    for (const p of run.probes) {
      t.same(p.tablesLeft, [], `${p.name}: no knetlab-trace table left in any namespace`);
      t.same(p.monitorsLeft, [], `${p.name}: no monitor process left`);
    }
    t.equal(probe('tcp-dnat-masquerade').answer, 'hi', 'the TCP probe was answered');
    t.equal(probe('udp-dnat-masquerade').answer, 'ping', 'the UDP probe was answered');

    for (const [name, vip, port] of [
      ['tcp-dnat-masquerade', '172.30.0.41', 80],
      ['udp-dnat-masquerade', '172.30.0.42', 53],
    ] as const) {
      const res = result(name);
      t.same(res.path, ['c', 'r', 's'], `${name}: the path`);
      t.same(res.dnat, { netns: 'r', from: `${vip}:${port}`, to: `10.1.0.2:${port}` }, `${name}: DNATed on the router to the endpoint`);
      t.match(res.snat, { netns: 'r', from: `10.0.0.2:${res.probe.sport}`, to: /^10\.1\.0\.1:\d+$/ }, `${name}: masqueraded to the router's address`);
      t.notOk(res.dropped, `${name}: not dropped`);
      const first = res.namespaces.find((n) => n.netns === 'r')!.passes.find(isOutbound)!;
      const chains = chainsOf(first);
      if (mode === 'iptables') {
        t.match(
          chains,
          [
            'nat/PREROUTING',
            'nat/KUBE-SERVICES',
            /^nat\/KUBE-SVC-/,
            'nat/KUBE-MARK-MASQ',
            /^nat\/KUBE-SVC-/,
            /^nat\/KUBE-SEP-/,
            'filter/FORWARD',
            'nat/POSTROUTING',
            'nat/KUBE-POSTROUTING',
          ],
          `${name}: the chains, in order`,
        );
        const rules = first.hooks.flatMap((h) => h.events).map((e) => e.rule ?? '');
        t.ok(
          rules.some((rule) => rule.includes(`--comment "${name.startsWith('tcp') ? 'ns1/web:http' : 'ns1/dns:dns'} cluster IP"`)),
          `${name}: the rules keep kube-proxy's comments`,
        );
        t.ok(
          rules.some((rule) => rule.endsWith(`-j DNAT --to-destination 10.1.0.2:${port}`)),
          `${name}: the DNAT rule`,
        );
        t.ok(
          rules.some((rule) => rule.endsWith('-j MASQUERADE --random-fully')),
          `${name}: the MASQUERADE rule`,
        );
      } else {
        t.match(
          chains,
          [
            'kube-proxy/nat-prerouting',
            'kube-proxy/services',
            /^kube-proxy\/service-/,
            'kube-proxy/mark-for-masquerade',
            /^kube-proxy\/service-/,
            /^kube-proxy\/endpoint-/,
            'kube-proxy/filter-forward',
            'kube-proxy/nat-postrouting',
            'kube-proxy/masquerading',
          ],
          `${name}: the chains, in order`,
        );
        const rules = first.hooks.flatMap((h) => h.events).map((e) => e.rule ?? '');
        t.ok(rules.includes(`meta l4proto ${res.probe.proto} dnat to 10.1.0.2:${port}`), `${name}: the DNAT rule`);
        t.ok(rules.includes('masquerade fully-random'), `${name}: the masquerade rule`);
      }
      const back = res.namespaces.find((n) => n.netns === 'c')!.passes.filter((p) => !isOutbound(p));
      t.ok(
        back.some((p) => p.packet.src === vip && p.packet.dport === res.probe.sport),
        `${name}: the reply is traced back to the client, from the Service address`,
      );
    }

    t.same(run.routes.forward, { type: 'unicast', dst: '10.1.0.2', dev: 'r1' }, 'ip route get: the router forwards to the endpoint on r1');
    t.same(
      run.routes.none,
      { type: 'unreachable', dst: '10.0.0.2', error: 'No route to host' },
      'ip route get: the server does not forward, so a packet from it arriving on s0 has no route',
    );

    const dropped = result('tcp-dropped');
    t.equal(probe('tcp-dropped').answer, 'failed: timed out');
    t.same(dropped.path, ['c', 'r']);
    t.match(dropped.dropped, {
      netns: 'r',
      verdict: 'drop',
      ...(mode === 'iptables' ? { chain: 'KUBE-EXTERNAL-SERVICES', rule: /--comment "ns2\/local:http has no local endpoints".*-j DROP$/ } : { chain: 'service-endpoints-check' }),
    });
    const icmp = result('icmp-routed');
    t.equal(probe('icmp-routed').answer, '1 received', 'the ping was answered');
    t.same(icmp.path, ['c', 'r', 's'], 'ICMP: traced by its echo identifier through r to s');
    t.ok(
      icmp.namespaces.find((n) => n.netns === 'c')!.passes.some((p) => !isOutbound(p) && p.packet.src === '10.1.0.2'),
      'ICMP: the echo reply traced back',
    );
    const rejected = result('tcp-rejected');
    t.match(probe('tcp-rejected').answer, /Connection refused/);
    t.match(rejected.dropped, {
      netns: 'r',
      verdict: 'reject',
      ...(mode === 'iptables' ? { chain: 'KUBE-SERVICES', rule: /--comment "ns3\/empty:http has no endpoints".*-j REJECT/ } : { chain: 'reject-chain', rule: 'reject' }),
    });
  });
}
