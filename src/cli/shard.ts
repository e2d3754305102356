// The command-line parts of sharding: `run --shard I/N [--durations FILE]` picks this job's share,
// `merge-reports` joins the shards' json reports. The split and the merge themselves are pure (src/run/shard.ts, src/report/merge.ts).

import { writeFileSync } from 'node:fs';
import { KnetlabError } from '../errors.js';
import { formatMerged, MAX_REPORT_BYTES, MAX_REPORTS_BYTES, mergeShards, parseShardReport, resultsByMode, type ShardReport } from '../report/merge.js';
import { reporterKind } from './reporter.js';
import { crossModeDifferences, declaredDifferences } from '../run/cross-mode.js';
import { estimateMs, fileWeights, parseDurations, parseShard, splitFiles } from '../run/shard.js';
import type { LoadedScenario } from '../scenario/load.js';
import { readInputFile } from '../scenario/input-file.js';

async function readReport(path: string, what: string): Promise<string> {
  const r = await readInputFile(path, MAX_REPORT_BYTES);
  if (!r.ok) throw new KnetlabError('EUSAGE', `${what} ${path} cannot be read: ${r.reason}`);
  return r.text;
}

/** This job's share of `files` under `--shard I/N`, and a line that says how it was split. */
export async function shardShare(
  files: readonly string[],
  scenarios: readonly Pick<LoadedScenario, 'nodes' | 'hosts' | 'objects' | 'steps'>[],
  flags: { shard: string; durations?: string },
): Promise<{ index: number; total: number; share: string[]; note: string }> {
  const { index, total } = parseShard(flags.shard);
  const recorded = flags.durations === undefined ? new Map<string, number>() : parseDurations(await readReport(flags.durations, '--durations'), flags.durations);
  const { weights, recorded: known } = fileWeights(
    files,
    scenarios.map((s) => estimateMs(s)),
    recorded,
  );
  const share = splitFiles(files, weights, total)[index - 1] ?? [];
  const how =
    known === files.length
      ? `by the durations in ${flags.durations}`
      : known > 0
        ? `by the durations in ${flags.durations} (${files.length - known} files not in it estimated from their nodes, hosts, objects and steps)`
        : 'by an estimate from each file (its nodes, hosts, objects, steps and tries; give --durations REPORT.json of an earlier run to balance by time)';
  const note = share.length
    ? `knetlab: shard ${index}/${total}: ${share.length} of ${files.length} scenario files, split ${how}`
    : `knetlab: shard ${index}/${total}: no file of the ${files.length} given falls to this shard (split ${how}); nothing to run`;
  return { index, total, share, note };
}

/** `knetlab merge-reports`: exit 1 when a scenario failed (or, for --proxy-mode all, a step differs between modes), as run's. */
export async function mergeReportsCommand(paths: string[], flags: { reporter?: string; output?: string }): Promise<number> {
  const kind = reporterKind(flags.reporter, Boolean(flags.output));
  const reports: ShardReport[] = [];
  let bytes = 0;
  for (const path of paths) {
    const text = await readReport(path, 'the report');
    bytes += text.length;
    if (bytes > MAX_REPORTS_BYTES) throw new KnetlabError('EUSAGE', `the reports together are over ${MAX_REPORTS_BYTES / 1024 / 1024} MB`);
    reports.push(parseShardReport(text, path));
  }
  const merged = mergeShards(reports);
  const report = formatMerged(kind, merged, kind === 'pretty' && !flags.output && Boolean(process.stdout.isTTY) && !process.env.NO_COLOR);
  if (flags.output) writeFileSync(flags.output, report);
  else process.stdout.write(report);
  const allModes = merged.proxyModes.length > 1;
  const differences = allModes ? crossModeDifferences(merged.files, resultsByMode(merged)) : [];
  for (const d of differences) process.stderr.write(`${d}\n`);
  if (allModes) for (const d of declaredDifferences(merged.files, resultsByMode(merged))) process.stderr.write(`${d}\n`);
  return merged.results.some((r) => r.status === 'failed') || differences.length ? 1 : 0;
}
