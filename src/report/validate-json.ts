import type { Problem } from '../errors.js';
import type { ProblemCode } from '../scenario/problem-codes.js';

/** One problem as `knetlab validate -o json` prints it: where is left out when it has no place. */
export interface ProblemJson {
  code: ProblemCode;
  severity: Problem['severity'];
  message: string;
  file?: string;
  line?: number;
  column?: number;
}

export interface ValidateJson {
  /** Each file checked (and each that could not be read), in the order the text output has them. */
  files: { file: string; problems: ProblemJson[] }[];
  /** Problems of each severity, over every file. */
  errors: number;
  warnings: number;
}

export function problemJson(p: Problem): ProblemJson {
  const at = p.location ? { file: p.location.file, line: p.location.line, column: p.location.col } : {};
  return { code: p.code, severity: p.severity, message: p.message, ...at };
}

/** What `knetlab validate -o json` prints: every file's problems with their codes, and the counts. */
export function validateJson(files: readonly { file: string; problems: readonly Problem[] }[]): ValidateJson {
  const all = files.flatMap((f) => f.problems);
  return {
    files: files.map((f) => ({ file: f.file, problems: f.problems.map(problemJson) })),
    errors: all.filter((p) => p.severity === 'error').length,
    warnings: all.filter((p) => p.severity === 'warning').length,
  };
}
