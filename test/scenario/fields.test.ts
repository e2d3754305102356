// The one list of networking fields (src/scenario/fields.ts): docs/fields.md lists exactly it, and
// `knetlab validate` warns (not-modelled, at line:col) about each warned field a pasted object sets.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import t from 'tap';
import type { ValidateJson } from '../../src/report/validate-json.js';
import { fieldList, pathSegments } from '../../src/scenario/fields.js';
import { head, validateText, writeScenario } from '../helpers.js';

t.test('docs/fields.md lists every field of the list, in its group, with its status and note, and nothing else', async (t) => {
  const doc = readFileSync('docs/fields.md', 'utf8');
  const rows: string[] = [];
  let group = '';
  for (const line of doc.split('\n')) {
    const h = /^### (.+)$/.exec(line);
    if (h) group = h[1]!;
    const r = /^\| `([^`]+)` \| (honoured|warned) \| (.*) \|$/.exec(line);
    if (r) rows.push(`${group} | ${r[1]} | ${r[2]} | ${r[3]!.replace(/\\\|/g, '|')}`);
  }
  t.same(
    rows,
    fieldList.map((f) => `${f.group} | ${f.path} | ${f.status} | ${f.note}`),
  );
  t.match(readFileSync('docs/SCENARIO_FORMAT.md', 'utf8'), /\(fields\.md\)/, 'SCENARIO_FORMAT.md links the page');
  t.match(readFileSync('README.md', 'utf8'), /\(docs\/fields\.md\)/, 'the README links the page');
});

t.test('the fields the issue names are in the list', async (t) => {
  const has = (group: string, path: string, status: string) => fieldList.some((f) => f.group === group && f.path === path && f.status === status);
  for (const p of ['spec.loadBalancerSourceRanges', 'spec.healthCheckNodePort', 'spec.publishNotReadyAddresses', 'spec.sessionAffinityConfig.clientIP.timeoutSeconds'])
    t.ok(has('Service', p, 'honoured'), p);
  t.ok(has('Pod spec', 'hostNetwork', 'honoured'));
  t.ok(has('Pod spec', 'containers[].ports[].hostPort', 'honoured'));
  t.ok(has('EndpointSlice', 'endpoints[].conditions.serving', 'honoured'));
  t.ok(has('EndpointSlice', 'endpoints[].conditions.terminating', 'honoured'));
  for (const p of ['spec.ipFamilies', 'spec.ipFamilyPolicy', 'spec.allocateLoadBalancerNodePorts', 'spec.loadBalancerClass']) t.ok(has('Service', p, 'warned'), p);
  for (const p of ['dnsPolicy', 'dnsConfig', 'hostAliases']) t.ok(has('Pod spec', p, 'warned'), p);
  t.notOk(
    fieldList.some((f) => f.path === 'hostPID'),
    'hostPID does not change networking',
  );
  t.same(pathSegments('metadata.annotations["service.kubernetes.io/topology-mode"]'), ['metadata', 'annotations', '["service.kubernetes.io/topology-mode"]']);
  t.same(pathSegments('containers[].ports[].hostPort'), ['containers', '[]', 'ports', '[]', 'hostPort']);
});

const manifests = `manifests:
  - apiVersion: v1
    kind: Service
    metadata:
      name: web
      annotations: {service.kubernetes.io/topology-mode: Auto}
    spec:
      type: LoadBalancer
      selector: {app: web}
      ports: [{port: 80}]
      clusterIPs: [10.96.0.50]
      ipFamilies: [IPv4, IPv6]
      ipFamilyPolicy: PreferDualStack
      allocateLoadBalancerNodePorts: false
      loadBalancerClass: example.com/lb
  - apiVersion: v1
    kind: Service
    metadata: {name: quiet}
    spec: {selector: {app: web}, ports: [{port: 80}], ipFamilies: [IPv4], ipFamilyPolicy: SingleStack}
  - apiVersion: apps/v1
    kind: Deployment
    metadata: {name: web}
    spec:
      selector: {matchLabels: {app: web}}
      template:
        metadata: {labels: {app: web}}
        spec:
          dnsPolicy: None
          dnsConfig: {nameservers: [1.1.1.1]}
          hostAliases: [{ip: 1.2.3.4, hostnames: [db]}]
          hostPID: true
          containers:
            - name: web
              image: nginx
              ports: [{containerPort: 80, hostPort: 8080}]
  - apiVersion: v1
    kind: Pod
    metadata: {name: quiet}
    spec: {dnsPolicy: ClusterFirst, containers: [{name: c, image: nginx}]}
`;

t.test('validate warns at line:col about each field not modelled, one a field, and stays valid', async (t) => {
  const v = await validateText(`${head(1)}${manifests}`);
  t.same(
    v.problems.filter((p) => p.severity === 'error'),
    [],
  );
  const warned = v.problems.filter((p) => p.code === 'not-modelled');
  t.same(
    warned.map((p) => [p.location?.line, /^`([^`]+)` of (\S+ \S+)/.exec(p.message)?.slice(1).join(' of ')]),
    [
      [11, 'metadata.annotations["service.kubernetes.io/topology-mode"] of Service default/web'],
      [17, 'spec.ipFamilies of Service default/web'],
      [18, 'spec.ipFamilyPolicy of Service default/web'],
      [19, 'spec.allocateLoadBalancerNodePorts of Service default/web'],
      [20, 'spec.loadBalancerClass of Service default/web'],
      [33, 'spec.template.spec.dnsPolicy of Deployment default/web'],
      [34, 'spec.template.spec.dnsConfig of Deployment default/web'],
      [35, 'spec.template.spec.hostAliases of Deployment default/web'],
    ],
  );
  t.ok(warned.every((p) => p.severity === 'warning'));
  t.match(warned[5]!.message, /changes networking in a cluster but is not modelled: pods resolve through the cluster DNS/);
});

t.test('validate -o json carries the warnings with their code and place; exit 0', async (t) => {
  const file = writeScenario(`${head(1)}${manifests}`);
  const r = spawnSync(process.execPath, ['dist/cli/main.js', 'validate', '-o', 'json', file], { encoding: 'utf8' });
  t.equal(r.status, 0);
  const doc = JSON.parse(r.stdout) as ValidateJson;
  const problems = doc.files[0]!.problems.filter((p) => p.code === 'not-modelled');
  t.equal(problems.length, 8);
  t.same([problems[1]!.severity, problems[1]!.line, problems[1]!.column], ['warning', 17, 19]);
  const text = spawnSync(process.execPath, ['dist/cli/main.js', 'validate', file], { encoding: 'utf8' });
  t.equal(text.status, 0);
  t.match(text.stdout + text.stderr, /:17:19: warning: `spec\.ipFamilies` of Service default\/web changes networking/);
});
