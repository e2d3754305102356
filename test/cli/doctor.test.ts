// `knetlab doctor` for real: its exit status follows its verdict, and what it says of ip_vs is what
// the kernel shows (/proc/net/ip_vs exists exactly when ip_vs is loaded or built in), on any machine.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import t from 'tap';

const bin = 'dist/cli/main.js';
// tap's NODE_OPTIONS loads its TypeScript loader into every child; the built CLI needs none of it.
const { NODE_OPTIONS: _loader, ...plainEnv } = process.env;
const notRoot = process.getuid?.() !== 0 ? 'probes the kernel in a sandbox as root: needs root' : false;

t.before(() => {
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run \`npm run build\` first (npm test does)`);
});

t.test('doctor -o json: the verdict is the exit status, ip_vs as the kernel has it', { skip: notRoot }, async (t) => {
  const r = spawnSync(process.execPath, [bin, 'doctor', '-o', 'json'], { encoding: 'utf8', timeout: 240_000, env: plainEnv });
  const report = JSON.parse(r.stdout) as {
    ok: boolean;
    root: boolean;
    sandbox: { ok: boolean };
    features: { feature: string; ok: boolean; why?: string }[];
    modes: { name: string; ok: boolean; missing: string[] }[];
  };
  t.equal(r.status, report.ok ? 0 : 1, 'exit 0 exactly when iptables mode on flannel-vxlan can run');
  t.ok(report.root);
  t.ok(report.sandbox.ok, `root gets a sandbox (${JSON.stringify(report.sandbox)})`);
  const ipvs = report.features.find((f) => f.feature === 'ip_vs');
  t.ok(ipvs, 'ip_vs probed');
  // Probing as root loads ip_vs when the kernel can: afterwards the host shows it exactly when doctor found it.
  t.equal(
    ipvs?.ok,
    existsSync('/proc/net/ip_vs'),
    `ip_vs ${ipvs?.ok ? 'found' : `missing (${ipvs?.why})`}; /proc/net/ip_vs ${existsSync('/proc/net/ip_vs') ? 'exists' : 'does not'}`,
  );
  const mode = report.modes.find((m) => m.name === 'ipvs');
  if (!ipvs?.ok) t.match(mode?.missing.join('; '), /^.*ip_vs missing/, 'IPVS mode says it lacks ip_vs');
  t.equal(spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout.includes('knetlab-probe'), false, 'no probe namespace left on the host');
});

t.test('doctor text: every section, the same verdict', { skip: notRoot }, async (t) => {
  const r = spawnSync(process.execPath, [bin, 'doctor'], { encoding: 'utf8', timeout: 240_000, env: plainEnv });
  for (const head of ['COMMAND', 'KERNEL FEATURE', 'PROXY MODE', 'NETWORK']) t.match(r.stdout, new RegExp(`\\n${head} +`), head);
  t.match(r.stdout, r.status === 0 ? /knetlab can run here/ : /knetlab cannot run here/);
});

t.test('doctor -o xml is a usage error', async (t) => {
  const r = spawnSync(process.execPath, [bin, 'doctor', '-o', 'xml'], { encoding: 'utf8' });
  t.equal(r.status, 2);
  t.match(r.stderr, 'knetlab: --output must be text or json, got xml');
});
