import type { RunEvent, ScenarioResult } from '../run/types.js';
import type { Reporter } from './reporter.js';

/**
 * The json report, as the scenario format's contract writes it:
 * `{"scenarios":[{"file","name","status","reason","durationMs","steps":[{"name","status","expected","seen","diagnostics"}]}]}`,
 * those keys in that order; `reason` and `diagnostics` are null when there is none. Each step then
 * has knetlab's additions, as data: `index`, `kind`, `variant` (the kube-proxy mode whose expectIn
 * judged it, or null), `skip` (why it did not run, or null), `tries` (what each try saw) and, for a
 * traced step (failed, `trace: true` or `--trace`), `trace`: the lines that say where it was NATed or dropped;
 * for a flows step, `cases` (each case of its table: name, status, expected, seen, durationMs, trace).
 * Two-space indentation and a final newline.
 */
export function formatJson(results: readonly ScenarioResult[]): string {
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
        ...(s.trace ? { trace: s.trace } : {}),
        ...(s.cases ? { cases: s.cases } : {}),
      })),
    })),
  };
  return `${JSON.stringify(report, null, 2)}\n`;
}

/** Shows nothing live: the report is only the final document. */
export class JsonReporter implements Reporter {
  event(_e: RunEvent): void {}

  finish(results: ScenarioResult[]): string {
    return formatJson(results);
  }
}
