// The reporters of `knetlab run`: each takes the live events of the scenarios being run
// (several at once, so events of different files interleave) and, at the end, returns the
// full report as text for stdout or `--output FILE`.

import type { RunEvent, ScenarioResult } from '../run/types.js';
import { JsonReporter, type ShardInfo } from './json.js';
import { JunitReporter } from './junit.js';
import { PrettyReporter } from './pretty.js';
import { TapReporter } from './tap.js';
import { KnetlabError } from '../errors.js';

export interface Reporter {
  /** A live event; only the pretty reporter shows anything before the end. */
  event(e: RunEvent): void;
  /**
   * The final report, ending with a newline: write it as is (no extra newline) to stdout or to
   * `--output FILE`. Call it once, after the last event; it also stops any live output.
   */
  finish(results: ScenarioResult[]): string;
}

export type ReporterKind = 'pretty' | 'tap' | 'junit' | 'json';

export const reporterKinds: readonly ReporterKind[] = ['pretty', 'tap', 'junit', 'json'];

export interface ReporterOptions {
  /** Where live output goes (the terminal); the final report is returned by `finish` instead. */
  stream: NodeJS.WritableStream;
  /** ANSI colors in live output and in the pretty summary. */
  color: boolean;
  /** The stream is a terminal: keep a status line at the bottom, redrawn in place. */
  live: boolean;
  /** The clock, in milliseconds (for tests); defaults to `performance.now()`. */
  now?: () => number;
  /** `--shard I/N`: what the json report records for `knetlab merge-reports` (the others show nothing of it). */
  shard?: Omit<ShardInfo, 'wallMs'>;
}

export function createReporter(kind: ReporterKind, opts: ReporterOptions): Reporter {
  switch (kind) {
    case 'pretty':
      return new PrettyReporter(opts);
    case 'tap':
      return new TapReporter();
    case 'junit':
      return new JunitReporter();
    case 'json':
      return new JsonReporter({ ...(opts.shard ? { shard: opts.shard } : {}), ...(opts.now ? { now: opts.now } : {}) });
    default: {
      const never: never = kind;
      throw new KnetlabError('EINTERNAL', `unknown reporter ${String(never)}; expected one of ${reporterKinds.join(', ')}`);
    }
  }
}

export { formatDuration } from './pretty.js';
