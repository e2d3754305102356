import t from 'tap';
import { applyDiff, diffObjects, fixedChanges, objectName } from '../../src/cluster/reload.js';
import type { Model } from '../../src/cluster/types.js';
import { Problems } from '../../src/scenario/problems.js';
import { head, modelOf } from '../helpers.js';

const pod = (name: string, node = 'node-1', app = 'web') =>
  `  - {apiVersion: v1, kind: Pod, metadata: {name: ${name}, labels: {app: ${app}}}, spec: {nodeName: ${node}, containers: [{name: c, ports: [{containerPort: 80}]}]}}`;
const svc = (name: string, port = 80, ns = '') =>
  `  - {apiVersion: v1, kind: Service, metadata: {name: ${name}${ns ? `, namespace: ${ns}` : ''}}, spec: {selector: {app: web}, ports: [{port: ${port}, targetPort: 80}]}}`;
const scenario = (...manifests: string[]) => `${head(2, '  dns: false')}manifests:\n${manifests.join('\n')}\n`;
const names = (d: { apply: { kind: string; meta: { name: string; namespace: string } }[]; delete: { kind: string; meta: { name: string; namespace: string } }[] }) => ({
  apply: d.apply.map((o) => objectName(o as never)),
  delete: d.delete.map((o) => objectName(o as never)),
});

t.test('the diff: new and changed objects applied, gone ones deleted, the same ones left alone', async (t) => {
  const before = await modelOf(scenario(pod('web'), pod('extra', 'node-2', 'other'), svc('web')));
  const after = await modelOf(scenario(pod('web'), svc('web', 8080), svc('api')));
  t.same(names(diffObjects(before.objects, after.objects)), { apply: ['service/web', 'service/api'], delete: ['pod/extra'] });
  t.same(names(diffObjects(before.objects, before.objects)), { apply: [], delete: [] }, 'the same file changes nothing (the cluster’s own objects included)');
});

t.test('namespaces are deleted after what is in them, and named with their objects', async (t) => {
  const ns = '  - {apiVersion: v1, kind: Namespace, metadata: {name: team}}';
  const before = await modelOf(scenario(pod('web'), ns, svc('api', 80, 'team')));
  const after = await modelOf(scenario(pod('web')));
  const d = diffObjects(before.objects, after.objects);
  t.same(names(d), { apply: [], delete: ['service/api.team', 'namespace/team'] });
  const r = applyDiff(before, d, new Problems());
  t.ok(r.ok);
  const m = (r as { model: Model }).model;
  t.notOk(
    m.objects.some((o) => o.meta.name === 'team' || o.meta.namespace === 'team'),
    'both are gone',
  );
  t.notOk(
    m.services.some((s) => s.namespace === 'team'),
    'and so is the Service the model had',
  );
});

t.test('applying the diff brings the live model to the file, keeping what was allocated', async (t) => {
  const before = await modelOf(scenario(pod('web'), pod('extra', 'node-2', 'other'), svc('web')));
  const after = await modelOf(scenario(pod('web'), svc('web', 8080), svc('api')));
  const problems = new Problems();
  const r = applyDiff(before, diffObjects(before.objects, after.objects), problems);
  t.equal(problems.errorCount, 0);
  if (!r.ok) throw new Error(r.reason);
  const web = (m: Model) => m.services.find((s) => s.name === 'web')!;
  t.same(
    r.model.pods.filter((p) => p.namespace === 'default').map((p) => p.name),
    ['web'],
    'the pod the file dropped is gone',
  );
  t.equal(web(r.model).ports[0]!.port, 8080, 'the changed Service has its new port');
  t.equal(web(r.model).clusterIP, web(before).clusterIP, 'and keeps its ClusterIP, as kubectl apply does');
  t.ok(
    r.model.services.some((s) => s.name === 'api'),
    'the new Service is there',
  );
});

t.test('what a live cluster cannot follow: settings, nodes and hosts', async (t) => {
  const base = await modelOf(`${head(2, '  dns: false')}hosts: [{name: client}]\n`);
  t.same(fixedChanges(base, base), []);
  t.same(fixedChanges(base, await modelOf(`${head(2, '  dns: false\n  proxyMode: nftables')}hosts: [{name: client}]\n`)), ['cluster.proxyMode']);
  t.same(fixedChanges(base, await modelOf(`${head(3, '  dns: false')}hosts: [{name: client}]\n`)), ['node node-3 added']);
  t.same(fixedChanges(base, await modelOf(`${head(2, '  dns: false')}hosts: [{name: client2}]\n`)), ['host client removed', 'host client2 added']);
  t.same(fixedChanges(base, await modelOf(`${head(2, '  dns: false')}hosts: [{name: client, serve: [{port: 9090}]}]\n`)), ['host client changed']);
});
