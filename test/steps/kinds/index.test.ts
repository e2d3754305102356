import t from 'tap';
import { formatPlan } from '../../../src/report/plan.js';
import { loadScenario } from '../../../src/scenario/load.js';
import { stepKindNames, type StepKindName } from '../../../src/scenario/schema.js';
import type { Step } from '../../../src/scenario/steps.js';
import type { StepKindDef } from '../../../src/steps/kind.js';
import { stepKinds, stepName } from '../../../src/steps/kinds/index.js';
import { head, modelOf, writeScenario } from '../../helpers.js';

// One step of every kind, as a scenario writes it: each kind's module reads, names and plans it.
const web = `manifests:
  - {apiVersion: apps/v1, kind: Deployment, metadata: {name: web}, spec: {replicas: 2, selector: {matchLabels: {app: web}}, template: {metadata: {labels: {app: web}}, spec: {containers: [{name: web, image: nginx, ports: [{containerPort: 80}]}]}}}}
  - {apiVersion: v1, kind: Service, metadata: {name: web}, spec: {selector: {app: web}, ports: [{port: 80}]}}
hosts:
  - name: client
`;
const everyKind: Record<(typeof stepKindNames)[number], string> = {
  http: 'http: {from: host/client, to: service/web, path: /x, count: 2}\n    expect: {status: 200, backends: all}',
  tcp: 'tcp: {from: host/client, to: service/web}\n    expect: {connect: true}',
  udp: 'udp: {from: host/client, to: "192.168.8.11:53", data: hi}\n    expect: {reply: false}',
  ping: 'ping: {from: node/node-1, to: node/node-2, count: 3}',
  dns: 'dns: {from: host/client, name: web.default.svc.cluster.local}\n    expect: {address: service/web}',
  apply: 'apply: {apiVersion: v1, kind: Pod, metadata: {name: p}, spec: {containers: [{name: c}]}}',
  patch: 'patch: {kind: svc, name: web, patch: {spec: {sessionAffinity: ClientIP}}}',
  delete: 'delete: {kind: Pod, name: p}',
  scale: 'scale: {deployment: web, replicas: 3}',
  link: 'link: {node: node-2, state: down}',
  exec: 'exec: {on: node/node-1, command: [ip, route]}\n    expect: {stdoutMatches: "10\\\\.244"}',
  sleep: 'sleep: 1500ms',
  resync: 'resync: {}',
  flows: 'flows: {on: node/node-1, cases: [{name: local, from: 192.168.8.11, to: "192.168.8.12:80", output: ""}]}',
  restart: 'restart: {kube-proxy: node-2}',
  reboot: 'reboot: node/node-2',
};
const scenario = `${head(2)}${web}steps:\n${stepKindNames.map((k) => `  - ${everyKind[k]}\n`).join('')}`;

t.test('the table has one module for every kind of the list, in its order', async (t) => {
  t.same(Object.keys(stepKinds), [...stepKindNames]);
  const actions = stepKindNames.filter((k) => (stepKinds[k] as StepKindDef<typeof k, unknown>).changesModel);
  t.same(actions, ['apply', 'patch', 'delete', 'scale'], 'the kinds that change the cluster');
  const nothingToExpect = stepKindNames.filter((k) => stepKinds[k].expect === undefined);
  t.same(nothingToExpect, ['apply', 'patch', 'delete', 'scale', 'link', 'sleep', 'resync', 'flows', 'restart', 'reboot'], 'the kinds with nothing to expect');
  t.same(
    stepKindNames.filter((k) => stepKinds[k].answeredByEndpoint),
    ['http', 'udp'],
    'the kinds a sameBackendAs may name',
  );
});

t.test('every kind is read, named and planned by its module', async (t) => {
  const { scenario: s, problems } = await loadScenario(writeScenario(scenario));
  t.same(
    problems.list.map((p) => p.message),
    [],
  );
  const steps = s!.steps;
  t.same(
    steps.map((x) => x.kind),
    [...stepKindNames],
    'no step is dropped',
  );
  t.same(steps.map(stepName), [
    'http host/client -> service/web',
    'tcp host/client -> service/web',
    'udp host/client -> 192.168.8.11:53',
    'ping node/node-1 -> node/node-2',
    'dns host/client web.default.svc.cluster.local',
    'apply pod/p',
    'patch svc/web',
    'delete pod/p',
    'scale deployment/web to 3',
    'link node/node-2 down',
    'exec on node/node-1: ip route',
    'sleep 1500ms',
    'resync kube-proxy',
    'flows on node/node-1 (1 case)',
    'restart kube-proxy on node/node-2',
    'reboot node/node-2',
  ]);
  const http = steps[0] as Extract<Step, { kind: 'http' }>;
  t.same(
    { path: http.path, count: http.count, timeoutMs: http.timeoutMs, expect: http.expect },
    { path: '/x', count: 2, timeoutMs: 2000, expect: { status: 200, backends: 'all' } },
  );
  const exec = steps[10] as Extract<Step, { kind: 'exec' }>;
  t.same(exec.expect, { stdoutMatches: '10\\.244' }, 'no exitCode 0 when only output is expected');
  const plan = formatPlan(await modelOf(scenario), steps).split('\n');
  // The steps table ends at the blank line before the table of what each probe's target stands for.
  const after = plan.slice(plan.findIndex((l) => l.startsWith('STEP')) + 1);
  const rows = after.slice(0, after.indexOf(''));
  t.same(
    rows.map((r) => r.split(/\s+/)[1]),
    [...stepKindNames],
    'a plan row for each kind',
  );
  t.match(rows[0], /http\s+host\/client \(192\.168\.8\.\d+\)\s+service\/web = [\d.]+:80 \/x x2\s+status 200, backends all/);
  t.match(rows[11], /sleep\s+1500ms/);
  t.match(rows[14], /restart\s+kube-proxy on node\/node-2/);
  t.match(rows[15], /reboot\s+node\/node-2 reboots/);
});

t.test('a step of a kind with nothing to expect cannot expect or skip', async (t) => {
  const { problems } = await loadScenario(writeScenario(`${head(1)}steps:\n  - sleep: 1s\n    expect: {x: 1}\n  - resync: {}\n    expectIn: {ipvs: skip}\n`));
  t.same(
    problems.list.map((p) => p.message),
    ['A sleep step has nothing to expect; remove `steps[0].expect`', 'A resync step has nothing to expect, so nothing to skip; remove `steps[1].expectIn.ipvs`'],
  );
});

t.test('the compiler refuses a kind with a missing piece, a missing kind, or a kind under another name', async (t) => {
  // These lines are checked by `tsc -p tsconfig.test.json`; each @ts-expect-error fails the build when the error goes away.
  // biome-ignore lint/suspicious/noExplicitAny: the table's own wildcard types, as in src/steps/kinds/index.ts
  type Table = { [K in StepKindName]: StepKindDef<K, unknown, any, any> };
  const { describe: _gone, ...noName } = stepKinds.sleep;
  // @ts-expect-error a kind without describe is not a step kind
  const missingPiece: Table['sleep'] = noName;
  const { resync: _r, ...noResync } = stepKinds;
  // @ts-expect-error the table lacks resync
  const missingKind: Table = noResync;
  // @ts-expect-error http's module cannot stand for tcp
  const swapped: Table = { ...stepKinds, tcp: stepKinds.http };
  t.ok(missingPiece && missingKind && swapped);
});
