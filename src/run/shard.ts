// `knetlab run --shard I/N`: which scenario files one of N CI jobs runs. Every job computes the
// split alone, so it is a pure function of what they all have (the file list, the scenarios, an
// optional durations report), never of the machine: two machines must never split differently.

import { normalize } from 'node:path';
import { z } from 'zod';
import { KnetlabError } from '../errors.js';
import type { LoadedScenario } from '../scenario/load.js';
import { stepWorstCaseMs } from '../scenario/worst-case.js';

/** The most jobs a suite is split into: more than a CI matrix would run, few enough to check one report per job. */
export const MAX_SHARDS = 256;

/** Shard `index` (from 1) of `total`. */
export interface ShardSpec {
  index: number;
  total: number;
}

/** `I/N` as `--shard` takes it; anything else is a usage error. */
export function parseShard(text: string): ShardSpec {
  const m = /^(\d{1,6})\/(\d{1,6})$/.exec(text.trim());
  const usage = (why: string) => new KnetlabError('EUSAGE', `--shard must be I/N, a shard I from 1 to N of N from 1 to ${MAX_SHARDS} (such as 1/2): ${why}`);
  if (!m) throw usage(`got ${JSON.stringify(text)}`);
  const index = Number(m[1]);
  const total = Number(m[2]);
  if (total < 1 || total > MAX_SHARDS) throw usage(`N is ${total}`);
  if (index < 1 || index > total) throw usage(`I is ${index} of ${total}`);
  return { index, total };
}

// The estimate's parts, in ms: rough, fitted by eye to 11 scenarios run on a loaded 2-core machine
// (docs/sharding.md); only their relative sizes matter, and --durations replaces them.
const BUILD_MS = 1000;
const NODE_MS = 300;
const HOST_MS = 200;
const OBJECT_MS = 100;
const STEP_MS = 100;
const TRY_MS = 80;

/**
 * What a scenario is expected to take, in ms, when no run of it is recorded: building it (nodes,
 * hosts, objects), each step and each try of a probe, and the time its sleeps wait for sure.
 */
export function estimateMs(s: Pick<LoadedScenario, 'nodes' | 'hosts' | 'objects' | 'steps'>): number {
  let steps = 0;
  for (const st of s.steps) {
    const count = 'count' in st && typeof st.count === 'number' ? st.count : 1;
    steps += STEP_MS + TRY_MS * count + (st.kind === 'sleep' ? stepWorstCaseMs(st) : 0);
  }
  return BUILD_MS + NODE_MS * s.nodes.length + HOST_MS * s.hosts.length + OBJECT_MS * s.objects.length + steps;
}

/** The part of a knetlab JSON report `--durations` reads: each scenario's file and durationMs. */
const durationsSchema = z.object({
  scenarios: z.array(z.object({ file: z.string().max(4096), durationMs: z.number().finite().nonnegative() })).max(100_000),
});

/**
 * The recorded time of each file (normalized path), from a knetlab JSON report's text: a file run
 * several times (`--proxy-mode all`) counts the sum. Anything else is a usage error naming `source`.
 */
export function parseDurations(text: string, source: string): Map<string, number> {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new KnetlabError('EUSAGE', `--durations ${source} is not JSON: ${(err as Error).message}`);
  }
  const parsed = durationsSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new KnetlabError(
      'EUSAGE',
      `--durations ${source} is not a knetlab JSON report ({"scenarios":[{"file","durationMs"}]}): ${issue?.path.join('.') || 'the document'}: ${issue?.message}`,
    );
  }
  const out = new Map<string, number>();
  for (const s of parsed.data.scenarios) {
    const file = normalize(s.file);
    out.set(file, (out.get(file) ?? 0) + Math.round(s.durationMs));
  }
  return out;
}

/** Each file's weight, in ms, and how many of them were recorded (the rest estimated). */
export interface Weights {
  weights: number[];
  recorded: number;
}

/**
 * The weight of each file: its recorded duration when `recorded` has it; otherwise its estimate,
 * scaled by how the estimates of the recorded files compare with their records, so both are in
 * the same units. Whole milliseconds, so the sums are exact on every machine.
 */
export function fileWeights(files: readonly string[], estimates: readonly number[], recorded: ReadonlyMap<string, number>): Weights {
  const known = files.map((f) => recorded.get(normalize(f)));
  let rec = 0;
  let est = 0;
  known.forEach((k, i) => {
    if (k !== undefined) {
      rec += k;
      est += estimates[i] ?? 0;
    }
  });
  const scale = rec > 0 && est > 0 ? rec / est : 1;
  return {
    weights: files.map((_, i) => Math.max(1, Math.round(known[i] ?? (estimates[i] ?? 0) * scale))),
    recorded: known.filter((k) => k !== undefined).length,
  };
}

/**
 * The split of `files` into `total` shares: longest first onto the least-loaded share (ties: the
 * lower share), equal weights taken in path order (code units, not the locale's). Each share
 * keeps the files in the order given, so a shard's report is a part of the unsharded one.
 */
export function splitFiles(files: readonly string[], weights: readonly number[], total: number): string[][] {
  if (weights.length !== files.length) throw new KnetlabError('EINTERNAL', `splitFiles: ${files.length} files but ${weights.length} weights`);
  const order = files.map((_, i) => i).sort((a, b) => weights[b]! - weights[a]! || (files[a]! < files[b]! ? -1 : files[a]! > files[b]! ? 1 : a - b));
  const load = new Array<number>(total).fill(0);
  const owner = new Array<number>(files.length);
  for (const i of order) {
    let least = 0;
    for (let s = 1; s < total; s++) if (load[s]! < load[least]!) least = s;
    owner[i] = least;
    load[least] = load[least]! + weights[i]!;
  }
  return load.map((_, s) => files.filter((_, i) => owner[i] === s));
}
