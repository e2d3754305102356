// The kernel-level expectations of the probe kinds (dnat, masquerade, dropped, rejected, droppedBy,
// path): their schema, reading and checks, shared by http, tcp, udp and ping.
import { z } from 'zod';
import type { Model } from '../../cluster/types.js';
import { parseSource, type AddressRef, type SourceRef } from '../../scenario/refs.js';
import { ref } from '../../scenario/schema.js';
import { kernelExpectKeys, type DnatTarget, type KernelExpect } from '../../scenario/steps.js';
import { isIPv4 } from '../../util/ip.js';
import type { CheckContext, ReadContext } from '../kind.js';

/** A droppedBy pattern is matched against one rule's text: a bound keeps a pasted rule set out. */
export const MAX_DROPPED_BY = 200;
/** The most addresses a dnat list and the most places a path names. */
const MAX_LIST = 64;

/** The schema fields, spread into each probe kind's expect. */
export const kernelExpectSchema = {
  dnat: z.union([z.string(), z.array(z.string()).min(1).max(MAX_LIST)], { error: 'to be an address IPv4[:PORT] or a list of them' }).optional(),
  masquerade: z.boolean().optional(),
  dropped: z.boolean().optional(),
  rejected: z.boolean().optional(),
  droppedBy: z.string().min(1).max(MAX_DROPPED_BY).optional(),
  path: z.array(ref).min(1).max(MAX_LIST).optional(),
};

export interface KernelExpectInput {
  dnat?: string | string[];
  masquerade?: boolean;
  dropped?: boolean;
  rejected?: boolean;
  droppedBy?: string;
  path?: string[];
}

/** Whether an expectation as written has a kernel key (then its tries are traced). */
export function hasKernelKeys(e: object | undefined): boolean {
  return e !== undefined && kernelExpectKeys.some((k) => (e as Record<string, unknown>)[k] !== undefined);
}

/** `10.244.1.3:80` or `10.244.1.3` read into a DnatTarget, or undefined. */
export function parseDnatTarget(s: string): DnatTarget | undefined {
  const m = /^(\d+\.\d+\.\d+\.\d+)(?::(\d+))?$/.exec(s);
  if (!m || !isIPv4(m[1]!)) return undefined;
  if (m[2] === undefined) return { ip: m[1]! };
  const port = Number(m[2]);
  return port >= 1 && port <= 65535 ? { ip: m[1]!, port } : undefined;
}

/**
 * Reads the kernel expectations (every problem reported); `answered`: the response expectation
 * written says the probe is answered (status, reply: true, connect: true, reachable: true), which a
 * drop or reject contradicts.
 */
export function readKernelExpect(r: ReadContext<{ count?: number }, unknown>, e: KernelExpectInput, answered: string | undefined): KernelExpect | undefined {
  const out: KernelExpect = {};
  let ok = true;
  const count = r.body.count ?? 1;
  if (e.dnat !== undefined) {
    const list = typeof e.dnat === 'string' ? [e.dnat] : e.dnat;
    const targets: DnatTarget[] = [];
    for (const s of list) {
      const t = parseDnatTarget(s);
      if (t) targets.push(t);
      else {
        r.problems.error('bad-address', r.expectAt('dnat'), `Expected \`${r.exWhere}.dnat\` to be IPv4[:PORT] addresses, got \`${s}\``);
        ok = false;
      }
    }
    if (count > 1 && targets.length > count) {
      // With count every address listed must be seen: more addresses than tries cannot be.
      r.problems.error(
        'needs-more-tries',
        r.expectAt('dnat'),
        `\`${r.exWhere}.dnat\` lists ${targets.length} addresses, each to be seen: set \`count\` to ${targets.length} or more`,
      );
      ok = false;
    }
    out.dnat = targets;
  }
  if (e.droppedBy !== undefined) {
    try {
      new RegExp(e.droppedBy);
      out.droppedBy = e.droppedBy;
    } catch (err) {
      r.problems.error(
        'bad-regex',
        r.expectAt('droppedBy'),
        `\`${r.exWhere}.droppedBy\` is not a valid regular expression: ${(err as Error).message.replace(/^Invalid regular expression: /, '')}`,
      );
      ok = false;
    }
  }
  if (e.path !== undefined) {
    const places: SourceRef[] = [];
    for (const s of e.path) {
      const p = r.parsed(parseSource(s), r.expectAt('path'), `${r.exWhere}.path`, s);
      if (p && p.kind === 'deployment') {
        r.problems.error('bad-address', r.expectAt('path'), `Expected \`${r.exWhere}.path\` to name places a packet crosses: node/NAME, host/NAME or pod/NAME[.NS], got \`${s}\``);
        ok = false;
      } else if (p) places.push(p);
      else ok = false;
    }
    out.path = places;
  }
  if (e.dropped === true && e.rejected === true) {
    r.problems.error('conflicting-fields', r.expectAt('rejected'), `\`${r.exWhere}\` has both dropped and rejected; a packet is either dropped or rejected`);
    ok = false;
  }
  const stops = e.dropped === true ? 'dropped' : e.rejected === true ? 'rejected' : undefined;
  if (stops && answered) {
    r.problems.error('conflicting-fields', r.expectAt(stops), `\`${r.exWhere}\` has both ${stops}: true and ${answered}; a ${stops} probe is not answered`);
    ok = false;
  }
  for (const k of ['masquerade', 'dropped', 'rejected'] as const) if (e[k] !== undefined) out[k] = e[k];
  return ok ? out : undefined;
}

/** Checks that the places of `path` exist at the step (its expect and every expectIn). */
export function checkKernelPlaces(expect: KernelExpect, c: CheckContext): void {
  // A place is an address too (node/NAME, host/NAME, pod/NAME[.NS]): checked where the path is written.
  for (const [path, e] of c.expectations(expect)) for (const p of e.path ?? []) c.address('path', p as AddressRef, path);
}

const placeName = (p: SourceRef) => `${p.kind}/${p.name}${'namespace' in p && p.namespace ? `.${p.namespace}` : ''}`;
export const dnatText = (t: DnatTarget) => (t.port === undefined ? t.ip : `${t.ip}:${t.port}`);

/** The kernel expectations in `knetlab plan`. */
export function kernelExpectText(m: Model, e: KernelExpect): string[] {
  void m;
  const out: string[] = [];
  if (e.dnat) out.push(`dnat ${e.dnat.map(dnatText).join(' | ')}`);
  if (e.masquerade !== undefined) out.push(e.masquerade ? 'masqueraded' : 'not masqueraded');
  if (e.dropped !== undefined) out.push(e.dropped ? 'dropped' : 'not dropped');
  if (e.rejected !== undefined) out.push(e.rejected ? 'rejected' : 'not rejected');
  if (e.droppedBy !== undefined) out.push(`droppedBy /${e.droppedBy}/`);
  if (e.path) out.push(`path ${e.path.map(placeName).join(' > ')}`);
  return out;
}

/** The kernel expectations of a step's expect, alone (a step has them when any is set). */
export function kernelPart(e: KernelExpect): KernelExpect | undefined {
  const out: KernelExpect = {};
  for (const k of kernelExpectKeys) if (e[k] !== undefined) (out as Record<string, unknown>)[k] = e[k];
  return Object.keys(out).length ? out : undefined;
}
