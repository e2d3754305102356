// knetlab's state folder is its owner's alone: made 0700, refused when someone else could steer it,
// and its files read only when they are regular files of ours, never through a link.
import { chmodSync, chownSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { createStateFile, readStateFile, setAside, stateDir, stateDirPath, STATE_DIR_ENV, writeStateFile } from '../../src/run/state-dir.js';

const root = process.getuid?.() === 0;
const NOBODY = 65534;

type Test = Parameters<Parameters<typeof t.test>[0]>[0];

function scratch(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'knetlab-test-state-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

t.test('where state lives: root under /run, others in their runtime folder or ~/.cache, never /tmp', async (t) => {
  t.equal(stateDirPath({ [STATE_DIR_ENV]: '/x/y' }), '/x/y', 'the override wins');
  if (root) t.equal(stateDirPath({}), '/run/knetlab', "root's is /run/knetlab");
  else t.notMatch(stateDirPath({}), /^\/tmp\//, 'not under /tmp');
});

t.test('the folder is made 0700, and an existing one of ours with a loose mode is put right', async (t) => {
  const base = scratch(t);
  const dir = join(base, 'state');
  const env = { [STATE_DIR_ENV]: dir };
  t.equal(stateDir('held', env), join(dir, 'held'));
  t.equal(statSync(dir).mode & 0o777, 0o700);
  t.equal(statSync(join(dir, 'held')).mode & 0o777, 0o700);
  chmodSync(dir, 0o777);
  stateDir(undefined, env);
  t.equal(statSync(dir).mode & 0o777, 0o700, 'chmod back to 0700');
});

t.test('a folder someone else could steer is refused', async (t) => {
  const base = scratch(t);
  const link = join(base, 'link');
  mkdirSync(join(base, 'real'), { mode: 0o700 });
  symlinkSync(join(base, 'real'), link);
  t.throws(() => stateDir(undefined, { [STATE_DIR_ENV]: link }), { code: 'EUNSAFE', message: /is not a folder \(a link\?\)/ }, 'a symbolic link in its place');
  const open = join(base, 'open');
  mkdirSync(open, { mode: 0o777 });
  chmodSync(open, 0o777);
  t.throws(
    () => stateDir(undefined, { [STATE_DIR_ENV]: join(open, 'state') }),
    { code: 'EUNSAFE', message: /lies in a folder others may write to/ },
    'inside a world-writable folder without the sticky bit',
  );
  if (!root) return;
  const theirs = join(base, 'theirs');
  mkdirSync(theirs, { mode: 0o700 });
  chownSync(theirs, NOBODY, NOBODY);
  t.throws(() => stateDir(undefined, { [STATE_DIR_ENV]: theirs }), { code: 'EUNSAFE', message: /belongs to uid 65534/ }, 'made by another user before us');
});

t.test('state files: regular files of ours only, never through a link, bounded', async (t) => {
  const dir = scratch(t);
  const file = join(dir, 'f.json');
  t.same(readStateFile(file), { kind: 'missing' });
  writeStateFile(file, '{"a":1}');
  t.same(readStateFile(file), { kind: 'ok', text: '{"a":1}' });
  t.equal(statSync(file).mode & 0o777, 0o600, 'written 0600');
  t.same(readdirSync(dir), ['f.json'], 'no temporary file left');
  const target = join(dir, 'target');
  writeFileSync(target, 'secret');
  symlinkSync(target, join(dir, 'link.json'));
  t.same(readStateFile(join(dir, 'link.json')), { kind: 'bad', why: 'is a symbolic link' }, 'a link is not followed');
  writeStateFile(join(dir, 'link.json'), 'x');
  t.ok(lstatSync(join(dir, 'link.json')).isFile(), 'writing replaces the link with a file of its own');
  t.equal(readFileSync(target, 'utf8'), 'secret', 'never writes through it: the target is untouched');
  mkdirSync(join(dir, 'd.json'));
  t.same(readStateFile(join(dir, 'd.json')), { kind: 'bad', why: 'is not a regular file' });
  writeFileSync(join(dir, 'big.json'), Buffer.alloc(2 * 1024 * 1024));
  t.match(readStateFile(join(dir, 'big.json')), { kind: 'bad', why: /2097152 bytes/ });
  if (root) {
    writeFileSync(join(dir, 'theirs.json'), '{}');
    chownSync(join(dir, 'theirs.json'), NOBODY, NOBODY);
    t.same(readStateFile(join(dir, 'theirs.json')), { kind: 'bad', why: 'belongs to uid 65534' });
  }
});

t.test('createStateFile claims a name once; setAside keeps a bad file out of the way', async (t) => {
  const dir = scratch(t);
  const file = join(dir, 'claim.json');
  t.equal(createStateFile(file, 'one'), true);
  t.equal(createStateFile(file, 'two'), false, 'a second claim is refused');
  t.equal(readFileSync(file, 'utf8'), 'one');
  const aside = setAside(file);
  t.match(aside, /claim\.json\.bad-/);
  t.equal(lstatSync(aside).isFile(), true);
  t.same(readStateFile(file), { kind: 'missing' });
});
