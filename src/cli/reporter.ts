// The --reporter of run, up --watch and merge-reports: one default, one check, one way to wire it to the terminal.
import { KnetlabError } from '../errors.js';
import { createReporter, reporterKinds, type Reporter, type ReporterKind, type ReporterOptions } from '../report/reporter.js';

/** The reporter named, or the default: pretty on a terminal (unless the report goes to a file), tap otherwise. */
export function reporterKind(flag: string | undefined, toFile = false): ReporterKind {
  const kind = flag ?? (process.stdout.isTTY && !toFile ? 'pretty' : 'tap');
  if (!(reporterKinds as readonly string[]).includes(kind)) throw new KnetlabError('EUSAGE', `--reporter must be one of ${reporterKinds.join(', ')}, got ${kind}`);
  return kind as ReporterKind;
}

/** A reporter whose live output goes to the terminal: pretty's to stdout (redrawn in place on a terminal), the others' to stderr. */
export function terminalReporter(kind: ReporterKind, extra: Pick<ReporterOptions, 'shard'> = {}): Reporter {
  const live = kind === 'pretty' && Boolean(process.stdout.isTTY);
  return createReporter(kind, { stream: kind === 'pretty' ? process.stdout : process.stderr, color: live && !process.env.NO_COLOR, live, ...extra });
}
