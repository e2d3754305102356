// flannel's own state, checked against what flanneld writes (flannel-io/flannel: pkg/trafficmngr/
// iptables/iptables.go masqRules and forwardRules; pkg/backend/vxlan/vxlan_network.go and device.go).
import t from 'tap';
import type { Node } from '../../src/cluster/types.js';
import { flannelForwardRules, flannelMasqRules, hostGwPeerLines, KUBE_PROXY_MARK, vxlanDeviceLines, vxlanPeerLines } from '../../src/dataplane/flannel.js';
import { macAddress } from '../../src/dataplane/names.js';

t.test("masquerade rules, in flanneld's order", async (t) => {
  t.equal(KUBE_PROXY_MARK, '0x4000/0x4000');
  t.same(flannelMasqRules('10.244.0.0/16', '10.244.1.0/24'), [
    '-A POSTROUTING -m comment --comment "flanneld masq" -j FLANNEL-POSTRTG',
    '-A FLANNEL-POSTRTG -m mark --mark 0x4000/0x4000 -m comment --comment "flanneld masq" -j RETURN',
    '-A FLANNEL-POSTRTG -s 10.244.1.0/24 -d 10.244.0.0/16 -m comment --comment "flanneld masq" -j RETURN',
    '-A FLANNEL-POSTRTG -s 10.244.0.0/16 -d 10.244.1.0/24 -m comment --comment "flanneld masq" -j RETURN',
    '-A FLANNEL-POSTRTG ! -s 10.244.0.0/16 -d 10.244.1.0/24 -m comment --comment "flanneld masq" -j RETURN',
    '-A FLANNEL-POSTRTG -s 10.244.0.0/16 ! -d 224.0.0.0/4 -m comment --comment "flanneld masq" -j MASQUERADE --random-fully',
    '-A FLANNEL-POSTRTG ! -s 10.244.0.0/16 -d 10.244.0.0/16 -m comment --comment "flanneld masq" -j MASQUERADE --random-fully',
  ]);
});

t.test('forward rules', async (t) => {
  t.same(flannelForwardRules('172.20.0.0/16'), [
    '-A FORWARD -m comment --comment "flanneld forward" -j FLANNEL-FWD',
    '-A FLANNEL-FWD -s 172.20.0.0/16 -m comment --comment "flanneld forward" -j ACCEPT',
    '-A FLANNEL-FWD -d 172.20.0.0/16 -m comment --comment "flanneld forward" -j ACCEPT',
  ]);
});

const node = (name: string, ip: string, i: number): Node => ({
  name,
  index: i,
  ip,
  podCIDR: `10.244.${i}.0/24`,
  addresses: { cni0: `10.244.${i}.1`, 'flannel.1': `10.244.${i}.0` },
  labels: {},
  serve: [],
  origin: {} as Node['origin'], // not read by the renderer
});

t.test('flannel.1 and one neighbour, fdb entry and route per other node', async (t) => {
  const n1 = node('node-1', '192.168.8.11', 0);
  const n2 = node('node-2', '192.168.8.12', 1);
  const mac1 = macAddress('flannel.1', 'node-1');
  const mac2 = macAddress('flannel.1', 'node-2');
  t.match(vxlanDeviceLines(n1, 8950)[0], / mtu 8950 type vxlan /, "the MTU the model derives (cluster.mtu less flannel's 50)");
  t.same(vxlanDeviceLines(n1, 1450), [
    `link add flannel.1 address ${mac1} mtu 1450 type vxlan id 1 local 192.168.8.11 dev eth0 dstport 8472 nolearning`,
    'addr add 10.244.0.0/32 dev flannel.1',
    'link set dev flannel.1 up',
  ]);
  t.same(vxlanPeerLines(n2), {
    ip: [`neigh replace 10.244.1.0 lladdr ${mac2} dev flannel.1 nud permanent`, 'route replace 10.244.1.0/24 via 10.244.1.0 dev flannel.1 onlink'],
    bridge: [`fdb replace ${mac2} dev flannel.1 dst 192.168.8.12 self permanent`],
  });
  t.same(hostGwPeerLines(n2), ['route replace 10.244.1.0/24 via 192.168.8.12 dev eth0']);
});

t.test("a peer's flannelPublicIP is where its fdb entry sends (the lease's PublicIP)", async (t) => {
  const n2 = { ...node('node-2', '192.168.8.12', 1), flannelPublicIP: '10.0.2.15' };
  t.same(vxlanPeerLines(n2).bridge, [`fdb replace ${macAddress('flannel.1', 'node-2')} dev flannel.1 dst 10.0.2.15 self permanent`]);
});
