import t from 'tap';
import { readLabStep, withSteps } from '../../src/run/lab-steps.js';
import { head, writeScenario } from '../helpers.js';

const scenario = `${head(2)}hosts: [{name: client}]
manifests:
  - {apiVersion: v1, kind: Pod, metadata: {name: web, labels: {app: web}}, spec: {nodeName: node-1, containers: [{name: web, ports: [{containerPort: 80}]}]}}
  - {apiVersion: v1, kind: Service, metadata: {name: web}, spec: {selector: {app: web}, ports: [{port: 80}]}}
steps:
  - sleep: 1s
`;

t.test("withSteps replaces the file's steps and says which lines the last one takes", async (t) => {
  const w = withSteps(scenario, [{ sleep: '1s' }, { http: { from: 'host/client', to: 'service/web' }, expect: { status: 200 } }]);
  const lines = w.text.split('\n');
  t.match(lines.slice(w.lines.first - 1, w.lines.last).join('\n'), /^ {2}- http:\n.*from: host\/client[\s\S]*status: 200$/);
  t.equal(w.text.match(/sleep: 1s/g)?.length, 1, 'the file steps are gone, the given ones are there');
});

t.test('a lab step is read after the earlier ones, its problems located in itself', async (t) => {
  const file = writeScenario(scenario);
  const opts = {};
  const ok = await readLabStep(file, scenario, [], { http: { from: 'host/client', to: 'service/web' } }, 'lab step 1', opts);
  t.equal(ok.ok, true);
  t.match(ok.ok && ok.step, { kind: 'http', index: 0 });

  const bad = await readLabStep(file, scenario, [], { http: { from: 'host/client', to: 'service/web2' } }, 'lab step 2', opts);
  t.equal(bad.ok, false);
  t.match(!bad.ok && bad.problems, [{ severity: 'error', location: { file: 'lab step 2', line: 3 }, message: /^`http\.to`.*service\/web2/ }]);

  // An earlier apply makes the name good: the step is checked after the lab's history.
  const svc = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web2' }, spec: { selector: { app: 'web' }, ports: [{ port: 80 }] } };
  const after = await readLabStep(file, scenario, [{ apply: svc }], { http: { from: 'host/client', to: 'service/web2' } }, 'lab step 3', opts);
  t.match(after, { ok: true, step: { kind: 'http', index: 1 } });

  const notAStep = await readLabStep(file, scenario, [], { curl: {} }, 'lab step 4', opts);
  t.match(notAStep, { ok: false, problems: [{ location: { file: 'lab step 4', line: 1 } }] });
});
