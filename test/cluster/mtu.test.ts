import t from 'tap';
import { networkMtu } from '../../src/cluster/mtu.js';
import { networks } from '../../src/cni/index.js';
import { renderTopology } from '../../src/dataplane/topology.js';
import { formatPlan } from '../../src/report/plan.js';
import { head, modelOf, validateText } from '../helpers.js';

const pods = `manifests:
  - apiVersion: v1
    kind: Pod
    metadata: {name: a}
    spec: {nodeName: node-1, containers: [{name: c, image: x, ports: [{containerPort: 80}]}]}
`;

t.test('the CNI derives its MTU from the underlay as flannel and felix do', async (t) => {
  // flanneld: eth0 less encapOverhead 50 (VXLAN), eth0 (host-gw); felix: host less 50 (VXLAN), 20 (IPIP), 0 (BGP).
  const want: Record<(typeof networks)[number], number> = { 'flannel-vxlan': 1450, 'host-gw': 1500, 'calico-vxlan': 1450, 'calico-ipip': 1480, 'calico-bgp': 1500 };
  for (const n of networks) t.same(networkMtu(n, 1500), { underlay: 1500, overlay: want[n], pod: want[n] }, n);
  t.same(networkMtu('flannel-vxlan', 9000), { underlay: 9000, overlay: 8950, pod: 8950 }, 'jumbo frames');
  t.same(networkMtu('calico-ipip', 9001), { underlay: 9001, overlay: 8981, pod: 8981 }, "AWS's 9001");
  t.same(networkMtu('flannel-vxlan', 1500, 1500), { underlay: 1500, overlay: 1450, pod: 1500 }, 'a stated podMTU wins for pods only');
});

t.test('the default is 1500 on the LAN and the derived MTU on every device', async (t) => {
  const m = await modelOf(head(2) + pods);
  t.same(m.config.mtu, { underlay: 1500, overlay: 1450, pod: 1450 });
  const text = JSON.stringify(renderTopology(m));
  t.match(text, /link add br-lan address \S+ mtu 1500 type bridge/);
  t.match(text, /link add node-1 address \S+ mtu 1500 type veth peer name eth0 mtu 1500 netns node-1/);
  t.match(text, /link add flannel\.1 address \S+ mtu 1450 type vxlan/);
  t.match(text, /link add cni0 address \S+ mtu 1450 type bridge/);
  t.match(text, /type veth peer name eth0 mtu 1450 netns a\.default/);
});

t.test('cluster.mtu and cluster.podMTU set the devices, and plan shows them', async (t) => {
  const jumbo = await modelOf(head(2, '  mtu: 9000') + pods);
  const text = JSON.stringify(renderTopology(jumbo));
  t.match(text, /mtu 9000 type veth peer name eth0 mtu 9000 netns node-1/);
  t.match(text, /flannel\.1 address \S+ mtu 8950 type vxlan/);
  t.match(formatPlan(jumbo), /^MTU {6}lan 9000, flannel\.1 8950 \(9000 less 50 bytes of encapsulation\), pods 8950$/m);

  const wrong = await modelOf(head(2, '  podMTU: 1500') + pods);
  const w = JSON.stringify(renderTopology(wrong));
  t.match(w, /flannel\.1 address \S+ mtu 1450 type vxlan/, 'the tunnel keeps the derived MTU');
  t.match(w, /link add cni0 address \S+ mtu 1500 type bridge/, 'cni0 takes the stated one');
  t.match(w, /mtu 1500 type veth peer name eth0 mtu 1500 netns a\.default/, 'both ends of the pod veth too');
  t.match(formatPlan(wrong), /pods 1500 \(cluster\.podMTU: over the 1450 a pod's packet can take/);

  const calico = await modelOf(head(2, '  network: calico-ipip\n  mtu: 1460') + pods);
  const c = JSON.stringify(renderTopology(calico));
  t.match(c, /link set dev tunl0 mtu 1440/);
  t.match(c, /mtu 1440 type veth peer name eth0 mtu 1440 netns a\.default/);
  const bgp = await modelOf(head(2, '  network: calico-bgp\n  podMTU: 1400') + pods);
  t.match(formatPlan(bgp), /^MTU {6}lan 1500, pods 1400 \(cluster\.podMTU\)$/m);
});

t.test('MTUs out of range are problems at their place', async (t) => {
  const low = await validateText(head(1, '  mtu: 100'));
  t.equal(low.lines.length, 1, low.lines.join('\n'));
  t.match(
    low.lines[0]!,
    /^scenario\.yaml:5:8: `cluster\.mtu` 100 leaves flannel\.1 50 bytes after flannel-vxlan's 50 bytes of encapsulation; Linux needs at least 68: use 118 or more/,
  );
  t.equal(low.problems[0]!.code, 'out-of-range');
  t.same((await validateText(head(1, '  network: host-gw\n  mtu: 100'))).lines, [], 'without encapsulation 100 is enough');
  const bad = await validateText(head(1, '  mtu: 70000\n  podMTU: 1.5'));
  t.equal(bad.lines.length, 2);
  t.match(bad.lines[0]!, /^scenario\.yaml:5:8: Expected `cluster\.mtu` to be an MTU from 68 to 65535 \(bytes\)/);
  t.match(bad.lines[1]!, /^scenario\.yaml:6:11: Expected `cluster\.podMTU` to be an MTU from 68 to 65535 \(bytes\)/);
});
