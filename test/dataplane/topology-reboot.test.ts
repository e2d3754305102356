// A node's reboot as topology plans: what goes down (its LAN port, its pods, its namespace) and
// what comes back up (the same lines the whole topology gives that node and its pods).
import t from 'tap';
import { machineNetns } from '../../src/dataplane/names.js';
import { nodeShutdown, podsOnNode, removePod, renderLan, renderNode, renderNodeBoot, renderPodNamespace, renderTopology } from '../../src/dataplane/topology.js';
import { modelOf } from '../helpers.js';

const scenario = (network: string) => `apiVersion: knetlab/v1
kind: Scenario
metadata: {name: reboot}
cluster: {network: ${network}, dns: false}
nodes:
  - name: node-1
  - name: node-2
hosts:
  - name: client
manifests:
  - {apiVersion: v1, kind: Pod, metadata: {name: a}, spec: {nodeName: node-2, containers: [{name: c}]}}
  - {apiVersion: v1, kind: Pod, metadata: {name: b}, spec: {nodeName: node-2, containers: [{name: c}]}}
  - {apiVersion: v1, kind: Pod, metadata: {name: h}, spec: {nodeName: node-2, hostNetwork: true, containers: [{name: c}]}}
  - {apiVersion: v1, kind: Pod, metadata: {name: other}, spec: {nodeName: node-1, containers: [{name: c}]}}
`;

for (const network of ['flannel-vxlan', 'calico-vxlan']) {
  t.test(`${network}: a node comes back with the lines the whole topology gives it and its pods`, async (t) => {
    const m = await modelOf(scenario(network));
    const boot = renderNodeBoot(m, 'node-2');
    const own = m.pods.filter((p) => ['a', 'b'].includes(p.name));
    t.same(boot.namespaces, ['node-2', 'a.default', 'b.default'], 'the node and its pods with a namespace of their own (not hostNetwork)');
    const [lan, node, pods] = boot.stages as [(typeof boot.stages)[0], (typeof boot.stages)[0], (typeof boot.stages)[0]];
    const port = renderLan(m).ip.filter((l) => /\bnode-2\b/.test(l));
    t.same(
      lan.map((p) => [p.name, p.ip]),
      [['lan', port]],
      "the LAN makes the node's port again, as it did at the start",
    );
    t.same(node, [renderNode(m, m.nodes[1]!)], 'the node as at the start: CNI, pod veths, sysctls, rules');
    t.same(
      pods,
      own.map((p) => renderPodNamespace(m, p)),
    );
    const whole = renderTopology(m);
    t.ok(boot.namespaces.every((n) => whole.namespaces.includes(n)));
  });
}

t.test('a node goes down: its port, its pods, its namespace', async (t) => {
  const m = await modelOf(scenario('flannel-vxlan'));
  t.same(
    podsOnNode(m, 'node-2').map((p) => p.name),
    ['a', 'b', 'h'],
    'its pods, hostNetwork ones included (their workloads stop too)',
  );
  const own = m.pods.filter((p) => ['a', 'b'].includes(p.name));
  t.same(nodeShutdown(m, 'node-2'), { lan: [`link del dev ${machineNetns('node-2')}`], pods: own.map((p) => removePod(m, p)), netns: 'node-2' });
});
