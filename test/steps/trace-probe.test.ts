// Which namespaces a traced probe arms: at most MAX_ARMED at once, the rest named so that the
// report can say where the probe was not traced.
import t from 'tap';
import { namespacesToArm } from '../../src/steps/trace-probe.js';
import { head, modelOf } from '../helpers.js';

t.test('more namespaces than are armed at once: the first 64 armed (source and nodes first), the rest named', async (t) => {
  const model = await modelOf(`${head(2, '  dns: false')}hosts: [{name: client}]
manifests:
  - {apiVersion: apps/v1, kind: Deployment, metadata: {name: web}, spec: {replicas: 70, selector: {matchLabels: {app: web}}, template: {metadata: {labels: {app: web}}, spec: {containers: [{name: web, ports: [{containerPort: 80}]}]}}}}
  - {apiVersion: v1, kind: Service, metadata: {name: web}, spec: {selector: {app: web}, ports: [{port: 80}]}}
`);
  const { armed, notArmed } = namespacesToArm(model, 'client', '10.96.0.1');
  t.equal(armed.length, 64);
  t.same(armed.slice(0, 3), ['client', 'node-1', 'node-2'], 'the source and the nodes first');
  t.equal(notArmed.length, 70 + 3 - 64, 'every namespace beyond them is named');
  t.same(new Set([...armed, ...notArmed]).size, 73, 'none twice, none lost');
  const small = namespacesToArm(await modelOf(`${head(1, '  dns: false')}hosts: [{name: client}]\n`), 'client', '10.96.0.1');
  t.same(small, { armed: ['client', 'node-1'], notArmed: [] });
});
