// Golden files: every renderer's whole output compared byte for byte with a file under test/golden/.
// The one way to regenerate them: `UPDATE_GOLDEN=1 npx tap test/.../NAME.test.ts`, then review the
// diff (a golden that changes means behaviour changed). Without it a missing golden fails, naming
// its path: nothing is ever written silently.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Test } from 'tap';

export const GOLDEN_DIR = 'test/golden';

/** True when this run rewrites the golden files instead of comparing with them. */
export const updateGolden = process.env.UPDATE_GOLDEN === '1';

/** The path of a golden file, e.g. `goldenPath('iptables/no-endpoints.txt')` is test/golden/iptables/no-endpoints.txt. */
export const goldenPath = (name: string): string => join(GOLDEN_DIR, name);

/** The text of a golden file (for tests that feed a golden to the kernel). */
export const readGolden = (name: string): string => readFileSync(goldenPath(name), 'utf8');

/**
 * One assertion: `text` equals test/golden/NAME. With UPDATE_GOLDEN=1 the file is written first (so
 * the assertion passes and the diff is left to review); without it a missing file fails, naming it.
 */
export function matchGolden(t: Test, name: string, text: string, message = `${goldenPath(name)} (UPDATE_GOLDEN=1 rewrites it)`): void {
  const file = goldenPath(name);
  if (updateGolden) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text);
  }
  if (!existsSync(file)) {
    t.fail(`${file} is missing: run this test with UPDATE_GOLDEN=1 to write it, and review it`);
    return;
  }
  t.equal(text, readFileSync(file, 'utf8'), message);
}

/**
 * One assertion: test/golden/DIR holds exactly the files `names` (no golden left over from a removed
 * or renamed case). With UPDATE_GOLDEN=1 the stale ones are removed instead.
 */
export function matchGoldenDir(t: Test, dir: string, names: Iterable<string>): void {
  const folder = goldenPath(dir);
  const wanted = new Set(names);
  const stale = (existsSync(folder) ? readdirSync(folder) : []).filter((f) => !wanted.has(f)).sort();
  if (updateGolden) for (const f of stale) rmSync(join(folder, f));
  t.same(updateGolden ? [] : stale, [], `no file in ${folder} is left over from a removed or renamed case`);
}
