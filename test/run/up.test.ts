// knetlab up holds a scenario; exec and down work from another terminal (here, other processes).
// Its state lives in a folder only its owner reaches; nothing another user plants steers it.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';

const notRoot = process.getuid?.() !== 0 ? 'knetlab up builds namespaces: needs root' : false;
// tap's NODE_OPTIONS loads its TypeScript loader into every child; the built CLI needs none of it.
const { NODE_OPTIONS: _loader, ...plainEnv } = process.env;

type Test = Parameters<Parameters<typeof t.test>[0]>[0];

/** A private state folder and working folder for one test, removed after it. */
function workspace(t: Test): { dir: string; env: NodeJS.ProcessEnv } {
  const dir = mkdtempSync(join(tmpdir(), 'knetlab-test-up-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return { dir, env: { ...plainEnv, KNETLAB_STATE_DIR: join(dir, 'state') } };
}

function startUp(w: { dir: string; env: NodeJS.ProcessEnv }, file: string) {
  const up = spawn(process.execPath, ['dist/cli/main.js', 'up', '--diagnostics', join(w.dir, 'diag'), '--artifacts', join(w.dir, 'art'), file], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: w.env,
  });
  let stderr = '';
  up.stderr.on('data', (d: Buffer) => (stderr += String(d)));
  const ended = new Promise<number | null>((r) => up.on('exit', (code) => r(code)));
  return { up, ended, stderr: () => stderr };
}

async function until(cond: () => boolean, ms = 10_000): Promise<boolean> {
  for (let waited = 0; waited < ms; waited += 50) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return cond();
}

t.test('up, exec in a node and a pod, down; one up per scenario', { skip: notRoot }, async (t) => {
  if (!existsSync('dist/cli/main.js')) throw new Error('dist/cli/main.js is missing: run `npm run build` first (npm test does)');
  const w = workspace(t);
  const cli = (...args: string[]) => spawnSync(process.execPath, ['dist/cli/main.js', ...args], { encoding: 'utf8', env: w.env });
  const first = startUp(w, 'test/kernel/fixtures/sandbox-pass.yaml');
  t.teardown(() => first.up.kill('SIGKILL'));
  await until(() => / is up: /.test(first.stderr()));
  t.match(first.stderr(), / is up: .*node\/node-1/, 'up says what can be entered');
  const second = cli('up', '--diagnostics', join(w.dir, 'diag'), '--artifacts', join(w.dir, 'art'), 'test/kernel/fixtures/sandbox-pass.yaml');
  t.equal(second.status, 2, 'a second up of the same scenario is refused');
  t.match(
    second.stderr,
    new RegExp(`sandbox-pass is already held by \`knetlab up test/kernel/fixtures/sandbox-pass.yaml\` \\(pid ${first.up.pid}\\); \`knetlab down sandbox-pass\` ends it`),
  );
  const addr = cli('exec', 'node/node-1', '--', 'ip', '-br', 'addr', 'show', 'cni0');
  t.equal(addr.status, 0, addr.stderr);
  t.match(addr.stdout, /cni0\s+UP\s+10\.244\.0\.1\/24/);
  const curl = cli('exec', 'pod/web-0', '--', 'curl', '-s', 'http://10.244.1.2:80/');
  t.equal(curl.status, 0, curl.stderr);
  t.match(curl.stdout, /"clientIP": "10\.244\.0\.2"/, 'a pod reaches another across nodes, as the scenario has it');
  t.equal(cli('exec', 'node/nope', '--', 'true').status, 2, 'an unknown place is a usage error');
  const write = cli('exec', 'node/node-1', '--', 'touch', '/root/knetlab-up-probe');
  t.match(write.stderr, /Read-only file system/, "what is run in a held scenario cannot write the host's files either");
  const down = cli('down');
  t.equal(down.status, 0, down.stderr);
  t.equal(await first.ended, 0, 'up ends when down is said');
  t.equal(cli('exec', 'node/node-1', '--', 'true').status, 2, 'nothing is held any more');
  t.same(readdirSync(join(w.dir, 'state', 'held')), [], 'and its state file is gone');
});

t.test("as user nobody, nothing planted in shared folders steers root's knetlab", { skip: notRoot }, async (t) => {
  const w = workspace(t);
  const cli = (...args: string[]) => spawnSync(process.execPath, ['dist/cli/main.js', ...args], { encoding: 'utf8', env: w.env });
  const asNobody = (argv: string[]) => spawnSync('runuser', ['-u', 'nobody', '--', ...argv], { encoding: 'utf8' });
  // A root process the plants point at: it must still run at the end.
  const victim = spawn('sleep', ['120'], { stdio: 'ignore' });
  t.teardown(() => victim.kill('SIGKILL'));
  const uid = 0;
  const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  const release = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  // Where earlier versions kept state, and other shared places: planted by nobody.
  const planted: string[] = [];
  const plantDir = mkdtempSync(join(tmpdir(), 'knetlab-test-plant-'));
  chmodSync(plantDir, 0o777);
  t.teardown(() => rmSync(plantDir, { recursive: true, force: true }));
  const heldDir = join(tmpdir(), `knetlab-${uid}`, 'held');
  if (!existsSync(join(tmpdir(), `knetlab-${uid}`))) {
    t.equal(asNobody(['mkdir', '-p', heldDir]).status, 0, 'nobody can make the old held folder in /tmp');
    planted.push(join(tmpdir(), `knetlab-${uid}`));
    const held = JSON.stringify({
      name: 'x',
      file: 'x.yaml',
      upPid: victim.pid,
      sandboxPid: victim.pid,
      up: { pid: victim.pid, start: 0 },
      rootless: false,
      netns: { 'node/x': 'x' },
    });
    t.equal(asNobody(['sh', '-c', `printf '%s' '${held}' > ${heldDir}/x.json`]).status, 0, 'and plant a held file pointing at a root process');
  }
  const target = join(plantDir, 'target');
  writeFileSync(target, 'root-owned file nobody wants overwritten\n');
  const cacheName = join(tmpdir(), `knetlab-features-${uid}-${boot}-${release}.json`);
  if (!existsSync(cacheName)) {
    t.equal(asNobody(['ln', '-s', target, cacheName]).status, 0, 'nobody can plant a symlink at the old cache name');
    planted.push(cacheName);
  }
  t.teardown(() => planted.forEach((p) => rmSync(p, { recursive: true, force: true })));

  const down = cli('down');
  t.equal(down.status, 2, 'down finds nothing held');
  t.match(down.stderr, /no scenario is held/);
  const exec = cli('exec', 'node/x', '--', 'true');
  t.equal(exec.status, 2, 'exec finds nothing to enter');
  const run = cli('run', '--reporter', 'json', '--diagnostics', join(w.dir, 'diag'), '--artifacts', join(w.dir, 'art'), 'test/kernel/fixtures/sandbox-pass.yaml');
  t.equal(run.status, 0, `a run passes (${run.stderr.trim().split('\n').pop()})`);
  t.equal(victim.exitCode, null, 'the root process a planted file named was never signalled');
  t.equal(readFileSync(target, 'utf8'), 'root-owned file nobody wants overwritten\n', 'the file a planted link pointed at is untouched');
  const cache = readdirSync(join(w.dir, 'state')).filter((f) => f.startsWith('features-'));
  t.equal(cache.length, 1, `the feature cache is in the owner's folder (${cache.join(' ')})`);
});

t.test('a corrupt or empty state file is set aside and reported, never a crash', { skip: notRoot }, async (t) => {
  const w = workspace(t);
  const cli = (...args: string[]) => spawnSync(process.execPath, ['dist/cli/main.js', ...args], { encoding: 'utf8', env: w.env });
  mkdirSync(join(w.dir, 'state', 'held'), { recursive: true, mode: 0o700 });
  chmodSync(join(w.dir, 'state'), 0o700);
  writeFileSync(join(w.dir, 'state', 'held', 'sandbox-pass.json'), '', { mode: 0o600 });
  for (const args of [['down'], ['exec', 'node/node-1', '--', 'true']]) {
    const r = cli(...args);
    t.equal(r.status, 2, `${args[0]}: exit 2, no crash`);
    t.notMatch(r.stderr, /internal error|\n\s+at /, `${args[0]}: no stack trace`);
  }
  const warned = cli('down');
  t.match(warned.stderr, /no scenario is held/);
  t.ok(
    readdirSync(join(w.dir, 'state', 'held')).some((f) => f.startsWith('sandbox-pass.json.bad-')),
    'the empty file was set aside',
  );
  writeFileSync(join(w.dir, 'state', 'held', 'sandbox-pass.json'), '{"garbage": true', { mode: 0o600 });
  const up = startUp(w, 'test/kernel/fixtures/sandbox-pass.yaml');
  t.teardown(() => up.up.kill('SIGKILL'));
  await until(() => / is up: /.test(up.stderr()));
  t.match(up.stderr(), /the state file of held scenario sandbox-pass was set aside \(it is not JSON\)/, 'up says it set the bad file aside');
  t.match(up.stderr(), / is up: /, 'and holds the scenario');
  up.up.kill('SIGTERM');
  t.equal(await up.ended, 0, 'SIGTERM ends it the usual way');
});
