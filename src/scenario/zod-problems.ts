import type { z } from 'zod';
import type { ProblemCode } from './problem-codes.js';
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

// The schemas' own messages ("to be a duration ...") say which family a refused value is of; the
// first that matches names its code, else the issue's kind does. Written once, here.
const messageCodes: [RegExp, ProblemCode][] = [
  [/^to be a duration/, 'bad-duration'],
  [/^to be (a DNS subdomain name|a DNS label|a DNS-1035 label|a port name|a qualified name|a name such as|at most \d+ characters of a-z)/, 'bad-name'],
  [/^to be a label value/, 'bad-label-value'],
  [/^to be a DNS (name|domain)/, 'bad-dns-name'],
  [/^to be a network address \(host bits set/, 'host-bits-set'],
  [/^to be an IPv4|^to be a range such as/, 'bad-address'],
  [/^to start with \/|^to be a path such as \//, 'bad-url-path'],
  [/^to be (a port number|a whole number|an HTTP status|a fraction)/, 'out-of-range'],
  [/^to be at most \d+ (characters|KB)/, 'wrong-length'],
];

function codeOf(message: string | undefined, otherwise: ProblemCode): ProblemCode {
  return messageCodes.find(([re]) => message !== undefined && re.test(message))?.[1] ?? otherwise;
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
        problems.error('unknown-key', originAt(where, key), `Unknown key ${quote(key)}${inWhat}${suggestion(key, known)}`, { key: true });
      }
      return;
    }
    case 'invalid_key': {
      // A key of a record (a label, an annotation, a header name) that its key schema refuses.
      const key = String(path[path.length - 1]);
      const parentPath = formatPath([...(subject.prefix ?? []), ...path.slice(0, -1)]);
      const inWhat = parentPath === '' ? suffix.replace(/^ of /, ' in ') : ` in \`${parentPath}\`${suffix}`;
      const why = issue.issues.map((i) => i.message).find((m) => m?.startsWith('to ')) ?? 'to be a valid key';
      problems.error('bad-key', where, `Expected key ${quote(key)}${inWhat} ${why}`, { key: true });
      return;
    }
    case 'invalid_type': {
      if (value === undefined) {
        const parent = path.slice(0, -1);
        const parentPath = formatPath([...(subject.prefix ?? []), ...parent]);
        const inWhat = parentPath === '' ? suffix.replace(/^ of /, ' in ') : ` in \`${parentPath}\`${suffix}`;
        problems.error('missing-key', originAt(subject.origin, ...parent), `Missing required key \`${String(path[path.length - 1])}\`${inWhat}`);
        return;
      }
      const name = typeNames[issue.expected] ?? issue.expected;
      const own = issue.message?.startsWith('to ') ? issue.message : undefined;
      problems.error(codeOf(own, 'wrong-type'), where, expected(own ?? `to be ${name}`));
      return;
    }
    case 'invalid_value': {
      const values = issue.values.map(String);
      const list = values.length === 1 ? `\`${values[0]}\`` : `one of ${values.join(', ')}`;
      problems.error('unknown-value', where, expected(`to be ${list}`) + (typeof value === 'string' ? suggestion(value, values) : ''));
      return;
    }
    case 'too_small':
    case 'too_big': {
      if (issue.message?.startsWith('to ')) {
        problems.error(codeOf(issue.message, issue.origin === 'array' ? 'list-size' : issue.origin === 'string' ? 'wrong-length' : 'out-of-range'), where, expected(issue.message));
        return;
      }
      const bound = Number(issue.code === 'too_small' ? issue.minimum : issue.maximum);
      if (issue.origin === 'array') {
        problems.error(
          'list-size',
          where,
          `Expected \`${shownPath}\`${suffix} to have ${issue.code === 'too_small' ? 'at least' : 'at most'} ${bound} item${bound === 1 ? '' : 's'}`,
        );
      } else if (issue.origin === 'string') {
        problems.error('wrong-length', where, expected(`to be ${issue.code === 'too_small' ? 'at least' : 'at most'} ${bound} characters long`));
      } else {
        problems.error('out-of-range', where, expected(`to be ${issue.code === 'too_small' ? 'at least' : 'at most'} ${bound}`));
      }
      return;
    }
    case 'invalid_union': {
      if (issue.message?.startsWith('to ')) {
        problems.error(codeOf(issue.message, 'bad-format'), where, expected(issue.message));
        return;
      }
      // Report the branch that got furthest: the one with the fewest issues at the deepest path.
      const branches = issue.errors.filter((b) => b.length > 0);
      const best = branches.sort((a, b) => depth(b) - depth(a) || a.length - b.length)[0];
      if (best) for (const sub of best) reportIssue(schema, { ...sub, path: [...path, ...sub.path] } as z.core.$ZodIssue, subject, problems);
      else problems.error('bad-format', where, expected('to be valid'));
      return;
    }
    default: {
      const msg = issue.message ?? 'is not valid';
      problems.error(codeOf(msg, 'bad-format'), where, msg.startsWith('to ') ? expected(msg) : msg);
    }
  }
}

function depth(issues: readonly z.core.$ZodIssue[]): number {
  return Math.max(...issues.map((i) => i.path.length));
}
