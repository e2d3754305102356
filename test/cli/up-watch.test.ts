// knetlab up --watch: the held scenario follows its files' edits (objects applied and deleted, steps run again).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import t from 'tap';

const notRoot = process.getuid?.() !== 0 ? 'knetlab up builds namespaces: needs root' : false;
// tap's NODE_OPTIONS loads its TypeScript loader into every child; the built CLI needs none of it.
const { NODE_OPTIONS: _loader, ...plainEnv } = process.env;
const MAIN = resolve('dist/cli/main.js');

const scenario = (step: string, extra = true) => `apiVersion: knetlab/v1
kind: Scenario
metadata: {name: watch-test}
cluster: {dns: false, proxyMode: iptables}
nodes: [{name: node-1}, {name: node-2}]
manifests:
  - objects.yaml
${extra ? '  - {apiVersion: v1, kind: Pod, metadata: {name: extra}, spec: {nodeName: node-2, containers: [{name: x}]}}\n' : ''}steps:
${step}
`;
const objects = (port: number, api = false) => `apiVersion: v1
kind: Pod
metadata: {name: web, labels: {app: web}}
spec: {nodeName: node-1, containers: [{name: web, ports: [{containerPort: 80}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {selector: {app: web}, ports: [{port: ${port}, targetPort: 80}]}
${api ? '---\napiVersion: v1\nkind: Service\nmetadata: {name: api}\nspec: {selector: {app: web}, ports: [{port: 9090, targetPort: 80}]}\n' : ''}`;

async function until(cond: () => boolean, ms = 30_000): Promise<boolean> {
  for (let waited = 0; waited < ms; waited += 100) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return cond();
}

t.test('up --watch: edits applied, steps run again, a bad edit told and the scenario kept, Ctrl-C ends it', { skip: notRoot }, async (t) => {
  if (!existsSync(MAIN)) throw new Error('dist/cli/main.js is missing: run `npm run build` first (npm test does)');
  const dir = mkdtempSync(join(tmpdir(), 'knetlab-test-watch-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const env = { ...plainEnv, KNETLAB_STATE_DIR: join(dir, 'state') };
  const write = (name: string, text: string) => writeFileSync(join(dir, name), text);
  write('objects.yaml', objects(80));
  write('lab.yaml', scenario('  - tcp: {from: node/node-2, to: "service/web:80"}\n    expect: {connect: true}'));
  const up = spawn(process.execPath, [MAIN, 'up', '--watch', '-r', 'tap', '--diagnostics', 'diag', '--artifacts', 'art', 'lab.yaml'], {
    cwd: dir,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => up.kill('SIGKILL'));
  let out = '';
  let err = '';
  up.stdout.on('data', (d: Buffer) => (out += String(d)));
  up.stderr.on('data', (d: Buffer) => (err += String(d)));
  const ended = new Promise<number | null>((r) => up.on('exit', (code) => r(code)));
  const cli = (...args: string[]) => spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', env, cwd: dir });

  t.ok(await until(() => /\n {4}ok 1 - tcp node\/node-2 -> service\/web\n/.test(out)), `its steps run once it is up: ${err}${out}`);
  t.match(err, /watch-test: no object changed/);

  // A Service's port changed and one added (the manifest file), a pod removed and the step moved (the scenario).
  const mark = { out: out.length, err: err.length };
  write('objects.yaml', objects(8080, true));
  write('lab.yaml', scenario('  - tcp: {from: node/node-2, to: "service/web:8080"}\n    expect: {connect: true}', false));
  t.ok(await until(() => /ok 1 - tcp node\/node-2 -> service\/web\n/.test(out.slice(mark.out))), `the edit is applied and the step runs again: ${err.slice(mark.err)}`);
  t.match(err.slice(mark.err), /watch-test: applied service\/web, service\/api; deleted pod\/extra\n/, 'what changed is said');
  t.equal(cli('exec', 'pod/extra', '--', 'true').status, 2, 'the pod removed is gone from the held state');
  const nat = cli('exec', 'node/node-1', '--', 'iptables-save', '-t', 'nat');
  t.match(nat.stdout, /default\/api cluster IP/, "the added Service has kube-proxy's rules");
  t.match(nat.stdout, /default\/web cluster IP.*--dport 8080/, 'the changed one its new port');

  // The step's expectation changed: the same probe now fails.
  const mark2 = { out: out.length, err: err.length };
  write('lab.yaml', scenario('  - tcp: {from: node/node-2, to: "service/web:8080"}\n    expect: {connect: false}', false));
  t.ok(await until(() => /not ok 1 - tcp node\/node-2 -> service\/web\n/.test(out.slice(mark2.out))), `the step's new outcome is reported: ${err.slice(mark2.err)}`);
  t.match(err.slice(mark2.err), /watch-test: no object changed/);

  // An invalid edit: told FILE:LINE:COL, and the scenario stays as it was.
  const mark3 = err.length;
  write('lab.yaml', scenario('  - tcp: {from: node/node-2, to: "service/nope:80"}', false));
  t.ok(await until(() => /stays up as it was/.test(err.slice(mark3))), 'the bad edit is refused');
  t.match(err.slice(mark3), /^lab\.yaml:9:\d+: .*service\/nope/m, 'located in the file as the command line named it');
  const curl = cli('exec', 'pod/web', '--', 'true');
  t.equal(curl.status, 0, `the scenario is still up: ${curl.stderr}`);

  // A change of what is built once (a node added) is refused the same way.
  const mark4 = err.length;
  write('lab.yaml', scenario('  - sleep: 1ms', false).replace('{name: node-2}]', '{name: node-2}, {name: node-3}]'));
  t.ok(await until(() => /node node-3 added changed, which a live cluster cannot follow/.test(err.slice(mark4))), `a node added is refused: ${err.slice(mark4)}`);

  up.kill('SIGINT');
  t.equal(await ended, 0, 'Ctrl-C ends it');
  t.match(err, /watch-test is down\n$/);
  t.same(readdirSync(join(dir, 'state', 'held')), [], 'nothing is left held');
  t.equal(cli('exec', 'pod/web', '--', 'true').status, 2, 'and nothing can be entered');
});
