import t, { type Test } from 'tap';
import { KnetlabError } from '../../src/errors.js';
import { formatJson, type ShardInfo } from '../../src/report/json.js';
import { formatMerged, mergeShards, parseShardReport, resultsByMode, type ShardReport } from '../../src/report/merge.js';
import { reporterKinds } from '../../src/report/reporter.js';
import type { ScenarioResult } from '../../src/run/types.js';
import { splitFiles } from '../../src/run/shard.js';
import { failed, passed, skipped } from './samples.js';

/** Durations as a json report keeps them (whole ms), and no phases: what survives a shard's report. */
function normalized(r: ScenarioResult): ScenarioResult {
  return { ...r, durationMs: Math.round(r.durationMs), phases: [], steps: r.steps.map((s) => ({ ...s, durationMs: Math.round(s.durationMs) })) };
}

const at = (r: ScenarioResult, file: string, name = r.name): ScenarioResult => normalized({ ...r, file, name });
const files = ['scenarios/a.yaml', 'scenarios/b.yaml', 'scenarios/c.yaml', 'scenarios/d.yaml', 'scenarios/e.yaml'];
const unsharded = [at(passed, files[0]!), at(failed, files[1]!), at(skipped, files[2]!), at(passed, files[3]!, 'd'), at(failed, files[4]!, 'e')];

/** The shards' json reports as `run --shard I/N -r json` writes them from the unsharded run's results, one pass per mode. */
function shardReports(results: readonly ScenarioResult[], total: number, proxyModes: string[] = [], wall = (i: number) => 1000 * i): ShardReport[] {
  const shares = splitFiles(
    files,
    files.map((_, i) => 100 + i),
    total,
  );
  const passes = Math.max(1, proxyModes.length);
  return shares.map((share, i) => {
    const mine = Array.from({ length: passes }, (_, p) => share.map((f) => results[p * files.length + files.indexOf(f)]!)).flat();
    const shard: ShardInfo = { index: i + 1, total, files, share, proxyModes, wallMs: wall(i + 1) };
    return parseShardReport(formatJson(mine, shard), `shard-${i + 1}.json`);
  });
}

/** f throws a usage error whose message matches. */
function usage(t: Test, f: () => unknown, message: RegExp): void {
  try {
    f();
    t.fail(`no error; expected ${message}`);
  } catch (e) {
    t.ok(e instanceof KnetlabError && e.code === 'EUSAGE', 'a usage error');
    t.match((e as Error).message, message);
  }
}

t.test('merged shards equal the unsharded run in every reporter, for 1, 2, 3 and 5 shards', async (t) => {
  for (const n of [1, 2, 3, 5]) {
    const reports = shardReports(unsharded, n).reverse(); // given in any order
    const merged = mergeShards(reports);
    t.strictSame(merged.results, unsharded, `${n} shards: the results, in file order`);
    t.equal(merged.wallMs, 1000 * n, 'the wall time of the slowest shard');
    for (const kind of reporterKinds) t.equal(formatMerged(kind, merged), formatMerged(kind, { results: unsharded, wallMs: 1000 * n }), `${n} shards, ${kind}`);
    t.equal(formatMerged('json', merged), formatJson(unsharded), 'json: the unsharded report, without shard or step times');
  }
});

t.test('merged shards of --proxy-mode all: each pass in file order, then the next, as the unsharded run', async (t) => {
  const modes = ['iptables', 'nftables', 'ipvs'];
  const all = modes.flatMap((m) => unsharded.map((r) => ({ ...r, name: `${r.name} [${m}]` })));
  const merged = mergeShards(shardReports(all, 2, modes));
  t.strictSame(merged.results, all);
  t.strictSame([...resultsByMode(merged).keys()], modes);
  t.strictSame(resultsByMode(merged).get('nftables'), all.slice(5, 10));
  for (const kind of reporterKinds) t.equal(formatMerged(kind, merged), formatMerged(kind, { results: all, wallMs: 2000 }), kind);
});

t.test('pretty: each scenario as shown live, then the summary with the wall time', async (t) => {
  const text = formatMerged('pretty', mergeShards(shardReports(unsharded, 2, [], () => 61_000)));
  t.match(text, /✓ clusterip \(scenarios\/a\.yaml\) passed/);
  t.match(text, /✗ nodeport-local \(scenarios\/b\.yaml\)/);
  t.match(text, /\n2 passed, 2 failed, 1 skipped \(1m01s\)\n/);
});

t.test('merge refuses what is not every shard of one split, naming what is missing or doubled', async (t) => {
  const [one, two, three] = shardReports(unsharded, 3);
  usage(t, () => mergeShards([]), /needs the json report of every shard/);
  usage(t, () => mergeShards([one!, three!]), /missing: shard 2$/);
  usage(t, () => mergeShards([one!, two!, two!, three!]), /given twice: shard 2 \(shard-2\.json, shard-2\.json\)/);
  usage(t, () => mergeShards([one!, shardReports(unsharded, 2)[1]!]), /are not shards of one split: N differs/);
  const otherFiles = { ...two!, shard: { ...two!.shard, files: [...files.slice(0, 4), 'scenarios/z.yaml'] } };
  usage(t, () => mergeShards([one!, otherFiles, three!]), /split different file lists: file 5 is scenarios\/z\.yaml in one, scenarios\/e\.yaml in the other/);
  const modes = { ...two!, shard: { ...two!.shard, proxyModes: ['ipvs'] } };
  usage(t, () => mergeShards([one!, modes, three!]), /ran different --proxy-mode passes: ipvs and own/);
  // Split with other durations: a file in two shares, another in none.
  const moved = { ...two!, shard: { ...two!.shard, share: [...one!.shard.share.slice(0, 1), ...two!.shard.share.slice(1)] } };
  const lost = two!.shard.share[0]!;
  usage(t, () => mergeShards([one!, moved, three!]), new RegExp(`different --durations.*${one!.shard.share[0]} was run by shard 1, shard 2; ${lost} was run by no shard`));
  const cut = { ...two!, results: two!.results.slice(1) };
  usage(t, () => mergeShards([one!, cut, three!]), /shard-2\.json \(shard 2\/3\): its scenarios are not its share's files/);
});

t.test("parseShardReport: only a shard's json report, checked", async (t) => {
  const [one] = shardReports(unsharded, 2);
  const text = formatJson(one!.results, one!.shard);
  t.strictSame(parseShardReport(text, 'x.json'), { ...one!, source: 'x.json' }, 'what it wrote, it reads');
  usage(t, () => parseShardReport('{"scenarios":', 'x.json'), /x\.json is not JSON/);
  usage(t, () => parseShardReport(formatJson(unsharded), 'x.json'), /x\.json is not a shard's report \(it has no "shard"\)/);
  usage(t, () => parseShardReport(text.replace('"passed"', '"fine"'), 'x.json'), /x\.json is not a knetlab json report: scenarios\.0\.status/);
  const doc = JSON.parse(text) as { shard: ShardInfo };
  usage(t, () => parseShardReport(JSON.stringify({ ...doc, shard: { ...doc.shard, index: 3 } }), 'x.json'), /says it is shard 3 of 2/);
  usage(t, () => parseShardReport(JSON.stringify({ ...doc, shard: { ...doc.shard, total: 100_000 } }), 'x.json'), /shard\.total/);
});
