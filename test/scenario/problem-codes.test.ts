// Problem codes: one closed list (src/scenario/problem-codes.ts), every code in it used by the
// source, every problem carrying one, `knetlab validate -o json` showing them at their place, and
// docs/SCENARIO_FORMAT.md listing exactly the list.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { formatProblem } from '../../src/errors.js';
import { problemJson, type ProblemJson, type ValidateJson } from '../../src/report/validate-json.js';
import { problemCodes } from '../../src/scenario/problem-codes.js';
import { validateScenario } from '../../src/validate.js';
import { head } from '../helpers.js';

const bin = 'dist/cli/main.js';
const codes = Object.keys(problemCodes);

function knetlab(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A JSON problem as the text output prints it: `FILE:LINE:COL: [warning: ]message`. */
const asText = (p: ProblemJson): string => `${p.file === undefined ? '' : `${p.file}:${p.line}:${p.column}: `}${p.severity === 'warning' ? 'warning: ' : ''}${p.message}`;

const lines = (text: string): string[] => text.split('\n').filter((l) => l !== '');

t.before(() => {
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run \`npm run build\` first (npm test does)`);
});

t.test('validate -o json: every problem of a broken file with its code, line and column; exit 2', async (t) => {
  const file = 'test/fixtures/invalid/bad-durations.yaml';
  const r = knetlab('validate', '-o', 'json', file);
  t.equal(r.status, 2);
  t.match(r.stderr, /1 file has errors \(of 1\)/);
  const doc = JSON.parse(r.stdout) as ValidateJson;
  t.equal(doc.files.length, 1);
  t.equal(doc.files[0]!.file, file);
  const problems = doc.files[0]!.problems;
  t.same(
    problems.map((p) => [p.code, p.severity, p.file, p.line, p.column]),
    [
      ['over-time-limit', 'error', file, 9, 1],
      ['bad-duration', 'error', file, 10, 63],
      ['bad-duration', 'error', file, 11, 62],
      ['bad-duration', 'error', file, 12, 57],
      ['bad-duration', 'error', file, 14, 12],
      ['bad-duration', 'error', file, 15, 12],
      ['bad-duration', 'error', file, 16, 59],
      ['bad-duration', 'error', file, 17, 63],
    ],
  );
  t.match(problems[1]!.message, /^Expected `steps\[0\]\.http\.timeout` to be a duration/);
  t.equal(doc.errors, 8);
  t.equal(doc.warnings, 0);
});

t.test('validate -o json says what the text output says, warnings too', async (t) => {
  for (const file of ['test/fixtures/invalid/ingress-problems.yaml', 'test/fixtures/invalid/machine-ips.yaml', 'test/fixtures/invalid/unknown-keys.yaml']) {
    const text = knetlab('validate', file);
    const json = knetlab('validate', '--output', 'json', file);
    t.equal(json.status, text.status, `${file}: the same exit status`);
    // Text: the problems, then the summary, on stdout; JSON: the summary on stderr, beside the document.
    t.same(lines(json.stderr), lines(text.stdout).slice(-1), `${file}: the same summary`);
    const doc = JSON.parse(json.stdout) as ValidateJson;
    const problems = doc.files.flatMap((f) => f.problems);
    t.same(problems.map(asText), lines(text.stdout).slice(0, -1), `${file}: the same problems, in the same order`);
    t.equal(doc.errors + doc.warnings, problems.length);
    t.equal(doc.warnings, problems.filter((p) => p.severity === 'warning').length);
  }
  const quiet = JSON.parse(knetlab('validate', '-q', '-o', 'json', 'test/fixtures/invalid/ingress-problems.yaml').stdout) as ValidateJson;
  t.equal(quiet.warnings, 0, '--quiet leaves the warnings out');
  t.ok(quiet.errors > 0);
});

t.test('validate -o json on a good scenario: no problems, exit 0; text stays the default', async (t) => {
  const r = knetlab('validate', '-o', 'json', 'scenarios/clusterip-round-robin.yaml');
  t.equal(r.status, 0);
  t.same(JSON.parse(r.stdout), { files: [{ file: 'scenarios/clusterip-round-robin.yaml', problems: [] }], errors: 0, warnings: 0 });
  const text = knetlab('validate', 'scenarios/clusterip-round-robin.yaml');
  t.equal(text.status, 0);
  t.equal(text.stdout, '1 scenario file valid\n');
  const bad = knetlab('validate', '-o', 'yaml', 'scenarios/clusterip-round-robin.yaml');
  t.equal(bad.status, 2);
  t.match(bad.stderr, /--output must be text or json, got yaml/);
  t.equal(bad.stdout, '');
});

t.test('validate -o json on a folder: a file that cannot be read is one of the files, with its code', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'knetlab-codes-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'sub'));
  writeFileSync(join(dir, 'sub', 'ok.yaml'), head(1));
  symlinkSync('gone.yaml', join(dir, 'dangling.yaml'));
  const r = knetlab('validate', '-o', 'json', dir);
  t.equal(r.status, 2);
  const doc = JSON.parse(r.stdout) as ValidateJson;
  t.same(
    doc.files.map((f) => [f.file, f.problems.map((p) => p.code)]),
    [
      [join(dir, 'dangling.yaml'), ['unreadable-file']],
      [join(dir, 'sub', 'ok.yaml'), []],
    ],
  );
  t.same(doc.files[0]!.problems[0], {
    code: 'unreadable-file',
    severity: 'error',
    message: `cannot read ${join(dir, 'dangling.yaml')}: no such file`,
    file: join(dir, 'dangling.yaml'),
    line: 1,
    column: 1,
  });
});

t.test('a problem without a place has no file, line or column in JSON', async (t) => {
  t.same(problemJson({ code: 'cannot-listen', severity: 'error', message: 'port 80 is taken' }), { code: 'cannot-listen', severity: 'error', message: 'port 80 is taken' });
});

t.test('every fixture problem carries a code of the list', async (t) => {
  const seen = new Set<string>();
  const without: string[] = [];
  for (const set of ['invalid', 'valid']) {
    const dir = join('test', 'fixtures', set);
    for (const name of readdirSync(dir).filter((n) => n.endsWith('.yaml'))) {
      const v = await validateScenario(join(dir, name));
      for (const p of v.problems) {
        if (!Object.hasOwn(problemCodes, p.code)) without.push(`${formatProblem(p)}: code ${p.code}`);
        seen.add(p.code);
      }
    }
  }
  t.same(without, [], 'no problem without a code of the list');
  t.ok(seen.size >= 30, `the fixtures show ${seen.size} of the ${codes.length} codes`);
});

/** Every .ts file under a folder, with its text. */
function sources(dir: string): [string, string][] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e): [string, string][] => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sources(path);
    return e.name.endsWith('.ts') ? [[path, readFileSync(path, 'utf8')]] : [];
  });
}

t.test('the list is closed and true: every code in it is used in src', async (t) => {
  // The compiler checks the other way: a code not in the list does not type-check.
  const text = sources('src')
    .filter(([path]) => !path.endsWith(join('scenario', 'problem-codes.ts')))
    .map(([, s]) => s)
    .join('\n');
  const unused = codes.filter((c) => !text.includes(`'${c}'`));
  t.same(unused, [], 'no code in problemCodes is unused');
  for (const c of codes) t.match(c, /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/, `${c} is kebab-case`);
  t.ok(codes.length >= 30 && codes.length <= 80, `${codes.length} codes`);
});

t.test('docs/SCENARIO_FORMAT.md lists exactly the codes, each with its meaning, and validate -o json', async (t) => {
  const doc = readFileSync('docs/SCENARIO_FORMAT.md', 'utf8');
  const section = doc.slice(doc.indexOf('### Problem codes'));
  t.ok(doc.includes('### Problem codes'), 'a section "Problem codes"');
  t.match(section, /knetlab validate -o json/);
  const listed = [...section.matchAll(/^- `([a-z0-9-]+)`: (.*)$/gm)].map((m) => [m[1], m[2]]);
  t.same(listed, Object.entries(problemCodes), 'the same codes in the same order, with the same meanings');
});
