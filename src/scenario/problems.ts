import type { Location, Problem, Severity } from '../errors.js';
import { MAX_SHOWN_CHARS } from './limits.js';
import type { ProblemCode } from './problem-codes.js';
import { locate, type Origin } from './source.js';

/** The longest message printed: a hostile file must not make one line megabytes long. */
const MAX_MESSAGE_CHARS = 1000;

/**
 * A message as printed: one line (a control character in a key or value written out as an escape,
 * so no input can start a line that looks like a problem of its own), of bounded length.
 */
export function safeMessage(message: string): string {
  const one = escapeControls(message);
  return one.length > MAX_MESSAGE_CHARS ? `${one.slice(0, MAX_MESSAGE_CHARS)}…` : one;
}

function escapeControls(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => {
    const named: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };
    return Object.hasOwn(named, c) ? named[c]! : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
}

/** A key or value quoted in a message: control characters escaped, cut short past MAX_SHOWN_CHARS. */
export function quote(s: string): string {
  const one = escapeControls(s);
  return `\`${one.length > MAX_SHOWN_CHARS ? `${one.slice(0, MAX_SHOWN_CHARS)}…` : one}\``;
}

/** Collects every problem found, each at its place; nothing stops at the first one. */
export class Problems {
  readonly list: Problem[] = [];
  // Counted as they come: checks ask for the count around every object, which must stay cheap.
  #errors = 0;

  error(code: ProblemCode, where: Origin | Location | undefined, message: string, opts: { key?: boolean } = {}): void {
    this.add('error', code, where, message, opts);
  }

  warn(code: ProblemCode, where: Origin | Location | undefined, message: string, opts: { key?: boolean } = {}): void {
    this.add('warning', code, where, message, opts);
  }

  add(severity: Severity, code: ProblemCode, where: Origin | Location | undefined, message: string, opts: { key?: boolean } = {}): void {
    const location = where === undefined ? undefined : 'doc' in where ? locate(where, opts) : where;
    this.#record({ code, severity, message, ...(location ? { location } : {}) });
  }

  push(...problems: Problem[]): void {
    for (const p of problems) this.#record(p);
  }

  #record(p: Problem): void {
    this.list.push({ ...p, message: safeMessage(p.message) });
    if (p.severity === 'error') this.#errors++;
  }

  get errorCount(): number {
    return this.#errors;
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

/** What a value is, never what it holds: for values from files that may be anything. */
export function shape(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return typeof value === 'string' ? 'text' : `a ${typeof value}`;
}

/** A value as shown in a message: scalars as they were written, the rest by their shape. */
export function show(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (value === '') return 'an empty string';
  return quote(String(value));
}
