import type { ProblemCode } from './scenario/problem-codes.js';

/** Where in an input file something stands (1-based line and column). */
export interface Location {
  file: string;
  line: number;
  col: number;
}

export type Severity = 'error' | 'warning';

/** One problem found in the input; validation collects all of them. */
export interface Problem {
  /** One of the closed list in src/scenario/problem-codes.ts. */
  code: ProblemCode;
  severity: Severity;
  message: string;
  location?: Location;
}

export type ErrorCode =
  | 'EINVALID' // the scenario (or a manifest) is wrong; problems lists every reason
  | 'EREAD' // a file could not be read
  | 'EUSAGE' // the command line is wrong
  | 'ECOMMAND' // a command run by knetlab failed
  | 'ECAPABILITY' // the kernel lacks a feature the scenario needs
  | 'EUNSAFE' // knetlab's own state is in a place others could steer
  | 'EINTERRUPTED' // a signal (Ctrl-C, SIGTERM) ended the command
  | 'ESTEP' // a step cannot be tried at this moment (a name that no longer resolves); the step fails, the run goes on
  | 'EINTERNAL'; // an invariant of knetlab's own broke: a bug, never a step's failure

export interface KnetlabErrorOptions {
  location?: Location;
  problems?: Problem[];
  command?: string[];
  exitCode?: number;
  stderr?: string;
  cause?: unknown;
}

/** The one error type of knetlab: a code, a short message, and what it is about. */
export class KnetlabError extends Error {
  readonly code: ErrorCode;
  readonly location?: Location;
  readonly problems: Problem[];
  readonly command?: string[];
  readonly exitCode?: number;
  readonly stderr?: string;

  constructor(code: ErrorCode, message: string, options: KnetlabErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'KnetlabError';
    this.code = code;
    this.location = options.location;
    this.problems = options.problems ?? [];
    this.command = options.command;
    this.exitCode = options.exitCode;
    this.stderr = options.stderr;
  }
}

export function formatLocation(loc: Location | undefined): string {
  return loc ? `${loc.file}:${loc.line}:${loc.col}` : '';
}

/** `FILE:LINE:COL: message`, with `warning: ` before the message of a warning. */
export function formatProblem(p: Problem): string {
  const where = p.location ? `${formatLocation(p.location)}: ` : '';
  return `${where}${p.severity === 'warning' ? 'warning: ' : ''}${p.message}`;
}

export function compareProblems(a: Problem, b: Problem): number {
  const fa = a.location?.file ?? '';
  const fb = b.location?.file ?? '';
  if (fa !== fb) return fa < fb ? -1 : 1;
  return (a.location?.line ?? 0) - (b.location?.line ?? 0) || (a.location?.col ?? 0) - (b.location?.col ?? 0);
}
