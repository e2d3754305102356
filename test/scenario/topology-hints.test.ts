// Topology-aware routing fields: trafficDistribution's values, hand-written hints, and what a release
// before 1.31 does with the field (docs/SCENARIO_FORMAT.md, docs/versions.md).
import t from 'tap';
import type { Model } from '../../src/cluster/types.js';
import { validateScenario } from '../../src/validate.js';
import { head, modelOf, validateText, writeScenario } from '../helpers.js';

const svc = (td: string) => `manifests:
  - apiVersion: v1
    kind: Service
    metadata: {name: web}
    spec: {selector: {app: web}, ports: [{port: 80}], trafficDistribution: ${td}}
`;

t.test('trafficDistribution: PreferClose only (PreferSameZone and PreferSameNode need an alpha gate, off)', async (t) => {
  t.same((await validateText(`${head(1)}${svc('PreferClose')}`)).lines, []);
  const v = await validateText(`${head(1)}${svc('PreferSameZone')}`);
  t.match(v.lines.join('\n'), /trafficDistribution.*PreferClose/);
  t.ok(v.problems.some((p) => p.severity === 'error'));
});

t.test('before 1.31 the field is dropped: a warning at it, and no hints', async (t) => {
  const v = await validateText(`${head(1, '  kubernetesVersion: "1.30"')}${svc('PreferClose')}`);
  t.match(v.lines, [/:12:\d+: warning: `spec\.trafficDistribution` of Service default\/web is ignored by Kubernetes 1\.30/]);
  t.same((await validateText(`${head(1, '  kubernetesVersion: "1.31"')}${svc('PreferClose')}`)).lines, []);
});

t.test("a hand-written slice's forZones hints are read; forNodes is warned", async (t) => {
  const text = `${head(2)}manifests:
  - {apiVersion: v1, kind: Service, metadata: {name: db}, spec: {ports: [{port: 5432}]}}
  - apiVersion: discovery.k8s.io/v1
    kind: EndpointSlice
    metadata: {name: db-1, labels: {kubernetes.io/service-name: db}}
    addressType: IPv4
    ports: [{port: 5432}]
    endpoints:
      - {addresses: [192.168.8.50], zone: zone-a, hints: {forZones: [{name: zone-a}]}}
      - {addresses: [192.168.8.51], zone: zone-b, hints: {forZones: [{name: zone-b}], forNodes: [{name: node-2}]}}
`;
  const v = await validateText(text);
  t.match(v.lines, [/:16:\d+: warning: `endpoints\[1\]\.hints\.forNodes` of EndpointSlice default\/db-1 changes networking/]);
  const m = await modelOf(text);
  t.same(
    m.endpointSlices.find((s) => s.name === 'db-1')!.endpoints.map((e) => e.zoneHints),
    [['zone-a'], ['zone-b']],
  );
});

t.test('run --kubernetes-version builds the model as that release: the controller hints PreferClose from 1.31', async (t) => {
  const text = `${head(2, '  kubernetesVersion: "1.30"')}${svc('PreferClose')}  - apiVersion: v1
    kind: Pod
    metadata: {name: web-1, labels: {app: web}}
    spec: {nodeName: node-1, containers: [{name: web, image: nginx}]}
`.replace('  - name: node-1\n  - name: node-2', '  - {name: node-1, labels: {topology.kubernetes.io/zone: a}}\n  - {name: node-2, labels: {topology.kubernetes.io/zone: b}}');
  const hints = (v: { model?: Model }) => v.model?.endpointSlices.filter((s) => s.name.startsWith('web')).flatMap((s) => s.endpoints.map((e) => e.zoneHints ?? []));
  const file = writeScenario(text);
  t.same(hints(await validateScenario(file)), [[]], 'as written (1.30): no hints');
  const v = await validateScenario(file, { overrides: { kubernetesVersion: '1.33' } });
  t.equal(v.model?.config.kubernetesVersion, '1.33');
  t.same(hints(v), [['a']], 'as 1.33: the endpoint hinted for its zone');
  t.notOk(
    v.problems.some((p) => p.code === 'ignored-field'),
    'and no warning that the field is dropped',
  );
});
