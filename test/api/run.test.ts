// The library's runScenario, runScenarios and validate: the CLI's engine, as data.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { runScenario, runScenarios, validate } from '../../dist/index.js';
import { writeScenario } from '../helpers.js';

const notRoot = process.getuid?.() !== 0 ? 'runScenario builds namespaces: needs root' : false;

const scenario = (expectStatus: number) => `apiVersion: knetlab/v1
kind: Scenario
metadata: {name: api-run}
cluster: {dns: false}
nodes: [{name: node-1}, {name: node-2}]
hosts: [{name: client}]
manifests:
  - {apiVersion: v1, kind: Pod, metadata: {name: web, labels: {app: web}}, spec: {nodeName: node-1, containers: [{name: web, ports: [{containerPort: 80}]}]}}
  - {apiVersion: v1, kind: Service, metadata: {name: web}, spec: {type: NodePort, externalTrafficPolicy: Local, selector: {app: web}, ports: [{port: 80, nodePort: 30080}]}}
steps:
  - name: the client's address is kept with policy Local
    http: {from: host/client, to: nodeport/web@node-1, count: 2}
    expect: {status: ${expectStatus}, sourceIp: host/client}
  - http: {from: host/client, to: nodeport/web@node-2}
    expect: {fail: any}
`;

const out = mkdtempSync(join(tmpdir(), 'knetlab-api-'));
t.teardown(() => rmSync(out, { recursive: true, force: true }));
const dirs = { diagnosticsDir: join(out, 'd'), artifactsDir: join(out, 'a') };

t.test('runScenario reports each step and try as data', { skip: notRoot }, async (t) => {
  const report = await runScenario(writeScenario(scenario(200)), { proxyMode: 'nftables', ...dirs });
  t.equal(report.status, 'passed', report.reason ?? '');
  t.equal(report.name, 'api-run');
  t.same(
    report.steps.map((s) => s.status),
    ['passed', 'passed'],
  );
  t.equal(report.steps[0]!.name, "the client's address is kept with policy Local");
  t.same(
    report.steps[0]!.tries.map((x) => [x.status, x.sourceIp, x.backend]),
    [
      [200, '192.168.8.200', 'pod/web.default'],
      [200, '192.168.8.200', 'pod/web.default'],
    ],
    "each try: its status, the client's own address as the pod saw it (policy Local), the pod that answered",
  );
  t.ok(report.phases.some((p) => p.name === 'kube-proxy'));
});

t.test('a failed step fails the report, with what was expected and seen', { skip: notRoot }, async (t) => {
  const [report] = await runScenarios([writeScenario(scenario(404))], { ...dirs, jobs: 1 });
  t.equal(report!.status, 'failed');
  t.match(report!.steps[0], { status: 'failed', expected: /status 404/, seen: /200/ });
  t.equal(report!.steps[1]!.status, 'skipped');
});

t.test('an invalid scenario throws before anything is built, with every problem located', async (t) => {
  const file = writeScenario(scenario(200).replace('nodeport/web@node-2', 'nodeport/nope@node-2').replace('count: 2', 'count: two'));
  const err = await runScenario(file, dirs).then(
    () => undefined,
    (e: unknown) => e as { code: string; problems: { location?: { file: string; line: number } }[] },
  );
  t.equal(err?.code, 'EINVALID');
  t.same(
    err?.problems.map((p) => [p.location?.file, p.location?.line]),
    [
      [file, 12],
      [file, 14],
    ],
  );
  const v = await validate(file);
  t.equal(v.valid, false);
  t.equal(v.problems.length, 2);
});

t.test("options are checked as the command line's flags are", async (t) => {
  const file = writeScenario(scenario(200));
  await t.rejects(runScenario(file, { proxyMode: 'ipvz' as 'ipvs' }), { code: 'EUSAGE', message: /proxyMode must be one of iptables, nftables, ipvs, got ipvz/ });
  await t.rejects(runScenario(file, { timeout: 'soon' }), { code: 'EUSAGE', message: /timeout must be a duration/ });
  await t.rejects(runScenario(file, { kubernetesVersion: '1.2' as '1.30' }), { code: 'EUSAGE', message: /kubernetesVersion must be one of/ });
  await t.rejects(runScenarios([file], { jobs: 0 }), { code: 'EUSAGE' });
  t.same((await validate(file)).valid, true);
});
