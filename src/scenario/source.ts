import { CST, isAlias, isMap, isPair, isScalar, isSeq, Lexer, LineCounter, parseAllDocuments, visit, type Document, type Node, type Pair, type YAMLMap } from 'yaml';
import type { Location, Problem } from '../errors.js';
import type { ProblemCode } from './problem-codes.js';
import { readInputFile } from './input-file.js';
import { MAX_ALIAS_COUNT, MAX_DEPTH, MAX_DOCUMENTS, MAX_YAML_TOKENS } from './limits.js';

export type PathSegment = string | number;
export type Path = readonly PathSegment[];

/** One YAML document of a file, kept with its syntax tree so that any value can be found again by path. */
export class SourceDoc {
  /** Each mapping's pairs by key text, made on the first lookup: finding every key of a mapping stays linear. */
  private readonly pairs = new WeakMap<object, Map<string, Pair>>();

  constructor(
    readonly file: string,
    readonly doc: Document.Parsed,
    private readonly lines: LineCounter,
    private readonly js: unknown,
  ) {}

  /** The plain JavaScript value of the whole document (aliases bounded when it was parsed). */
  value(): unknown {
    return this.js;
  }

  private pairOf(map: YAMLMap, key: string): Pair | undefined {
    let index = this.pairs.get(map);
    if (!index) {
      index = new Map();
      for (const p of map.items) {
        const k = isPair(p) ? keyText(p.key) : undefined;
        if (k !== undefined && !index.has(k)) index.set(k, p);
      }
      this.pairs.set(map, index);
    }
    return index.get(key);
  }

  /** Where the value at path stands; with key, where its key stands. Falls back to the nearest existing parent. */
  locate(path: Path, opts: { key?: boolean } = {}): Location {
    let node: unknown = this.doc.contents;
    let best: Node | Pair | undefined = node as Node | undefined;
    for (let i = 0; i < path.length; i++) {
      const seg = path[i];
      let next: unknown;
      if (isMap(node)) {
        const pair = this.pairOf(node, String(seg));
        if (!pair) break;
        if (opts.key && i === path.length - 1) {
          best = (pair.key as Node | null) ?? best;
          node = undefined;
          break;
        }
        next = pair.value;
        // `key:` with no value holds an empty null scalar: point at the key.
        if (next == null || (isScalar(next) && next.value === null && next.range?.[0] === next.range?.[1])) {
          best = (pair.key as Node | null) ?? best; // `key:` with no value: point at the key
          node = undefined;
          break;
        }
      } else if (isSeq(node) && typeof seg === 'number') {
        next = node.items[seg];
        if (next == null) break;
      } else {
        break;
      }
      node = next;
      best = next as Node;
    }
    const offset = (best as Node | undefined)?.range?.[0] ?? 0;
    return this.at(offset);
  }

  at(offset: number): Location {
    const pos = this.lines.linePos(offset);
    return { file: this.file, line: pos.line, col: pos.col };
  }

  /** Where the document begins (its `---` when it has one). */
  start(): Location {
    return this.at(this.doc.range[0]);
  }
}

function keyText(key: unknown): string | undefined {
  if (isScalar(key)) return String(key.value);
  return undefined;
}

/** A value's place: the document it came from and its path in that document. */
export interface Origin {
  doc: SourceDoc;
  path: Path;
}

export function originAt(origin: Origin, ...sub: Path): Origin {
  return { doc: origin.doc, path: [...origin.path, ...sub] };
}

export function locate(origin: Origin, opts: { key?: boolean } = {}): Location {
  return origin.doc.locate(origin.path, opts);
}

/** One YAML document of a file, as parsed: its tree when it parsed cleanly, else its problems. */
export interface ParsedDocument {
  /** Set when the document has no problem of its own. */
  doc?: SourceDoc;
  /** Where it begins. */
  start: Location;
  problems: Problem[];
  /** Its top level is a mapping with `apiVersion` or `kind`: it means to be a Kubernetes object. */
  kubeLike: boolean;
  /** What its top level is (`text`, `a mapping`, ...), for a message that must not quote it. */
  shape: string;
}

export interface ParsedFile {
  file: string;
  docs: SourceDoc[];
  /** Every problem: the file's own (unreadable, over a limit) and its documents'. */
  problems: Problem[];
  /** Every non-empty document, in order. */
  documents: ParsedDocument[];
  /** Set when the file as a whole was refused (unreadable, too large, over a limit): no document was read. */
  refused?: Problem;
}

/** YAML tokens still allowed for a scenario and the files it reads, together (see MAX_YAML_TOKENS). */
export interface TokenBudget {
  left: number;
}

export const newTokenBudget = (): TokenBudget => ({ left: MAX_YAML_TOKENS });

/** A limit a text breaks, and the offset where it breaks it. */
interface Limit {
  offset: number;
  message: string;
}

/**
 * The yaml library's lexer over a text, checking the limits before its parser sees a token: the
 * lexer is some twenty times faster than the parser, so a file over the limits is refused before
 * any time (or, for deep flow nesting, stack and memory: 10,000 `[` crash the process) is spent.
 */
function overLimit(text: string, budget: TokenBudget): Limit | undefined {
  let depth = 0;
  let documents = 1;
  let offset = 0;
  for (const lexeme of new Lexer().lex(text)) {
    const type = CST.tokenType(lexeme);
    if (--budget.left < 0)
      return {
        offset,
        message: `The scenario and its files hold more than ${MAX_YAML_TOKENS} YAML tokens (about 120 KB of YAML), more than knetlab reads; keep only what the scenario needs (kubectl get -o yaml output shrinks without managedFields and status)`,
      };
    switch (type) {
      case 'flow-map-start':
      case 'flow-seq-start':
        if (++depth > MAX_DEPTH) return { offset, message: `YAML: lists and mappings are nested more than ${MAX_DEPTH} deep` };
        break;
      case 'flow-map-end':
      case 'flow-seq-end':
        depth = Math.max(0, depth - 1);
        break;
      case 'doc-start':
        if (++documents > MAX_DOCUMENTS) return { offset, message: `YAML: the file holds more than ${MAX_DOCUMENTS} documents` };
        break;
    }
    // The lexer's control tokens (a scalar or document follows, a flow ended badly) stand for no text.
    if (type !== 'scalar' && type !== 'doc-mode' && type !== 'flow-error-end') offset += lexeme.length;
  }
  return undefined;
}

/** What a value is, by its shape only: for messages about files whose content must not be shown. */
function shapeOf(node: unknown): string {
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) return node.value === null ? 'nothing' : typeof node.value === 'string' ? 'text' : `a ${typeof node.value}`;
  if (isAlias(node)) return 'an alias';
  return 'nothing';
}

/** Parses every YAML document of a text; syntax errors become problems at their line and column. */
export function parseYaml(file: string, text: string, budget: TokenBudget = newTokenBudget()): ParsedFile {
  const lines = new LineCounter();
  const at = (offset: number): Location => {
    const pos = lines.linePos(Math.max(0, Math.min(offset, Math.max(0, text.trimEnd().length - 1))));
    return { file, line: pos.line, col: pos.col };
  };
  const refuse = (code: ProblemCode, message: string, offset: number): ParsedFile => {
    const refused: Problem = { code, severity: 'error', message, location: at(offset) };
    return { file, docs: [], problems: [refused], documents: [], refused };
  };
  const limit = overLimit(text, budget);
  if (limit) {
    lines.addNewLine(0);
    for (let i = text.indexOf('\n'); i >= 0 && i < limit.offset; i = text.indexOf('\n', i + 1)) lines.addNewLine(i + 1);
    return refuse('yaml-limit', limit.message, limit.offset);
  }
  let list: Document.Parsed[];
  try {
    // Duplicate keys are found by walk() in linear time; yaml's own check is quadratic in a mapping's keys.
    list = parseAllDocuments(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: false }) as Document.Parsed[];
  } catch (err) {
    return refuse('yaml-syntax', `YAML: ${firstLine((err as Error).message ?? String(err))}`, 0);
  }
  const docs: SourceDoc[] = [];
  const documents: ParsedDocument[] = [];
  for (const doc of list) {
    // An empty document (a trailing `---`) has an empty null scalar as its contents.
    const empty = doc.contents == null || (isScalar(doc.contents) && doc.contents.value === null && doc.errors.length === 0);
    if (empty) continue;
    const problems: Problem[] = [];
    for (const err of doc.errors) {
      // An unclosed { or [ is found at the end of the file; the opening bracket is what to fix.
      const unclosed = /flow (map|sequence|collection)/i.test(err.message) ? unclosedBracket(text, err.pos[0]) : undefined;
      const exhausted = err.code === 'RESOURCE_EXHAUSTION';
      const message = exhausted ? `YAML: lists and mappings are nested more than ${MAX_DEPTH} deep` : `YAML: ${firstLine(err.message)}`;
      problems.push({ code: exhausted ? 'yaml-limit' : 'yaml-syntax', severity: 'error', message, location: at(unclosed ?? err.pos[0]) });
    }
    if (problems.length === 0) problems.push(...walk(doc, at));
    const contents = doc.contents;
    const kubeLike = isMap(contents) && contents.items.some((p) => isScalar(p.key) && (p.key.value === 'apiVersion' || p.key.value === 'kind'));
    const start = at(doc.range[0]);
    let source: SourceDoc | undefined;
    if (problems.length === 0) {
      try {
        // Aliases are bounded here, where the document becomes values: a billion laughs stops at the limit.
        source = new SourceDoc(file, doc, lines, doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }));
        docs.push(source);
      } catch (err) {
        const alias = firstAlias(doc);
        const bomb = /alias count/i.test((err as Error).message);
        problems.push({
          code: bomb ? 'yaml-limit' : 'yaml-syntax',
          severity: 'error',
          message: bomb
            ? `YAML: aliases repeat anchored values more than ${MAX_ALIAS_COUNT} times (an alias bomb?); write the values out`
            : `YAML: ${firstLine((err as Error).message)}`,
          location: at(alias?.range?.[0] ?? doc.range[0]),
        });
      }
    }
    documents.push({ ...(source ? { doc: source } : {}), start, problems, kubeLike, shape: shapeOf(contents) });
  }
  return { file, docs, problems: documents.flatMap((d) => d.problems), documents };
}

/**
 * Checks a document's tree once, in linear time and without recursion: mappings and lists nested
 * deeper than MAX_DEPTH, keys that appear twice in a mapping, and `__proto__` keys (JavaScript
 * would take one for the object's prototype and drop it without a word).
 */
function walk(doc: Document.Parsed, at: (offset: number) => Location): Problem[] {
  const problems: Problem[] = [];
  const stack: [unknown, number][] = [[doc.contents, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (!isMap(node) && !isSeq(node)) continue;
    if (depth > MAX_DEPTH) {
      problems.push({ code: 'yaml-limit', severity: 'error', message: `YAML: lists and mappings are nested more than ${MAX_DEPTH} deep`, location: at(node.range?.[0] ?? 0) });
      continue;
    }
    if (isSeq(node)) {
      for (const item of node.items) stack.push([item, depth + 1]);
      continue;
    }
    const seen = new Set<unknown>();
    for (const pair of node.items) {
      const key = pair.key;
      if (isScalar(key)) {
        const where = at(key.range?.[0] ?? 0);
        if (seen.has(key.value))
          problems.push({ code: 'yaml-duplicate-key', severity: 'error', message: `YAML: the key \`${String(key.value)}\` appears twice in one mapping`, location: where });
        seen.add(key.value);
        if (key.value === '__proto__')
          problems.push({
            code: 'forbidden-key',
            severity: 'error',
            message: 'The key `__proto__` is not allowed: no field, label, annotation or header may be named so (JavaScript would drop it)',
            location: where,
          });
      } else stack.push([key, depth + 1]);
      stack.push([pair.value, depth + 1]);
    }
  }
  return problems;
}

function firstAlias(doc: Document.Parsed): Node | undefined {
  let found: Node | undefined;
  visit(doc, {
    Alias: (_key, node) => {
      found = node;
      return visit.BREAK;
    },
  });
  return found;
}

/** The offset of the last { or [ before end that is never closed, outside quotes and comments. */
function unclosedBracket(text: string, end: number): number | undefined {
  const open: number[] = [];
  let quote = '';
  for (let i = 0; i < Math.min(end, text.length); i++) {
    const c = text[i]!;
    if (quote) {
      if (c === quote) quote = '';
      else if (c === '\\' && quote === '"') i++;
      else if (c === '\n' && open.length === 0) quote = '';
      continue;
    }
    if (c === '"' || (c === "'" && /[\s,[{:]/.test(text[i - 1] ?? ' '))) quote = c;
    else if (c === '#' && /\s/.test(text[i - 1] ?? '\n')) {
      const nl = text.indexOf('\n', i);
      i = nl < 0 ? text.length : nl;
    } else if (c === '{' || c === '[') open.push(i);
    else if ((c === '}' || c === ']') && open.length) open.pop();
  }
  return open.length ? open[open.length - 1] : undefined;
}

function firstLine(s: string): string {
  return s.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
}

/** Reads and parses a YAML file, within the file limits (see readInputFile) and the token budget. */
export async function readYamlFile(file: string, shownAs: string = file, budget: TokenBudget = newTokenBudget()): Promise<ParsedFile> {
  const read = await readInputFile(file);
  if (!read.ok) {
    const refused: Problem = {
      code: 'unreadable-file',
      severity: 'error',
      message: `cannot read ${shownAs}: ${read.reason}`,
      location: { file: shownAs, line: read.line ?? 1, col: read.col ?? 1 },
    };
    return { file: shownAs, docs: [], problems: [refused], documents: [], refused };
  }
  return parseYaml(shownAs, read.text, budget);
}
