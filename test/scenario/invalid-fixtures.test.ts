// Every fixture under test/fixtures/invalid and test/fixtures/valid is validated as
// `knetlab validate` does (in this process, for speed: the command prints exactly these lines,
// and test/cli checks that it does); the lines must be exactly those of its `.expected` file,
// and the exit status must follow from them (2 when any line is an error, else 0).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { formatProblem } from '../../src/errors.js';
import { hasErrors, validateScenario } from '../../src/validate.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const sets = ['invalid', 'valid'] as const;

/** Repo-relative paths use `/` whatever the platform, as the .expected files do. */
const rel = (abs: string): string => relative(root, abs).split('\\').join('/');

function fixtureDir(set: string): string {
  return join(root, 'test', 'fixtures', set);
}

/** The files of one folder (not below it) ending in ext, sorted. */
function filesIn(dir: string, ext: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith(ext))
    .map((e) => e.name)
    .sort();
}

function lines(text: string): string[] {
  const out = text.split('\n');
  if (out[out.length - 1] === '') out.pop();
  return out;
}

const isWarning = (line: string): boolean => /^[^:]+:\d+:\d+: warning: /.test(line);

t.test('every fixture has its .expected and every .expected its fixture', async (t) => {
  for (const set of sets) {
    const dir = fixtureDir(set);
    const yamls = filesIn(dir, '.yaml').map((f) => f.slice(0, -'.yaml'.length));
    const expected = filesIn(dir, '.expected').map((f) => f.slice(0, -'.expected'.length));
    t.ok(yamls.length > 0, `${rel(dir)} holds fixtures`);
    t.same(
      yamls.filter((n) => !expected.includes(n)).map((n) => `${n}.yaml`),
      [],
      `every ${rel(dir)}/*.yaml has a .expected`,
    );
    t.same(
      expected.filter((n) => !yamls.includes(n)).map((n) => `${n}.expected`),
      [],
      `every ${rel(dir)}/*.expected has a .yaml`,
    );
  }
});

t.test('manifest files beside the fixtures are not scenarios', async (t) => {
  for (const set of sets) {
    const dir = join(fixtureDir(set), 'manifests');
    for (const name of filesIn(dir, '.yaml')) {
      t.notMatch(readFileSync(join(dir, name), 'utf8'), /apiVersion:\s*["']?knetlab\//, `${rel(join(dir, name))} holds no apiVersion: knetlab/...`);
    }
  }
});

for (const set of sets) {
  const dir = fixtureDir(set);
  t.test(`${set} fixtures`, async (t) => {
    for (const name of filesIn(dir, '.yaml')) {
      t.test(name, async (t) => {
        const file = rel(join(dir, name));
        const expectedFile = join(dir, name.replace(/\.yaml$/, '.expected'));
        if (!existsSync(expectedFile)) {
          t.fail(`${rel(expectedFile)} is missing: write the lines \`knetlab validate ${file}\` must print`);
          return;
        }
        const expected = lines(readFileSync(expectedFile, 'utf8'));
        const v = await validateScenario(file);
        t.same(v.problems.map(formatProblem), expected, `knetlab validate ${file} prints ${rel(expectedFile)}`);
        if (set === 'valid') {
          t.same(
            expected.filter((l) => !isWarning(l)),
            [],
            `${rel(expectedFile)} holds warnings only`,
          );
        }
        const wantStatus = expected.some((l) => !isWarning(l)) ? 2 : 0;
        t.equal(hasErrors(v.problems) ? 2 : 0, wantStatus, `exit status ${wantStatus}`);
      });
    }
  });
}
