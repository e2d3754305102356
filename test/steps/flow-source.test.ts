// Who sends a packet-flow case's packet into the node under test (src/steps/flow-source.ts).
import t from 'tap';
import { flowNode, flowSource } from '../../src/steps/flow-source.js';
import { head, modelOf } from '../helpers.js';

t.test('the holder of the address: the node under test itself, a pod on it, another node, a host', async (t) => {
  const m = await modelOf(`${head(2)}hosts:
  - {name: client, ip: 192.168.8.100}
manifests:
  - {apiVersion: v1, kind: Pod, metadata: {name: here}, spec: {nodeName: node-1, containers: [{name: c}]}}
  - {apiVersion: v1, kind: Pod, metadata: {name: there, namespace: ns}, spec: {nodeName: node-2, containers: [{name: c}]}}
`);
  const node = flowNode(m, undefined)!;
  t.equal(node.name, 'node-1', 'the first node by default');
  t.equal(flowNode(m, 'node-2')?.name, 'node-2');
  const here = m.pods.find((p) => p.name === 'here')!;
  const there = m.pods.find((p) => p.name === 'there')!;
  t.match(flowSource(m, node.ip, node), { ok: true, value: { kind: 'local', ref: 'node/node-1' } });
  t.match(flowSource(m, node.addresses.cni0!, node), { ok: true, value: { kind: 'local' } }, "any of the node's addresses");
  t.match(flowSource(m, here.ip!, node), { ok: true, value: { kind: 'pod', ref: 'pod/here' } });
  t.match(flowSource(m, there.ip!, node), { ok: false, reason: /pod\/there\.ns holds .* runs on node\/node-2/ });
  t.match(flowSource(m, m.nodes[1]!.ip, node), { ok: true, value: { kind: 'lan', ref: 'node/node-2' } });
  t.match(flowSource(m, '192.168.8.100', node), { ok: true, value: { kind: 'lan', ref: 'host/client' } });
  t.match(flowSource(m, '203.0.113.9', node), { ok: false, reason: 'no pod, node or host holds 203.0.113.9' });
});
