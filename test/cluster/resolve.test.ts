// `node/NAME@DEVICE` in expectations: the devices a node really has on its network (its CNI's).
import t from 'tap';
import { resolveAddress } from '../../src/cluster/resolve.js';
import { modelOf } from '../helpers.js';

const scenario = (network: string) => `apiVersion: knetlab/v1
kind: Scenario
metadata: {name: t}
cluster: {network: ${network}, dns: false}
nodes: [{name: node-1}, {name: node-2}]
`;

const resolve = async (network: string, device: string) => resolveAddress(await modelOf(scenario(network)), { kind: 'node', name: 'node-2', device });

t.test('flannel: cni0 and flannel.1; host-gw has no flannel.1', async (t) => {
  t.same(await resolve('flannel-vxlan', 'cni0'), { ok: true, value: { ip: '10.244.1.1', meaning: 'node/node-2@cni0' } });
  t.same(await resolve('flannel-vxlan', 'flannel.1'), { ok: true, value: { ip: '10.244.1.0', meaning: 'node/node-2@flannel.1' } });
  t.match(await resolve('host-gw', 'flannel.1'), { ok: false, reason: 'node/node-2 has no flannel.1 on a host-gw network (it has eth0, cni0)' });
});

t.test("Calico: vxlan.calico or tunl0, the block's first address; no cni0", async (t) => {
  t.same(await resolve('calico-vxlan', 'vxlan.calico'), { ok: true, value: { ip: '10.244.0.64', meaning: 'node/node-2@vxlan.calico' } });
  t.same(await resolve('calico-ipip', 'tunl0'), { ok: true, value: { ip: '10.244.0.64', meaning: 'node/node-2@tunl0' } });
  t.match(await resolve('calico-vxlan', 'cni0'), { ok: false, reason: 'node/node-2 has no cni0 on a calico-vxlan network (it has eth0, vxlan.calico)' });
  t.match(await resolve('calico-bgp', 'tunl0'), { ok: false, reason: 'node/node-2 has no tunl0 on a calico-bgp network (it has eth0)' });
  t.match(await resolve('calico-vxlan', 'vxlan.calco'), { ok: false, reason: /has no device vxlan\.calco \(it has eth0, vxlan\.calico\).*vxlan\.calico/ });
});
