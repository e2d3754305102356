import { conntrackFor, natOf, parseConntrack } from './conntrack.js';
import { groupPasses, parseTrace } from './monitor-text.js';
import { vmapElement } from './nft-maps.js';
import { type IpvsConnection, ipvsConnectionFor, parseIpvsConnections } from './ipvs.js';
import { type ModelTunnel, type TunnelHop, tunnelHop } from './tunnel.js';
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
  /** IPVS mode: the IPVS connection of the probe here (its virtual server and the real server chosen). */
  ipvs?: IpvsConnection;
  /** IPVS mode: why IPVS's connections could not be read here (no ip_vs in the kernel). */
  ipvsSkipped?: string;
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
  /** IPVS mode: the first namespace on the way whose IPVS connections hold the probe's, with it. */
  ipvs?: { netns: string; connection: IpvsConnection };
  /** Each tunnel the probe's packets (way out and replies) were sent into, with the outer header, in path order. */
  tunnels?: TunnelHop[];
}

/** What the model knows of the nodes' tunnels (by namespace), for where the kernel showed no entry. */
export interface TraceContext {
  tunnels?: ReadonlyMap<string, ModelTunnel>;
}

/** A pass on the way out: its packets carry knetlab's DSCP mark. */
export function isOutbound(p: TracePass): boolean {
  return p.packet.dscp === PROBE_DSCP;
}

/** Reads every namespace's capture into the probe's structured trace. */
export function traceResult(probe: ProbeKey, captures: readonly NamespaceCapture[], context: TraceContext = {}): TraceResult {
  const namespaces = captures.map((c): NamespaceTrace => {
    const passes = groupPasses(parseTrace(c.monitor, c.trace, c.netns));
    // A vmap's verdict comes from an element: name it (and the Service in its comment) beside the rule.
    if (c.nftMaps)
      for (const e of passes.flatMap((p) => p.hooks.flatMap((h) => h.events))) {
        const element = e.rule && e.verdict !== 'continue' ? vmapElement(c.nftMaps, e.table, e.rule, e.packet) : undefined;
        if (element) e.element = element;
      }
    const first = passes.find(isOutbound);
    const entry = first ? conntrackFor(parseConntrack(c.conntrack), first.packet, probe.proto) : undefined;
    const dropped = droppedIn(passes);
    const source = first?.packet.src && first.packet.sport !== undefined ? `${first.packet.src}:${first.packet.sport}` : undefined;
    const ipvs = c.ipvs && 'connections' in c.ipvs && source ? ipvsConnectionFor(parseIpvsConnections(c.ipvs.connections), probe.proto, source) : undefined;
    return {
      netns: c.netns,
      passes,
      ...(entry ? { conntrack: entry } : {}),
      nat: entry ? natOf(entry) : {},
      ...(dropped ? { dropped } : {}),
      ...(ipvs ? { ipvs } : {}),
      ...(c.ipvs && 'skipped' in c.ipvs ? { ipvsSkipped: c.ipvs.skipped } : {}),
    };
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
  const ipvs = inPath.find((n) => n.ipvs);
  const order2 = [...path, ...namespaces.map((n) => n.netns).filter((n) => !path.includes(n))];
  const tunnels = order2.flatMap((netns) => tunnelsOf(namespaces.find((n) => n.netns === netns)!, captures.find((c) => c.netns === netns)!, context));
  return {
    probe,
    path,
    namespaces,
    ...(dnat?.nat.dnat ? { dnat: { netns: dnat.netns, ...dnat.nat.dnat } } : {}),
    ...(snat?.nat.snat ? { snat: { netns: snat.netns, ...snat.nat.snat } } : {}),
    ...(dropped ? { dropped } : {}),
    ...(ipvs?.ipvs ? { ipvs: { netns: ipvs.netns, connection: ipvs.ipvs } } : {}),
    ...(tunnels.length ? { tunnels } : {}),
  };
}

/**
 * The first rule (or policy) that dropped or rejected a packet here; a vmap's drop, or a reject in
 * the chain a vmap went to, carries the map's element that decided it.
 */
function droppedIn(passes: readonly TracePass[]): TraceEvent | undefined {
  for (const h of passes.flatMap((p) => p.hooks)) {
    const i = h.events.findIndex((e) => e.verdict === 'drop' || e.verdict === 'reject');
    if (i < 0) continue;
    const e = h.events[i]!;
    const element = h.events.slice(0, i + 1).findLast((x) => x.element)?.element;
    return element && !e.element ? { ...e, element } : e;
  }
  return undefined;
}

/** The first packet each way that left this namespace into a tunnel device, with its outer header. */
function tunnelsOf(ns: NamespaceTrace, capture: NamespaceCapture, context: TraceContext): TunnelHop[] {
  const model = context.tunnels?.get(ns.netns);
  const devices = new Set([...(capture.tunnels ?? []).map((t) => t.device), ...(model ? [model.device] : [])]);
  const out: TunnelHop[] = [];
  for (const direction of ['probe', 'reply'] as const) {
    for (const pass of ns.passes.filter((p) => isOutbound(p) === (direction === 'probe'))) {
      const last = [...pass.hooks].reverse().find((h) => h.packet.oif);
      if (!last?.packet.oif || !devices.has(last.packet.oif) || !last.packet.dst) continue;
      const hop = tunnelHop(ns.netns, direction, last.packet.oif, last.packet.dst, capture.tunnels, model);
      if (hop) out.push(hop);
      break;
    }
  }
  return out;
}

/** The chains a pass went through, in order, as `table/chain` (knetlab's own left out). */
export function chainsOf(pass: TracePass): string[] {
  const out: string[] = [];
  for (const h of pass.hooks) for (const e of h.events) if (out.at(-1) !== `${e.table}/${e.chain}`) out.push(`${e.table}/${e.chain}`);
  return out;
}
