import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import t from 'tap';
import { head, writeScenario } from '../helpers.js';

const bin = 'dist/cli/main.js';

function knetlab(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

t.before(() => {
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run \`npm run build\` first (npm test does)`);
});

const valid = `${head(2)}manifests:
  - {apiVersion: v1, kind: Service, metadata: {name: web}, spec: {selector: {app: web}, ports: [{port: 80}]}}
`;

t.test('validate: exit 0 for a valid file, 2 with every problem for a broken one', async (t) => {
  const ok = knetlab('validate', writeScenario(valid));
  t.equal(ok.status, 0);
  t.equal(ok.stdout, '1 scenario file valid\n', 'the summary on stdout');
  t.equal(ok.stderr, '');
  const file = writeScenario(`${head(1, '  proxyMode: ipvs2\n  lanCIDR: 172.16.0.0/16')}hosts:\n  - {name: h, ip: 10.244.0.5}\n`);
  const bad = knetlab('validate', file);
  t.equal(bad.status, 2);
  t.same(bad.stdout.trim().split('\n'), [
    `${file}:5:14: Expected \`cluster.proxyMode\` to be one of iptables, nftables, ipvs, got \`ipvs2\`; did you mean \`ipvs\`?`,
    `${file}:10:19: \`hosts[0].ip\` 10.244.0.5 is inside \`cluster.podCIDR\` 10.244.0.0/16; a host outside the LAN needs an address of its own`,
    '1 file has errors (of 1)',
  ]);
  t.equal(bad.stderr, '');
});

t.test('validate a folder: every scenario below it, manifest files passed over', async (t) => {
  const file = writeScenario(valid, {
    'manifests/web.yaml': 'apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {ports: [{port: 80}]}\n',
    'more/other.yaml': valid.replace('name: t', 'name: other'),
  });
  const r = knetlab('validate', dirname(file));
  t.equal(r.status, 0);
  t.equal(r.stdout, '2 scenario files valid\n');
});

t.test('plan: the resolved model, as text or JSON; 2 and the problems for a broken file', async (t) => {
  const file = writeScenario(valid);
  const text = knetlab('plan', file);
  t.equal(text.status, 0);
  t.match(text.stdout, /node\/node-1\s+Ready\s+192\.168\.8\.11\s+10\.244\.0\.0\/24\s+10\.244\.0\.1\s+10\.244\.0\.0/);
  t.match(text.stdout, /kube-system\s+service\/kube-dns\s+ClusterIP\s+10\.96\.0\.10/);
  const json = knetlab('plan', '-o', 'json', file);
  t.equal(json.status, 0);
  const model = JSON.parse(json.stdout) as { nodes: { name: string; ip: string }[]; services: { name: string; clusterIP: string }[] };
  t.same(
    model.nodes.map((n) => n.ip),
    ['192.168.8.11', '192.168.8.12'],
  );
  t.equal(model.services.find((s) => s.name === 'kube-dns')?.clusterIP, '10.96.0.10');
  const bad = knetlab('plan', writeScenario(`${head(1)}steps:\n  - sleep: forever\n`));
  t.equal(bad.status, 2);
  t.equal(bad.stdout, '');
  t.match(bad.stderr, /Expected `steps\[0\]\.sleep` to be a duration such as 500ms or 2s, got `forever`/);
});

t.test('the command line: usage errors exit 2, --version 0', async (t) => {
  t.equal(knetlab('frobnicate').status, 2);
  t.equal(knetlab('validate').status, 2, 'validate needs a path');
  t.equal(knetlab('validate', '/nonexistent/x.yaml').status, 2);
  t.equal(knetlab('plan', '-o', 'xml', writeScenario(valid)).status, 2);
  t.equal(knetlab('run', '--kubernetes-version', '1.24', writeScenario(valid)).status, 2, 'a release knetlab does not model');
  const v = knetlab('--version');
  t.equal(v.status, 0);
  t.match(v.stdout, /^\d+\.\d+\.\d+/);
});

t.test('--allow-path lets manifests out of the scenario folder, into that folder only', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'knetlab-cli-allow-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(join(root, 'scen'));
  mkdirSync(join(root, 'shared'));
  writeFileSync(join(root, 'shared', 'web.yaml'), 'apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {selector: {app: web}, ports: [{port: 80}]}\n');
  const file = join(root, 'scen', 'scenario.yaml');
  writeFileSync(file, `${head(1)}manifests:\n  - ../shared/web.yaml\n`);
  const refused = knetlab('validate', file);
  t.equal(refused.status, 2);
  t.match(refused.stdout, /scenario\.yaml:7:5: Cannot read manifest file `\.\.\/shared\/web\.yaml` .*outside the scenario's folder .*--allow-path/);
  t.equal(knetlab('validate', '--allow-path', join(root, 'shared'), file).status, 0);
  t.equal(knetlab('plan', '--allow-path', join(root, 'shared'), file).status, 0);
  t.equal(knetlab('validate', '--allow-path', join(root, 'scen'), file).status, 2, 'another folder does not');
  const missing = knetlab('validate', '--allow-path', join(root, 'nothere'), file);
  t.equal(missing.status, 2);
  t.match(missing.stderr, /--allow-path .*nothere: no such file/);
});

t.test('--timeout raises the limit on the worst case of the steps, and is a duration', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'knetlab-cli-timeout-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const file = join(root, 'scenario.yaml');
  writeFileSync(file, `${head(1)}steps:\n  - sleep: 1h\n  - sleep: 20m\n`);
  const refused = knetlab('validate', file);
  t.equal(refused.status, 2);
  t.match(refused.stdout, /:6:1: The steps may take 1h 20m in the worst case .*more than the limit of 30m for a scenario; .*--timeout DURATION/);
  t.equal(knetlab('validate', '--timeout', '2h', file).status, 0);
  t.equal(knetlab('plan', '--timeout', '90m', file).status, 0);
  t.match(knetlab('validate', '--timeout', '1h', file).stdout, /more than the limit of 1h/);
  for (const bad of ['forever', '0s', '25h', '-1m']) {
    const r = knetlab('validate', '--timeout', bad, file);
    t.equal(r.status, 2, `--timeout ${bad}`);
    t.match(r.stderr, /--timeout must be a duration such as 45m or 2h/);
  }
  const run = knetlab('run', '--reporter', 'json', file);
  t.equal(run.status, 2, 'run refuses before building anything');
  t.match(run.stderr, /nothing was run/);
});

t.test('validate: a file in a folder that cannot be read is a problem at its path; the rest is checked', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'knetlab-cli-walk-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  writeFileSync(join(root, 'good.yaml'), valid);
  symlinkSync('missing.yaml', join(root, 'broken.yaml'));
  const r = knetlab('validate', root);
  t.equal(r.status, 2);
  t.same(r.stdout.trim().split('\n'), [`${join(root, 'broken.yaml')}:1:1: cannot read ${join(root, 'broken.yaml')}: no such file`, '1 file has errors (of 2)']);
});
