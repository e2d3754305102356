import { existsSync, readFileSync } from 'node:fs';
import t from 'tap';

const contract = '../shared/SCENARIO_FORMAT.md';

t.test("docs/SCENARIO_FORMAT.md ends with knetlab's additions", async (t) => {
  t.match(readFileSync('docs/SCENARIO_FORMAT.md', 'utf8'), /## knetlab's additions to the format/);
});

const noContract = existsSync(contract) ? false : `${contract} is not beside this checkout (it is in CI and for the developers), so the copy cannot be compared`;
t.test('docs/SCENARIO_FORMAT.md holds the whole contract, unchanged', { skip: noContract }, async (t) => {
  const original = readFileSync(contract, 'utf8');
  t.equal(readFileSync('docs/SCENARIO_FORMAT.md', 'utf8').slice(0, original.length), original, 'the contract is copied verbatim');
});

t.test('the README starts with the install-and-run command and the test command', async (t) => {
  const readme = readFileSync('README.md', 'utf8');
  const first = /```sh\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
  const commands = first
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.replace(/\s+#.*$/, ''));
  t.same(commands, ['bash scripts/provision && npm ci && npm run examples', 'npm test']);
  const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> };
  t.ok(pkg.scripts.examples, 'npm run examples exists');
  t.ok(existsSync('scripts/provision'), 'scripts/provision exists');
  for (const link of readme.matchAll(/\]\(([^)#]+)\)/g)) t.ok(existsSync(link[1]!), `README link ${link[1]} exists`);
});
