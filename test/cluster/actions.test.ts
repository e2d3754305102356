import t from 'tap';
import { applyObjects, deleteObject, patchObject, scaleDeployment } from '../../src/cluster/actions.js';
import type { Model } from '../../src/cluster/types.js';
import { Problems } from '../../src/scenario/problems.js';
import { head, modelOf } from '../helpers.js';

const manifests = `manifests:
  - apiVersion: apps/v1
    kind: Deployment
    metadata: {name: web}
    spec:
      replicas: 2
      selector: {matchLabels: {app: web}}
      template:
        metadata: {labels: {app: web}}
        spec: {containers: [{name: c, image: nginx:1.21, ports: [{name: http, containerPort: 8080}]}]}
  - apiVersion: v1
    kind: Service
    metadata: {name: web}
    spec: {type: NodePort, selector: {app: web}, ports: [{port: 80, targetPort: http}]}
`;

const names = (m: Model) => m.pods.filter((p) => p.namespace === 'default').map((p) => `${p.name}@${p.ip}`);
const eps = (m: Model) => m.endpointSlices.filter((s) => s.service === 'web').flatMap((s) => s.endpoints.map((e) => `${e.ip}:${s.ports[0]?.port}`));

function ok<T extends { ok: boolean }>(t: { equal: (a: unknown, b: unknown, m: string) => unknown }, r: T): Extract<T, { ok: true }> {
  t.equal(r.ok, true, r.ok ? 'action applies' : (r as unknown as { reason: string }).reason);
  return r as Extract<T, { ok: true }>;
}

t.test('delete a Deployment pod: the ReplicaSet makes a new one with a new name and a fresh address', async (t) => {
  const m = await modelOf(head(2) + manifests);
  t.same(names(m), ['web-0@10.244.0.2', 'web-1@10.244.1.2']);
  t.same(eps(m), ['10.244.0.2:8080', '10.244.1.2:8080']);
  const after = ok(t, deleteObject(m, { kind: 'Pod', name: 'web-1', namespace: 'default' }, new Problems())).model;
  t.same(names(after), ['web-0@10.244.0.2', 'web-2@10.244.1.4'], 'host-local IPAM moves on past the freed address (coredns-1 has .3)');
  t.same(eps(after), ['10.244.0.2:8080', '10.244.1.4:8080']);
  t.same(names(m), ['web-0@10.244.0.2', 'web-1@10.244.1.2'], 'the old model is unchanged');
});

t.test('scale down removes the newest pods; scale up continues the numbering', async (t) => {
  const m = await modelOf(head(2) + manifests);
  const down = ok(t, scaleDeployment(m, 'web', 'default', 1, m.services[0]!.origin, new Problems())).model;
  t.same(names(down), ['web-0@10.244.0.2']);
  const up = ok(t, scaleDeployment(down, 'web', 'default', 3, m.services[0]!.origin, new Problems())).model;
  t.same(names(up), ['web-0@10.244.0.2', 'web-2@10.244.1.4', 'web-3@10.244.0.4']);
});

t.test('patching a Service keeps its ClusterIP and nodePort', async (t) => {
  const m = await modelOf(head(2) + manifests);
  const svc = m.services.find((s) => s.name === 'web')!;
  const after = ok(t, patchObject(m, { kind: 'svc', name: 'web', namespace: 'default' }, { spec: { externalTrafficPolicy: 'Local' } }, svc.origin, new Problems())).model;
  const patched = after.services.find((s) => s.name === 'web')!;
  t.equal(patched.spec.externalTrafficPolicy, 'Local');
  t.equal(patched.clusterIP, svc.clusterIP);
  t.equal(patched.ports[0]!.nodePort, svc.ports[0]!.nodePort);
  const back = ok(t, patchObject(after, { kind: 'Service', name: 'web', namespace: 'default' }, { spec: { externalTrafficPolicy: '' } }, svc.origin, new Problems())).model;
  t.equal(back.services.find((s) => s.name === 'web')!.spec.externalTrafficPolicy, 'Cluster', 'an empty policy means Cluster, as the seeds patch it');
});

t.test('patching the pod template rolls every pod', async (t) => {
  const m = await modelOf(head(2) + manifests);
  const after = ok(
    t,
    patchObject(
      m,
      { kind: 'deployment', name: 'web', namespace: 'default' },
      { spec: { template: { spec: { containers: [{ name: 'c', image: 'nginx:1.25' }] } } } },
      m.services[0]!.origin,
      new Problems(),
    ),
  ).model;
  t.same(names(after), ['web-2@10.244.0.4', 'web-3@10.244.1.4']);
});

t.test('a bad patch or a missing object is refused with a reason, and the model stays', async (t) => {
  const m = await modelOf(head(2) + manifests);
  const problems = new Problems();
  const bad = patchObject(m, { kind: 'Service', name: 'web', namespace: 'default' }, { spec: { type: 'NodPort' } }, m.services[0]!.origin, problems);
  t.equal(bad.ok, false);
  t.match(problems.list.map((p) => p.message).join('\n'), /did you mean `NodePort`/);
  const missing = deleteObject(m, { kind: 'Service', name: 'wbe', namespace: 'default' }, new Problems());
  t.same(missing, { ok: false, code: 'unknown-object', reason: 'Service default/wbe does not exist; did you mean `web`?', field: 'name' });
  const elsewhere = deleteObject(m, { kind: 'Service', name: 'kube-dns', namespace: 'default' }, new Problems());
  t.same(elsewhere, { ok: false, code: 'unknown-object', reason: 'Service default/kube-dns does not exist; there is one in namespace kube-system', field: 'name' });
  const kind = deleteObject(m, { kind: 'Servise', name: 'web', namespace: 'default' }, new Problems());
  t.same(kind, { ok: false, code: 'unknown-kind', reason: 'unknown kind `Servise`; did you mean `Service`?', field: 'kind' });
});

t.test('apply adds new objects and replaces existing ones', async (t) => {
  const m = await modelOf(head(2) + manifests);
  const v = await modelOf(
    head(2) +
      `manifests:
  - {apiVersion: v1, kind: Pod, metadata: {name: extra, labels: {app: web}}, spec: {nodeName: node-2, containers: [{name: c, ports: [{name: http, containerPort: 9090}]}]}}
`,
  );
  const extra = v.objects.find((o) => o.kind === 'Pod')!;
  const after = applyObjects(m, [extra], new Problems());
  t.same(names(after), ['web-0@10.244.0.2', 'web-1@10.244.1.2', 'extra@10.244.1.4']);
  t.same(eps(after).sort(), ['10.244.0.2:8080', '10.244.1.2:8080', '10.244.1.4:9090'].sort(), 'the named targetPort resolves per pod');
});
