// The service-port model all three kube-proxy modes share (upstream's BaseServicePortInfo), its
// names, and the UDP endpoints whose conntrack entries a sync clears.
import t from 'tap';
import { baseServicePorts, newlyActiveUdpServices, servicePortName, sourceRangesContain, staleUdpEndpoints, withNames } from '../../src/dataplane/service-port.js';
import { parseSourceRange } from '../../src/dataplane/kube-proxy-endpoints.js';
import { cachedModel, deployment, fixtureModel, scenario, service } from './fixtures.js';

const text = `apiVersion: knetlab/v1
kind: Scenario
metadata: {name: ports}
cluster: {dns: false}
nodes: [{name: node-1}, {name: node-2}]
manifests:
  - {apiVersion: apps/v1, kind: Deployment, metadata: {name: web}, spec: {replicas: 3, selector: {matchLabels: {app: web}}, template: {metadata: {labels: {app: web}}, spec: {containers: [{name: c, ports: [{containerPort: 80}, {containerPort: 53, protocol: UDP}]}]}}}}
  - {apiVersion: v1, kind: Service, metadata: {name: web-b}, spec: {selector: {app: web}, ports: [{name: http, port: 80}]}}
  - {apiVersion: v1, kind: Service, metadata: {name: web}, spec: {type: LoadBalancer, externalTrafficPolicy: Local, loadBalancerSourceRanges: [0.0.0.0/0, 192.168.8.0/24], selector: {app: web}, ports: [{name: http, port: 80}, {name: dns, port: 53, protocol: UDP}]}}
  - {apiVersion: v1, kind: Service, metadata: {name: headless}, spec: {clusterIP: None, selector: {app: web}, ports: [{port: 80}]}}
  - {apiVersion: v1, kind: Service, metadata: {name: ext}, spec: {type: ExternalName, externalName: example.com}}
`;

t.test('the ports kube-proxy programs, by Service, then port name; endpoints by ip:port, local per node', async (t) => {
  const model = await cachedModel(text);
  const ports = baseServicePorts(model, 'node-1');
  t.same(
    ports.map((p) => `${p.name}/${p.protocol}`),
    ['default/web:dns/udp', 'default/web:http/tcp', 'default/web-b:http/tcp'],
    'no headless, no ExternalName; web before web-b',
  );
  const web = ports[1]!;
  t.same(web.service, { namespace: 'default', name: 'web' });
  t.equal(web.portName, 'http');
  t.same(web.loadBalancerSourceRanges, [], 'a zero-masked range allows everything: the same as none');
  t.ok(web.externalPolicyLocal);
  t.not(web.healthCheckNodePort, 0, 'a Local LoadBalancer has its health check node port');
  t.equal(ports[2]!.healthCheckNodePort, 0);
  t.same(
    web.endpoints.map((e) => e.str),
    [...web.endpoints.map((e) => e.str)].sort(),
  );
  const onNode1 = new Set(model.pods.filter((p) => p.node === 'node-1').map((p) => p.ip));
  t.same(
    web.endpoints.map((e) => e.isLocal),
    web.endpoints.map((e) => onNode1.has(e.ip)),
  );
  t.same(
    baseServicePorts(model, 'node-2')[1]!.endpoints.map((e) => e.isLocal),
    web.endpoints.map((e) => !onNode1.has(e.ip)),
    'the same endpoints, local to the other node',
  );
});

t.test('names', async (t) => {
  t.equal(servicePortName({ namespace: 'ns', name: 'svc' }, ''), 'ns/svc', 'an unnamed port adds nothing');
  t.equal(servicePortName({ namespace: 'ns', name: 'svc' }, 'p'), 'ns/svc:p');
  t.equal(servicePortName({ namespace: 'ns', name: 'svc' }, 'http'), 'ns/svc:http');
  t.equal(servicePortName({ namespace: 'kube-system', name: 'kube-dns' }, 'dns-tcp'), 'kube-system/kube-dns:dns-tcp');
  const model = await cachedModel(text);
  const [base] = baseServicePorts(model, 'node-1');
  const named = withNames(
    baseServicePorts(model, 'node-1')[0]!,
    (s) => ({ chain: `C-${s.name}` }),
    (_s, e) => ({ epChain: `E-${e.str}` }),
  );
  t.equal(named.chain, 'C-default/web:dns');
  t.same(
    named.endpoints.map((e) => e.epChain),
    base!.endpoints.map((e) => `E-${e.str}`),
  );
  const { chain: _c, endpoints, ...rest } = named;
  t.same({ ...rest, endpoints: endpoints.map(({ epChain: _e, ...e }) => e) }, base, 'the rest is the shared model');
});

t.test('sourceRangesContain: the node in a loadBalancerSourceRanges entry', async (t) => {
  const ranges = ['10.0.0.0/8', '192.168.8.7/30'].map((r) => parseSourceRange(r)!);
  t.ok(sourceRangesContain(ranges, '10.1.2.3'));
  t.ok(sourceRangesContain(ranges, '192.168.8.4'), 'host bits cleared');
  t.notOk(sourceRangesContain(ranges, '192.168.8.8'));
  t.notOk(sourceRangesContain([], '10.1.2.3'));
});

t.test('staleUdpEndpoints: removed UDP endpoints and the conntrack deletions kube-proxy runs for them', async (t) => {
  const prev = await fixtureModel('multiport-udp', { replicas: 3 });
  const next = await fixtureModel('multiport-udp', { replicas: 2 });
  const gone = prev.pods.find((p) => p.name === 'dns-2')!.ip!;
  t.same(staleUdpEndpoints(prev, next, 'node-1'), [
    {
      servicePort: 'default/dns:dns',
      endpoint: `${gone}:53`,
      ip: gone,
      conntrack: [
        ['-D', '--orig-dst', '10.96.0.53', '--dst-nat', gone, '-p', 'udp'],
        ['-D', '--orig-dst', '80.11.12.53', '--dst-nat', gone, '-p', 'udp'],
      ],
    },
  ]);
  t.same(staleUdpEndpoints(prev, prev, 'node-1'), [], 'nothing changed');
  t.same(staleUdpEndpoints(next, prev, 'node-1'), [], 'an added endpoint is not stale');
  // A UDP NodePort: the nodePort's entries first.
  const udpNodePort = (replicas: number) =>
    scenario(
      'udp-np',
      deployment('dns', replicas, '[{containerPort: 53, protocol: UDP}]') +
        service('dns', 'type: NodePort, selector: {app: dns}, clusterIP: 10.96.0.54, ports: [{port: 53, protocol: UDP, nodePort: 30053}]'),
    );
  const stale = staleUdpEndpoints(await cachedModel(udpNodePort(2)), await cachedModel(udpNodePort(1)), 'node-2');
  t.same(
    stale.map((s) => s.conntrack),
    [
      [
        ['-D', '-p', 'udp', '--dport', '30053', '--dst-nat', stale[0]!.ip],
        ['-D', '--orig-dst', '10.96.0.54', '--dst-nat', stale[0]!.ip, '-p', 'udp'],
      ],
    ],
  );
});

t.test('newlyActiveUdpServices: UDP Service ports that get their first serving endpoint, and the conntrack deletions kube-proxy runs for them', async (t) => {
  const udpNodePort = (replicas: number) =>
    scenario(
      'udp-np',
      deployment('dns', replicas, '[{containerPort: 53, protocol: UDP}]') +
        service('dns', 'type: NodePort, selector: {app: dns}, clusterIP: 10.96.0.54, externalIPs: [80.11.12.54], ports: [{port: 53, protocol: UDP, nodePort: 30053}]'),
    );
  const [none, one, two] = [await cachedModel(udpNodePort(0)), await cachedModel(udpNodePort(1)), await cachedModel(udpNodePort(2))];
  t.same(newlyActiveUdpServices(none, one, 'node-1'), [
    {
      servicePort: 'default/dns',
      conntrack: [
        ['-D', '--orig-dst', '10.96.0.54', '-p', 'udp'],
        ['-D', '--orig-dst', '80.11.12.54', '-p', 'udp'],
        ['-D', '-p', 'udp', '--dport', '30053'],
      ],
    },
  ]);
  t.same(newlyActiveUdpServices(one, two, 'node-1'), [], 'from one endpoint to two: not newly active');
  t.same(newlyActiveUdpServices(one, none, 'node-1'), [], 'to none: not active');
  const tcp = await fixtureModel('multiport-udp', { replicas: 0 });
  t.same(newlyActiveUdpServices(tcp, tcp, 'node-1'), [], 'nothing changed');
});

// kube-proxy 1.28's TestDeleteEndpointConnections ("V4 UDP"), from sanposhiho/kubernetes@059ce4e8a1d958959595b970acaf846259348518
// pkg/proxy/iptables/proxier_test.go (a 1.28-line commit, docs/versions.md): a new proxier's first sync with the
// endpoint, then a sync without it; the conntrack commands are upstream's expected strings, byte for byte.
t.test("UDP conntrack clean-up before the reconciler: kube-proxy 1.28's expected conntrack commands", async (t) => {
  const udp = (endpoints: boolean) => `apiVersion: knetlab/v1
kind: Scenario
metadata: {name: delete-endpoint-connections}
cluster: {podCIDR: 10.0.0.0/8, serviceCIDR: 172.30.0.0/16, lanCIDR: 192.168.0.0/24, dns: false, kubernetesVersion: "1.28"}
nodes: [{name: test-node, ip: 192.168.0.2}]
manifests:
  - {apiVersion: v1, kind: Service, metadata: {name: v4-udp, namespace: ns1}, spec: {clusterIP: 172.30.1.1, ports: [{name: p80, port: 80, protocol: UDP}]}}
${endpoints ? '  - {apiVersion: discovery.k8s.io/v1, kind: EndpointSlice, metadata: {name: v4-udp-1, namespace: ns1, labels: {kubernetes.io/service-name: v4-udp}}, addressType: IPv4, endpoints: [{addresses: [10.240.0.3]}], ports: [{name: p80, port: 80, protocol: UDP}]}' : ''}
`;
  const [withEndpoint, without] = [await cachedModel(udp(true)), await cachedModel(udp(false))];
  const commands = (argvs: string[][]) => argvs.map((argv) => ['conntrack', ...argv].join(' '));
  // "First clear conntrack entries for the clusterIP when the endpoint is first added."
  t.same(commands(newlyActiveUdpServices(undefined, withEndpoint, 'test-node').flatMap((s) => s.conntrack)), ['conntrack -D --orig-dst 172.30.1.1 -p udp']);
  // "Then clear conntrack entries for the endpoint when it is deleted."
  t.same(commands(staleUdpEndpoints(withEndpoint, without, 'test-node').flatMap((s) => s.conntrack)), ['conntrack -D --orig-dst 172.30.1.1 --dst-nat 10.240.0.3 -p udp']);
});
