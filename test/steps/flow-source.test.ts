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
  // Addresses nobody holds: made for the step.
  t.match(flowSource(m, '10.244.0.77', node), {
    ok: true,
    value: { kind: 'pod', netns: 'kf-0af4004d', ref: 'address 10.244.0.77', made: { remove: [{ argv: ['ip', 'netns', 'del', 'kf-0af4004d'] }] } },
  });
  const podRange = flowSource(m, '10.244.0.77', node);
  t.same(
    podRange.ok && 'made' in podRange.value && podRange.value.made?.create.find((c) => c.netns === 'node-1' && c.argv.includes('master')),
    { netns: 'node-1', argv: ['ip', 'link', 'set', 'kf-0af4004d', 'master', 'cni0', 'up'] },
    "a veth into the node's cni0",
  );
  t.match(flowSource(m, '10.244.1.77', node), { ok: false, reason: /node\/node-2's pod range/ });
  t.match(flowSource(m, '192.168.8.150', node), { ok: true, value: { kind: 'lan', routeNetns: 'kf-c0a80896' } }, 'a LAN client routes through the node itself');
  t.match(flowSource(m, '203.0.113.9', node), { ok: true, value: { kind: 'lan', routeNetns: 'lan' } }, 'one outside the LAN in the gateway');
  const outside = flowSource(m, '203.0.113.9', node);
  t.ok(
    outside.ok && 'made' in outside.value && outside.value.made?.create.some((c) => c.netns === 'lan' && c.argv.join(' ') === 'ip route add 203.0.113.9 dev br-lan scope link'),
    'the gateway routes it back',
  );
  t.match(flowSource(m, '10.96.0.99', node), { ok: false, reason: /cluster\.serviceCIDR/ });
  t.match(flowSource(m, m.config.gateway, node), { ok: false, reason: /gateway/ });
});
