// The formatter and the linter (biome.json) over src, test and scripts: a change that is not formatted
// or that a lint rule refuses fails here, with biome's own report of where.
import { spawnSync } from 'node:child_process';
import t from 'tap';

t.test('biome: every file formatted, no lint problem', async (t) => {
  const r = spawnSync(process.execPath, ['node_modules/@biomejs/biome/bin/biome', 'ci', '--colors=off', '--max-diagnostics=50', '.'], { encoding: 'utf8' });
  t.equal(r.status, 0, `biome ci is clean (run \`npx biome check --write .\` to format and fix):\n${(r.stdout + r.stderr).slice(-6000)}`);
});
