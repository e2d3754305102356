import type { Location, Problem, Severity } from '../errors.js';
import { locate, type Origin } from './source.js';

/** Collects every problem found, each at its place; nothing stops at the first one. */
export class Problems {
  readonly list: Problem[] = [];

  error(where: Origin | Location | undefined, message: string, opts: { key?: boolean } = {}): void {
    this.add('error', where, message, opts);
  }

  warn(where: Origin | Location | undefined, message: string, opts: { key?: boolean } = {}): void {
    this.add('warning', where, message, opts);
  }

  add(severity: Severity, where: Origin | Location | undefined, message: string, opts: { key?: boolean } = {}): void {
    const location = where === undefined ? undefined : 'doc' in where ? locate(where, opts) : where;
    this.list.push({ severity, message, ...(location ? { location } : {}) });
  }

  push(...problems: Problem[]): void {
    this.list.push(...problems);
  }

  get errorCount(): number {
    return this.list.filter((p) => p.severity === 'error').length;
  }
}

/** `a.b[0].c` */
export function formatPath(path: readonly (string | number | symbol)[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? String(seg) : `.${String(seg)}`;
  }
  return out;
}

/** A value as shown in a message: scalars as they were written, the rest by their shape. */
export function show(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (value === '') return 'an empty string';
  return `\`${String(value)}\``;
}
