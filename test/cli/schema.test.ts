// `knetlab schema`: what it prints is the schema the package ships (schema/scenario.schema.json,
// regenerated with `npm run schema`), and --out writes the same.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { scenarioJsonSchema } from '../../src/scenario/json-schema.js';

const bin = 'dist/cli/main.js';
const shipped = 'schema/scenario.schema.json';

function knetlab(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

t.before(() => {
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run \`npm run build\` first (npm test does)`);
});

t.test('knetlab schema prints the shipped schema file, as the source makes it', async (t) => {
  const r = knetlab('schema');
  t.equal(r.status, 0);
  t.equal(r.stderr, '');
  t.equal(r.stdout, readFileSync(shipped, 'utf8'), `${shipped} is current (else: npm run schema)`);
  t.same(JSON.parse(r.stdout), scenarioJsonSchema(), 'the build prints what src/ makes');
});

t.test('--out writes it to a file; one that cannot be written is a usage error', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'knetlab-schema-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'scenario.schema.json');
  const r = knetlab('schema', '--out', out);
  t.equal(r.status, 0);
  t.equal(r.stdout, '');
  t.equal(readFileSync(out, 'utf8'), readFileSync(shipped, 'utf8'));
  const bad = knetlab('schema', '--out', join(dir, 'no-such-folder', 'x.json'));
  t.equal(bad.status, 2);
  t.match(bad.stderr, /^knetlab: --out .*no-such-folder\/x\.json: cannot write it \(ENOENT/);
  t.equal(bad.stdout, '');
});

t.test('the npm package ships it and exports it as knetlab/schema.json', async (t) => {
  const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { files: string[]; exports: Record<string, string> };
  t.ok(pkg.files.includes('schema'), 'schema/ is in files');
  t.equal(pkg.exports['./schema.json'], `./${shipped}`);
});
