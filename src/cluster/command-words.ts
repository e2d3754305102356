import type { CommandRef, CommandWord } from '../scenario/command-words.js';
import { resolveAddress, resolveSource, resolveTarget, type Resolved } from './resolve.js';
import type { Model } from './types.js';

// The references in an `exec` command's words, replaced by the addresses they stand for in the model
// as it is at that step.

/** `10.96.0.10`, or `10.96.0.10:53` where the reference names a port (nodeport/ always does). */
export function resolveCommandRef(model: Model, r: CommandRef): Resolved<string> {
  switch (r.form) {
    case 'address': {
      const a = resolveAddress(model, r.ref);
      return a.ok ? { ok: true, value: a.value.ip } : a;
    }
    case 'place': {
      const p = resolveSource(model, r.ref);
      return p.ok ? { ok: true, value: p.value.ip } : p;
    }
    case 'target': {
      // No protocol: a port named by number or name is the one the reference means, whatever its protocol.
      const d = resolveTarget(model, r.ref, undefined);
      if (!d.ok) return d;
      const withPort = r.ref.kind === 'nodeport' || ('port' in r.ref && r.ref.port !== undefined);
      return { ok: true, value: withPort && d.value.port !== undefined ? `${d.value.ip}:${d.value.port}` : d.value.ip };
    }
  }
}

/** One word with its references replaced, or the first reference that names nothing. */
export function resolveWord(model: Model, w: CommandWord): Resolved<string> {
  let out = '';
  for (const p of w) {
    if (typeof p === 'string') {
      out += p;
      continue;
    }
    const r = resolveCommandRef(model, p.ref);
    if (!r.ok) return { ok: false, reason: `{{${p.written}}}: ${r.reason}` };
    out += r.value;
  }
  return { ok: true, value: out };
}

/** The references of a word, for checking each against the model. */
export const wordRefs = (w: CommandWord) => w.flatMap((p) => (typeof p === 'string' ? [] : [p]));
