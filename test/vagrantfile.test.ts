// The Vagrantfile: `vagrant validate` where vagrant is installed (it parses the file and checks
// every setting against the installed providers and plugins, without booting anything), and the
// provisioning it runs is the script CI runs.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';

const root = join(import.meta.dirname, '..');
const vagrant = (process.env.PATH ?? '').split(':').some((d) => d && existsSync(join(d, 'vagrant')));

t.test('vagrant validate accepts the Vagrantfile', { skip: vagrant ? false : 'vagrant is not installed (apt-get install vagrant, or from releases.hashicorp.com)' }, async (t) => {
  // A private VAGRANT_HOME would make vagrant set itself up anew (slow, and it may reach the network): use the user's.
  const r = spawnSync('vagrant', ['validate'], { cwd: root, encoding: 'utf8', timeout: 120_000, env: { ...process.env, VAGRANT_CHECKPOINT_DISABLE: '1' } });
  t.equal(r.status, 0, `vagrant validate: ${(r.stdout + r.stderr).trim()}`);
  t.match(r.stdout, /Vagrantfile validated successfully/);
});

t.test('the Vagrantfile provisions with scripts/provision, loading the modules at every boot, and builds', async (t) => {
  const text = readFileSync(join(root, 'Vagrantfile'), 'utf8');
  t.match(text, /config\.vm\.box = "debian\/bookworm64"/, 'Debian 12');
  t.match(text, /bash \/vagrant\/scripts\/provision --persist-modules/, 'the same provisioning as CI, modules persisted');
  t.match(text, /npm ci --no-audit --no-fund && npm run build/, 'the project built');
});
