// The outer header of a packet sent into a tunnel, from the kernel's state (a real capture of
// flannel.1 on this kernel; tunl0 as `ip -j` documents it, as this kernel has no ipip) or the model.
import { readFileSync } from 'node:fs';
import t from 'tap';
import { kernelTunnelHop, type ModelTunnel, tunnelHop } from '../../src/trace/tunnel.js';
import type { NamespaceCapture, TunnelCapture } from '../../src/trace/types.js';

const fixture = JSON.parse(readFileSync('test/trace/fixtures/nodeport-cluster-via-node-2.json', 'utf8')) as { captures: NamespaceCapture[] };
const flannel = fixture.captures.find((c) => c.netns === 'node-2')!.tunnels![0]!;

t.test('VXLAN from the kernel: the route to the inner destination, its next hop`s MAC, that MAC`s fdb entry', async (t) => {
  t.same(kernelTunnelHop(flannel, '172.20.0.3'), {
    device: 'flannel.1',
    kind: 'vxlan',
    inner: '172.20.0.3',
    via: '172.20.0.0',
    local: '192.168.8.202',
    remote: '192.168.8.201',
    port: 8472,
    vni: 1,
  });
  t.match(kernelTunnelHop(flannel, '172.20.2.9'), { via: '172.20.2.0', remote: '192.168.8.203' }, "node-3's subnet goes to node-3");
  t.notOk(kernelTunnelHop(flannel, '10.9.9.9')?.remote, 'no route into the device: no remote');
});

const model: ModelTunnel = { device: 'flannel.1', kind: 'vxlan', local: '192.168.8.202', port: 8472, vni: 1, peers: [{ podCIDR: '172.20.0.0/24', remote: '192.168.8.201' }] };

t.test('the kernel first; the model where the kernel showed no entry, and it says so', async (t) => {
  t.match(tunnelHop('node-2', 'probe', 'flannel.1', '172.20.0.3', [flannel], model), { from: 'kernel', remote: '192.168.8.201' });
  const noFdb: TunnelCapture = { ...flannel, fdb: '[]' };
  t.match(tunnelHop('node-2', 'probe', 'flannel.1', '172.20.0.3', [noFdb], model), {
    from: 'model',
    via: '172.20.0.0',
    local: '192.168.8.202',
    remote: '192.168.8.201',
    port: 8472,
    vni: 1,
  });
  t.match(tunnelHop('node-2', 'probe', 'flannel.1', '172.20.0.3', undefined, model), { from: 'model', remote: '192.168.8.201' });
  t.equal(tunnelHop('node-2', 'probe', 'cni0', '172.20.0.3', [flannel], model), undefined, 'not a tunnel');
});

t.test('IPIP (tunl0, local any): the route`s gateway is the remote; the local address from the model', async (t) => {
  const tunl0: TunnelCapture = {
    device: 'tunl0',
    link: JSON.stringify({ ifname: 'tunl0', mtu: 1480, link_type: 'ipip', linkinfo: { info_kind: 'ipip', info_data: { remote: 'any', local: 'any', ttl: 0, pmtudisc: true } } }),
    routes: '[{"dst":"10.244.1.0/26","gateway":"192.168.8.202","flags":["onlink"]}]',
    neighbours: '[]',
    fdb: '',
  };
  t.same(kernelTunnelHop(tunl0, '10.244.1.5'), { device: 'tunl0', kind: 'ipip', inner: '10.244.1.5', via: '192.168.8.202', remote: '192.168.8.202' });
  const m: ModelTunnel = { device: 'tunl0', kind: 'ipip', local: '192.168.8.201', peers: [{ podCIDR: '10.244.1.0/26', remote: '192.168.8.202' }] };
  t.same(tunnelHop('node-1', 'probe', 'tunl0', '10.244.1.5', [tunl0], m), {
    netns: 'node-1',
    direction: 'probe',
    device: 'tunl0',
    kind: 'ipip',
    inner: '10.244.1.5',
    via: '192.168.8.202',
    local: '192.168.8.201',
    remote: '192.168.8.202',
    from: 'model',
  });
});
