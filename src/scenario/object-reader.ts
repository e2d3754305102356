// What the readers of typed Kubernetes objects (NetworkPolicy, Ingress) share: problems at a path
// inside the object, unknown-key and list checks worded one way, and placing them at FILE:LINE:COL.
import type { KubeObject } from './objects.js';
import type { ProblemCode } from './problem-codes.js';
import { formatPath, show, type Problems } from './problems.js';
import { originAt, type Path } from './source.js';
import { suggestion } from './suggest.js';

export type Raw = Record<string, unknown>;

export const isMap = (v: unknown): v is Raw => v !== null && typeof v === 'object' && !Array.isArray(v);

export interface ObjectProblem {
  code: ProblemCode;
  severity: 'error' | 'warning';
  message: string;
  /** Inside the object, e.g. ['spec', 'ingress', 0, 'from', 1, 'ipBlock', 'cidr']. */
  path: Path;
  /** Point at the key of the last path segment, not its value (an unknown or misplaced key). */
  key?: boolean;
}

/** Collects the problems of one object; `what` names it in every message (`Ingress ns/name`). */
export class ObjectReader {
  readonly problems: ObjectProblem[] = [];

  constructor(readonly what: string) {}

  err(code: ProblemCode, path: Path, message: string): void {
    this.problems.push({ code, severity: 'error', message, path });
  }

  warn(code: ProblemCode, path: Path, message: string): void {
    this.problems.push({ code, severity: 'warning', message, path });
  }

  /** A problem with a key itself (pointed at the key, not its value). */
  keyProblem(severity: ObjectProblem['severity'], code: ProblemCode, path: Path, message: string): void {
    this.problems.push({ code, severity, message, path, key: true });
  }

  /** `\`spec.rules[0]\``: a path as the messages quote it. */
  field(at: Path): string {
    return `\`${formatPath(at)}\``;
  }

  /** Every key of `obj` not in `allowed` is an error; `renamed` says what a known wrong key is instead. */
  keys(obj: Raw, at: Path, allowed: readonly string[], renamed: Record<string, string> = {}): void {
    for (const k of Object.keys(obj)) {
      if (allowed.includes(k)) continue;
      if (Object.hasOwn(renamed, k)) this.keyProblem('error', 'unknown-key', [...at, k], `\`${formatPath(at)}.${k}\` of ${this.what} ${renamed[k]}`);
      else this.keyProblem('error', 'unknown-key', [...at, k], `Unknown key \`${k}\` in ${this.field(at)} of ${this.what}${suggestion(k, allowed)}`);
    }
  }

  /** A list field: null or absent is an empty list, anything else not a list is an error. */
  list(v: unknown, at: Path): unknown[] {
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) {
      this.err('wrong-type', at, `Expected ${this.field(at)} of ${this.what} to be a list, got ${show(v)}`);
      return [];
    }
    return v;
  }

  /** Where the problems are now, to ask later whether errors came after it. */
  mark(): number {
    return this.problems.length;
  }

  hasErrors(since = 0): boolean {
    return this.problems.slice(since).some((p) => p.severity === 'error');
  }
}

/** Adds an object's problems to a validation, each at its FILE:LINE:COL. */
export function placeObjectProblems(object: KubeObject, list: readonly ObjectProblem[], problems: Problems): void {
  for (const p of list) problems.add(p.severity, p.code, originAt(object.origin, ...p.path), p.message, p.key ? { key: true } : {});
}
