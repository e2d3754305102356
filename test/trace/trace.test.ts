// The trace parsers on real captures of this kernel (test/trace/fixtures/*.json, written by
// test/kernel/trace-sandbox.mjs: client c -> router r with kube-proxy's rules -> server s), golden:
// the rules each probe matched, in order, with verdicts; conntrack's tuples; DNAT, masquerade, drops.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import t from 'tap';
import { natOf, parseConntrack } from '../../src/trace/conntrack.js';
import { groupPasses, parseNftTrace, parseXtablesTrace } from '../../src/trace/monitor-text.js';
import { chainsOf, isOutbound, traceResult } from '../../src/trace/result.js';
import type { NamespaceCapture, TraceProto } from '../../src/trace/types.js';

interface Fixture {
  mode: string;
  probes: { name: string; proto: TraceProto; sport: number; answer: string; captures: NamespaceCapture[] }[];
}
const fixture = (mode: string) => JSON.parse(readFileSync(`test/trace/fixtures/${mode}.json`, 'utf8')) as Fixture;
const capture = (mode: string, probe: string, netns: string) =>
  fixture(mode)
    .probes.find((p) => p.name === probe)!
    .captures.find((c) => c.netns === netns)!;

t.test('xtables-monitor: the rules as iptables-save prints them, with comments, handles and verdicts', async (t) => {
  const events = parseXtablesTrace(capture('iptables', 'tcp-dnat-masquerade', 'r').trace, 'r');
  const syn = groupPasses(events).find((p) => p.packet.tcpFlags?.join() === 'syn')!;
  t.same(syn.packet, {
    iif: 'r0',
    src: '10.0.0.2',
    dst: '172.30.0.41',
    proto: 'tcp',
    sport: 40001,
    dport: 80,
    ttl: 64,
    dscp: 0x2d,
    ipId: syn.packet.ipId,
    len: 60,
    tcpFlags: ['syn'],
  });
  const nat = syn.hooks.find((h) => h.table === 'nat' && h.chain === 'PREROUTING')!;
  t.same(
    nat.events.map((e) => [e.chain, e.kind, e.verdict, e.target ?? '']),
    [
      ['PREROUTING', 'rule', 'jump', 'KUBE-SERVICES'],
      ['KUBE-SERVICES', 'rule', 'jump', 'KUBE-SVC-4LVCYZMTA5CQO6SX'],
      ['KUBE-SVC-4LVCYZMTA5CQO6SX', 'rule', 'jump', 'KUBE-MARK-MASQ'],
      ['KUBE-MARK-MASQ', 'rule', 'continue', ''],
      ['KUBE-SVC-4LVCYZMTA5CQO6SX', 'rule', 'jump', 'KUBE-SEP-4FCGS53T536OID6J'],
      ['KUBE-SEP-4FCGS53T536OID6J', 'rule', 'accept', ''],
    ],
  );
  t.equal(nat.events[1]!.rule, '-4 -t nat -A KUBE-SERVICES -d 172.30.0.41/32 -p tcp -m comment --comment "ns1/web:http cluster IP" -m tcp --dport 80 -j KUBE-SVC-4LVCYZMTA5CQO6SX');
  t.equal(nat.events.at(-1)!.rule, '-4 -t nat -A KUBE-SEP-4FCGS53T536OID6J -p tcp -m comment --comment "ns1/web:http" -m tcp -j DNAT --to-destination 10.1.0.2:80');
  t.ok(
    nat.events.every((e) => typeof e.handle === 'number'),
    'every rule has its handle',
  );
  const forward = syn.hooks.find((h) => h.chain === 'FORWARD')!;
  t.same(forward.packet.dst, '10.1.0.2', 'after DNAT the packet goes to the endpoint');
  t.same(forward.packet.mark, '0x4000', 'marked for masquerade');
  t.same(forward.events.at(-1), { ...forward.events.at(-1), kind: 'policy', verdict: 'accept' });
  t.match(syn.hooks.at(-1)!.events.at(-1), { chain: 'KUBE-POSTROUTING', verdict: 'accept', rule: /-j MASQUERADE --random-fully$/ });
  // RETURN is printed as the verdict's number: read as return.
  const marker = parseXtablesTrace(capture('iptables', 'tcp-dnat-masquerade', 'r').trace, 'r').find((e) => /-j RETURN$/.test(e.rule ?? ''));
  t.equal(marker?.verdict, 'return');
});

t.test('nft monitor trace: rules in nft syntax, handles, verdicts, vmap gotos', async (t) => {
  const events = parseNftTrace(capture('nftables', 'tcp-rejected', 'r').trace, 'r');
  const out = groupPasses(events).find(isOutbound)!;
  t.same(chainsOf(out), ['kube-proxy/nat-prerouting', 'kube-proxy/filter-forward', 'kube-proxy/service-endpoints-check', 'kube-proxy/reject-chain']);
  const all = out.hooks.flatMap((h) => h.events);
  t.match(
    all.find((e) => e.chain === 'service-endpoints-check'),
    { rule: 'ip daddr . meta l4proto . th dport vmap @no-endpoint-services', verdict: 'goto', target: 'reject-chain', handle: Number },
  );
  t.match(all.at(-1), { chain: 'reject-chain', rule: 'reject', verdict: 'reject' });
  const dropped = groupPasses(parseNftTrace(capture('nftables', 'tcp-dropped', 'r').trace, 'r')).find(isOutbound)!;
  t.match(dropped.hooks.at(-1)!.events.at(-1), { family: 'ip', table: 'kube-proxy', chain: 'service-endpoints-check', verdict: 'drop' });
});

t.test('conntrack: original and reply tuples, state, flags; NAT read from them', async (t) => {
  const entries = parseConntrack(capture('iptables', 'tcp-dnat-masquerade', 'r').conntrack);
  const e = entries.find((x) => x.orig.sport === 40001)!;
  t.match(e, {
    proto: 'tcp',
    state: 'TIME_WAIT',
    orig: { src: '10.0.0.2', dst: '172.30.0.41', sport: 40001, dport: 80 },
    reply: { src: '10.1.0.2', dst: '10.1.0.1', sport: 80 },
    flags: ['ASSURED'],
    mark: 0,
  });
  t.same(natOf(e), { dnat: { from: '172.30.0.41:80', to: '10.1.0.2:80' }, snat: { from: '10.0.0.2:40001', to: `10.1.0.1:${e.reply.dport}` } });
  const [unreplied] = parseConntrack(
    'tcp      6 119 SYN_SENT src=10.0.0.2 dst=172.30.0.43 sport=40003 dport=80 [UNREPLIED] src=172.30.0.43 dst=10.0.0.2 sport=80 dport=40003 mark=0 use=1\n',
  );
  t.match(unreplied, { state: 'SYN_SENT', flags: ['UNREPLIED'] });
  t.same(natOf(unreplied!), {}, 'no NAT');
  const [udp] = parseConntrack('udp      17 29 src=10.0.0.2 dst=172.30.0.42 sport=40002 dport=53 src=10.1.0.2 dst=10.1.0.1 sport=53 dport=44742 mark=0 use=1');
  t.match(udp, { proto: 'udp', timeout: 29, orig: { dport: 53 }, reply: { dport: 44742 }, flags: [] });
  t.notOk(udp!.state);
});

for (const mode of ['iptables', 'nftables']) {
  t.test(`${mode}: every probe's result`, async (t) => {
    const f = fixture(mode);
    const result = (name: string) => {
      const p = f.probes.find((x) => x.name === name)!;
      return traceResult({ proto: p.proto, sport: p.sport }, p.captures);
    };
    for (const name of ['tcp-dnat-masquerade', 'udp-dnat-masquerade']) {
      const r = result(name);
      const port = name.startsWith('tcp') ? 80 : 53;
      t.same(r.path, ['c', 'r', 's'], `${name}: client, router, server`);
      t.same(r.dnat, { netns: 'r', from: `172.30.0.${port === 80 ? 41 : 42}:${port}`, to: `10.1.0.2:${port}` }, `${name}: DNAT on the router`);
      t.match(r.snat, { netns: 'r', from: `10.0.0.2:${r.probe.sport}`, to: /^10\.1\.0\.1:\d+$/ }, `${name}: masqueraded to the router's address`);
      t.notOk(r.dropped);
      const back = r.namespaces.find((n) => n.netns === 'c')!.passes.filter((p) => !isOutbound(p));
      t.ok(
        back.some((p) => p.packet.dport === r.probe.sport && p.packet.src === `172.30.0.${port === 80 ? 41 : 42}`),
        `${name}: the reply traced back to the client, un-NATed`,
      );
    }
    const dropped = result('tcp-dropped');
    t.same(dropped.path, ['c', 'r']);
    t.match(dropped.dropped, { netns: 'r', verdict: 'drop', rule: mode === 'iptables' ? /has no local endpoints.*-j DROP$/ : /vmap @no-endpoint-services/ });
    // A packet dropped before conntrack confirms its entry leaves none on the router; the client's stays unreplied.
    t.notOk(dropped.namespaces.find((n) => n.netns === 'r')!.conntrack);
    t.match(dropped.namespaces.find((n) => n.netns === 'c')!.conntrack, { state: 'SYN_SENT', flags: ['UNREPLIED'] });
    const icmp = result('icmp-routed');
    t.same(icmp.path, ['c', 'r', 's'], 'ICMP: the ping routed through r to s');
    t.notOk(icmp.dnat);
    t.notOk(icmp.snat);
    t.match(icmp.namespaces.find((n) => n.netns === 's')!.conntrack, { proto: 'icmp', orig: { src: '10.0.0.2', dst: '10.1.0.2', id: 4242 }, reply: { id: 4242 } });
    const echoBack = icmp.namespaces.find((n) => n.netns === 'c')!.passes.filter((p) => !isOutbound(p));
    t.ok(
      echoBack.some((p) => p.packet.src === '10.1.0.2'),
      'ICMP: the echo reply traced back to c (its DSCP is not the probe mark)',
    );
    if (mode === 'nftables') t.match(echoBack[0]!.packet, { proto: 'icmp', icmpType: 'echo-reply', icmpId: 4242 });
    const rejected = result('tcp-rejected');
    t.match(rejected.dropped, { netns: 'r', verdict: 'reject', rule: mode === 'iptables' ? /has no endpoints.*-j REJECT/ : /^reject$/ });
  });
}

// Golden files of the structured result (test/golden/trace/MODE-PROBE.json; `UPDATE_GOLDEN=1` rewrites them).
const update = process.env.UPDATE_GOLDEN === '1';
for (const mode of ['iptables', 'nftables']) {
  for (const p of fixture(mode).probes) {
    t.test(`golden ${mode} ${p.name}`, async (t) => {
      const text = `${JSON.stringify(traceResult({ proto: p.proto, sport: p.sport }, p.captures), null, 1)}\n`;
      const file = `test/golden/trace/${mode}-${p.name}.json`;
      if (update || !existsSync(file)) writeFileSync(file, text);
      t.equal(text, readFileSync(file, 'utf8'), `${file} (UPDATE_GOLDEN=1 rewrites it)`);
    });
  }
}

// A real capture of a knetlab scenario (scenarios/nodeport-cluster-policy.yaml held with `knetlab up`):
// curl from host/client to the NodePort on node-2, which has no pod; the pod is on node-1.
t.test('NodePort via another node: DNAT and masquerade on node-2, across flannel VXLAN to the pod on node-1', async (t) => {
  const f = JSON.parse(readFileSync('test/trace/fixtures/nodeport-cluster-via-node-2.json', 'utf8')) as {
    probe: { proto: TraceProto; sport: number };
    captures: NamespaceCapture[];
  };
  const r = traceResult(f.probe, f.captures);
  t.same(r.path, ['client', 'node-2', 'node-1', 'nginx-1.default'], 'the nodes and the pod crossed, in order');
  t.same(r.dnat, { netns: 'node-2', from: '192.168.8.202:20651', to: '172.20.0.3:80' }, 'DNATed on node-2 to the pod');
  t.match(r.snat, { netns: 'node-2', from: '192.168.8.200:40010', to: /^172\.20\.1\.0:\d+$/ }, "masqueraded to node-2's flannel.1 address");
  t.notOk(r.dropped);
  const node2 = r.namespaces.find((n) => n.netns === 'node-2')!;
  t.same(chainsOf(node2.passes.find(isOutbound)!).slice(0, 8), [
    'nat/PREROUTING',
    'nat/KUBE-SERVICES',
    'nat/KUBE-NODEPORTS',
    'nat/KUBE-EXT-2CMXP7HKUVJN7L6M',
    'nat/KUBE-MARK-MASQ',
    'nat/KUBE-EXT-2CMXP7HKUVJN7L6M',
    'nat/KUBE-SVC-2CMXP7HKUVJN7L6M',
    'nat/KUBE-SEP-6GO5CM43A6CZXTY2',
  ]);
  const node1 = r.namespaces.find((n) => n.netns === 'node-1')!;
  t.match(node1.passes.find(isOutbound)!.packet, { iif: 'flannel.1', dst: '172.20.0.3', dport: 80 }, 'node-1 sees it come out of flannel.1');
  t.same(node1.nat, {}, 'no NAT on node-1');
  t.match(
    r.namespaces.find((n) => n.netns === 'nginx-1.default')!.conntrack,
    { orig: { src: '172.20.1.0', dst: '172.20.0.3', dport: 80 }, flags: ['ASSURED'] },
    'the pod sees node-2’s flannel.1 address',
  );
  t.same(r.namespaces.find((n) => n.netns === 'node-3')!.passes, [], 'node-3 saw nothing of it');
});

// Real captures of Local policy: the client sends to node-2's NodePort, node-2 has no local endpoint.
for (const mode of ['iptables', 'nftables'] as const) {
  t.test(`${mode}: Local policy, a node without a local endpoint drops the NodePort request, and the trace names the rule`, async (t) => {
    const f = JSON.parse(readFileSync(`test/trace/fixtures/nodeport-local-dropped-${mode}.json`, 'utf8')) as {
      probe: { proto: TraceProto; sport: number };
      captures: NamespaceCapture[];
    };
    const r = traceResult(f.probe, f.captures);
    t.same(r.path, ['client', 'node-2'], 'it gets no further than node-2');
    t.notOk(r.dnat, 'not DNATed');
    t.notOk(r.snat, 'not masqueraded');
    if (mode === 'iptables') {
      t.match(r.dropped, {
        netns: 'node-2',
        table: 'filter',
        chain: 'KUBE-EXTERNAL-SERVICES',
        verdict: 'drop',
        rule: '-4 -t filter -A KUBE-EXTERNAL-SERVICES -p tcp -m comment --comment "default/nginx has no local endpoints" -m addrtype --dst-type LOCAL -m tcp --dport 20651 -j DROP',
      });
    } else {
      t.match(r.dropped, {
        netns: 'node-2',
        family: 'ip',
        table: 'kube-proxy',
        chain: 'nodeport-endpoints-check',
        verdict: 'drop',
        rule: 'ip daddr @nodeport-ips meta l4proto . th dport vmap @no-endpoint-nodeports',
      });
    }
    t.same(r.namespaces.find((n) => n.netns === 'node-1')!.passes, [], 'node-1 saw nothing of it');
    t.match(r.namespaces.find((n) => n.netns === 'client')!.conntrack, { state: 'SYN_SENT', flags: ['UNREPLIED'] }, "the client's connection never answered");
  });
}
