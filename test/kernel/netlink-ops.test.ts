// Which batch lines netns-config applies itself: every line a scenario's topology renders (so no
// namespace falls back to a process of its own), exactly the forms it knows, and nothing else.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { renderTopology } from '../../src/dataplane/topology.js';
import { parseBridgeLine, parseIpLine, parseNamespaceLines } from '../../src/kernel/netlink-ops.js';
import { loadModel } from '../../src/validate.js';

t.test("every namespace of every example scenario's topology goes to netns-config", async (t) => {
  const files = readdirSync('scenarios').filter((f) => f.endsWith('.yaml'));
  t.ok(files.length > 10, `${files.length} scenarios`);
  for (const f of files) {
    const { model } = await loadModel(join('scenarios', f));
    for (const ns of renderTopology(model).stages.flat()) {
      const unknown = [...ns.ip.filter((l) => !parseIpLine(l)), ...ns.bridge.filter((l) => !parseBridgeLine(l))];
      t.same(unknown, [], `${f}: ${ns.name}`);
    }
  }
});

t.test('the forms the topology renders, read as iproute2 reads them', async (t) => {
  const pod = 'link add veth53842afe address 62:8d:72:69:36:65 mtu 1450 type veth peer name eth0 mtu 1450 netns web-0.default';
  t.same(parseIpLine(pod), {
    op: 'link',
    cmd: 'add',
    kind: 'veth',
    dev: 'veth53842afe',
    address: '62:8d:72:69:36:65',
    mtu: 1450,
    peer: { name: 'eth0', mtu: 1450, netns: 'web-0.default' },
    line: pod,
  });
  const folded = 'link add vethX up master cni0 address 02:00:00:00:00:01 mtu 1450 type veth peer name eth0 address 02:00:00:00:00:02 mtu 1450 netns p';
  t.match(parseIpLine(folded), { kind: 'veth', dev: 'vethX', up: true, master: 'cni0', peer: { name: 'eth0', address: '02:00:00:00:00:02', mtu: 1450, netns: 'p' } });
  t.match(parseIpLine('link add cni0 address 1e:4b:53:5e:6d:c0 mtu 1450 type bridge'), {
    op: 'link',
    cmd: 'add',
    kind: 'bridge',
    dev: 'cni0',
    address: '1e:4b:53:5e:6d:c0',
    mtu: 1450,
  });
  t.match(parseIpLine('link add flannel.1 address 7e:3d:23:25:11:e6 mtu 1450 type vxlan id 1 local 192.168.8.11 dev eth0 dstport 8472 nolearning'), {
    kind: 'vxlan',
    dev: 'flannel.1',
    vxlan: { id: 1, local: '192.168.8.11', dev: 'eth0', dstport: 8472 },
  });
  t.match(parseIpLine('link set dev veth1 master cni0'), { op: 'link', cmd: 'set', dev: 'veth1', master: 'cni0' });
  t.match(parseIpLine('link set dev veth1 type bridge_slave hairpin on'), { op: 'link', cmd: 'set', dev: 'veth1', hairpin: true });
  t.same(parseIpLine('link set dev eth0 down'), { op: 'link', cmd: 'set', dev: 'eth0', up: false, line: 'link set dev eth0 down' });
  t.same(parseIpLine('link set dev eth0 address 06:09:97:f5:e4:ac'), {
    op: 'link',
    cmd: 'set',
    dev: 'eth0',
    address: '06:09:97:f5:e4:ac',
    line: 'link set dev eth0 address 06:09:97:f5:e4:ac',
  });
  t.same(parseIpLine('link del dev veth1'), { op: 'link', cmd: 'del', dev: 'veth1', line: 'link del dev veth1' });
  t.match(parseIpLine('addr add 10.244.0.0/32 dev flannel.1'), { op: 'addr', cmd: 'add', dev: 'flannel.1', address: '10.244.0.0', prefix: 32 });
  t.match(parseIpLine('route add default via 192.168.8.1 dev eth0'), { op: 'route', cmd: 'add', dst: '0.0.0.0', prefix: 0, via: '192.168.8.1', dev: 'eth0', onlink: false });
  t.match(parseIpLine('route replace 10.244.1.0/24 via 10.244.1.0 dev flannel.1 onlink'), { op: 'route', cmd: 'replace', dst: '10.244.1.0', prefix: 24, onlink: true });
  t.match(
    parseIpLine('route add 192.168.1.2 via 192.168.0.2 dev br-lan'),
    { op: 'route', cmd: 'add', dst: '192.168.1.2', prefix: 32, via: '192.168.0.2', dev: 'br-lan' },
    'a bare address is a /32',
  );
  t.match(parseIpLine('neigh replace 10.244.1.0 lladdr 9a:34:5d:cf:ab:ad dev flannel.1 nud permanent'), {
    op: 'neigh',
    cmd: 'replace',
    dst: '10.244.1.0',
    lladdr: '9a:34:5d:cf:ab:ad',
    dev: 'flannel.1',
  });
  t.match(parseBridgeLine('fdb replace 9a:34:5d:cf:ab:ad dev flannel.1 dst 192.168.8.12 self permanent'), {
    op: 'fdb',
    cmd: 'replace',
    lladdr: '9a:34:5d:cf:ab:ad',
    dev: 'flannel.1',
    dst: '192.168.8.12',
  });
});

t.test('anything else is left to ip and bridge', async (t) => {
  const ip = [
    'link set eth0 up', // no `dev`
    'link set dev eth0 up up',
    'link set dev eth0 up down',
    'link set dev eth0',
    'link set dev eth0 address 06:09:97:F5:E4:AC', // upper case
    'link set dev eth0 mtu 70000',
    'link set dev eth0 type bridge_slave cost 5',
    'link set dev a-name-too-long-x up',
    'link set dev ../x up',
    'link add dummy0 type dummy',
    'link add v1 type veth peer name v2 netns ../etc',
    'link add v1 type veth peer name v2 netns',
    'link add flannel.1 type vxlan id 1 local 192.168.8.11 dev eth0 dstport 8472', // learning left to a default
    'link add flannel.1 type vxlan id 1 local 192.168.8.11 dev eth0 dstport 8472 nolearning ttl 5',
    'addr add 10.0.0.1 dev eth0', // no prefix
    'addr add 10.0.0.1/33 dev eth0',
    'addr add fd00::1/64 dev eth0',
    'addr add 10.0.0.1/24 dev eth0 label eth0:1',
    'route add 10.244.0.1/16 via 10.244.0.1 dev eth0', // host bits set: ip reports it
    'route add 10.244.0.0/16 dev eth0', // no gateway
    'route add 10.244.0.0/16 via 10.244.0.1 dev eth0 metric 5',
    'route add 10.244.0.0/16 via 10.244.0.1',
    'route del default via 10.244.0.1 dev eth0',
    'neigh replace 10.244.1.0 lladdr 9a:34:5d:cf:ab:ad dev flannel.1',
    'rule add from all lookup main',
    '',
  ];
  for (const line of ip) t.equal(parseIpLine(line), undefined, `ip: ${JSON.stringify(line)}`);
  const bridge = [
    'fdb replace 9a:34:5d:cf:ab:ad dev flannel.1 dst 192.168.8.12 self',
    'fdb del 9a:34:5d:cf:ab:ad dev flannel.1 dst 192.168.8.12 self permanent',
    'link set dev veth1 hairpin on',
  ];
  for (const line of bridge) t.equal(parseBridgeLine(line), undefined, `bridge: ${JSON.stringify(line)}`);
  t.equal(parseNamespaceLines(['link set dev lo up', 'link add dummy0 type dummy'], []), undefined, 'one unknown line sends the whole namespace to ip');
  t.equal(parseNamespaceLines(['link set dev lo up'], ['fdb del 9a:34:5d:cf:ab:ad dev flannel.1']), undefined, 'so does one unknown bridge line');
  t.same(
    parseNamespaceLines(['link set dev lo up'], ['fdb add 9a:34:5d:cf:ab:ad dev flannel.1 dst 192.168.8.12 self permanent'])?.map((o) => o.op),
    ['link', 'fdb'],
    'ip lines, then bridge lines',
  );
});
