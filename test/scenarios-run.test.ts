// Runs every scenario under scenarios/ for real, through the CLI, as users do: each must pass, or
// be skipped with its reason (a missing kernel feature, or what knetlab does not build yet).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { loadModel, scenarioFiles } from '../src/validate.js';
import { variantSuffix } from '../src/scenario/steps.js';
import { testedProxyModes } from './helpers.js';

// The file's time limit (tap's default is 300 s): every scenario runs for real under each mode and network: minutes, more on a loaded machine.
t.setTimeout(40 * 60_000);

interface Report {
  scenarios: {
    file: string;
    name: string;
    status: string;
    reason: string | null;
    durationMs: number;
    steps: { name: string; status: string; expected: string; seen: string; diagnostics: string | null; tries: { ok: boolean; error?: string }[] }[];
  }[];
}

const notRoot = process.getuid?.() !== 0 ? 'running scenarios needs root (or unprivileged user namespaces): run `sudo npm test`' : false;

/**
 * Scenarios whose expectations hold only on flannel: they choose their network, give a node its own
 * podCIDR (flannel's subnet; Calico takes /26 blocks) or name flannel's devices; and these, by name.
 */
const flannelOnlyByName: Record<string, string> = {
  'clusterip-round-robin.yaml': "a node's own request to a local endpoint is masqueraded to cni0's address; Calico's cali veths have none, so the node's LAN address",
};
const dependsOnFlannel = (file: string, text: string): boolean =>
  file.split('/').pop()! in flannelOnlyByName ||
  /^\s*network:/m.test(text) ||
  /@(cni0|flannel\.1)\b|\b(cni0|flannel\.1)\]/.test(text) ||
  /- \{[^}\n]*podCIDR:|^ {4,}podCIDR:/m.test(text);

// Every kube-proxy mode: the same scenarios must pass unchanged under each (a kernel without ip_vs
// reports them skipped, naming it; CI runs the IPVS mode in the VM of scripts/vm). Then those that do
// not depend on flannel again on Calico (VXLAN), as `knetlab run --network calico-vxlan` runs them,
// under iptables mode: the CNI is what differs there, and the truth table runs Calico under every mode
// (CI's time: a second Calico pass under nftables cost minutes and found nothing the table did not).
for (const [mode, network] of [
  ...testedProxyModes().map((m) => [m, undefined] as const),
  ...testedProxyModes()
    .filter((m) => m === 'iptables')
    .map((m) => [m, 'calico-vxlan'] as const),
])
  t.test(
    `every scenario under scenarios/ ${network ? `that does not depend on flannel, on ${network}, ` : ''}passes or is skipped with a reason, kube-proxy in ${mode} mode`,
    { skip: notRoot },
    async (t) => {
      if (!existsSync('dist/cli/main.js')) throw new Error('dist/cli/main.js is missing: run `npm run build` first (npm test does)');
      const dir = mkdtempSync(join(tmpdir(), 'knetlab-scenarios-'));
      t.teardown(() => rmSync(dir, { recursive: true, force: true }));
      const [diagnostics, artifacts] = [join(dir, 'diagnostics'), join(dir, 'artifacts')];
      // A scenario with no Service at all runs the same under every mode: once, under iptables (the VM's time is dear).
      const files: string[] = [];
      for (const f of await scenarioFiles(['scenarios'])) {
        if (network && dependsOnFlannel(f, readFileSync(f, 'utf8'))) continue;
        const { model } = await loadModel(f);
        // Not about this mode (cluster.proxyModes): the CLI would report it skipped, after starting a sandbox for it (seconds each in the VM).
        if (!model.config.proxyModes.includes(mode)) {
          t.test(f, { skip: `about kube-proxy's ${model.config.proxyModes.join(' and ')} mode only (cluster.proxyModes)` }, async () => {});
          continue;
        }
        // A Service a step applies later counts too (kind: Service in the file's text).
        if (mode === 'iptables' || model.services.length > 0 || /\bkind:\s*Service\b/.test(readFileSync(f, 'utf8'))) files.push(f);
        else t.test(f, { skip: `no Service: kube-proxy's ${mode} mode changes nothing in it (run under iptables)` }, async () => {});
      }
      const run = (paths: string[]) =>
        spawnSync(
          process.execPath,
          [
            'dist/cli/main.js',
            'run',
            '--reporter',
            'json',
            '--jobs',
            '2',
            '--proxy-mode',
            mode,
            ...(network ? ['--network', network] : []),
            '--diagnostics',
            diagnostics,
            '--artifacts',
            artifacts,
            ...paths,
          ],
          { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
        );
      // A kernel without ip_vs skips every file under IPVS mode alike (a sandbox and a probe each, half a
      // minute in all): when the first says so, the rest are skipped here for that reason (CI's VM runs them).
      let r: ReturnType<typeof run> | undefined;
      if (mode === 'ipvs' && files.length > 1) {
        const first = run(files.slice(0, 1));
        const one = first.status !== 2 ? (JSON.parse(first.stdout) as Report).scenarios[0] : undefined;
        if (one?.status === 'skipped' && /\bip_vs\b/.test(one.reason ?? '')) {
          for (const f of files.slice(1)) t.test(f, { skip: `this kernel has no ip_vs (${one.name} was skipped: ${one.reason})` }, async () => {});
          files.splice(1);
          r = first;
        }
      }
      r ??= run(files);
      t.not(r.status, 2, `the scenarios are valid (${r.stderr.trim().split('\n').slice(-3).join(' | ')})`);
      const report = JSON.parse(r.stdout) as Report;
      t.ok(report.scenarios.length > 0, 'some scenarios ran');
      // Where the time went (CI's VM phase is budgeted): the slowest scenarios first.
      const slowest = report.scenarios.filter((s) => s.status !== 'skipped').sort((a, b) => b.durationMs - a.durationMs);
      t.comment(`scenario times (${mode}${network ? `, ${network}` : ''}): ${slowest.map((s) => `${s.name} ${(s.durationMs / 1000).toFixed(1)}s`).join(', ')}`);
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
      // A step expecting a drop ends at the drop its trace shows, not at its 20 s timeout: its try says so.
      // Not under IPVS: there its expectIn.ipvs expects an answer (IPVS serves a Local NodePort from any node).
      const dropStep = report.scenarios
        .find((s) => s.name === 'kernel-expectations' && s.status === 'passed')
        ?.steps.find((st) => /drops it/.test(st.name) && !st.name.endsWith(variantSuffix('ipvs')));
      if (dropStep) t.match(dropStep.tries, [{ ok: false, error: /^ended early: the kernel dropped it$/ }], 'kernel-expectations: the dropped try ended at the drop');
      // host-files-read-only writes its artifacts folder, the one place a scenario reaches on the host.
      const kept = existsSync(artifacts) ? readdirSync(artifacts).filter((d) => d.startsWith('host-files-read-only-')) : [];
      if (report.scenarios.some((s) => s.name === 'host-files-read-only' && s.status === 'passed')) {
        t.equal(kept.length, 1, 'host-files-read-only kept one artifacts folder');
        t.equal(kept[0] && readFileSync(join(artifacts, kept[0], 'kept.txt'), 'utf8'), 'kept by host-files-read-only\n', 'with the file it wrote inside the sandbox');
      }
      const others = existsSync(artifacts) ? readdirSync(artifacts).filter((d) => !d.startsWith('host-files-read-only-')) : [];
      t.same(others, [], 'scenarios that keep nothing leave no artifacts folder');
    },
  );
