import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { watchFiles } from '../../src/cli/watch.js';

const dir = mkdtempSync(join(tmpdir(), 'knetlab-test-watch-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.test('changes to the watched files, gathered; others in their folders passed over', async (t) => {
  const a = join(dir, 'a.yaml');
  const other = join(dir, 'other.yaml');
  mkdirSync(join(dir, 'sub'));
  const b = join(dir, 'sub', 'b.yaml');
  for (const f of [a, other, b]) writeFileSync(f, 'x: 1\n');
  const calls: string[][] = [];
  const failed: string[] = [];
  const w = watchFiles(
    [a],
    (files) => calls.push(files.sort()),
    (d) => failed.push(d),
    100,
  );
  t.teardown(() => w.close());
  await wait(50);
  // As editors save: a new file renamed over the old one, then written again.
  writeFileSync(join(dir, '.a.yaml.swp'), 'x: 2\n');
  renameSync(join(dir, '.a.yaml.swp'), a);
  writeFileSync(a, 'x: 3\n');
  await wait(400);
  t.same(calls, [[a]], 'one call for the burst, naming the file');
  writeFileSync(other, 'x: 2\n');
  writeFileSync(b, 'x: 2\n');
  await wait(400);
  t.same(calls.length, 1, 'files not watched are passed over');
  w.set([a, b]);
  writeFileSync(b, 'x: 3\n');
  await wait(400);
  t.same(calls, [[a], [b]], 'a file added later, in another folder, is watched');
  w.set([b]);
  writeFileSync(a, 'x: 4\n');
  await wait(400);
  t.equal(calls.length, 2, 'a file dropped is no longer watched');
  w.set([b, join(dir, 'missing', 'c.yaml')]);
  t.match(failed, [join(dir, 'missing')], 'a folder that cannot be watched is told');
});
