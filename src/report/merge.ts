// `knetlab merge-reports`: the json reports of the N shards of one split (`knetlab run --shard I/N
// -r json`) joined into the report the unsharded run would have written, in any reporter's format.

import { Writable } from 'node:stream';
import { z } from 'zod';
import { KnetlabError } from '../errors.js';
import type { ScenarioResult, StepResult, TrySeen } from '../run/types.js';
import { MAX_SHARDS } from '../run/shard.js';
import { stepKindNames } from '../scenario/schema.js';
import { proxyModes } from '../proxy/modes.js';
import type { ShardInfo } from './json.js';
import { createReporter, type ReporterKind } from './reporter.js';

/** One shard's report: a knetlab json report may hold traces and command output, but not more than this. */
export const MAX_REPORT_BYTES = 64 * 1024 * 1024;
/** All reports together: they are held in memory at once. */
export const MAX_REPORTS_BYTES = 256 * 1024 * 1024;

const status = z.enum(['passed', 'failed', 'skipped']);
const text = z.string().max(1_000_000);
const ms = z.number().finite().nonnegative();
const mode = z.enum(proxyModes);

const caseSchema = z.object({ name: text, status, expected: text, seen: text, durationMs: ms, trace: z.array(text).max(10_000).optional() });

const stepSchema = z.object({
  name: text,
  status,
  expected: text,
  seen: text,
  diagnostics: text.nullable(),
  index: z.number().int().nonnegative(),
  kind: z.enum(stepKindNames),
  variant: mode.nullable(),
  skip: z
    .union([z.object({ because: z.literal('earlier-step-failed') }), z.object({ because: z.literal('mode'), mode }), z.object({ because: z.literal('interrupted') })])
    .nullable(),
  // What each try saw is only ever written back as json: kept as it came, each an object.
  tries: z.array(z.looseObject({ ok: z.boolean() })).max(100_000),
  durationMs: ms,
  trace: z.array(text).max(10_000).optional(),
  cases: z.array(caseSchema).max(100_000).optional(),
});

const scenarioSchema = z.object({ file: text, name: text, status, reason: text.nullable(), durationMs: ms, steps: z.array(stepSchema).max(100_000) });

const shardSchema = z.object({
  index: z.number().int().min(1).max(MAX_SHARDS),
  total: z.number().int().min(1).max(MAX_SHARDS),
  files: z.array(text).max(100_000),
  share: z.array(text).max(100_000),
  proxyModes: z.array(mode).max(proxyModes.length),
  wallMs: ms,
});

const reportSchema = z.object({ scenarios: z.array(scenarioSchema).max(1_000_000), shard: shardSchema });

/** A shard's report as read: where it came from, its shard, its results. */
export interface ShardReport {
  source: string;
  shard: ShardInfo;
  results: ScenarioResult[];
}

const usage = (message: string) => new KnetlabError('EUSAGE', message);

/** A shard's json report from its text; anything else (not JSON, not a sharded run's report) is a usage error naming `source`. */
export function parseShardReport(json: string, source: string): ShardReport {
  let data: unknown;
  try {
    data = JSON.parse(json);
  } catch (err) {
    throw usage(`${source} is not JSON: ${(err as Error).message}`);
  }
  // A whole run's report (no shard) is told as such before its steps are checked (they lack durationMs).
  if (data && typeof data === 'object' && !Array.isArray(data) && !('shard' in data)) {
    throw usage(`${source} is not a shard's report (it has no "shard"): make each with knetlab run --shard I/N -r json`);
  }
  const parsed = reportSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw usage(`${source} is not a knetlab json report: ${issue?.path.join('.') || 'the document'}: ${issue?.message}`);
  }
  const { shard, scenarios } = parsed.data;
  if (shard.index > shard.total) throw usage(`${source} says it is shard ${shard.index} of ${shard.total}`);
  const results = scenarios.map(
    (r): ScenarioResult => ({
      file: r.file,
      name: r.name,
      status: r.status,
      reason: r.reason,
      durationMs: r.durationMs,
      phases: [],
      steps: r.steps.map(
        (s): StepResult => ({
          name: s.name,
          index: s.index,
          kind: s.kind,
          status: s.status,
          expected: s.expected,
          seen: s.seen,
          diagnostics: s.diagnostics,
          durationMs: s.durationMs,
          tries: s.tries as TrySeen[],
          skip: s.skip,
          variant: s.variant,
          ...(s.trace ? { trace: s.trace } : {}),
          ...(s.cases
            ? {
                cases: s.cases.map((c) => ({
                  name: c.name,
                  status: c.status,
                  expected: c.expected,
                  seen: c.seen,
                  durationMs: c.durationMs,
                  ...(c.trace ? { trace: c.trace } : {}),
                })),
              }
            : {}),
        }),
      ),
    }),
  );
  return { source, shard, results };
}

/** What the shards make together: the results in the unsharded run's order, its files and passes, and the slowest shard's wall time. */
export interface Merged {
  results: ScenarioResult[];
  files: string[];
  proxyModes: string[];
  wallMs: number;
}

const same = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, i) => x === b[i]);
const label = (r: ShardReport) => `${r.source} (shard ${r.shard.index}/${r.shard.total})`;

/**
 * Joins the reports of every shard of one split: the same N, file list and --proxy-mode passes,
 * every index once, every file in exactly one share, each report's scenarios its share's (once
 * per pass). Anything else is a usage error that names what is missing, doubled or different.
 */
export function mergeShards(reports: readonly ShardReport[]): Merged {
  const first = reports[0];
  if (!first) throw usage('merge-reports needs the json report of every shard');
  if (reports.length > MAX_SHARDS) throw usage(`merge-reports takes at most ${MAX_SHARDS} reports, got ${reports.length}`);
  const { total, files, proxyModes: modes } = first.shard;
  for (const r of reports) {
    if (r.shard.total !== total) throw usage(`${label(r)} and ${label(first)} are not shards of one split: N differs`);
    if (!same(r.shard.files, files)) {
      const i = r.shard.files.findIndex((f, k) => f !== files[k]);
      const at = i < 0 ? Math.min(files.length, r.shard.files.length) : i;
      throw usage(`${label(r)} and ${label(first)} split different file lists: file ${at + 1} is ${r.shard.files[at] ?? '(none)'} in one, ${files[at] ?? '(none)'} in the other`);
    }
    if (!same(r.shard.proxyModes, modes))
      throw usage(`${label(r)} and ${label(first)} ran different --proxy-mode passes: ${r.shard.proxyModes.join(',') || 'own'} and ${modes.join(',') || 'own'}`);
  }
  const byIndex = new Map<number, ShardReport[]>();
  for (const r of reports) byIndex.set(r.shard.index, [...(byIndex.get(r.shard.index) ?? []), r]);
  const doubled = [...byIndex].filter(([, rs]) => rs.length > 1).map(([i, rs]) => `shard ${i} (${rs.map((r) => r.source).join(', ')})`);
  const missing = Array.from({ length: total }, (_, i) => i + 1).filter((i) => !byIndex.has(i));
  if (doubled.length || missing.length) {
    const parts = [...(missing.length ? [`missing: shard ${missing.join(', ')}`] : []), ...(doubled.length ? [`given twice: ${doubled.join('; ')}`] : [])];
    throw usage(`merge-reports needs the report of every shard of ${total} once; ${parts.join('; ')}`);
  }
  // Where each file's results are: its owner and place in the owner's share, taken in order (a file named twice is run twice).
  const owners = new Map<string, { r: ShardReport; at: number }[]>();
  for (const r of [...reports].sort((a, b) => a.shard.index - b.shard.index)) {
    r.shard.share.forEach((f, at) => owners.set(f, [...(owners.get(f) ?? []), { r, at }]));
  }
  const needed = new Map<string, number>();
  for (const f of files) needed.set(f, (needed.get(f) ?? 0) + 1);
  const shards = (f: string) => (owners.get(f) ?? []).map((o) => `shard ${o.r.shard.index}`).join(', ');
  const twice = [...owners.keys()].filter((f) => (owners.get(f)?.length ?? 0) > (needed.get(f) ?? 0));
  const never = [...needed.keys()].filter((f) => (owners.get(f)?.length ?? 0) < (needed.get(f) ?? 0));
  if (twice.length || never.length) {
    const parts = [...twice.map((f) => `${f} was run by ${shards(f)}`), ...never.map((f) => `${f} was run by ${shards(f) || 'no shard'}`)];
    throw usage(`the shards did not split the files once each (were the jobs given different --durations files?): ${parts.join('; ')}`);
  }
  const passes = Math.max(1, modes.length);
  for (const r of reports) {
    const { share } = r.shard;
    const fits = r.results.length === passes * share.length && r.results.every((res, i) => res.file === share[i % share.length]);
    if (!fits)
      throw usage(
        `${label(r)}: its scenarios are not its share's files${passes > 1 ? ` ${passes} times` : ''} (${r.results.length} scenarios for ${share.length} files): an edited or cut report?`,
      );
  }
  const results: ScenarioResult[] = [];
  for (let p = 0; p < passes; p++) {
    const next = new Map<string, number>();
    for (const f of files) {
      const k = next.get(f) ?? 0;
      next.set(f, k + 1);
      const { r, at } = owners.get(f)![k]!;
      results.push(r.results[p * r.shard.share.length + at]!);
    }
  }
  return { results, files: [...files], proxyModes: [...modes], wallMs: Math.max(...reports.map((r) => r.shard.wallMs)) };
}

/**
 * The merged report as reporter `kind` writes it: tap, junit and json as `knetlab run` would
 * have; pretty each scenario's lines as they were shown live, then the summary with the slowest
 * shard's wall time.
 */
export function formatMerged(kind: ReporterKind, merged: Pick<Merged, 'results' | 'wallMs'>, color = false): string {
  let lines = '';
  const stream = new Writable({
    write(chunk: Buffer | string, _enc, done) {
      lines += String(chunk);
      done();
    },
  });
  let clock = 0;
  const reporter = createReporter(kind, { stream, color, live: false, now: () => clock });
  for (const r of merged.results) {
    reporter.event({ type: 'scenario-start', file: r.file, name: r.name });
    for (const s of r.steps) reporter.event({ type: 'step-end', file: r.file, index: s.index, result: s });
    reporter.event({ type: 'scenario-end', result: r });
  }
  clock = merged.wallMs;
  const report = reporter.finish(merged.results);
  return lines + report;
}

/** The merged results of each --proxy-mode pass, by mode, as `knetlab run --proxy-mode all` compares them. */
export function resultsByMode(merged: Merged): Map<string, ScenarioResult[]> {
  const n = merged.files.length;
  const modes = merged.proxyModes.length ? merged.proxyModes : ['own'];
  return new Map(modes.map((m, p) => [m, merged.results.slice(p * n, (p + 1) * n)]));
}
