// kube-proxy's topology-aware routing (pkg/proxy/topology.go CategorizeEndpoints): the cases of
// upstream's topology_test.go TestCategorizeEndpoints, the hints annotation gate of the releases
// before 1.31, and the EndpointSlice controller's PreferClose hints (endpointslice/trafficdist).
import t from 'tap';
import { prefersClose, topologyModeAuto } from '../../src/cluster/endpoints.js';
import type { Service } from '../../src/cluster/types.js';
import { categorizeEndpoints, type PortPolicy, type ProxyEndpoint } from '../../src/dataplane/kube-proxy-endpoints.js';
import { zoneHintsUsed } from '../../src/dataplane/service-port.js';
import { kubernetesVersions, type KubernetesVersion } from '../../src/dataplane/versions.js';

interface Ep {
  ep: string;
  zones?: string[];
  ready?: boolean;
  local?: boolean;
}
const endpoint = (e: Ep): ProxyEndpoint => ({
  str: e.ep,
  ready: e.ready ?? true,
  serving: e.ready ?? true,
  terminating: false,
  isLocal: e.local ?? false,
  zoneHints: e.zones ?? [],
});

/** A Service port as upstream's tests build BaseServicePort, in a release, with its hints annotation. */
function policy(
  endpoints: Ep[],
  o: { zone?: string; annotation?: string; version?: KubernetesVersion; externalLocal?: boolean; internalLocal?: boolean; nodePort?: number } = {},
): PortPolicy<ProxyEndpoint> {
  const annotations: Record<string, string> = o.annotation === undefined ? {} : { 'service.kubernetes.io/topology-aware-hints': o.annotation };
  return {
    nodePort: o.nodePort ?? 0,
    loadBalancerVIPs: [],
    externalIPs: [],
    externalPolicyLocal: o.externalLocal ?? false,
    internalPolicyLocal: o.internalLocal ?? false,
    endpoints: endpoints.map(endpoint),
    nodeZone: o.zone ?? '',
    useZoneHints: zoneHintsUsed(o.version ?? '1.26', annotations),
  };
}
const names = (eps: ProxyEndpoint[]) => eps.map((e) => e.str);
const four = (d: string): Ep[] => [
  { ep: '10.1.2.3:80', zones: ['zone-a'] },
  { ep: '10.1.2.4:80', zones: ['zone-b'] },
  { ep: '10.1.2.5:80', zones: [d] },
  { ep: '10.1.2.6:80', zones: ['zone-a'] },
];
const ALL = ['10.1.2.3:80', '10.1.2.4:80', '10.1.2.5:80', '10.1.2.6:80'];

t.test("upstream's TestCategorizeEndpoints, as a 1.26 kube-proxy (hints only under the annotation Auto)", async (t) => {
  const cases: { name: string; p: PortPolicy<ProxyEndpoint>; cluster: string[]; local?: string[]; all?: string[] }[] = [
    { name: 'hints annotation == auto', p: policy(four('zone-c'), { zone: 'zone-a', annotation: 'auto' }), cluster: ['10.1.2.3:80', '10.1.2.6:80'] },
    { name: 'hints annotation == disabled, hints ignored', p: policy(four('zone-c'), { zone: 'zone-a', annotation: 'disabled' }), cluster: ALL },
    { name: 'hints annotation == aUto (wrong capitalization), hints ignored', p: policy(four('zone-c'), { zone: 'zone-a', annotation: 'aUto' }), cluster: ALL },
    { name: 'hints annotation empty, hints ignored', p: policy(four('zone-c'), { zone: 'zone-a' }), cluster: ALL },
    {
      name: 'externalTrafficPolicy: Local, topology ignored for Local endpoints',
      p: policy(
        [
          { ep: '10.1.2.3:80', zones: ['zone-a'], local: true },
          { ep: '10.1.2.4:80', zones: ['zone-b'], local: true },
          { ep: '10.1.2.5:80', zones: ['zone-c'] },
          { ep: '10.1.2.6:80', zones: ['zone-a'] },
        ],
        { zone: 'zone-a', annotation: 'auto', externalLocal: true, nodePort: 8080 },
      ),
      cluster: ['10.1.2.3:80', '10.1.2.6:80'],
      local: ['10.1.2.3:80', '10.1.2.4:80'],
      all: ['10.1.2.3:80', '10.1.2.4:80', '10.1.2.6:80'],
    },
    {
      name: 'internalTrafficPolicy: Local, topology ignored for Local endpoints',
      p: policy(
        [
          { ep: '10.1.2.3:80', zones: ['zone-a'], local: true },
          { ep: '10.1.2.4:80', zones: ['zone-b'], local: true },
          { ep: '10.1.2.5:80', zones: ['zone-c'] },
          { ep: '10.1.2.6:80', zones: ['zone-a'] },
        ],
        { zone: 'zone-a', annotation: 'auto', internalLocal: true, nodePort: 8080 },
      ),
      cluster: ['10.1.2.3:80', '10.1.2.6:80'],
      local: ['10.1.2.3:80', '10.1.2.4:80'],
      all: ['10.1.2.3:80', '10.1.2.4:80', '10.1.2.6:80'],
    },
    { name: 'empty node labels', p: policy([{ ep: '10.1.2.3:80', zones: ['zone-a'] }], { annotation: 'auto' }), cluster: ['10.1.2.3:80'] },
    {
      name: 'node in different zone, no endpoint filtering',
      p: policy([{ ep: '10.1.2.3:80', zones: ['zone-a'] }], { zone: 'zone-b', annotation: 'auto' }),
      cluster: ['10.1.2.3:80'],
    },
    { name: 'normal endpoint filtering, Auto annotation', p: policy(four('zone-c'), { zone: 'zone-a', annotation: 'Auto' }), cluster: ['10.1.2.3:80', '10.1.2.6:80'] },
    {
      name: 'unready endpoint',
      p: policy([...four('zone-c').slice(0, 3), { ep: '10.1.2.6:80', zones: ['zone-a'], ready: false }], { zone: 'zone-a', annotation: 'auto' }),
      cluster: ['10.1.2.3:80'],
    },
    {
      name: 'only unready endpoints in same zone (should not filter)',
      p: policy(
        [
          { ep: '10.1.2.3:80', zones: ['zone-a'], ready: false },
          { ep: '10.1.2.4:80', zones: ['zone-b'] },
          { ep: '10.1.2.5:80', zones: ['zone-c'] },
          { ep: '10.1.2.6:80', zones: ['zone-a'], ready: false },
        ],
        { zone: 'zone-a', annotation: 'auto' },
      ),
      cluster: ['10.1.2.4:80', '10.1.2.5:80'],
    },
    {
      name: 'missing hints, no filtering applied',
      p: policy([...four('zone-c').slice(0, 2), { ep: '10.1.2.5:80' }, four('zone-c')[3]!], { zone: 'zone-a', annotation: 'auto' }),
      cluster: ALL,
    },
    {
      name: 'multiple hints per endpoint, filtering includes any endpoint with zone included',
      p: policy(
        [
          { ep: '10.1.2.3:80', zones: ['zone-a', 'zone-b', 'zone-c'] },
          { ep: '10.1.2.4:80', zones: ['zone-b', 'zone-c'] },
          { ep: '10.1.2.5:80', zones: ['zone-b', 'zone-d'] },
          { ep: '10.1.2.6:80', zones: ['zone-c'] },
        ],
        { zone: 'zone-c', annotation: 'auto' },
      ),
      cluster: ['10.1.2.3:80', '10.1.2.4:80', '10.1.2.6:80'],
    },
    {
      name: 'conflicting topology and localness require merging allEndpoints',
      p: policy(
        [
          { ep: '10.0.0.0:80', zones: ['zone-a'], local: true },
          { ep: '10.0.0.1:80', zones: ['zone-b'], local: true },
          { ep: '10.0.0.2:80', zones: ['zone-a'] },
          { ep: '10.0.0.3:80', zones: ['zone-b'] },
        ],
        { zone: 'zone-a', annotation: 'auto', externalLocal: true, nodePort: 8080 },
      ),
      cluster: ['10.0.0.0:80', '10.0.0.2:80'],
      local: ['10.0.0.0:80', '10.0.0.1:80'],
      all: ['10.0.0.0:80', '10.0.0.1:80', '10.0.0.2:80'],
    },
  ];
  for (const c of cases) {
    const r = categorizeEndpoints(c.p);
    t.same(names(r.cluster), c.cluster, `${c.name}: cluster`);
    t.same(names(r.local), c.local ?? [], `${c.name}: local`);
    t.same(names(r.reachable), c.all ?? c.cluster, `${c.name}: all reachable`);
    t.equal(r.topology, c.cluster.length < c.p.endpoints.filter((e) => e.ready).length, `${c.name}: topology`);
  }
});

t.test('from 1.31 the hints are used whatever the annotations say (KEP-4444); before, only under one', async (t) => {
  const eps = four('zone-c');
  for (const v of kubernetesVersions) {
    const newer = ['1.31', '1.32', '1.33'].includes(v);
    t.same(names(categorizeEndpoints(policy(eps, { zone: 'zone-a', version: v })).cluster), newer ? ['10.1.2.3:80', '10.1.2.6:80'] : ALL, `no annotation, ${v}`);
    t.same(names(categorizeEndpoints(policy(eps, { zone: 'zone-a', version: v, annotation: 'Disabled' })).cluster), newer ? ['10.1.2.3:80', '10.1.2.6:80'] : ALL, `Disabled, ${v}`);
  }
  // 1.27 (kubernetes#116522) added topology-mode and took any value but "", disabled and Disabled;
  // the deprecated topology-aware-hints wins when both are there, even empty.
  t.notOk(zoneHintsUsed('1.26', { 'service.kubernetes.io/topology-mode': 'Auto' }));
  t.notOk(zoneHintsUsed('1.26', { 'service.kubernetes.io/topology-aware-hints': 'PreferZone' }));
  t.ok(zoneHintsUsed('1.27', { 'service.kubernetes.io/topology-aware-hints': 'PreferZone' }));
  t.ok(zoneHintsUsed('1.30', { 'service.kubernetes.io/topology-mode': 'aUto' }));
  t.ok(zoneHintsUsed('1.26', { 'service.kubernetes.io/topology-aware-hints': 'Auto' }));
  t.ok(zoneHintsUsed('1.27', { 'service.kubernetes.io/topology-mode': 'Auto' }));
  t.notOk(zoneHintsUsed('1.30', { 'service.kubernetes.io/topology-aware-hints': '', 'service.kubernetes.io/topology-mode': 'Auto' }));
  t.ok(zoneHintsUsed('1.30', { 'service.kubernetes.io/topology-aware-hints': 'auto', 'service.kubernetes.io/topology-mode': 'disabled' }));
});

t.test('serving-terminating fallback ignores topology; Local-only Services never look at hints', async (t) => {
  const r = categorizeEndpoints({
    ...policy([], { zone: 'zone-a', version: '1.33' }),
    endpoints: [
      { str: '10.0.0.1:80', ready: false, serving: true, terminating: true, isLocal: false, zoneHints: ['zone-b'] },
      { str: '10.0.0.2:80', ready: false, serving: false, terminating: true, isLocal: false, zoneHints: ['zone-a'] },
    ],
  });
  t.same(names(r.cluster), ['10.0.0.1:80']);
  t.notOk(r.topology);
  const local = categorizeEndpoints(
    policy(
      [
        { ep: '10.0.0.1:80', zones: ['zone-b'], local: true },
        { ep: '10.0.0.2:80', zones: ['zone-a'] },
      ],
      { zone: 'zone-a', version: '1.33', internalLocal: true },
    ),
  );
  t.same(names(local.local), ['10.0.0.1:80']);
  t.notOk(local.topology, 'internalTrafficPolicy Local on a ClusterIP-only Service: no Cluster endpoints, no topology');
});

t.test("the EndpointSlice controller's PreferClose hints: from 1.31, unless topology-mode Auto takes over", async (t) => {
  const svc = (spec: Partial<Service['spec']>, annotations: Record<string, string> = {}) =>
    ({ spec: { trafficDistribution: 'PreferClose', ...spec }, annotations }) as unknown as Service;
  t.same(
    kubernetesVersions.filter((v) => prefersClose(svc({}), v)),
    ['1.31', '1.32', '1.33'],
    'absent before 1.30, alpha and off (the API server drops the field) in 1.30',
  );
  t.notOk(prefersClose(svc({}, { 'service.kubernetes.io/topology-mode': 'Auto' }), '1.33'), 'the annotation has precedence');
  t.ok(prefersClose(svc({}, { 'service.kubernetes.io/topology-mode': 'Disabled' }), '1.33'));
  t.notOk(prefersClose(svc({ trafficDistribution: undefined }), '1.33'));
  t.ok(topologyModeAuto({ 'service.kubernetes.io/topology-aware-hints': 'auto', 'service.kubernetes.io/topology-mode': 'Disabled' }));
  t.notOk(topologyModeAuto({ 'service.kubernetes.io/topology-aware-hints': 'Disabled', 'service.kubernetes.io/topology-mode': 'Auto' }), 'the deprecated annotation wins');
});
