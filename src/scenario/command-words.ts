import type { ProblemCode } from './problem-codes.js';
import { parseAddress, parseSource, parseTarget, type AddressRef, type Parsed, type SourceRef, type TargetRef } from './refs.js';

// The words of an `exec` command with `{{REF}}` in them (`curl {{service/web:http}}/`), parsed for
// their syntax only; cluster/command-words.ts puts in the addresses the references stand for.

/** A reference in a command: an address (`{{pod/web-0}}`), or an address and port (`{{nodeport/web@node-2}}`). */
export type CommandRef =
  /** host/, node/ (with @DEVICE or not), pod/, service/ without a port: the address alone. */
  | { form: 'address'; ref: AddressRef }
  /** deployment/NAME[.NS]: its first running pod's address, as a step's `from` takes it. */
  | { form: 'place'; ref: SourceRef }
  /** A target with a port (`service/web:http`, `pod/web-0:8080`), nodeport/ (always its port), externalip/ and loadbalancer/. */
  | { form: 'target'; ref: TargetRef };

/** A piece of a word: text as written, or a reference (`written`: its text between the braces). */
export type WordPart = string | { ref: CommandRef; written: string };

/** One word of the command: its pieces in order (a word without `{{` is one string). */
export type CommandWord = WordPart[];

const ESCAPE_HINT = 'a literal `{{` is written `\\{{`';
const KINDS =
  'host/NAME, node/NAME[@DEVICE], pod/NAME[.NS], deployment/NAME[.NS], service/NAME[.NS], nodeport/NAME[.NS]@NODE, externalip/NAME[.NS], loadbalancer/NAME[.NS], with :PORT where a target takes one';

/** The text between `{{` and `}}`, as a reference. */
export function parseCommandRef(text: string): Parsed<CommandRef> {
  const slash = text.indexOf('/');
  const kind = slash > 0 ? text.slice(0, slash) : '';
  const bad = (reason: string): Parsed<CommandRef> => ({ ok: false, reason });
  if (!['host', 'node', 'pod', 'deployment', 'service', 'nodeport', 'externalip', 'loadbalancer'].includes(kind) || slash === text.length - 1) {
    return bad(`to be one of ${KINDS}`);
  }
  if (kind === 'deployment') {
    const p = parseSource(text);
    return p.ok ? { ok: true, value: { form: 'place', ref: p.value } } : p;
  }
  // The kinds that always stand for a Service's port, and any reference with a port, are targets.
  if (['nodeport', 'externalip', 'loadbalancer'].includes(kind) || text.includes(':')) {
    const p = parseTarget(text);
    return p.ok ? { ok: true, value: { form: 'target', ref: p.value } } : p;
  }
  const p = parseAddress(text);
  return p.ok ? { ok: true, value: { form: 'address', ref: p.value } } : p;
}

/**
 * A word's pieces, or why it is wrong (a sentence of its own). `{{` opens a reference up to the next `}}` (spaces inside are trimmed); in a run
 * of more braces the last two open it (`{{{pod/a}}}` is `{`, the address, `}`); `\{{` is a literal
 * `{{`. A `}}` outside a reference is text.
 */
export function parseWord(word: string): { ok: true; value: CommandWord } | { ok: false; reason: string; code: ProblemCode } {
  const parts: CommandWord = [];
  let text = '';
  let i = 0;
  while (i < word.length) {
    if (word.startsWith('\\{{', i)) {
      text += '{{';
      i += 3;
      continue;
    }
    if (!word.startsWith('{{', i)) {
      text += word[i];
      i++;
      continue;
    }
    let open = i;
    while (word[open + 2] === '{') open++;
    text += word.slice(i, open);
    const close = word.indexOf('}}', open + 2);
    if (close < 0) return { ok: false, code: 'bad-format', reason: `\`{{\` has no \`}}\` after it; ${ESCAPE_HINT}` };
    const written = word.slice(open + 2, close).trim();
    const ref = parseCommandRef(written);
    if (!ref.ok) return { ok: false, code: 'bad-address', reason: `\`{{${written}}}\` is not a reference: expected it ${ref.reason}; ${ESCAPE_HINT}` };
    if (text) parts.push(text);
    text = '';
    parts.push({ ref: ref.value, written });
    i = close + 2;
  }
  if (text || parts.length === 0) parts.push(text);
  return { ok: true, value: parts };
}

/** The word as written, references in their braces (a literal `{{` escaped again). */
export function formatWord(w: CommandWord): string {
  return w.map((p) => (typeof p === 'string' ? p.replaceAll('{{', '\\{{') : `{{${p.written}}}`)).join('');
}
