// Runs every scenario under scenarios/ for real, through the CLI, as users do: each must pass, or
// be skipped with its reason (a missing kernel feature, or what knetlab does not build yet).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { testedProxyModes } from './helpers.js';

interface Report {
  scenarios: { file: string; name: string; status: string; reason: string | null; steps: { name: string; status: string; expected: string; seen: string; diagnostics: string | null }[] }[];
}

const notRoot = process.getuid?.() !== 0 ? 'running scenarios needs root (or unprivileged user namespaces): run `sudo npm test`' : false;

// Every kube-proxy mode: the same scenarios must pass unchanged under each (a kernel without ip_vs
// reports them skipped, naming it; CI runs the IPVS mode in the VM of scripts/vm).
for (const mode of testedProxyModes()) t.test(`every scenario under scenarios/ passes or is skipped with a reason, kube-proxy in ${mode} mode`, { skip: notRoot }, async (t) => {
  if (!existsSync('dist/cli/main.js')) throw new Error('dist/cli/main.js is missing: run `npm run build` first (npm test does)');
  const diagnostics = mkdtempSync(join(tmpdir(), 'knetlab-scenarios-'));
  const r = spawnSync(process.execPath, ['dist/cli/main.js', 'run', '--reporter', 'json', '--jobs', '2', '--proxy-mode', mode, '--diagnostics', diagnostics, 'scenarios'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  t.not(r.status, 2, `the scenarios are valid (${r.stderr.trim().split('\n').slice(-3).join(' | ')})`);
  const report = JSON.parse(r.stdout) as Report;
  t.ok(report.scenarios.length > 0, 'some scenarios ran');
  for (const s of report.scenarios) {
    if (s.status === 'skipped') {
      t.test(s.name, { skip: s.reason ?? 'skipped without a reason' }, async () => {});
      t.ok(s.reason, `${s.name}: a skip says why`);
      continue;
    }
    t.test(s.name, async (t) => {
      for (const step of s.steps) {
        // A step the scenario does not run under this mode (its expectIn says skip) is a skip, not a pass.
        if (step.status === 'skipped' && /^not run under kube-proxy's \w+ mode/.test(step.seen)) {
          t.test(step.name, { skip: step.seen }, async () => {});
          continue;
        }
        t.equal(step.status, 'passed', `${step.name}${step.status === 'failed' ? `: expected ${step.expected}; saw ${step.seen} (diagnostics: ${step.diagnostics})` : ''}`);
      }
      t.equal(s.status, 'passed', s.reason ?? s.name);
    });
  }
  t.equal(r.status, report.scenarios.some((s) => s.status === 'failed') ? 1 : 0, 'the exit status follows the results');
});
