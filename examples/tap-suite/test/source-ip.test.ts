// Runs as root (knetlab builds network namespaces): `sudo npm test`, or `npm test` as root.
import t from 'tap';
import { runScenario, up } from 'knetlab';

const scenario = new URL('../scenarios/source-ip.yaml', import.meta.url).pathname;

t.test('the scenario passes under iptables and nftables mode', async (t) => {
  for (const proxyMode of ['iptables', 'nftables'] as const) {
    const report = await runScenario(scenario, { proxyMode });
    t.equal(report.status, 'passed', `${proxyMode}: ${report.reason ?? 'passed'}`);
    // Each try as data: what the pod saw as the client, and which pod answered.
    for (const step of report.steps) for (const x of step.tries) t.equal(x.backend, 'pod/web.default');
  }
});

t.test('externalTrafficPolicy: Local keeps the client address, and drops traffic at a node without the pod', async (t) => {
  const lab = await up(scenario);
  t.teardown(() => lab.down());

  const cluster = await lab.http({ from: 'host/client', to: 'nodeport/web@node-1' }, { expect: { sourceIp: 'node/node-1@cni0' } });
  t.equal(cluster.status, 'passed', `with Cluster, even the pod's own node masquerades it (to its cni0 address): ${cluster.seen}`);

  await lab.patch({ kind: 'Service', name: 'web', patch: { spec: { externalTrafficPolicy: 'Local' } } });

  const kept = await lab.http({ from: 'host/client', to: 'nodeport/web@node-1' }, { expect: { sourceIp: 'host/client' } });
  t.equal(kept.status, 'passed', `with Local, the pod sees the client's own address: ${kept.seen}`);
  t.equal(kept.tries[0]?.sourceIp, '192.168.8.200', "the client's address, as data");

  const local = await lab.http({ from: 'host/client', to: 'nodeport/web@node-2', timeout: '1s' }, { expect: { fail: 'timeout' }, trace: true });
  t.equal(local.status, 'passed', `node-2 has no endpoint and drops it: ${local.seen}`);
  t.match(local.trace?.join('\n') ?? '', /dropped/, 'the trace says where it was dropped');

  const rules = await lab.exec('node/node-2', ['iptables-save', '-t', 'nat']);
  t.match(rules.stdout, /KUBE-EXT-/, "kube-proxy's rules as upstream writes them");
});
