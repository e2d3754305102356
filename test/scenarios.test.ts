// Golden tests for the example scenarios under scenarios/: each one is valid, and its plan (every
// address it resolves to) is exactly test/golden/plan/NAME.txt. `UPDATE_GOLDEN=1 npx tap
// test/scenarios.test.ts` rewrites the golden files instead; review the diff before committing it.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import t from 'tap';
import { formatProblem } from '../src/errors.js';
import { formatPlan } from '../src/report/plan.js';
import { scenarioFiles, validateScenario } from '../src/validate.js';
import { goldenPath, matchGolden, matchGoldenDir } from './match-golden.js';

// The file's time limit (tap's is 300 s here): every scenario's plan five times, two of them in CLI processes: minutes on a loaded machine.
t.setTimeout(15 * 60_000);

const bin = 'dist/cli/main.js';

const files = await scenarioFiles(['scenarios']);
const goldenOf = (file: string) => `plan/${basename(file).replace(/\.ya?ml$/, '')}.txt`;

/** The plan of a scenario that must be valid, with its problems. */
async function planOf(file: string): Promise<{ problems: string[]; errors: string[]; name?: string; description?: string; plan?: string }> {
  const v = await validateScenario(file);
  const problems = v.problems.map(formatProblem);
  const errors = v.problems.filter((p) => p.severity === 'error').map(formatProblem);
  if (errors.length || !v.model || !v.scenario) return { problems, errors };
  return { problems, errors, name: v.scenario.name, description: v.scenario.description, plan: formatPlan(v.model, v.scenario.steps) };
}

// tap's NODE_OPTIONS loads its TypeScript loader into every child; the built CLI needs none of it.
const { NODE_OPTIONS: _loader, ...plainEnv } = process.env;

function cliPlan(file: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, 'plan', file], { encoding: 'utf8', env: plainEnv }, (err, stdout, stderr) => {
      const status = err ? (typeof err.code === 'number' ? err.code : null) : 0;
      resolve({ status, stdout, stderr });
    });
  });
}

t.test('there are example scenarios', async (t) => {
  t.ok(files.length >= 16, `scenarios/ holds ${files.length} scenario files`);
});

for (const file of files) {
  t.test(file, async (t) => {
    const p = await planOf(file);
    t.same(p.errors, [], 'no errors');
    t.same(p.problems, [], 'no warnings either: no example is about a warning');
    if (p.plan === undefined) return;
    t.equal(`${p.name}.yaml`, basename(file), 'the file is named for metadata.name');
    t.ok(p.description?.trim(), 'metadata.description says what the scenario shows');
    matchGolden(t, goldenOf(file), p.plan, `plan equals ${goldenPath(goldenOf(file))}`);
    const again = await planOf(file);
    t.equal(again.plan, p.plan, 'a second run in the same process gives the same plan');
  });
}

t.test('every golden file belongs to a scenario', async (t) =>
  matchGoldenDir(
    t,
    'plan',
    files.map((f) => basename(goldenOf(f))),
  ),
);

t.test('plan is the same in two separate processes, and the same as in this one', async (t) => {
  if (!existsSync(bin)) {
    t.fail(`${bin} is missing: run \`npx tsc\` (npm test builds it) first`);
    return;
  }
  for (const file of files) {
    const [a, b] = await Promise.all([cliPlan(file), cliPlan(file)]);
    t.equal(a.status, 0, `${file}: knetlab plan exits 0`);
    t.equal(a.stderr, '', `${file}: knetlab plan prints no problem`);
    t.equal(b.stdout, a.stdout, `${file}: two processes print the same plan`);
    t.equal(a.stdout, (await planOf(file)).plan, `${file}: the command prints formatPlan's text`);
  }
});

t.test('manifest files are not scenarios', async (t) => {
  const dir = 'scenarios/manifests';
  for (const name of readdirSync(dir)) {
    const text = readFileSync(join(dir, name), 'utf8');
    t.notMatch(text, /apiVersion:\s*["']?knetlab\/v1/, `${name} has no \`apiVersion: knetlab/v1\``);
  }
});
