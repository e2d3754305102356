// The CNI portmap plugin's iptables chains, checked against upstream's own expectations
// (containernetworking/plugins plugins/meta/portmap/portmap_iptables_test.go, IPv4 part).
import t from 'tap';
import {
  dnatChain,
  formatChainName,
  markMasqChain,
  podContainerID,
  podPortMappings,
  portmapLocalnetInterfaces,
  portmapRestore,
  setMarkChain,
  topLevelDnatChain,
} from '../../src/dataplane/portmap.js';
import { modelOf } from '../helpers.js';
import { pod, scenario } from './fixtures.js';

const containerID = 'icee6giejonei6sohng6ahngee7laquohquee9shiGo7fohferakah3Feiyoolu2pei7ciPhoh7shaoX6vai3vuf0ahfaeng8yohb9ceu0daez5hashee8ooYai5wa3y';

const mappings = [
  { hostPort: 8080, containerPort: 80, protocol: 'tcp' },
  { hostPort: 8081, containerPort: 80, protocol: 'tcp' },
  { hostPort: 8080, containerPort: 81, protocol: 'udp' },
  { hostPort: 8082, containerPort: 82, protocol: 'udp' },
  { hostPort: 8083, containerPort: 83, protocol: 'tcp', hostIP: '192.168.0.2' },
  { hostPort: 8084, containerPort: 84, protocol: 'tcp', hostIP: '0.0.0.0' },
  { hostPort: 8085, containerPort: 85, protocol: 'tcp', hostIP: '2001:db8:a::1' },
  { hostPort: 8086, containerPort: 86, protocol: 'tcp', hostIP: '::' },
];

t.test('chain names (MustFormatChainNameWithPrefix)', async (t) => {
  t.equal(formatChainName('testNetName', containerID, 'DN-'), 'CNI-DN-bfd599665540dd91d5d28');
  t.equal(formatChainName('test', containerID, 'DN-'), 'CNI-DN-67e92b96e692a494b6b85');
});

t.test('a standard container chain (fillDnatRules)', async (t) => {
  const conf = { name: 'test', containerID, portMappings: mappings, snat: true, conditionsV4: ['-a', 'b'] };
  const ch = dnatChain(conf, '10.0.0.2/24');
  t.equal(ch.name, 'CNI-DN-67e92b96e692a494b6b85');
  t.same(ch.entryChains, ['CNI-HOSTPORT-DNAT']);
  const comment = `dnat name: "test" id: "${containerID}"`;
  t.same(ch.entryRules, [
    ['-m', 'comment', '--comment', comment, '-m', 'multiport', '-p', 'tcp', '--destination-ports', '8080,8081,8083,8084,8085,8086', '-a', 'b'],
    ['-m', 'comment', '--comment', comment, '-m', 'multiport', '-p', 'udp', '--destination-ports', '8080,8082', '-a', 'b'],
  ]);
  t.same(ch.rules, [
    ['-p', 'tcp', '--dport', '8080', '-s', '10.0.0.2/24', '-j', 'CNI-HOSTPORT-SETMARK'],
    ['-p', 'tcp', '--dport', '8080', '-s', '127.0.0.1', '-j', 'CNI-HOSTPORT-SETMARK'],
    ['-p', 'tcp', '--dport', '8080', '-j', 'DNAT', '--to-destination', '10.0.0.2:80'],
    ['-p', 'tcp', '--dport', '8081', '-s', '10.0.0.2/24', '-j', 'CNI-HOSTPORT-SETMARK'],
    ['-p', 'tcp', '--dport', '8081', '-s', '127.0.0.1', '-j', 'CNI-HOSTPORT-SETMARK'],
    ['-p', 'tcp', '--dport', '8081', '-j', 'DNAT', '--to-destination', '10.0.0.2:80'],
    ['-p', 'udp', '--dport', '8080', '-s', '10.0.0.2/24', '-j', 'CNI-HOSTPORT-SETMARK'],
    ['-p', 'udp', '--dport', '8080', '-s', '127.0.0.1', '-j', 'CNI-HOSTPORT-SETMARK'],
    ['-p', 'udp', '--dport', '8080', '-j', 'DNAT', '--to-destination', '10.0.0.2:81'],
    ['-p', 'udp', '--dport', '8082', '-s', '10.0.0.2/24', '-j', 'CNI-HOSTPORT-SETMARK'],
    ['-p', 'udp', '--dport', '8082', '-s', '127.0.0.1', '-j', 'CNI-HOSTPORT-SETMARK'],
    ['-p', 'udp', '--dport', '8082', '-j', 'DNAT', '--to-destination', '10.0.0.2:82'],
    ['-p', 'tcp', '--dport', '8083', '-d', '192.168.0.2', '-s', '10.0.0.2/24', '-j', 'CNI-HOSTPORT-SETMARK'],
    ['-p', 'tcp', '--dport', '8083', '-d', '192.168.0.2', '-s', '127.0.0.1', '-j', 'CNI-HOSTPORT-SETMARK'],
    ['-p', 'tcp', '--dport', '8083', '-d', '192.168.0.2', '-j', 'DNAT', '--to-destination', '10.0.0.2:83'],
    ['-p', 'tcp', '--dport', '8084', '-s', '10.0.0.2/24', '-j', 'CNI-HOSTPORT-SETMARK'],
    ['-p', 'tcp', '--dport', '8084', '-s', '127.0.0.1', '-j', 'CNI-HOSTPORT-SETMARK'],
    ['-p', 'tcp', '--dport', '8084', '-j', 'DNAT', '--to-destination', '10.0.0.2:84'],
  ]);
});

t.test('snat false: the DNAT rules alone', async (t) => {
  const ch = dnatChain({ name: 'test', containerID, portMappings: mappings, snat: false }, '10.0.0.2/24');
  t.same(ch.rules, [
    ['-p', 'tcp', '--dport', '8080', '-j', 'DNAT', '--to-destination', '10.0.0.2:80'],
    ['-p', 'tcp', '--dport', '8081', '-j', 'DNAT', '--to-destination', '10.0.0.2:80'],
    ['-p', 'udp', '--dport', '8080', '-j', 'DNAT', '--to-destination', '10.0.0.2:81'],
    ['-p', 'udp', '--dport', '8082', '-j', 'DNAT', '--to-destination', '10.0.0.2:82'],
    ['-p', 'tcp', '--dport', '8083', '-d', '192.168.0.2', '-j', 'DNAT', '--to-destination', '10.0.0.2:83'],
    ['-p', 'tcp', '--dport', '8084', '-j', 'DNAT', '--to-destination', '10.0.0.2:84'],
  ]);
});

t.test('top-level and mark chains', async (t) => {
  t.same(topLevelDnatChain(), { name: 'CNI-HOSTPORT-DNAT', entryChains: ['PREROUTING', 'OUTPUT'], entryRules: [['-m', 'addrtype', '--dst-type', 'LOCAL']], rules: [] });
  t.same(setMarkChain(5).rules, [['-m', 'comment', '--comment', 'CNI portfwd masquerade mark', '-j', 'MARK', '--set-xmark', '0x20/0x20']]);
  const masq = markMasqChain(5);
  t.same(masq.entryChains, ['POSTROUTING']);
  t.same(masq.entryRules, [['-m', 'comment', '--comment', 'CNI portfwd requiring masquerade']]);
  t.same(masq.rules, [['-m', 'mark', '--mark', '0x20/0x20', '-j', 'MASQUERADE']]);
  t.same(setMarkChain().rules[0]!.at(-1), '0x2000/0x2000', 'the default mark bit is 13');
});

t.test("a node's restore text: the jumps once, the pods newest first, a gone pod's chain flushed and deleted", async (t) => {
  const ports = '[{containerPort: 8080, hostPort: 30080}, {containerPort: 53, hostPort: 30053, protocol: UDP}]';
  const text = scenario(
    'portmap',
    pod('a', 'node-1', 'app: a', ports) +
      pod('b', 'node-1', 'app: b', '[{containerPort: 80, hostPort: 8081, hostIP: 192.168.8.11}]') +
      pod('c', 'node-2', 'app: c', '[{containerPort: 80}]'),
  );
  const model = await modelOf(text);
  t.equal(portmapRestore(model, 'node-2'), '', 'no host ports on node-2, nothing written');
  const first = portmapRestore(model, 'node-1');
  const a = formatChainName('cbr0', podContainerID({ namespace: 'default', name: 'a' }), 'DN-');
  const b = formatChainName('cbr0', podContainerID({ namespace: 'default', name: 'b' }), 'DN-');
  const idA = podContainerID({ namespace: 'default', name: 'a' });
  const idB = podContainerID({ namespace: 'default', name: 'b' });
  t.equal(
    first,
    [
      '*nat',
      ':CNI-HOSTPORT-DNAT - [0:0]',
      ':CNI-HOSTPORT-SETMARK - [0:0]',
      ':CNI-HOSTPORT-MASQ - [0:0]',
      `:${b} - [0:0]`,
      `:${a} - [0:0]`,
      '-A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT',
      '-A OUTPUT -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT',
      '-I POSTROUTING 1 -m comment --comment "CNI portfwd requiring masquerade" -j CNI-HOSTPORT-MASQ',
      '-A CNI-HOSTPORT-SETMARK -m comment --comment "CNI portfwd masquerade mark" -j MARK --set-xmark 0x2000/0x2000',
      '-A CNI-HOSTPORT-MASQ -m mark --mark 0x2000/0x2000 -j MASQUERADE',
      `-A CNI-HOSTPORT-DNAT -m comment --comment "dnat name: \\"cbr0\\" id: \\"${idB}\\"" -m multiport -p tcp --destination-ports 8081 -j ${b}`,
      `-A CNI-HOSTPORT-DNAT -m comment --comment "dnat name: \\"cbr0\\" id: \\"${idA}\\"" -m multiport -p tcp --destination-ports 30080 -j ${a}`,
      `-A CNI-HOSTPORT-DNAT -m comment --comment "dnat name: \\"cbr0\\" id: \\"${idA}\\"" -m multiport -p udp --destination-ports 30053 -j ${a}`,
      `-A ${b} -p tcp --dport 8081 -d 192.168.8.11 -s 10.244.0.3/24 -j CNI-HOSTPORT-SETMARK`,
      `-A ${b} -p tcp --dport 8081 -d 192.168.8.11 -s 127.0.0.1 -j CNI-HOSTPORT-SETMARK`,
      `-A ${b} -p tcp --dport 8081 -d 192.168.8.11 -j DNAT --to-destination 10.244.0.3:80`,
      `-A ${a} -p tcp --dport 30080 -s 10.244.0.2/24 -j CNI-HOSTPORT-SETMARK`,
      `-A ${a} -p tcp --dport 30080 -s 127.0.0.1 -j CNI-HOSTPORT-SETMARK`,
      `-A ${a} -p tcp --dport 30080 -j DNAT --to-destination 10.244.0.2:8080`,
      `-A ${a} -p udp --dport 30053 -s 10.244.0.2/24 -j CNI-HOSTPORT-SETMARK`,
      `-A ${a} -p udp --dport 30053 -s 127.0.0.1 -j CNI-HOSTPORT-SETMARK`,
      `-A ${a} -p udp --dport 30053 -j DNAT --to-destination 10.244.0.2:53`,
      'COMMIT',
      '',
    ].join('\n'),
  );
  t.same(portmapLocalnetInterfaces(model, 'node-1'), ['cni0']);
  const without = { ...model, pods: model.pods.filter((p) => p.name !== 'a') };
  const next = portmapRestore(without, 'node-1', { previous: first });
  t.notMatch(next, /PREROUTING|POSTROUTING/, 'the jumps are written once');
  t.match(next, new RegExp(`^:${a} - \\[0:0\\]$`, 'm'), "the gone pod's chain is flushed");
  t.match(next, new RegExp(`^-X ${a}$`, 'm'), 'then deleted');
  t.notMatch(portmapRestore(without, 'node-1', { previous: next }), a, 'and forgotten after');
});

t.test('hostNetwork pods have no port mappings (the CNI never runs for them)', async (t) => {
  const model = await modelOf(
    scenario(
      'portmap-hostnet',
      '  - {apiVersion: v1, kind: Pod, metadata: {name: h}, spec: {nodeName: node-1, hostNetwork: true, containers: [{name: c, ports: [{containerPort: 9090, hostPort: 9090}]}]}}\n',
    ),
  );
  t.same(podPortMappings(model.pods[0]!), []);
  t.equal(portmapRestore(model, 'node-1'), '');
});
