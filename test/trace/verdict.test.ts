// What expectations judge of a probe (src/trace/verdict.ts), from real captures of knetlab scenarios
// on this kernel (test/trace/fixtures/): the DNAT, the masquerade, the dropping rule, the path.
import { readFileSync } from 'node:fs';
import t from 'tap';
import type { TraceReport } from '../../src/trace/report.js';
import { traceResult } from '../../src/trace/result.js';
import type { NamespaceCapture, ProbeKey } from '../../src/trace/types.js';
import { kernelSeen, kernelVerdict, natTarget, ruleText } from '../../src/trace/verdict.js';
import { fixtureNamer } from './namer.js';

const fixture = (name: string) => {
  const c = JSON.parse(readFileSync(`test/trace/fixtures/${name}.json`, 'utf8')) as { probe: ProbeKey; captures: NamespaceCapture[] };
  return kernelVerdict(traceResult(c.probe, c.captures));
};

t.test('NodePort through a node without the pod: DNAT and masquerade there, each with its rule, and the path', async (t) => {
  const v = fixture('nodeport-cluster-via-node-2');
  t.same(v.path, ['client', 'node-2', 'node-1', 'nginx-1.default']);
  t.match(v.dnat, { netns: 'node-2', from: '192.168.8.202:20651', to: '172.20.0.3:80', rule: { table: 'nat', chain: /^KUBE-SEP-/ } });
  t.notOk(v.dnat?.unconfirmed, 'conntrack confirmed it');
  t.match(v.masquerade, { netns: 'node-2', from: /^192\.168\.8\.200:\d+$/, to: /^172\.20\.1\.0:\d+$/, rule: { chain: 'KUBE-POSTROUTING' } });
  t.notOk(v.dropped);
});

t.test('Local policy on a node without the pod: the dropping rule and its text, no NAT', async (t) => {
  const ipt = fixture('nodeport-local-dropped-iptables');
  t.match(ipt.dropped, { netns: 'node-2', verdict: 'drop', text: /^filter KUBE-EXTERNAL-SERVICES -4 -t filter -A KUBE-EXTERNAL-SERVICES .*has no local endpoints.* -j DROP$/ });
  t.notOk(ipt.dnat);
  t.notOk(ipt.masquerade);
  t.same(ipt.path, ['client', 'node-2']);
  const nft = fixture('nodeport-local-dropped-nftables');
  t.match(nft.dropped, { verdict: 'drop', text: /^kube-proxy nodeport-endpoints-check .*vmap @no-endpoint-nodeports$/ });
});

t.test('a drop after the DNAT: only the rule tells where the packet was sent', async (t) => {
  const r = JSON.parse(readFileSync('test/trace/fixtures/networkpolicy-dropped-after-dnat.report.json', 'utf8')) as TraceReport;
  const v = kernelVerdict(r.result);
  t.ok(v.dropped, 'dropped');
  t.match(v.dnat, { unconfirmed: true, to: /^\d+\.\d+\.\d+\.\d+:\d+$/, rule: { verdict: 'accept' } });
});

t.test('ruleText and natTarget: a policy is named as such; comments do not count as a NAT', async (t) => {
  t.equal(ruleText({ netns: 'n', traceId: '1', family: 'ip', table: 'filter', chain: 'FORWARD', kind: 'policy', verdict: 'drop', packet: {} }), 'filter FORWARD policy drop');
  t.equal(natTarget('-A KUBE-MARK-MASQ -m comment --comment "masquerade" -j MARK --or-xmark 0x4000'), undefined);
  t.equal(natTarget('-A KUBE-POSTROUTING -j MASQUERADE --random-fully'), 'MASQUERADE');
  t.equal(natTarget('ip saddr 10.244.0.3 jump mark-for-masquerade'), undefined, "nft's mark-for-masquerade jump only marks");
  t.equal(natTarget('meta mark set meta mark ^ 0x00004000 masquerade fully-random'), 'MASQUERADE');
  t.equal(natTarget('meta l4proto tcp dnat to 10.1.0.2:80'), 'DNAT to 10.1.0.2:80');
  t.equal(natTarget('-j SNAT --to-source 10.0.0.1'), 'SNAT to 10.0.0.1');
});

t.test('the rules that accepted the probe and the masquerade rule, in path order', async (t) => {
  const v = fixture('nodeport-cluster-via-node-2');
  t.match(v.masqueradeRule, { netns: 'node-2', rule: { table: 'nat', chain: 'KUBE-POSTROUTING' } });
  t.ok(v.accepted?.length, 'accepted somewhere on the way');
  t.ok(
    v.accepted?.every((a) => a.rule.kind === 'rule' && a.rule.verdict === 'accept' && a.text.startsWith(`${a.rule.table} ${a.rule.chain} `)),
    'rules only, each with its text',
  );
  t.ok(
    v.accepted?.some((a) => a.netns === 'node-2' && a.rule.chain === 'KUBE-FORWARD'),
    'KUBE-FORWARD accepted the marked packet on node-2',
  );
  const dropped = fixture('nodeport-local-dropped-iptables');
  t.notOk(dropped.masqueradeRule);
});

t.test("kernelSeen: a try's verdict as a report carries it, places named", async (t) => {
  const v = fixture('nodeport-cluster-via-node-2');
  const seen = kernelSeen(v, fixtureNamer);
  t.same(seen.path, ['host/client', 'node/node-2', 'node/node-1', 'pod/nginx-1']);
  t.same(seen.dnat, { in: 'node/node-2', from: '192.168.8.202:20651', to: '172.20.0.3:80' });
  t.match(seen.masquerade, { in: 'node/node-2', to: /^172\.20\.1\.0:\d+$/ });
  t.notOk('dropped' in seen);
  const dropped = kernelSeen(fixture('nodeport-local-dropped-iptables'), fixtureNamer);
  t.match(dropped, { path: ['host/client', 'node/node-2'], dropped: { in: 'node/node-2', verdict: 'drop', rule: /KUBE-EXTERNAL-SERVICES .*-j DROP$/ } });
  t.notOk('dnat' in dropped || 'masquerade' in dropped, 'no NAT where none was');
});
