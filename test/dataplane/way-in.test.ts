// What a probe's target stands for: the Service port, the node whose rules take the packet, and the
// endpoints those rules give it, as kube-proxy categorises them per mode (scenarios/ways-in.yaml's cluster).
import t from 'tap';
import { resolveSource, type Place } from '../../src/cluster/resolve.js';
import type { Model } from '../../src/cluster/types.js';
import { formatWayIn, ingressRoute, resolveClusterName, wayIn } from '../../src/dataplane/way-in.js';
import { parseTarget, type SourceRef } from '../../src/scenario/refs.js';
import { validateScenario } from '../../src/validate.js';
import { head, modelOf } from '../helpers.js';

const v = await validateScenario('scenarios/ways-in.yaml');
const model = v.model!;

function place(m: Model, ref: SourceRef): Place {
  const r = resolveSource(m, ref);
  if (!r.ok) throw new Error(r.reason);
  return r.value;
}
const client = place(model, { kind: 'pod', name: 'client' });
const host = place(model, { kind: 'host', name: 'client' });
const node1 = place(model, { kind: 'node', name: 'node-1' });
function target(s: string) {
  const r = parseTarget(s);
  if (!r.ok) throw new Error(r.reason);
  return r.value;
}
const ipvs = (m: Model): Model => ({ ...m, config: { ...m.config, proxyMode: 'ipvs' } });
const way = (m: Model, from: Place, to: string, extra: { headers?: Record<string, string>; path?: string; protocol?: 'TCP' | 'UDP' } = {}) =>
  wayIn(m, from, target(to), { protocol: extra.protocol ?? 'TCP', ...extra });

t.test('a literal ClusterIP:port is the Service port, taken on the source pod node', async (t) => {
  const w = way(model, client, '10.96.0.100:80')!;
  t.match(w, {
    way: 'clusterIP',
    service: { name: 'web', port: 80 },
    entries: [{ node: 'node-1', source: 'pod' }],
    endpoints: ['pod/web-a.default', 'pod/web-b.default'],
    notes: ['Cluster'],
  });
  t.equal(formatWayIn(w), 'service/web:80 via ClusterIP 10.96.0.100 on node/node-1: endpoints pod/web-a, pod/web-b (Cluster)');
  t.equal(way(model, client, '10.96.0.100:81')!.way, 'direct', 'another port of the address: nothing of kube-proxy');
});

t.test('a node address and a Local NodePort: the endpoints on the node that owns the address', async (t) => {
  t.match(way(model, host, '192.168.8.202:30081'), { way: 'nodePort', entries: [{ node: 'node-2', source: 'external' }], endpoints: ['pod/web-b.default'], notes: ['Local'] });
  t.match(way(model, host, 'http://192.168.8.201:30081/'), { endpoints: ['pod/web-a.default'] }, 'a URL with an address is the same');
  // A pod on node-1 to node-2's address: not LOCAL on node-1, masqueraded by flannel, so external on node-2.
  t.match(way(model, client, '192.168.8.202:30081'), { entries: [{ node: 'node-2', source: 'external' }], endpoints: ['pod/web-b.default'] });
  const noMasq = { ...model, config: { ...model.config, podEgressMasquerade: false } };
  t.match(
    way(noMasq, client, '192.168.8.202:30081'),
    { entries: [{ node: 'node-2', source: 'pod' }], endpoints: ['pod/web-a.default', 'pod/web-b.default'] },
    'without pod egress masquerade the pod source short-circuits',
  );
  // Pod and node-local sources short-circuit to the Cluster endpoints in iptables and nftables; IPVS keeps Local.
  t.match(way(model, client, '192.168.8.201:30081'), { entries: [{ node: 'node-1', source: 'pod' }], endpoints: ['pod/web-a.default', 'pod/web-b.default'] });
  t.match(way(model, node1, '192.168.8.201:30081'), { entries: [{ node: 'node-1', source: 'local' }], endpoints: ['pod/web-a.default', 'pod/web-b.default'] });
  t.match(way(ipvs(model), client, '192.168.8.201:30081'), { endpoints: ['pod/web-a.default'], notes: ['Local'] });
  t.match(way(model, host, '192.168.8.201:30080'), { service: { name: 'web' }, notes: ['Cluster'], endpoints: ['pod/web-a.default', 'pod/web-b.default'] });
});

t.test('Local with no endpoint on the node: DROP in iptables and nftables, the Cluster endpoints in IPVS (kubernetes#97081)', async (t) => {
  const m = await modelOf(`${head(2, '  dns: false')}hosts: [{name: client}]
manifests:
  - {apiVersion: v1, kind: Pod, metadata: {name: web, labels: {app: web}}, spec: {nodeName: node-1, containers: [{name: c, image: x, ports: [{containerPort: 80}]}]}}
  - apiVersion: v1
    kind: Service
    metadata: {name: web}
    spec: {type: NodePort, externalTrafficPolicy: Local, internalTrafficPolicy: Local, selector: {app: web}, ports: [{port: 80, nodePort: 30080}]}
`);
  const h = place(m, { kind: 'host', name: 'client' });
  const n2 = place(m, { kind: 'node', name: 'node-2' });
  t.match(wayIn(m, h, target('nodeport/web@node-2'), { protocol: 'TCP' }), { endpoints: [], notes: ['no local endpoints: DROP'] });
  t.match(wayIn(ipvs(m), h, target('nodeport/web@node-2'), { protocol: 'TCP' }), { endpoints: ['pod/web.default'], notes: ['Local, none on the node: Cluster'] });
  t.match(
    wayIn(m, n2, target('service/web'), { protocol: 'TCP' }),
    { way: 'clusterIP', endpoints: [], notes: ['no local endpoints: DROP'] },
    'internalTrafficPolicy Local from node-2',
  );
  t.match(wayIn(m, h, target(`${m.nodes[0]!.ip}:30080`), { protocol: 'UDP' }), { way: 'direct', endpoints: ['node/node-1'] }, 'a TCP Service port is not a UDP one');
});

t.test('externalIPs and LoadBalancer addresses from a host: its route, or the load balancer s choice', async (t) => {
  t.match(way(model, host, '80.11.12.10:80'), { way: 'externalIP', entries: [{ node: 'node-2', source: 'external' }], endpoints: ['pod/web-a.default', 'pod/web-b.default'] });
  t.match(way(model, client, '80.11.12.10:80'), { entries: [{ node: 'node-1', source: 'pod' }] }, "a pod's own node takes it");
  const lb = way(model, host, 'loadbalancer/web')!;
  t.match(lb, { way: 'loadBalancer', ip: '192.168.8.240', entries: [{ node: 'node-1' }, { node: 'node-2' }], notes: ['Cluster'] });
  t.match(formatWayIn(lb), /via load balancer 192\.168\.8\.240 on node\/node-1 or node\/node-2/);
});

t.test('a name is resolved as the pod resolver does: ExternalName CNAMEs are followed', async (t) => {
  t.same(resolveClusterName(model, 'alias', 'default'), { ip: '10.96.0.100', cnames: ['alias.default.svc.cluster.local -> web.default.svc.cluster.local'] });
  t.equal(resolveClusterName(model, 'web.default.svc.cluster.local.', 'kube-system')?.ip, '10.96.0.100');
  t.equal(resolveClusterName(model, 'nothing', 'default'), undefined);
  const w = way(model, client, 'http://alias/')!;
  t.match(w, { way: 'clusterIP', service: { name: 'web' }, endpoints: ['pod/web-a.default', 'pod/web-b.default'] });
  t.match(formatWayIn(w), /\(CNAME alias\.default\.svc\.cluster\.local -> web\.default\.svc\.cluster\.local\)/);
});

t.test('through an ingress-nginx controller: the backend of the rule the Host and path match', async (t) => {
  const to = 'nodeport/ingress-nginx.ingress-nginx:http@node-1';
  const w = way(model, host, to, { headers: { host: 'shop.example.com' }, path: '/web/cart?x=1' })!;
  t.match(w, { service: { name: 'web', port: 80 }, endpoints: ['pod/web-a.default', 'pod/web-b.default'], ingress: { rule: 'ingress shop (host shop.example.com, path /web)' } });
  t.match(
    formatWayIn(w),
    /^service\/web:80 via ingress shop .* through service\/ingress-nginx\.ingress-nginx:80 via nodeport \d+ on node\/node-1: endpoints pod\/web-a, pod\/web-b/,
  );
  t.match(way(model, host, to, { headers: { Host: 'shop.example.com' }, path: '/other' }), { endpoints: [], notes: ['no Ingress rule matches: 404'] });
  t.match(way(model, host, to, { headers: { Host: 'other.example.com' }, path: '/web' }), { endpoints: [] });
  t.same(ingressRoute(model, 'SHOP.example.com:30799', '/web').servers.length, 2, 'the Host header case-insensitive and without its port');
  t.match(way(model, host, to, { protocol: 'TCP' }), { endpoints: ['pod/nginx-ingress-controller-0.ingress-nginx'] }, 'without a request (not http) the controller itself');
});

t.test('endpoints all serving and terminating: the fallback; a pod address: the pod', async (t) => {
  t.match(way(model, client, 'service/draining'), { endpoints: ['pod/old-a.default', 'pod/old-b.default'], notes: ['Cluster, serving-terminating'] });
  t.match(way(model, client, 'service/web-local'), { endpoints: ['pod/web-a.default'], notes: ['Local'] });
  t.match(way(model, client, 'pod/web-b:8080'), { way: 'direct', endpoints: ['pod/web-b.default'] });
  t.equal(way(model, client, 'service/nope'), undefined, 'a name that does not resolve');
});

t.test('topology hints narrow the Cluster endpoints to the zone of the node the packet enters, in every mode', async (t) => {
  const { fixture } = await import('./fixtures.js');
  const m = await modelOf(fixture('topology-hints'));
  const from = (n: string) => place(m, { kind: 'node', name: n });
  for (const mode of ['iptables', 'nftables', 'ipvs'] as const) {
    const mm: Model = { ...m, config: { ...m.config, proxyMode: mode } };
    t.match(way(mm, from('node-1'), 'service/web'), { endpoints: ['pod/web-0.default', 'pod/web-2.default'], notes: ['Cluster, zone zone-a'] }, `${mode}: zone-a`);
    t.match(way(mm, from('node-2'), 'service/web'), { endpoints: ['pod/web-1.default'], notes: ['Cluster, zone zone-b'] }, `${mode}: zone-b`);
  }
  const old: Model = { ...m, config: { ...m.config, kubernetesVersion: '1.30' } };
  t.match(way(old, from('node-1'), 'service/web')!.endpoints, ['pod/web-0.default', 'pod/web-2.default', 'pod/web-1.default'], '1.30 ignores hints without the annotation');
});
