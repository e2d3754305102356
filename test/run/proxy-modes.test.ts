// cluster.proxyModes: a scenario about some kube-proxy modes is reported skipped, unbuilt, under the others.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';

const notRoot = process.getuid?.() !== 0 ? 'knetlab run makes a sandbox: needs root' : false;
const { NODE_OPTIONS: _loader, ...plainEnv } = process.env;

const scenario = `apiVersion: knetlab/v1
kind: Scenario
metadata: {name: about-some-modes}
cluster: {proxyModes: [nftables]}
nodes: [{name: node-1}]
steps:
  - {name: nothing, sleep: 1ms}
`;

t.test('a scenario is run under the modes it names and reported skipped, naming them, under the others', { skip: notRoot }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'knetlab-test-modes-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'about-some-modes.yaml');
  writeFileSync(file, scenario);
  const run = (...flags: string[]) => {
    const r = spawnSync(process.execPath, ['dist/cli/main.js', 'run', '-r', 'json', '--diagnostics', join(dir, 'd'), '--artifacts', join(dir, 'a'), ...flags, file], {
      encoding: 'utf8',
      env: plainEnv,
    });
    return { status: r.status, report: JSON.parse(r.stdout) as { scenarios: { status: string; reason: string | null; steps: unknown[] }[] } };
  };
  const own = run();
  t.equal(own.status, 0);
  t.equal(own.report.scenarios[0]?.status, 'passed', 'without --proxy-mode it runs under the one mode it names');
  const other = run('--proxy-mode', 'iptables');
  t.equal(other.status, 0, 'a skip is not a failure');
  t.equal(other.report.scenarios[0]?.status, 'skipped');
  t.match(other.report.scenarios[0]?.reason, /about kube-proxy's nftables mode \(cluster\.proxyModes\), not iptables/);
  t.same(other.report.scenarios[0]?.steps, [], 'nothing of it ran');
});
