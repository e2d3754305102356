// `knetlab run --shard I/N` and `knetlab merge-reports` for real: a few quick scenarios run whole
// and as shards, the merged report compared with the whole run's.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';

const bin = 'dist/cli/main.js';
const notRoot = process.getuid?.() !== 0 ? 'running scenarios needs root (or unprivileged user namespaces): run `sudo npm test`' : false;
// Three scenarios of a few seconds each, on different networks and with hosts and without.
const quick = ['scenarios/flannel-vxlan-pod-to-pod.yaml', 'scenarios/externalip.yaml', 'scenarios/dns-headless.yaml'];

interface Report {
  scenarios: { file: string; name: string; status: string; reason: string | null; steps: { name: string; status: string; expected: string }[] }[];
  shard?: { index: number; total: number; files: string[]; share: string[]; proxyModes: string[] };
}

function knetlab(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** What must be the same in a merged and a whole report: the outcomes, not what each try happened to see (which backend answered). */
const outcomes = (r: Report) =>
  r.scenarios.map((s) => ({
    file: s.file,
    name: s.name,
    status: s.status,
    reason: s.reason,
    steps: s.steps.map((st) => ({ name: st.name, status: st.status, expected: st.expected })),
  }));

function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'knetlab-shard-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

t.before(() => {
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run \`npm run build\` first (npm test does)`);
});

t.test('bad --shard and lone --durations are usage errors (exit 2), before anything runs', async (t) => {
  for (const bad of ['0/2', '3/2', 'a/b', '1/0', '1/100000']) {
    const r = knetlab('run', '--shard', bad, quick[0]!);
    t.equal(r.status, 2, `--shard ${bad}`);
    t.match(r.stderr, /--shard must be I\/N/);
  }
  const lone = knetlab('run', '--durations', 'x.json', quick[0]!);
  t.equal(lone.status, 2);
  t.match(lone.stderr, /--durations balances --shard I\/N/);
  const dir = tempDir(t);
  const missing = knetlab('run', '--shard', '1/2', '--durations', join(dir, 'none.json'), quick[0]!);
  t.equal(missing.status, 2);
  t.match(missing.stderr, /--durations .*none\.json cannot be read: no such file/);
});

t.test('merge-reports: exit 2 for a report that is not a shard', async (t) => {
  const r = knetlab('merge-reports', '-r', 'json', 'package.json');
  t.equal(r.status, 2);
  t.match(r.stderr, /package\.json is not a shard's report/);
});

t.test('two shards run each scenario once; merged, they equal the whole run', { skip: notRoot }, async (t) => {
  const dir = tempDir(t);
  const common = ['-j', '2', '--diagnostics', join(dir, 'diagnostics'), '--artifacts', join(dir, 'artifacts'), '-r', 'json'];
  const whole = knetlab('run', ...common, '-o', join(dir, 'whole.json'), ...quick);
  t.not(whole.status, 2, whole.stderr);
  const shards = [1, 2].map((i) => {
    const r = knetlab('run', ...common, '--shard', `${i}/2`, '-o', join(dir, `shard-${i}.json`), ...quick);
    t.equal(r.status === 0 || r.status === 1, true, `shard ${i} ran: ${r.stderr}`);
    t.match(r.stderr, new RegExp(`shard ${i}/2: \\d of 3 scenario files, split by an estimate`));
    return JSON.parse(readFileSync(join(dir, `shard-${i}.json`), 'utf8')) as Report;
  });
  const ran = shards.flatMap((s) => s.scenarios.map((x) => x.file));
  t.same([...ran].sort(), [...quick].sort(), 'each scenario run by exactly one shard');
  t.ok(
    shards.every((s) => s.scenarios.length > 0),
    'both shards ran something',
  );
  t.same(shards[0]!.shard?.files, quick, 'a shard names the whole list');
  const merged = knetlab('merge-reports', '-r', 'json', '-o', join(dir, 'merged.json'), join(dir, 'shard-2.json'), join(dir, 'shard-1.json'));
  t.equal(merged.status, whole.status, 'merge-reports exits as the whole run did');
  const w = JSON.parse(readFileSync(join(dir, 'whole.json'), 'utf8')) as Report;
  const m = JSON.parse(readFileSync(join(dir, 'merged.json'), 'utf8')) as Report;
  t.notOk('shard' in m, 'the merged report is a whole run report');
  t.strictSame(outcomes(m), outcomes(w), 'the same scenarios, statuses, reasons and steps, in the same order');
  const junit = knetlab('merge-reports', '-r', 'junit', join(dir, 'shard-1.json'), join(dir, 'shard-2.json'));
  t.equal(junit.status, whole.status);
  t.equal((junit.stdout.match(/<testsuite /g) ?? []).length, 3, 'junit: a testsuite per scenario');
  const one = knetlab('merge-reports', join(dir, 'shard-1.json'));
  t.equal(one.status, 2);
  t.match(one.stderr, /missing: shard 2/);
});

t.test('--shard with --proxy-mode all: the file is the unit; an empty shard passes with a note', { skip: notRoot }, async (t) => {
  const dir = tempDir(t);
  const common = ['-j', '2', '--diagnostics', join(dir, 'diagnostics'), '--artifacts', join(dir, 'artifacts'), '-r', 'json', '--proxy-mode', 'all'];
  const file = quick[0]!;
  const whole = knetlab('run', ...common, '-o', join(dir, 'whole.json'), file);
  t.not(whole.status, 2, whole.stderr);
  const full = knetlab('run', ...common, '--shard', '1/2', '-o', join(dir, 'shard-1.json'), file);
  t.equal(full.status, whole.status);
  const empty = knetlab('run', ...common, '--shard', '2/2', '-o', join(dir, 'shard-2.json'), file);
  t.equal(empty.status, 0, 'an empty shard passes');
  t.match(empty.stderr, /shard 2\/2: no file of the 1 given falls to this shard .*nothing to run/);
  const e = JSON.parse(readFileSync(join(dir, 'shard-2.json'), 'utf8')) as Report;
  t.same(e.scenarios, []);
  t.same(e.shard?.share, []);
  t.same(e.shard?.proxyModes, ['iptables', 'nftables', 'ipvs']);
  const merged = knetlab('merge-reports', '-r', 'json', '-o', join(dir, 'merged.json'), join(dir, 'shard-1.json'), join(dir, 'shard-2.json'));
  t.equal(merged.status, whole.status);
  const w = JSON.parse(readFileSync(join(dir, 'whole.json'), 'utf8')) as Report;
  const m = JSON.parse(readFileSync(join(dir, 'merged.json'), 'utf8')) as Report;
  t.equal(m.scenarios.length, 3, 'the file under each of the three modes');
  t.strictSame(outcomes(m), outcomes(w));
});
