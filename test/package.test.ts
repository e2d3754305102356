// What `npm pack` gives a user: every asset the CLI loads, the library with its types, the schema;
// installed into a folder of its own (examples/tap-suite, copied), where the user's tests pass.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import t from 'tap';

const root = new URL('..', import.meta.url).pathname;
const notRoot = process.getuid?.() !== 0 ? "the example suite's tests build namespaces: needs root" : false;
// The child npm and tap are the user's own: nothing of this tap run (its loader, its TAP_ settings) reaches them.
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_OPTIONS' && !k.startsWith('TAP') && !k.startsWith('npm_')));

const scratch = mkdtempSync(join(tmpdir(), 'knetlab-pack-'));
t.teardown(() => rmSync(scratch, { recursive: true, force: true }));

const run = (cmd: string, args: string[], cwd: string, timeout = 240_000) => spawnSync(cmd, args, { cwd, env, encoding: 'utf8', timeout, maxBuffer: 64 * 1024 * 1024 });

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(root, join(e.parentPath, e.name)));
}

const packed = run('npm', ['pack', '--pack-destination', scratch, '--json'], root);
const tarball = packed.status === 0 ? join(scratch, (JSON.parse(packed.stdout) as { filename: string }[])[0]!.filename) : '';

t.test('npm pack holds what the CLI and the library load', async (t) => {
  t.equal(packed.status, 0, packed.stderr);
  const listed = new Set(
    execFileSync('tar', ['tzf', tarball], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map((p) => p.replace(/^package\//, '')),
  );
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { bin: Record<string, string>; exports: Record<string, string | Record<string, string>> };
  const needed = [
    ...Object.values(pkg.bin),
    ...Object.values(pkg.exports).flatMap((e) => (typeof e === 'string' ? [e] : Object.values(e))),
    // Python workloads and helpers the sandbox runs, beside their modules.
    ...filesUnder(join(root, 'src'))
      .filter((f) => !f.endsWith('.ts'))
      .map((f) => f.replace(/^src\//, 'dist/')),
    'scripts/provision',
    'scripts/host-commands.txt',
  ].map((p) => p.replace(/^\.\//, ''));
  t.ok(
    needed.some((f) => f.endsWith('.py')),
    'the python assets are among them',
  );
  t.same(
    needed.filter((f) => !listed.has(f)),
    [],
    'every one is in the tarball',
  );
  t.notOk(
    [...listed].some((f) => f.startsWith('test/') || f.startsWith('src/')),
    'no tests or sources',
  );
});

t.test("the README's steps from an empty folder to a passing test of one's own, then the example suite there", { skip: !tarball && 'npm pack failed' }, async (t) => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const start = readme.indexOf('(cd knetlab && npm pack)');
  t.ok(start > 0, 'the README has the steps');
  // As written, beside this checkout (named knetlab); the last line, the test run (sudo: this is root), only as root.
  const lines = readme.slice(start, readme.indexOf('```', start)).trimEnd().split('\n');
  const tapLine = lines.pop()!;
  t.match(tapLine, /^sudo npx tap /, "the steps end with the user's test run");
  const home = join(scratch, 'readme');
  mkdirSync(home);
  symlinkSync(root, join(home, 'knetlab'));
  writeFileSync(join(home, 'steps.sh'), `set -e\n${lines.join('\n')}\n`);
  // From the npm cache that `npm ci` filled (CI), the registry otherwise.
  const setup = run('bash', ['steps.sh'], home, 600_000);
  rmSync(join(root, 'knetlab-0.1.0.tgz'), { force: true });
  t.equal(setup.status, 0, `the steps: ${setup.stdout.slice(-3000)}${setup.stderr.slice(-2000)}`);
  const mine = join(home, 'my-tests');
  const version = run('npx', ['--no-install', 'knetlab', '--version'], mine);
  t.equal(version.stdout.trim(), JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version, `npx knetlab --version: ${version.stderr}`);
  const valid = run('npx', ['--no-install', 'knetlab', 'validate', 'scenarios'], mine);
  t.equal(valid.status, 0, `knetlab validate: ${valid.stdout}${valid.stderr}`);

  // The example suite in a folder of it: it finds knetlab, tap and tsc in the user's node_modules above.
  const suite = join(mine, 'example');
  cpSync(join(root, 'examples/tap-suite'), suite, { recursive: true });
  const typed = run('npx', ['--no-install', 'tsc', '--noEmit'], suite);
  t.equal(typed.status, 0, `tsc --noEmit (the library's types): ${typed.stdout}${typed.stderr}`);
  // docs/API.md's TypeScript blocks compile against the installed package as they are written.
  const blocks = [...readFileSync(join(root, 'docs/API.md'), 'utf8').matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
  t.ok(blocks.length > 0, 'docs/API.md has TypeScript examples');
  mkdirSync(join(suite, 'doc-examples'));
  blocks.forEach((b, i) => writeFileSync(join(suite, 'doc-examples', `api-${i + 1}.ts`), b));
  writeFileSync(join(suite, 'tsconfig.doc.json'), JSON.stringify({ extends: './tsconfig.json', include: ['doc-examples'] }));
  const docTyped = run('npx', ['--no-install', 'tsc', '--noEmit', '-p', 'tsconfig.doc.json'], suite);
  t.equal(docTyped.status, 0, `docs/API.md's examples type-check: ${docTyped.stdout}${docTyped.stderr}`);
  if (notRoot) {
    t.comment(`the tests themselves skipped: ${notRoot}`);
    return;
  }
  // The CLI from the package builds and runs a scenario: its sandbox, python workloads and scripts are inside.
  const cli = run('npx', ['--no-install', 'knetlab', 'run', '-j', '1', '-r', 'tap', 'scenarios/source-ip.yaml'], mine, 300_000);
  t.equal(cli.status, 0, `npx knetlab run: ${cli.stdout.slice(-2000)}${cli.stderr.slice(-2000)}`);
  t.match(cli.stdout, /^ok 1 - source-ip /m, 'the scenario passed');
  const own = run('bash', ['-c', tapLine.replace(/^sudo /, '')], mine, 600_000);
  t.equal(own.status, 0, `${tapLine}: ${own.stdout.slice(-3000)}${own.stderr.slice(-2000)}`);
  t.match(own.stdout, /# \{ total: \d+, pass: \d+ \}/, "the user's own test passed");
  const tested = run('npm', ['test'], suite, 600_000);
  const said = tested.stdout
    .split('\n')
    .filter((l) => /not ok|^# \{|# (pass|fail)/.test(l))
    .join('\n');
  t.equal(tested.status, 0, `npm test of the suite:\n${said}\n${tested.stderr.slice(-2000)}`);
  t.match(tested.stdout, /# \{ total: \d+, pass: \d+ \}/, 'tap ran its tests and all passed');
  t.match(tested.stdout, /# pass [1-9]/, 'node:test ran its test and it passed');
});
