import { conntrackFor, natOf, parseConntrack } from './conntrack.js';
import { groupPasses, parseTrace } from './monitor-text.js';
import type { ConntrackEntry, NamespaceCapture, NatFacts, ProbeKey, TraceEvent, TracePass } from './types.js';

/** The DSCP knetlab marks a traced probe's packets with (kernel/trace.ts TRACE_DSCP): the probe's way out, not its replies. */
export const PROBE_DSCP = 0x2d;

/** What the kernel showed of a probe in one namespace. */
export interface NamespaceTrace {
  netns: string;
  /** Every packet of the probe (both ways) through this namespace, in the order printed. */
  passes: TracePass[];
  /** The probe's connection here: the entry whose original tuple is the probe's packet as it arrived. */
  conntrack?: ConntrackEntry;
  /** Where it was DNATed and SNATed here, from that entry. */
  nat: NatFacts;
  /** The rule (or policy) that dropped or rejected one of the probe's packets here. */
  dropped?: TraceEvent;
}

export interface TraceResult {
  probe: ProbeKey;
  /** The namespaces the probe's packets crossed on the way out, in order (by TTL, the sender first). */
  path: string[];
  namespaces: NamespaceTrace[];
  /** The first DNAT on the way, the first SNAT (masquerade), and the first drop or reject. */
  dnat?: { netns: string; from: string; to: string };
  snat?: { netns: string; from: string; to: string };
  dropped?: TraceEvent;
}

/** A pass on the way out: its packets carry knetlab's DSCP mark. */
export function isOutbound(p: TracePass): boolean {
  return p.packet.dscp === PROBE_DSCP;
}

/** Reads every namespace's capture into the probe's structured trace. */
export function traceResult(probe: ProbeKey, captures: readonly NamespaceCapture[]): TraceResult {
  const namespaces = captures.map((c): NamespaceTrace => {
    const passes = groupPasses(parseTrace(c.monitor, c.trace, c.netns));
    const first = passes.find(isOutbound);
    const entry = first ? conntrackFor(parseConntrack(c.conntrack), first.packet, probe.proto) : undefined;
    const dropped = passes.flatMap((p) => p.hooks.flatMap((h) => h.events)).find((e) => e.verdict === 'drop' || e.verdict === 'reject');
    return { netns: c.netns, passes, ...(entry ? { conntrack: entry } : {}), nat: entry ? natOf(entry) : {}, ...(dropped ? { dropped } : {}) };
  });
  // Forwarding lowers the TTL after prerouting: a higher TTL is earlier, and at the same TTL the sender (no iif) first.
  const order = (n: NamespaceTrace) => {
    const out = n.passes.filter(isOutbound);
    return Math.max(...out.map((p) => (p.packet.ttl ?? 0) * 2 + (p.packet.iif ? 0 : 1)));
  };
  const crossed = namespaces.filter((n) => n.passes.some(isOutbound));
  const path = [...crossed].sort((a, b) => order(b) - order(a)).map((n) => n.netns);
  const inPath = path.map((p) => namespaces.find((n) => n.netns === p)!);
  const dnat = inPath.find((n) => n.nat.dnat);
  const snat = inPath.find((n) => n.nat.snat);
  const dropped = inPath.find((n) => n.dropped)?.dropped ?? namespaces.find((n) => n.dropped)?.dropped;
  return {
    probe,
    path,
    namespaces,
    ...(dnat?.nat.dnat ? { dnat: { netns: dnat.netns, ...dnat.nat.dnat } } : {}),
    ...(snat?.nat.snat ? { snat: { netns: snat.netns, ...snat.nat.snat } } : {}),
    ...(dropped ? { dropped } : {}),
  };
}

/** The chains a pass went through, in order, as `table/chain` (knetlab's own left out). */
export function chainsOf(pass: TracePass): string[] {
  const out: string[] = [];
  for (const h of pass.hooks) for (const e of h.events) if (out.at(-1) !== `${e.table}/${e.chain}`) out.push(`${e.table}/${e.chain}`);
  return out;
}
