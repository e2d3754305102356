// Packet-flow cases judged as upstream's packetFlowTest judges them (src/steps/flow-judge.ts), from
// verdicts of the node under test; pure.
import t from 'tap';
import { flowSeen, formatFlowOutput, isKubeProxyAccept, judgeFlow, parseFlowOutput } from '../../src/steps/flow-judge.js';
import type { TraceEvent } from '../../src/trace/types.js';

const ev = (table: string, chain: string, rule: string, verdict: TraceEvent['verdict'] = 'accept'): TraceEvent => ({
  netns: 'node-1',
  traceId: '1',
  family: 'ip',
  table,
  chain,
  kind: 'rule',
  rule,
  verdict,
  packet: {},
});

t.test('output is read as upstream writes it', async (t) => {
  t.same(parseFlowOutput(''), { endpoints: [] });
  t.same(parseFlowOutput('10.180.0.4:80, 10.180.0.5:80'), { endpoints: ['10.180.0.4:80', '10.180.0.5:80'] });
  t.same(parseFlowOutput('DROP'), { endpoints: [], verdict: 'DROP' });
  t.same(parseFlowOutput('10.180.0.2:80, ACCEPT'), { endpoints: ['10.180.0.2:80'], verdict: 'ACCEPT' });
  t.match(parseFlowOutput('DROP, REJECT'), { error: /two verdicts/ });
  t.match(parseFlowOutput('DROP, 10.1.1.1:80'), { error: /after the verdict/ });
  t.match(parseFlowOutput('10.1.1.1'), { error: /neither IP:PORT/ });
  t.match(parseFlowOutput('10.1.1.1:80,10.1.1.1:80'), { error: /twice/ });
  t.equal(formatFlowOutput({ endpoints: ['10.180.0.4:80', '10.180.0.5:80'] }), '10.180.0.4:80, 10.180.0.5:80');
});

t.test('an accept is a verdict of kube-proxy when its own rule gave it, and not a NAT statement or KUBE-FORWARD', async (t) => {
  t.ok(isKubeProxyAccept(ev('filter', 'KUBE-NODEPORTS', '-A KUBE-NODEPORTS -m comment --comment "ns2/svc2:p80 health check node port" -m tcp -p tcp --dport 30000 -j ACCEPT')));
  t.notOk(isKubeProxyAccept(ev('filter', 'KUBE-FORWARD', '-A KUBE-FORWARD -m mark --mark 0x4000/0x4000 -j ACCEPT')));
  t.notOk(isKubeProxyAccept(ev('filter', 'FLANNEL-FWD', '-A FLANNEL-FWD -s 10.244.0.0/16 -j ACCEPT')));
  t.notOk(isKubeProxyAccept(ev('kube-proxy', 'endpoint-X', 'meta l4proto tcp dnat to 10.244.1.2:8080')), 'nft prints a dnat as accept');
});

t.test('what the node did, read from its verdict', async (t) => {
  const masqRule = ev('nat', 'KUBE-POSTROUTING', '-A KUBE-POSTROUTING -j MASQUERADE --random-fully');
  t.same(flowSeen({ path: ['node-1'], dnat: { netns: 'node-1', to: '10.180.0.1:80' }, masqueradeRule: { netns: 'node-1', rule: masqRule } }), {
    dnat: '10.180.0.1:80',
    masq: true,
  });
  t.same(
    flowSeen({ path: ['node-1'], masqueradeRule: { netns: 'node-1', rule: ev('nat', 'FLANNEL-POSTRTG', '-A FLANNEL-POSTRTG ! -d 224.0.0.0/4 -j MASQUERADE --random-fully') } }),
    { masq: false },
    "the CNI's masquerade is not kube-proxy's",
  );
  const drop = ev('filter', 'KUBE-EXTERNAL-SERVICES', '-A KUBE-EXTERNAL-SERVICES -j DROP', 'drop');
  t.same(flowSeen({ path: ['node-1'], dropped: { netns: 'node-1', verdict: 'drop', rule: drop, text: 'filter KUBE-EXTERNAL-SERVICES -j DROP' } }), {
    verdict: { kind: 'DROP', text: 'filter KUBE-EXTERNAL-SERVICES -j DROP' },
    masq: false,
  });
  const accept = ev('filter', 'KUBE-NODEPORTS', '-A KUBE-NODEPORTS --dport 30000 -j ACCEPT');
  t.same(flowSeen({ path: ['node-1'], accepted: [{ netns: 'node-1', rule: accept, text: 'filter KUBE-NODEPORTS x' }] }), {
    verdict: { kind: 'ACCEPT', text: 'filter KUBE-NODEPORTS x' },
    masq: false,
  });
});

t.test('a case passes when the DNAT is one of the endpoints, the verdict and masq are as written', async (t) => {
  const two = { endpoints: ['10.180.0.4:80', '10.180.0.5:80'], masq: false };
  t.ok(judgeFlow(two, { dnat: '10.180.0.5:80', masq: false }).passed);
  const other = judgeFlow(two, { dnat: '10.180.0.6:80', masq: false });
  t.notOk(other.passed);
  t.equal(other.expected, 'output "10.180.0.4:80, 10.180.0.5:80" (one of them), masq false');
  t.equal(other.seen, 'output "10.180.0.6:80", masq false: DNATed to 10.180.0.6:80, not one of 10.180.0.4:80, 10.180.0.5:80');
  t.ok(judgeFlow({ endpoints: [], masq: false }, { masq: false }).passed, '"" is nothing');
  t.match(judgeFlow({ endpoints: [], masq: false }, { dnat: '10.1.1.1:80', masq: false }).seen, /DNATed to 10\.1\.1\.1:80/);
  t.match(judgeFlow({ endpoints: [], verdict: 'DROP', masq: false }, { masq: false }).seen, /no DROP by any rule/);
  t.match(
    judgeFlow({ endpoints: [], verdict: 'DROP', masq: false }, { verdict: { kind: 'REJECT', text: 'kube-proxy reject-chain reject' }, masq: false }).seen,
    /REJECT by kube-proxy reject-chain reject/,
  );
  t.match(judgeFlow({ endpoints: ['10.180.0.2:80'], masq: true }, { dnat: '10.180.0.2:80', masq: false }).seen, /not masqueraded/);
});
