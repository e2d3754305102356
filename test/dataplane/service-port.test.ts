// The service-port model all three kube-proxy modes share (upstream's BaseServicePortInfo).
import t from 'tap';
import { baseServicePorts, servicePortName, sourceRangesContain, withNames } from '../../src/dataplane/service-port.js';
import { parseSourceRange } from '../../src/dataplane/kube-proxy-endpoints.js';
import { modelOf } from '../helpers.js';

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
  const model = await modelOf(text);
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
  t.equal(servicePortName({ namespace: 'ns', name: 'svc' }, ''), 'ns/svc');
  t.equal(servicePortName({ namespace: 'ns', name: 'svc' }, 'p'), 'ns/svc:p');
  const model = await modelOf(text);
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
