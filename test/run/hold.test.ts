import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { claimHeld, enterCommand, findHeld, listHeld, ownId, placeNetns, removeHeld, signalHolder, type Held } from '../../src/run/hold.js';
import { processId } from '../../src/kernel/process-identity.js';
import { STATE_DIR_ENV } from '../../src/run/state-dir.js';

type Test = Parameters<Parameters<typeof t.test>[0]>[0];

const held: Held = {
  name: 'demo',
  file: 'demo.yaml',
  up: { pid: 2, start: 1 },
  sandbox: { pid: 4242, start: 7 },
  rootless: false,
  netns: { lan: 'lan', 'node/node-1': 'node-1', 'host/client': 'client', 'pod/web-0.default': 'web-0.default', 'pod/agent-node-1.default': 'node-1' },
};

t.test('places by the names steps use, or bare', async (t) => {
  t.equal(placeNetns(held, 'node/node-1'), 'node-1');
  t.equal(placeNetns(held, 'node-1'), 'node-1');
  t.equal(placeNetns(held, 'client'), 'client');
  t.equal(placeNetns(held, 'pod/web-0'), 'web-0.default');
  t.equal(placeNetns(held, 'web-0'), 'web-0.default');
  t.equal(placeNetns(held, 'pod/agent-node-1'), 'node-1', 'a hostNetwork pod is in its node');
  t.throws(() => placeNetns(held, 'node/node-9'), /demo has no node\/node-9; did you mean node\/node-1\?/);
  t.throws(() => placeNetns(held, 'constructor'), /demo has no constructor/, "an object's own property names are no places");
  const { sandbox: _s, ...building } = held;
  t.throws(() => placeNetns(building, 'node-1'), /demo is still being built/, 'a scenario still being built cannot be entered');
});

t.test('entering: the sandbox first, then the namespace', async (t) => {
  t.same(enterCommand(held, 'node-1', ['ip', 'route']), ['nsenter', '--target', '4242', '--mount', '--net', '--pid', '--', 'ip', 'netns', 'exec', 'node-1', 'ip', 'route']);
  t.same(enterCommand({ ...held, rootless: true }, 'x', ['true']).slice(0, 5), ['nsenter', '--target', '4242', '--user', '--preserve-credentials']);
});

/** A private state folder for one test, and a way to plant held files in it. */
function stateFolder(t: Test): { plant: (name: string, text: string) => void; heldDir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'knetlab-test-held-'));
  const before = process.env[STATE_DIR_ENV];
  process.env[STATE_DIR_ENV] = join(dir, 'state');
  t.teardown(() => {
    if (before === undefined) delete process.env[STATE_DIR_ENV];
    else process.env[STATE_DIR_ENV] = before;
    rmSync(dir, { recursive: true, force: true });
  });
  listHeld(); // makes the folder
  const heldDir = join(dir, 'state', 'held');
  return { heldDir, plant: (name, text) => writeFileSync(join(heldDir, `${name}.json`), text, { mode: 0o600 }) };
}

/** A live process that is not knetlab's (the victim a planted pid would point at), or one whose command line has `up`. */
function victim(t: Test, argv = ['sleep', '60']): number {
  const child = spawn(argv[0]!, argv.slice(1), { stdio: 'ignore' });
  t.teardown(() => child.kill('SIGKILL'));
  return child.pid!;
}

t.test('empty, corrupt or foreign held files are set aside with a warning, never a crash', async (t) => {
  const s = stateFolder(t);
  s.plant('empty', '');
  s.plant('garbage', '{not json');
  s.plant('other', JSON.stringify({ name: 'someone-else', file: 'x', up: { pid: 5, start: 1 }, rootless: false, netns: {} }));
  s.plant('badns', JSON.stringify({ name: 'badns', file: 'x', up: ownId(), rootless: false, netns: { 'node/a': '../../etc' } }));
  const warnings: string[] = [];
  t.same(
    listHeld((w) => void warnings.push(w)),
    [],
    'none of them is held',
  );
  t.equal(warnings.length, 4, 'each is reported');
  t.match(warnings.join('\n'), /empty.*it is empty/);
  t.match(warnings.join('\n'), /garbage.*it is not JSON/);
  t.match(warnings.join('\n'), /other.*it names "someone-else"/);
  t.match(warnings.join('\n'), /badns.*not namespace names/);
  t.same(
    readdirSync(s.heldDir).filter((f) => f.endsWith('.json')),
    [],
    'and moved out of the way',
  );
  t.throws(() => findHeld(), /no scenario is held/);
});

t.test('a pid alone is not trusted: a reused pid, or a live process that is not a knetlab up, is never signalled', async (t) => {
  const s = stateFolder(t);
  const pid = victim(t);
  const id = processId(pid)!;
  s.plant('reused', JSON.stringify({ name: 'reused', file: 'x', up: { pid, start: id.start + 1 }, rootless: false, netns: {} }));
  s.plant('notup', JSON.stringify({ name: 'notup', file: 'x', up: id, rootless: false, netns: {} }));
  t.same(listHeld(), [], 'neither counts as held');
  t.notOk(existsSync(join(s.heldDir, 'reused.json')), 'the stale file is removed');
  t.throws(() => signalHolder({ name: 'notup', file: 'x', up: id, rootless: false, netns: {} }), /has already ended/, 'signalling checks again');
  t.equal(processId(pid)?.start, id.start, 'the victim still runs');
});

t.test('one up per name: a live claim refuses a second, naming the first; a stale one is cleared', async (t) => {
  const s = stateFolder(t);
  const me = { name: 'demo', file: 'demo.yaml', up: ownId(), rootless: false };
  s.plant('demo', JSON.stringify({ ...me, up: { pid: 999999, start: 1 }, netns: {} }));
  claimHeld(me);
  t.pass('a claim whose up is gone is cleared and taken');
  removeHeld('demo');
  // Stands for a running `knetlab up` of the scenario: a live process of ours with `up` in its command line.
  const first = processId(victim(t, [process.execPath, '-e', 'setTimeout(() => {}, 60000)', 'up']))!;
  s.plant('demo', JSON.stringify({ ...me, up: first, netns: {} }));
  t.throws(
    () => claimHeld({ ...me, file: 'other.yaml' }),
    new RegExp(`demo is already being built by \\\`knetlab up demo.yaml\\\` \\(pid ${first.pid}\\)`),
    'a second claim of a live name is refused, naming the first',
  );
  t.equal(findHeld('demo').up.pid, first.pid, 'the first is found as held');
  removeHeld('demo');
  t.notOk(existsSync(join(s.heldDir, 'demo.json')));
});
