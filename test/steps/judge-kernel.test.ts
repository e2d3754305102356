// Kernel-level expectations judged from real traces of knetlab scenarios on this kernel
// (test/trace/fixtures/): dnat, masquerade, dropped, rejected, droppedBy, path, with every address named.
import { readFileSync } from 'node:fs';
import t from 'tap';
import { judgeKernel, type KernelRules } from '../../src/steps/judge-kernel.js';
import { namerFor } from '../../src/steps/trace-probe.js';
import type { TraceReport } from '../../src/trace/report.js';
import { traceResult } from '../../src/trace/result.js';
import type { NamespaceCapture, ProbeKey } from '../../src/trace/types.js';
import { kernelVerdict, type KernelVerdict } from '../../src/trace/verdict.js';
import { loadModel } from '../../src/validate.js';

const fromReport = (name: string): KernelVerdict => kernelVerdict((JSON.parse(readFileSync(`test/trace/fixtures/${name}.report.json`, 'utf8')) as TraceReport).result);
const fromCaptures = (name: string): KernelVerdict => {
  const c = JSON.parse(readFileSync(`test/trace/fixtures/${name}.json`, 'utf8')) as { probe: ProbeKey; captures: NamespaceCapture[] };
  return kernelVerdict(traceResult(c.probe, c.captures));
};

// scenarios/kernel-expectations.yaml: pod/caller on node-2, service/web's pods web-0 (10.244.0.2) and web-1 (10.244.0.3) on node-1.
const kernelNamer = async () => namerFor((await loadModel('scenarios/kernel-expectations.yaml')).model);
const place = (netns: string, shown: string) => ({ netns, shown });

t.test('ClusterIP from a pod: DNAT to an endpoint listed, not masqueraded, the nodes in order', async (t) => {
  const n = await kernelNamer();
  const v = fromReport('clusterip-from-pod');
  const rules: KernelRules = {
    dnat: [
      { ip: '10.244.0.2', port: 8080 },
      { ip: '10.244.0.3', port: 8080 },
    ],
    masquerade: false,
    path: [place('node-2', 'node/node-2'), place('node-1', 'node/node-1')],
  };
  const ok = judgeKernel([v], rules, n);
  t.ok(ok.passed, ok.problems.join('; '));
  t.same(ok.expected, ['DNAT to 10.244.0.2:8080 (pod/web-0) or 10.244.0.3:8080 (pod/web-1)', 'not masqueraded', 'path node/node-2 > node/node-1']);
  t.same(ok.seen, ['DNAT to 10.244.0.2:8080 (pod/web-0)', 'not masqueraded', 'path pod/caller > node/node-2 > node/node-1 > pod/web-0']);
  t.ok(judgeKernel([v], { dnat: [{ ip: '10.244.0.2' }] }, n).passed, 'an address without a port matches any port');

  const wrongPort = judgeKernel([v], { dnat: [{ ip: '10.244.0.2', port: 80 }] }, n);
  t.notOk(wrongPort.passed);
  t.same(wrongPort.problems, ['1 of 1 tries were DNATed elsewhere or not at all']);
  t.equal(wrongPort.firstFailing, 0);

  const masq = judgeKernel([v], { masquerade: true }, n);
  t.notOk(masq.passed);
  t.same(masq.problems, ['1 of 1 tries were not masqueraded']);

  const pods = judgeKernel([v], { path: [place('caller.default', 'pod/caller'), place('web-0.default', 'pod/web-0')] }, n);
  t.ok(pods.passed, 'a path of pods compares the pods crossed only');
  const other = judgeKernel([v], { path: [place('node-1', 'node/node-1')] }, n);
  t.notOk(other.passed, 'every node crossed counts');
  t.same(other.problems, ['1 of 1 tries took another path']);
});

t.test('with several tries every address listed must be seen, and every try go to one of them', async (t) => {
  const n = await kernelNamer();
  const v = fromReport('clusterip-from-pod');
  const toWeb1: KernelVerdict = { ...v, dnat: { ...v.dnat!, to: '10.244.0.3:8080' } };
  const rules: KernelRules = {
    dnat: [
      { ip: '10.244.0.2', port: 8080 },
      { ip: '10.244.0.3', port: 8080 },
    ],
  };
  const both = judgeKernel([v, toWeb1, v], rules, n);
  t.ok(both.passed);
  t.same(both.expected, ['DNAT to 10.244.0.2:8080 (pod/web-0) or 10.244.0.3:8080 (pod/web-1), each seen']);
  t.same(both.seen, ['DNAT to 10.244.0.2:8080 (pod/web-0) x2, DNAT to 10.244.0.3:8080 (pod/web-1)']);
  const one = judgeKernel([v, v], rules, n);
  t.notOk(one.passed);
  t.same(one.problems, ['never DNATed to 10.244.0.3:8080 (pod/web-1)']);
  const none = judgeKernel([v, { path: v.path }], rules, n);
  t.notOk(none.passed);
  t.equal(none.firstFailing, 1, 'the try that broke it is the one the report traces');
  t.match(none.seen[0], /no DNAT/);
});

t.test('NodePort through another node: masqueraded there, path node-2 then node-1', async (t) => {
  const n = namerFor((await loadModel('scenarios/nodeport-cluster-policy.yaml')).model);
  const v = fromCaptures('nodeport-cluster-via-node-2');
  const j = judgeKernel([v], { masquerade: true, path: [place('node-2', 'node/node-2'), place('node-1', 'node/node-1')], dropped: false }, n);
  t.ok(j.passed, j.problems.join('; '));
  t.match(j.seen[0], /^masqueraded in node\/node-2 to 172\.20\.1\.0:\d+ \(node\/node-2@flannel\.1\)$/);
  t.same(j.expected, ['masqueraded on the way', 'not dropped', 'path node/node-2 > node/node-1']);
});

t.test('Local policy without a local endpoint: dropped, by the rule droppedBy matches, in both modes', async (t) => {
  const n = namerFor((await loadModel('scenarios/nodeport-local-policy.yaml')).model);
  for (const mode of ['iptables', 'nftables']) {
    const v = fromCaptures(`nodeport-local-dropped-${mode}`);
    const j = judgeKernel([v], { dropped: true, droppedBy: 'has no local endpoints|no-endpoint' }, n);
    t.ok(j.passed, `${mode}: ${j.problems.join('; ')}`);
    t.match(j.seen[0], /^dropped in node\/node-2 by /);
    t.notOk(judgeKernel([v], { rejected: true }, n).passed, `${mode}: a drop is no reject`);
    const other = judgeKernel([v], { droppedBy: 'KUBE-FORWARD' }, n);
    t.notOk(other.passed, `${mode}: another rule's text does not match`);
    t.same(other.problems, ['1 of 1 tries were not stopped by such a rule']);
  }
});

t.test('a Service without endpoints: rejected, not dropped; a delivered try is neither', async (t) => {
  const n = await kernelNamer();
  const v = fromReport('no-endpoints-rejected');
  const j = judgeKernel([v], { rejected: true, droppedBy: 'has no endpoints' }, n);
  t.ok(j.passed, j.problems.join('; '));
  t.match(j.seen[0], /^rejected in node\/node-2 by filter KUBE-SERVICES .*-j REJECT/);
  const dropped = judgeKernel([v], { dropped: true }, n);
  t.notOk(dropped.passed);
  t.same(dropped.problems, ['1 of 1 tries were not dropped']);
  const delivered = judgeKernel([fromReport('clusterip-from-pod')], { rejected: true }, n);
  t.notOk(delivered.passed);
  t.same(delivered.seen, ['neither dropped nor rejected']);
});

t.test('a drop after the DNAT: the DNAT its rule shows still counts for dnat', async (t) => {
  const v = fromReport('networkpolicy-dropped-after-dnat');
  const to = v.dnat!.to;
  const [ip, port] = to.split(':');
  const j = judgeKernel([v], { dnat: [{ ip: ip!, port: Number(port) }], dropped: true }, { ip: (x) => x, netns: (x) => x });
  t.ok(j.passed, j.problems.join('; '));
});
