// The scenario JSON Schema (`knetlab schema`) against the scenarios and the loader: every scenario of
// scenarios/ and test/fixtures/valid passes it, and each structural mistake `knetlab validate`
// reports (unknown keys, wrong types, bad values and forms, a step's actions) fails it too.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import t from 'tap';
import { parse, parseAllDocuments } from 'yaml';
import { scenarioJsonSchema } from '../../src/scenario/json-schema.js';
import { stepKindNames } from '../../src/scenario/schema.js';
import { findScenarioFiles, hasErrors } from '../../src/validate.js';
import { validateText } from '../helpers.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const schema = scenarioJsonSchema();
// strict: a keyword ajv does not know (a typo, a draft-only one) is an error, not ignored.
const ajv = new Ajv2020({ strict: true, strictTypes: false, allErrors: true }).addVocabulary(['patternErrorMessage']); // yaml-language-server's message
const check = ajv.compile(schema);
const checkObject = ajv.getSchema('#/$defs/kube-object')!;

const errorsOf = (data: unknown): string => (check(data) ? '' : ajv.errorsText(check.errors, { dataVar: '' }));

// Every scenario knetlab validate passes in the repository: the examples and the valid fixtures.
const validDirs = ['scenarios', 'test/fixtures/valid', 'test/fixtures/flows', 'test/fixtures/format'];

t.test('every valid scenario of the repository passes the schema, with every step kind among them', async (t) => {
  const { files, problems } = await findScenarioFiles(validDirs.map((d) => join(root, d)));
  t.same(problems, []);
  t.ok(files.length >= 70, `${files.length} scenario files found`);
  const kinds = new Set<string>();
  for (const file of files) {
    const value = parse(readFileSync(file, 'utf8')) as { steps?: Record<string, unknown>[] | null };
    t.equal(errorsOf(value), '', file);
    for (const s of value.steps ?? []) for (const k of Object.keys(s)) kinds.add(k);
  }
  t.same(
    stepKindNames.filter((k) => !kinds.has(k)),
    [],
    'each step kind is used by some scenario',
  );
});

t.test('every object of scenarios/manifests passes as a Kubernetes object', async (t) => {
  const dir = join(root, 'scenarios/manifests');
  const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
  t.ok(files.length >= 10);
  for (const f of files) {
    for (const doc of parseAllDocuments(readFileSync(join(dir, f), 'utf8'))) {
      const value = doc.toJS();
      if (value === null) continue;
      t.ok(checkObject(value), `${f}: ${ajv.errorsText(checkObject.errors)}`);
    }
  }
});

// A valid scenario; each case below changes one thing of it into a mistake of a fixture of
// test/fixtures/invalid (named) or of the loader's tests.
const base = {
  apiVersion: 'knetlab/v1',
  kind: 'Scenario',
  metadata: { name: 'base', description: 'a valid scenario' },
  cluster: { proxyMode: 'iptables', network: 'flannel-vxlan', lanCIDR: '192.168.8.0/24', kubernetesVersion: '1.33', ipvs: { scheduler: 'rr' } },
  nodes: [{ name: 'node-1', ip: '192.168.8.11', labels: { zone: 'a' } }, { name: 'node-2' }],
  hosts: [{ name: 'client', serve: [{ port: 9999 }], routes: [{ to: '80.11.12.10/32', via: 'node/node-1' }] }],
  manifests: [
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web' },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'web' } },
        template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'nginx', ports: [{ containerPort: 8080 }] }] } },
      },
    },
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: { type: 'NodePort', selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] } },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'skipped' }, data: { a: 'b' } },
  ],
  steps: [
    { name: 'first', http: { from: 'host/client', to: 'service/web', count: 2, timeout: '2s' }, expect: { status: 200, sourceIp: 'node/node-1' } },
    { tcp: { from: 'host/client', to: 'service/web' }, expect: { connect: true }, expectIn: { ipvs: 'skip', nftables: { connect: true } }, trace: true },
    { ping: { from: 'host/client', to: 'node/node-1' }, expect: { reachable: true } },
    { link: { node: 'node-2', state: 'down' } },
    { sleep: '500ms' },
    { exec: { on: 'node/node-1', command: ['ip', 'link'], timeout: '1s' }, expect: { exitCode: 0 }, trace: false },
    { apply: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'extra', labels: { app: 'web' } }, spec: { containers: [{ name: 'c' }] } } },
  ],
};
type Scenario = typeof base & Record<string, unknown>;

const clone = (): Scenario => structuredClone(base) as Scenario;
const steps = (s: Scenario) => s.steps as Record<string, unknown>[];
const step = (s: Scenario, i: number) => steps(s)[i] as Record<string, Record<string, unknown>>;
const object = (s: Scenario, i: number) => s.manifests[i] as unknown as Record<string, Record<string, unknown>>;
const deploymentSpec = (s: Scenario) => object(s, 0).spec as { replicas: number; template: { spec: { containers: Record<string, unknown>[] } } };
const servicePorts = (s: Scenario) => object(s, 1).spec!.ports as Record<string, unknown>[];

const set = (o: object, k: string, v: unknown): void => {
  (o as Record<string, unknown>)[k] = v;
};
const del = (o: object, k: string): void => {
  delete (o as Record<string, unknown>)[k];
};

const mistakes: [string, (s: Scenario) => void][] = [
  ['an unknown top-level key (unknown-keys)', (s) => set(s, 'metdata', { name: 'x' })],
  ['an unknown key in metadata (unknown-keys)', (s) => set(s.metadata, 'descripton', 'x')],
  ['an unknown key in cluster (unknown-keys)', (s) => set(s.cluster, 'proxymode', 'ipvs')],
  ['an unknown key in a node (unknown-keys)', (s) => set(s.nodes[1]!, 'IP', '192.168.8.12')],
  ['an unknown key in a host route (unknown-keys)', (s) => set(s.hosts[0]!.routes[0]!, 'gateway', 'node/node-2')],
  ['an unknown key in a step (unknown-keys)', (s) => set(step(s, 0), 'nmae', { x: 1 })],
  ['an unknown key in a step body (unknown-keys)', (s) => set(step(s, 0).http!, 'cuont', 3)],
  ['an unknown key in an expectation (unknown-keys)', (s) => set(step(s, 0).expect!, 'sourceIP', 'host/client')],
  ['an unknown key in an expectIn expectation', (s) => set(step(s, 1).expectIn!.nftables as object, 'connected', true)],
  ['an unknown key in a Service spec (kube-unknown-fields)', (s) => set(object(s, 1).spec!, 'selectr', { app: 'web' })],
  ['an unknown key in a container (kube-unknown-fields)', (s) => set(deploymentSpec(s).template.spec.containers[0]!, 'port', [{ containerPort: 80 }])],
  ['an unknown key in a Service port (kube-unknown-fields)', (s) => set(servicePorts(s)[0]!, 'targetport', 8080)],
  ['an unknown key in an applied object', (s) => set(step(s, 6).apply!, 'spek', {})],
  ['apiVersion knetlab/v2 (wrong-header)', (s) => set(s, 'apiVersion', 'knetlab/v2')],
  ['kind Senario (wrong-header)', (s) => set(s, 'kind', 'Senario')],
  ['no metadata.name (wrong-header)', (s) => del(s.metadata, 'name')],
  ['a bad scenario name', (s) => set(s.metadata, 'name', 'My_Scenario')],
  ['no nodes (wrong-header)', (s) => set(s, 'nodes', [])],
  ['nodes missing', (s) => del(s, 'nodes')],
  ['a node without a name', (s) => del(s.nodes[1]!, 'name')],
  ['proxyMode: ipvz (enum-typos)', (s) => set(s.cluster, 'proxyMode', 'ipvz')],
  ['network: hostgw (enum-typos)', (s) => set(s.cluster, 'network', 'hostgw')],
  ['an IPVS scheduler round-robin (expect-in)', (s) => set(s.cluster.ipvs, 'scheduler', 'round-robin')],
  ['kubernetesVersion unquoted (kubernetes-version-unquoted)', (s) => set(s.cluster, 'kubernetesVersion', 1.3)],
  ['a kubernetesVersion not modelled (kubernetes-version-outside-range)', (s) => set(s.cluster, 'kubernetesVersion', '1.19')],
  ['a bad IPv4 address', (s) => set(s.nodes[0]!, 'ip', '300.1.1.1')],
  ['a bad CIDR', (s) => set(s.cluster, 'lanCIDR', '192.168.8.0/33')],
  ['a bad MTU', (s) => set(s.cluster, 'mtu', 10)],
  ['a port out of range (ports-out-of-range)', (s) => set(s.hosts[0]!.serve[0]!, 'port', 70000)],
  ['a Service port 0 (ports-out-of-range)', (s) => set(servicePorts(s)[0]!, 'port', 0)],
  ['a Service type NodePorts (enum-typos)', (s) => set(object(s, 1).spec!, 'type', 'NodePorts')],
  ['replicas: 100000 (huge-replicas)', (s) => set(deploymentSpec(s), 'replicas', 100000)],
  ['a Deployment named Web_1', (s) => set(object(s, 0).metadata!, 'name', 'Web_1')],
  ['a Service named 1web', (s) => set(object(s, 1).metadata!, 'name', '1web')],
  ['a manifest without kind', (s) => del(s.manifests[1]!, 'kind')],
  ['a manifest without apiVersion', (s) => del(s.manifests[1]!, 'apiVersion')],
  ['a Deployment of apiVersion v1', (s) => set(object(s, 0), 'apiVersion', 'v1')],
  ['a scenario as a manifest', (s) => set(object(s, 2), 'apiVersion', 'knetlab/v1')],
  ['a manifest entry that is a number', (s) => void (s.manifests as unknown[]).push(42)],
  ['an unknown step kind', (s) => void steps(s).push({ curl: { from: 'host/client', to: 'service/web' } })],
  ['a step with two actions (many-problems)', (s) => set(step(s, 2), 'tcp', { from: 'host/client', to: 'service/web' })],
  ['a step with no action (many-problems)', (s) => void steps(s).push({})],
  ['a step that is a string (many-problems)', (s) => void (steps(s) as unknown[]).push('sleep 1s')],
  ['expect on a sleep step (many-problems)', (s) => set(step(s, 4), 'expect', { status: 200 })],
  ['expectIn on a link step (expect-in)', (s) => set(step(s, 3), 'expectIn', { ipvs: 'skip' })],
  ['an unknown mode in expectIn (expect-in)', (s) => set(step(s, 1).expectIn!, 'ipvss', 'skip')],
  ['expectIn as a list (expect-in)', (s) => set(step(s, 1), 'expectIn', ['ipvs'])],
  ['expectIn with a wrong type (expect-in)', (s) => set(step(s, 1).expectIn!, 'nftables', { connect: 'yes' })],
  ['trace: yes (trace-steps)', (s) => set(step(s, 1), 'trace', 'yes')],
  ['trace: true on an exec step (trace-steps)', (s) => set(step(s, 5), 'trace', true)],
  ['a step name that is not text', (s) => set(step(s, 0), 'name', 3)],
  ['a missing required field of a step', (s) => del(step(s, 0).http!, 'from')],
  ['connect: flase (enum-typos)', (s) => set(step(s, 1).expect!, 'connect', 'flase')],
  ['fail: timedout (enum-typos)', (s) => set(step(s, 0), 'expect', { fail: 'timedout' })],
  ['link state donw (enum-typos)', (s) => set(step(s, 3).link!, 'state', 'donw')],
  ['count: 0 (many-problems)', (s) => set(step(s, 0).http!, 'count', 0)],
  ['status: 600 (many-problems)', (s) => set(step(s, 0).expect!, 'status', 600)],
  ['timeout: 2 (bad-durations)', (s) => set(step(s, 0).http!, 'timeout', 2)],
  ['timeout: 2 seconds (bad-durations)', (s) => set(step(s, 0).http!, 'timeout', '2 seconds')],
  ['timeout: -1s (bad-durations)', (s) => set(step(s, 2).ping!, 'timeout', '-1s')],
  ['sleep: 5 (bad-durations)', (s) => set(step(s, 4), 'sleep', 5)],
  ['sleep: "" (bad-durations)', (s) => set(step(s, 4), 'sleep', '')],
  ['timeout: 1.5.s (bad-durations)', (s) => set(step(s, 5).exec!, 'timeout', '1.5.s')],
  ['an http path without /', (s) => set(step(s, 0).http!, 'path', 'api')],
  ['an exec command that is empty', (s) => set(step(s, 5).exec!, 'command', [])],
];

t.test('the base scenario passes the schema and knetlab validate', async (t) => {
  t.equal(errorsOf(base), '');
  const v = await validateText(JSON.stringify(base));
  t.same(v.lines, ['scenario.yaml:1:907: warning: kind ConfigMap is not understood by knetlab and is skipped'], 'no error, the one warning the other kind gets');
});

t.test('each structural mistake fails the schema and knetlab validate alike', async (t) => {
  for (const [what, mistake] of mistakes) {
    const s = clone();
    mistake(s);
    t.not(errorsOf(s), '', `the schema rejects ${what}`);
    const v = await validateText(JSON.stringify(s));
    t.ok(hasErrors(v.problems), `knetlab validate rejects ${what}`);
  }
});

t.test('a schema for each step kind, and the step is one of them', async (t) => {
  const defs = schema.$defs as Record<string, unknown>;
  for (const k of stepKindNames) t.ok(defs[`step-${k}`], k);
  t.equal((defs.step as { oneOf: unknown[] }).oneOf.length, stepKindNames.length);
});

/** The keywords of a schema, wherever they are (below properties, $defs and the like, only the values). */
function keywords(s: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(s)) for (const x of s) keywords(x, out);
  else if (s !== null && typeof s === 'object') {
    for (const [k, v] of Object.entries(s)) {
      out.add(k);
      if (k === 'properties' || k === '$defs') for (const sub of Object.values(v as object)) keywords(sub, out);
      else if (k !== 'enum' && k !== 'const' && k !== 'examples' && k !== 'required') keywords(v, out);
    }
  }
  return out;
}

t.test('only keywords that draft-07 readers such as yaml-language-server also know', async (t) => {
  const newer = [
    'prefixItems',
    'unevaluatedProperties',
    'unevaluatedItems',
    'dependentRequired',
    'dependentSchemas',
    '$dynamicRef',
    '$dynamicAnchor',
    '$anchor',
    'minContains',
    'maxContains',
  ];
  const used = keywords(schema);
  t.same(
    newer.filter((k) => used.has(k)),
    [],
  );
  t.ok(used.has('additionalProperties'), 'the walk sees the keywords');
});
