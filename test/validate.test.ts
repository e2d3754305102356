import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { formatProblem } from '../src/errors.js';
import { MAX_PROBLEMS_SHOWN } from '../src/scenario/limits.js';
import { findScenarioFiles, validateScenario } from '../src/validate.js';
import { head } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'knetlab-validate-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const write = (text: string): string => {
  const file = join(dir, `s${++n}.yaml`);
  writeFileSync(file, text);
  return file;
};
const unknownKeys = (count: number): string => head(1) + Array.from({ length: count }, (_, i) => `k${i}: x\n`).join('');

t.test('validation time grows with the input, not with its square', async (t) => {
  await validateScenario(write(unknownKeys(100))); // warm up
  const time = async (count: number) => {
    const file = write(unknownKeys(count));
    const start = performance.now();
    const v = await validateScenario(file);
    return { ms: performance.now() - start, problems: v.problems };
  };
  const small = await time(1000);
  const big = await time(8000);
  // 8 times the keys: about 8 times the time when linear, 64 when quadratic (it took 23 s for 40k keys).
  t.ok(big.ms < 25 * small.ms + 300, `8000 unknown keys took ${Math.round(big.ms)} ms, 1000 took ${Math.round(small.ms)} ms`);
  t.equal(big.problems.length, MAX_PROBLEMS_SHOWN + 1, 'the first 200 problems, then one that counts the rest');
  t.equal(formatProblem(big.problems[MAX_PROBLEMS_SHOWN - 1]!), `${join(dir, `s${n}.yaml`)}:205:1: Unknown key \`k199\` at the top level`);
  t.equal(formatProblem(big.problems[MAX_PROBLEMS_SHOWN]!), `${join(dir, `s${n}.yaml`)}:206:1: ... and 7800 more problems, from here on; only the first 200 are shown`);
});

t.test('a message is one line, whatever a key holds', async (t) => {
  const v = await validateScenario(write(`${head(1)}"a\\nb.yaml:1:1: forged\\u2028x": 1\n`));
  t.same(
    v.problems.map((p) => p.message),
    ['Unknown key `a\\nb.yaml:1:1: forged\\u2028x` at the top level'],
  );
});

t.test('a folder walk reports what it cannot read, and goes on', async (t) => {
  const walk = join(dir, 'walk');
  mkdirSync(join(walk, 'sub'), { recursive: true });
  writeFileSync(join(walk, 'a.yaml'), head(1));
  writeFileSync(join(walk, 'manifest.yaml'), 'apiVersion: v1\nkind: Service\n');
  symlinkSync('gone.yaml', join(walk, 'dangling.yaml'));
  writeFileSync(join(walk, 'sub', 'b.yaml'), head(1));
  const found = await findScenarioFiles([walk]);
  t.same(found.files, [join(walk, 'a.yaml'), join(walk, 'sub', 'b.yaml')]);
  t.same(found.problems.map(formatProblem), [`${join(walk, 'dangling.yaml')}:1:1: cannot read ${join(walk, 'dangling.yaml')}: no such file`]);
  if (process.getuid?.() !== 0) {
    chmodSync(join(walk, 'sub'), 0);
    const locked = await findScenarioFiles([walk]);
    chmodSync(join(walk, 'sub'), 0o755);
    t.match(locked.problems.map(formatProblem), [/dangling/, /cannot read the folder .*sub: permission denied/]);
  }
});
