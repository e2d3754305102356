// `validate` warns where kube-proxy's random choice of endpoint alone fails `backends: all` or a list.
import t from 'tap';
import { head, validateText } from '../helpers.js';

const scenario = (cluster: string, step: string) => `${head(2, cluster)}manifests:
  - {apiVersion: apps/v1, kind: Deployment, metadata: {name: web}, spec: {replicas: 2, selector: {matchLabels: {app: web}}, template: {metadata: {labels: {app: web}}, spec: {containers: [{name: web, image: nginx}]}}}}
  - {apiVersion: v1, kind: Service, metadata: {name: web}, spec: {selector: {app: web}, ports: [{port: 80}]}}
  - {apiVersion: v1, kind: Pod, metadata: {name: client}, spec: {containers: [{name: c, image: busybox}]}}
steps:
${step}`;

const all = (count: number, more = '') => `  - http: {from: pod/client, to: service/web, count: ${count}}
    expect: {backends: all}${more}
`;

t.test('backends: all over two endpoints in 4 tries: 1 run in 8, warned at it with the count that fixes it', async (t) => {
  const v = await validateText(scenario('', all(4)));
  t.match(v.lines, [
    /^[^:]*:13:24: warning: `steps\[0\]\.expect\.backends` wants each of the 2 endpoints to answer in 4 tries, .*1 run in 8 fails by chance alone; `http\.count: 11` makes that 1 in 1000 or rarer$/,
  ]);
  t.equal(v.problems[0]?.code, 'flaky-expectation');
});

t.test('enough tries, a list of one, IPVS only, or expectIn.ipvs: no warning', async (t) => {
  t.same((await validateText(scenario('', all(11)))).lines, []);
  t.same((await validateText(scenario('  proxyModes: [ipvs]', all(4)))).lines, []);
  t.same(
    (await validateText(scenario('', `  - http: {from: pod/client, to: service/web, count: 4}\n    expect: {backends: [pod/web-0]}\n`))).problems.filter(
      (p) => p.code === 'flaky-expectation',
    ),
    [],
  );
  const v = await validateText(scenario('', all(12, '\n    expectIn: {ipvs: {backends: all}}')));
  t.same(v.lines, []);
});

t.test('a list of two of three endpoints is judged as such', async (t) => {
  const text = scenario('', `  - http: {from: pod/client, to: service/web, count: 6}\n    expect: {backends: [pod/web-0, pod/web-1]}\n`).replace('replicas: 2', 'replicas: 3');
  t.match((await validateText(text)).lines, [/wants 2 of the 3 endpoints each to answer in 6 tries/]);
});
