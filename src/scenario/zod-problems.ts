import type { z } from 'zod';
import type { Problems } from './problems.js';
import { formatPath, quote, show } from './problems.js';
import { originAt, type Origin, type PathSegment } from './source.js';
import { didYouMean, suggestion } from './suggest.js';

const typeNames: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  object: 'a mapping',
  array: 'a list',
  record: 'a mapping',
};

export interface Subject {
  /** Where the checked value stands. */
  origin: Origin;
  /** The checked value itself, to show what was found. */
  value: unknown;
  /** Path prefix shown in messages (e.g. `cluster`), empty for the top level. */
  prefix?: readonly PathSegment[];
  /** Words after the path, e.g. ` of Service default/nginx`. */
  suffix?: string;
}

function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = value;
  for (const seg of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[seg as string];
  }
  return v;
}

/** Known keys of the object schema at path, for "did you mean" on an unknown key. */
function keysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let s: z.ZodType | undefined = schema;
  const unwrap = (t: z.ZodType | undefined): z.ZodType | undefined => {
    for (let i = 0; i < 10 && t; i++) {
      const def = (t as unknown as { def: { type: string; innerType?: z.ZodType; in?: z.ZodType; schema?: z.ZodType } }).def;
      if (def.type === 'optional' || def.type === 'nullable' || def.type === 'default' || def.type === 'prefault' || def.type === 'catch' || def.type === 'readonly')
        t = def.innerType;
      else if (def.type === 'pipe') t = def.in;
      else return t;
    }
    return t;
  };
  for (const seg of path) {
    s = unwrap(s);
    const def = (s as unknown as { def: { type: string; shape?: Record<string, z.ZodType>; element?: z.ZodType; valueType?: z.ZodType } } | undefined)?.def;
    if (!def) return [];
    if (def.type === 'object') s = def.shape?.[seg as string];
    else if (def.type === 'array') s = def.element;
    else if (def.type === 'record') s = def.valueType;
    else return [];
  }
  s = unwrap(s);
  const def = (s as unknown as { def: { type: string; shape?: Record<string, z.ZodType> } } | undefined)?.def;
  return def?.type === 'object' && def.shape ? Object.keys(def.shape) : [];
}

/**
 * Turns zod's issues into problems at their place. Messages read
 * ``Expected `path` to be ..., got `value` ``; a custom check's message that starts with
 * "to " is completed the same way, any other is used as it is.
 */
export function reportZodIssues(schema: z.ZodType, error: z.ZodError, subject: Subject, problems: Problems): void {
  const issues = error.issues as z.core.$ZodIssue[];
  // `connected: true` where `connect` is required is one slip: report the unknown key with its
  // "did you mean", not also the missing one.
  const slips = new Set<string>();
  for (const issue of issues) {
    if (issue.code !== 'unrecognized_keys') continue;
    const known = keysAt(schema, issue.path);
    for (const key of issue.keys) {
      const meant = didYouMean(key, known);
      if (meant) slips.add(JSON.stringify([...issue.path, meant]));
    }
  }
  for (const issue of issues) {
    const missing = issue.code === 'invalid_type' && valueAt(subject.value, issue.path) === undefined;
    if (missing && slips.has(JSON.stringify(issue.path))) continue;
    reportIssue(schema, issue, subject, problems);
  }
}

function reportIssue(schema: z.ZodType, issue: z.core.$ZodIssue, subject: Subject, problems: Problems): void {
  const path = issue.path as PathSegment[];
  const shownPath = formatPath([...(subject.prefix ?? []), ...path]);
  const suffix = subject.suffix ?? '';
  const value = valueAt(subject.value, path);
  const where = originAt(subject.origin, ...path);
  const expected = (what: string): string => `Expected \`${shownPath}\`${suffix} ${what}, got ${show(value)}`;
  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = keysAt(schema, path);
      const inWhat = shownPath === '' ? (suffix ? suffix.replace(/^ of /, ' in ') : ' at the top level') : ` in \`${shownPath}\`${suffix}`;
      for (const key of issue.keys) {
        problems.error(originAt(where, key), `Unknown key ${quote(key)}${inWhat}${suggestion(key, known)}`, { key: true });
      }
      return;
    }
    case 'invalid_key': {
      // A key of a record (a label, an annotation, a header name) that its key schema refuses.
      const key = String(path[path.length - 1]);
      const parentPath = formatPath([...(subject.prefix ?? []), ...path.slice(0, -1)]);
      const inWhat = parentPath === '' ? suffix.replace(/^ of /, ' in ') : ` in \`${parentPath}\`${suffix}`;
      const why = issue.issues.map((i) => i.message).find((m) => m?.startsWith('to ')) ?? 'to be a valid key';
      problems.error(where, `Expected key ${quote(key)}${inWhat} ${why}`, { key: true });
      return;
    }
    case 'invalid_type': {
      if (value === undefined) {
        const parent = path.slice(0, -1);
        const parentPath = formatPath([...(subject.prefix ?? []), ...parent]);
        const inWhat = parentPath === '' ? suffix.replace(/^ of /, ' in ') : ` in \`${parentPath}\`${suffix}`;
        problems.error(originAt(subject.origin, ...parent), `Missing required key \`${String(path[path.length - 1])}\`${inWhat}`);
        return;
      }
      const name = typeNames[issue.expected] ?? issue.expected;
      problems.error(where, expected(issue.message?.startsWith('to ') ? issue.message : `to be ${name}`));
      return;
    }
    case 'invalid_value': {
      const values = issue.values.map(String);
      const list = values.length === 1 ? `\`${values[0]}\`` : `one of ${values.join(', ')}`;
      problems.error(where, expected(`to be ${list}`) + (typeof value === 'string' ? suggestion(value, values) : ''));
      return;
    }
    case 'too_small':
    case 'too_big': {
      if (issue.message?.startsWith('to ')) {
        problems.error(where, expected(issue.message));
        return;
      }
      const bound = Number(issue.code === 'too_small' ? issue.minimum : issue.maximum);
      if (issue.origin === 'array') {
        problems.error(where, `Expected \`${shownPath}\`${suffix} to have ${issue.code === 'too_small' ? 'at least' : 'at most'} ${bound} item${bound === 1 ? '' : 's'}`);
      } else if (issue.origin === 'string') {
        problems.error(where, expected(`to be ${issue.code === 'too_small' ? 'at least' : 'at most'} ${bound} characters long`));
      } else {
        problems.error(where, expected(`to be ${issue.code === 'too_small' ? 'at least' : 'at most'} ${bound}`));
      }
      return;
    }
    case 'invalid_union': {
      if (issue.message?.startsWith('to ')) {
        problems.error(where, expected(issue.message));
        return;
      }
      // Report the branch that got furthest: the one with the fewest issues at the deepest path.
      const branches = issue.errors.filter((b) => b.length > 0);
      const best = branches.sort((a, b) => depth(b) - depth(a) || a.length - b.length)[0];
      if (best) for (const sub of best) reportIssue(schema, { ...sub, path: [...path, ...sub.path] } as z.core.$ZodIssue, subject, problems);
      else problems.error(where, expected('to be valid'));
      return;
    }
    default: {
      const msg = issue.message ?? 'is not valid';
      problems.error(where, msg.startsWith('to ') ? expected(msg) : msg);
    }
  }
}

function depth(issues: readonly z.core.$ZodIssue[]): number {
  return Math.max(...issues.map((i) => i.path.length));
}
