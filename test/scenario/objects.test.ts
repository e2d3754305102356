import t from 'tap';
import { readKubeObject, type ServiceObject, type EndpointSliceObject, type PodObject } from '../../src/scenario/objects.js';
import { Problems } from '../../src/scenario/problems.js';
import { parseYaml } from '../../src/scenario/source.js';
import { head, validateText } from '../helpers.js';

function read(text: string) {
  const { docs } = parseYaml('m.yaml', text);
  const problems = new Problems();
  const objects = docs.map((doc) => readKubeObject(doc.value(), { doc, path: [] }, problems));
  return { objects, messages: problems.list.map((p) => `${p.location?.line}:${p.location?.col}: ${p.severity === 'warning' ? 'warning: ' : ''}${p.message}`) };
}

t.test('a Service as kubectl get -o yaml prints it is accepted as it is', async (t) => {
  const { objects, messages } = read(`apiVersion: v1
kind: Service
metadata:
  creationTimestamp: "2020-11-25T03:55:05Z"
  labels:
    app: nginx
  managedFields:
  - apiVersion: v1
    fieldsType: FieldsV1
    manager: kubectl
    operation: Update
  name: nginx
  namespace: default
  resourceVersion: "591029"
  selfLink: /api/v1/namespaces/default/services/nginx
  uid: 84fea557-e19d-486d-b879-13743c603091
spec:
  clusterIP: 10.68.18.121
  externalTrafficPolicy: Cluster
  ports:
  - nodePort: 30651
    port: 80
    protocol: TCP
    targetPort: 80
  selector:
    app: nginx
  sessionAffinity: None
  type: NodePort
status:
  loadBalancer: {}
`);
  t.same(messages, []);
  const svc = objects[0] as ServiceObject;
  t.equal(svc.spec.type, 'NodePort');
  t.equal(svc.spec.clusterIP, '10.68.18.121');
  t.same(svc.spec.ports, [{ name: '', port: 80, targetPort: 80, nodePort: 30651, protocol: 'TCP' }]);
  t.equal(svc.spec.sessionAffinityTimeout, 10800, 'the ClientIP timeout defaults to 3 hours, as upstream');
});

t.test('EndpointSlice v1beta1 topology becomes nodeName and zone; nil ready means ready', async (t) => {
  const { objects, messages } = read(`apiVersion: discovery.k8s.io/v1beta1
kind: EndpointSlice
metadata:
  name: example-abc
  labels:
    kubernetes.io/service-name: example
addressType: IPv4
ports:
  - name: http
    protocol: TCP
    port: 80
endpoints:
  - addresses:
      - "10.1.2.3"
    conditions:
      ready: true
    topology:
      kubernetes.io/hostname: node-1
      topology.kubernetes.io/zone: us-central1-a
  - addresses: ["10.1.2.4"]
`);
  t.same(messages, []);
  const s = objects[0] as EndpointSliceObject;
  t.equal(s.serviceName, 'example');
  t.same(
    s.endpoints.map((e) => [e.addresses[0], e.ready, e.nodeName, e.zone]),
    [
      ['10.1.2.3', true, 'node-1', 'us-central1-a'],
      ['10.1.2.4', true, undefined, undefined],
    ],
  );
});

t.test('pod readiness and termination from pasted status', async (t) => {
  const { objects } = read(`apiVersion: v1
kind: Pod
metadata: {name: p, deletionTimestamp: "2024-01-01T00:00:00Z"}
spec: {containers: [{name: c}]}
status:
  conditions:
  - {type: Ready, status: "False"}
`);
  const p = objects[0] as PodObject;
  t.equal(p.ready, false);
  t.equal(p.meta.terminating, true);
});

t.test('wrong apiVersion, unknown and misspelt kinds, unquoted label values', async (t) => {
  const { messages } = read(`apiVersion: v1
kind: Deployment
metadata: {name: d}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: c}
---
apiVersion: v1
kind: Servce
metadata: {name: s}
---
apiVersion: v1
kind: Pod
metadata: {name: p, labels: {on: true}}
spec: {containers: [{name: c}]}
`);
  t.same(messages, [
    '1:13: Expected `apiVersion` of Deployment to be apps/v1 or apps/v1beta2 or apps/v1beta1 or extensions/v1beta1, got `v1`',
    '6:7: warning: kind ConfigMap is not understood by knetlab and is skipped',
    '10:7: Unknown kind `Servce`; did you mean `Service`?',
    '15:34: Expected `metadata.labels.on` of Pod default/p to be a string (quote it), got `true`',
  ]);
});

t.test("a container port's hostIP must be an IP address (portmap passes it to iptables -d)", async (t) => {
  const pod = (hostIP: string) =>
    `${head(1)}manifests:\n  - {apiVersion: v1, kind: Pod, metadata: {name: p}, spec: {containers: [{name: c, ports: [{containerPort: 80, hostPort: 8080, hostIP: "${hostIP}"}]}]}}\n`;
  const bad = await validateText(pod('nope'));
  t.match(bad.lines.join('\n'), /hostIP` of Pod default\/p to be an IP address, got `nope`/);
  for (const ok of ['192.168.8.11', '0.0.0.0', '::'])
    t.same(
      (await validateText(pod(ok))).problems.filter((p) => p.severity === 'error'),
      [],
      ok,
    );
});
