import { readFile } from 'node:fs/promises';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseAllDocuments, type Document, type Node, type Pair } from 'yaml';
import type { Location, Problem } from '../errors.js';

export type PathSegment = string | number;
export type Path = readonly PathSegment[];

/** One YAML document of a file, kept with its syntax tree so that any value can be found again by path. */
export class SourceDoc {
  constructor(
    readonly file: string,
    readonly doc: Document.Parsed,
    private readonly lines: LineCounter,
  ) {}

  /** The plain JavaScript value of the whole document. */
  value(): unknown {
    return this.doc.toJS({ maxAliasCount: 1000 });
  }

  /** Where the value at path stands; with key, where its key stands. Falls back to the nearest existing parent. */
  locate(path: Path, opts: { key?: boolean } = {}): Location {
    let node: unknown = this.doc.contents;
    let best: Node | Pair | undefined = node as Node | undefined;
    for (let i = 0; i < path.length; i++) {
      const seg = path[i];
      let next: unknown;
      if (isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && keyText(p.key) === String(seg));
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

export interface ParsedFile {
  file: string;
  docs: SourceDoc[];
  problems: Problem[];
}

/** Parses every YAML document of a text; syntax errors become problems at their line and column. */
export function parseYaml(file: string, text: string): ParsedFile {
  const lines = new LineCounter();
  const parsed = parseAllDocuments(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const problems: Problem[] = [];
  const docs: SourceDoc[] = [];
  const list = Array.isArray(parsed) ? parsed : [];
  for (const doc of list) {
    for (const err of doc.errors) {
      // An unclosed { or [ is found at the end of the file; the opening bracket is what to fix.
      const unclosed = /flow (map|sequence|collection)/i.test(err.message) ? unclosedBracket(text, err.pos[0]) : undefined;
      const pos = lines.linePos(Math.min(unclosed ?? err.pos[0], Math.max(0, text.trimEnd().length - 1)));
      // yaml says only "Map keys must be unique": name the key.
      const dupKey = err.code === 'DUPLICATE_KEY' ? /^\s*["']?([^"':\n]+)/.exec(text.slice(err.pos[0]))?.[1]?.trim() : undefined;
      problems.push({
        severity: 'error',
        message: dupKey ? `YAML: the key \`${dupKey}\` appears twice in one mapping` : `YAML: ${firstLine(err.message)}`,
        location: { file, line: pos.line, col: pos.col },
      });
    }
    // An empty document (a trailing `---`) has an empty null scalar as its contents.
    const empty = doc.contents == null || (isScalar(doc.contents) && doc.contents.value === null);
    if (doc.errors.length === 0 && !empty) docs.push(new SourceDoc(file, doc, lines));
  }
  return { file, docs, problems };
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

export async function readYamlFile(file: string, shownAs: string = file): Promise<ParsedFile> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return {
      file: shownAs,
      docs: [],
      problems: [{ severity: 'error', message: `cannot read ${shownAs}: ${code === 'ENOENT' ? 'no such file' : String(code ?? err)}`, location: { file: shownAs, line: 1, col: 1 } }],
    };
  }
  return parseYaml(shownAs, text);
}
