// The library's `up` on the real kernel: a held scenario whose steps a program runs one by one.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { KnetlabError, up, withLab } from '../../dist/index.js';
import { writeScenario } from '../helpers.js';

const notRoot = process.getuid?.() !== 0 ? 'a lab builds namespaces: needs root' : false;

const scenario = `apiVersion: knetlab/v1
kind: Scenario
metadata: {name: lab-test}
cluster: {dns: false}
nodes: [{name: node-1}, {name: node-2}]
hosts: [{name: client}]
manifests:
  - {apiVersion: v1, kind: Pod, metadata: {name: web, labels: {app: web}}, spec: {nodeName: node-1, containers: [{name: web, ports: [{containerPort: 80}]}]}}
  - {apiVersion: v1, kind: Service, metadata: {name: web}, spec: {type: NodePort, selector: {app: web}, ports: [{port: 80, nodePort: 30080}]}}
steps:
  - http: {from: host/client, to: service/web}
    expect: {status: 500}
`;

const dirs: string[] = [];
const scratch = () => {
  const d = mkdtempSync(join(tmpdir(), 'knetlab-lab-'));
  dirs.push(d);
  return d;
};
t.teardown(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

t.test('a lab runs steps, commands and actions on the held scenario, and ends', { skip: notRoot }, async (t) => {
  const file = writeScenario(scenario);
  const out = scratch();
  const lab = await up(file, { proxyMode: 'iptables', diagnosticsDir: join(out, 'd'), artifactsDir: join(out, 'a') });
  try {
    t.equal(lab.name, 'lab-test');
    t.ok(lab.places['node/node-2'] && lab.places['pod/web.default'], 'its places are named as steps name them');

    // The file's own step (which expects 500) is not run: the lab holds the cluster for the program's steps.
    const r = await lab.http({ from: 'host/client', to: 'nodeport/web@node-2', count: 3 });
    t.equal(r.status, 'passed', r.seen);
    t.equal(r.tries.length, 3);
    for (const x of r.tries) {
      t.equal(x.backend, 'pod/web.default', 'backend: who answered');
      t.equal(x.sourceIp, '10.244.1.0', "sourceIp: node-2's flannel.1 address, as kube-proxy masquerades a NodePort through another node");
    }

    const judged = await lab.http({ from: 'host/client', to: 'service/web' }, { expect: { status: 503 }, name: 'wrong on purpose' });
    t.equal(judged.status, 'failed', 'a probe that misses its expectation is returned failed, not thrown');
    t.equal(judged.name, 'wrong on purpose');
    t.ok(judged.diagnostics?.startsWith(join(out, 'd')) && existsSync(judged.diagnostics), 'its diagnostics are written where the lab was told');

    // Kernel expectations trace every try: each carries what the kernel did with it.
    const nat = await lab.http({ from: 'host/client', to: 'nodeport/web@node-2', count: 2 }, { expect: { status: 200, masquerade: true } });
    t.equal(nat.status, 'passed', nat.seen);
    for (const x of nat.tries) {
      t.same(x.kernel?.path, ['host/client', 'node/node-2', 'node/node-1', 'pod/web'], 'kernel.path: the places crossed');
      t.match(x.kernel?.dnat, { in: 'node/node-2', to: /^10\.244\.0\.\d+:80$/ }, 'kernel.dnat: where, and to which endpoint');
      t.match(x.kernel?.masquerade, { in: 'node/node-2', to: /^10\.244\.1\.0:\d+$/ });
    }
    const traced = await lab.http({ from: 'host/client', to: 'nodeport/web@node-2' }, { trace: true });
    t.match(traced.trace?.join('\n') ?? '', /SNAT in node\/node-2/, 'a traced step says where it was masqueraded');

    const bad = await lab.http({ from: 'pod/nope', to: 'service/web' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    t.ok(bad instanceof KnetlabError, 'an invalid step throws a KnetlabError');
    t.equal((bad as KnetlabError).code, 'EINVALID');
    t.match((bad as KnetlabError).problems[0], { location: { file: /^lab step \d+$/, line: 2 }, message: /http\.from.*no pod\/nope/ }, 'located in the step itself');

    // An object applied: a second Service, reachable at once (kube-proxy's rules follow).
    const applied = await lab.apply({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web2' }, spec: { selector: { app: 'web' }, ports: [{ port: 8080, targetPort: 80 }] } });
    t.equal(applied.status, 'passed', applied.seen);
    const r2 = await lab.tcp({ from: 'node/node-2', to: 'service/web2:8080' }, { expect: { connect: true } });
    t.equal(r2.status, 'passed', `a later step sees the applied object: ${r2.seen}`);
    const saved = await lab.exec('node/node-1', ['iptables-save', '-t', 'nat']);
    t.equal(saved.exitCode, 0);
    t.match(saved.stdout, /default\/web2 cluster IP/, "the node's whole ruleset, with the applied Service's rules");
    t.rejects(lab.delete({ kind: 'Service', name: 'nope' }), { code: 'EINVALID' }, 'deleting what is not there is refused before running');

    const failedCmd = await lab.exec('pod/web', ['sh', '-c', 'echo out; echo err >&2; exit 3']);
    t.same([failedCmd.exitCode, failedCmd.stdout, failedCmd.stderr], [3, 'out\n', 'err\n'], 'a failing command is returned with its output');
    await t.rejects(lab.exec('pod/nope', ['true']), { code: 'EUSAGE', message: /no pod\/nope/ });
  } finally {
    const ended = await lab.down();
    t.equal(ended.status, 'passed');
  }
  await t.rejects(lab.http({ from: 'host/client', to: 'service/web' }), { code: 'EUSAGE', message: /is down/ }, 'a lab that is down says so');
  t.same(readdirSync(out), ['d'], 'only the failed step left something: its diagnostics (the empty artifacts folder is removed)');
});

t.test('withLab ends the lab when its function throws', { skip: notRoot }, async (t) => {
  const file = writeScenario(scenario);
  const out = scratch();
  let held: Awaited<ReturnType<typeof up>> | undefined;
  await t.rejects(
    withLab(
      file,
      async (lab) => {
        held = lab;
        throw new Error('the test failed');
      },
      { diagnosticsDir: join(out, 'd'), artifactsDir: join(out, 'a') },
    ),
    { message: 'the test failed' },
  );
  await t.rejects(held!.exec('node/node-1', ['true']), { message: /is down/ });
});

t.test('a program that ends without lab.down() ends, and its scenario with it', { skip: notRoot }, async (t) => {
  const file = writeScenario(scenario);
  const out = scratch();
  const index = new URL('../../dist/index.js', import.meta.url).href;
  const code = `import { up } from ${JSON.stringify(index)};
const lab = await up(${JSON.stringify(file)}, { diagnosticsDir: ${JSON.stringify(join(out, 'd'))}, artifactsDir: ${JSON.stringify(join(out, 'a'))} });
await lab.exec('node/node-1', ['true']);
console.log('up');`;
  const { NODE_OPTIONS: _loader, ...env } = process.env;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b) => (stdout += b));
  child.stderr.on('data', (b) => (stderr += b));
  const exit = await new Promise<number | null>((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('exit', (c) => {
      clearTimeout(kill);
      resolve(c);
    });
  });
  t.equal(exit, 0, `it ended by itself (stderr: ${stderr.trim()})`);
  t.equal(stdout.trim(), 'up');
  // Its sandbox (named by its own diagnostics folder in its command line) is gone soon after.
  let left: string[] = [];
  for (let i = 0; i < 50; i++) {
    left = readdirSync('/proc').filter((p) => /^\d+$/.test(p) && cmdline(p).includes(out));
    if (left.length === 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  t.same(left, [], 'no process of the lab is left');
});

function cmdline(pid: string): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}

t.test('lab.reload(): the edited file applied, its steps run, later steps checked against it', { skip: notRoot }, async (t) => {
  const file = writeScenario(scenario);
  const out = scratch();
  const lab = await up(file, { proxyMode: 'iptables', diagnosticsDir: join(out, 'd'), artifactsDir: join(out, 'a') });
  try {
    const first = await lab.reload();
    t.same([first.applied, first.deleted], [[], []], 'the same file changes nothing');
    t.equal(first.status, 'failed', "the file's own step (which expects 500) runs, and fails");
    t.equal(first.steps[0]?.status, 'failed');

    const api = '  - {apiVersion: v1, kind: Service, metadata: {name: api}, spec: {selector: {app: web}, ports: [{port: 9090, targetPort: 80}]}}\n';
    const edited = scenario.replace('steps:\n', `${api}steps:\n`).replace('to: service/web}\n    expect: {status: 500}', 'to: nodeport/web@node-2}\n    expect: {status: 200}');
    writeFileSync(file, edited);
    const r = await lab.reload();
    t.same([r.applied, r.deleted, r.status], [['service/api'], [], 'passed'], r.reason ?? '');
    t.equal(r.steps[0]?.tries[0]?.backend, 'pod/web.default', 'its steps are reported as lab steps are');
    const later = await lab.tcp({ from: 'node/node-1', to: 'service/api:9090' }, { expect: { connect: true } });
    t.equal(later.status, 'passed', 'a later step may name what the reload added');

    writeFileSync(file, edited.replace('nodeport/web@node-2}', 'service/nope}'));
    await t.rejects(lab.reload(), { code: 'EINVALID', problems: [{ location: { file, line: 12 }, message: /no service\/nope/ }] }, 'an invalid file is refused, located in it');
    writeFileSync(file, edited.replace('{name: node-2}]', '{name: node-2}, {name: node-3}]'));
    await t.rejects(lab.reload(), { code: 'EUSAGE', message: /node node-3 added changed/ }, 'a node added cannot be followed');
    t.equal((await lab.exec('node/node-1', ['true'])).exitCode, 0, 'and the lab is still up');
  } finally {
    await lab.down();
  }
});
