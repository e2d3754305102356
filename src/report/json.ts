import type { RunEvent, ScenarioResult } from '../run/types.js';
import type { Reporter } from './reporter.js';

/**
 * What a `--shard I/N` run adds to its json report, for `knetlab merge-reports`: which shard it is,
 * every file of the split (in run order) and the share this shard ran, the `--proxy-mode` passes
 * over them (each pass runs the share once; [] when each file ran under its own mode), and the
 * shard's wall time.
 */
export interface ShardInfo {
  index: number;
  total: number;
  files: string[];
  share: string[];
  proxyModes: string[];
  wallMs: number;
}

/**
 * The json report, as the scenario format's contract writes it:
 * `{"scenarios":[{"file","name","status","reason","durationMs","steps":[{"name","status","expected","seen","diagnostics"}]}]}`,
 * those keys in that order; `reason` and `diagnostics` are null when there is none. Each step then
 * has knetlab's additions, as data: `index`, `kind`, `variant` (the kube-proxy mode whose expectIn
 * judged it, or null), `skip` (why it did not run, or null), `tries` (what each try saw) and, for a
 * traced step (failed, `trace: true` or `--trace`), `trace`: the lines that say where it was NATed or dropped;
 * for a flows step, `cases` (each case of its table: name, status, expected, seen, durationMs, trace).
 * A sharded run's report (`--shard I/N`) also has each step's `durationMs` and, after `scenarios`,
 * `shard` (ShardInfo): what `knetlab merge-reports` needs to write the whole run's report.
 * Two-space indentation and a final newline.
 */
export function formatJson(results: readonly ScenarioResult[], shard?: ShardInfo): string {
  const report = {
    scenarios: results.map((r) => ({
      file: r.file,
      name: r.name,
      status: r.status,
      reason: r.reason ?? null,
      durationMs: Math.round(r.durationMs),
      steps: r.steps.map((s) => ({
        name: s.name,
        status: s.status,
        expected: s.expected,
        seen: s.seen,
        diagnostics: s.diagnostics ?? null,
        index: s.index,
        kind: s.kind,
        variant: s.variant,
        skip: s.skip,
        tries: s.tries,
        // Only a shard's report has step times: merge-reports needs them for junit and pretty.
        ...(shard ? { durationMs: Math.round(s.durationMs) } : {}),
        ...(s.trace ? { trace: s.trace } : {}),
        ...(s.cases ? { cases: s.cases } : {}),
      })),
    })),
    ...(shard ? { shard } : {}),
  };
  return `${JSON.stringify(report, null, 2)}\n`;
}

/** Shows nothing live: the report is only the final document. */
export class JsonReporter implements Reporter {
  readonly #shard: Omit<ShardInfo, 'wallMs'> | undefined;
  readonly #now: () => number;
  readonly #startedAt: number;

  constructor(opts: { shard?: Omit<ShardInfo, 'wallMs'>; now?: () => number } = {}) {
    this.#shard = opts.shard;
    this.#now = opts.now ?? (() => performance.now());
    this.#startedAt = this.#now();
  }

  event(_e: RunEvent): void {}

  finish(results: ScenarioResult[]): string {
    return formatJson(results, this.#shard && { ...this.#shard, wallMs: Math.round(this.#now() - this.#startedAt) });
  }
}
