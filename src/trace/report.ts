// A traced probe as people read it: the path through the namespaces, where it was NATed and by
// which rule, where it was dropped, every address named. Pure: the probe's result in, lines out.
import type { ProxyMode } from '../proxy/modes.js';
import { kernelVerdict, natTarget } from './verdict.js';
import { isOutbound, type TraceResult } from './result.js';
import type { MapElement } from './nft-maps.js';
import type { TunnelHop } from './tunnel.js';
import type { ConntrackEntry, RouteDecision, TraceEvent, TracePacket, TracePass } from './types.js';

/** What `knetlab trace`, `run --trace` and a failed step's trace probe sent, and what the kernel showed of it. */
export interface TraceReport {
  /** http and tcp send TCP, udp UDP, ping ICMP. */
  kind: 'http' | 'tcp' | 'udp' | 'sctp' | 'ping';
  from: { ref: string; netns: string; ip: string };
  to: { ref: string; ip: string; port?: number; meaning: string };
  mode: ProxyMode;
  /** The probe's source port (ping: its echo identifier), by which its packets were told apart. */
  sport: number;
  /** The probe got its answer (an HTTP response, a connect, a datagram back, an echo reply). */
  answered: boolean;
  /** How the probe ended, in its tool's words (HTTP 200 from pod/web, connection refused, timeout). */
  ended: string;
  result: TraceResult;
  /** `ip route get` in each namespace of the path, for the probe's first packet as it arrived there (knetlab trace, --trace, a failed step). */
  routes?: RouteHop[];
  /** Namespaces the probe could have crossed that were not armed (more than the most armed at once): what it did there is unknown. */
  notTraced?: string[];
}

/** The routing decision in one namespace for the probe's packet: asked after the probe, of the routes then. */
export interface RouteHop {
  netns: string;
  query: { dst: string; from?: string; iif?: string };
  decision: RouteDecision;
}

/** Names for what a trace prints: an address (`10.244.1.0 (node/node-2@flannel.1)`) and a namespace (`node/node-2`). */
export interface Namer {
  ip(ip: string): string;
  netns(netns: string): string;
}

/** The outcome in one line: delivered and answered, dropped or rejected by which rule where, or no answer. */
export function outcomeLine(r: TraceReport, n: Namer): string {
  const d = r.result.dropped;
  if (d)
    return `${d.verdict === 'reject' ? 'rejected' : 'dropped'} in ${n.netns(d.netns)} by ${ruleName(d)}${d.rule ? `: ${d.rule}` : ''}${d.element ? `; ${elementText(d.element)}` : ''}`;
  if (r.answered) return `answered: ${r.ended}`;
  const last = r.result.path.at(-1);
  return `no answer (${r.ended}); no traced rule dropped it${last ? `, last seen in ${n.netns(last)}` : ''}`;
}

/** The few lines that matter, for a failed step's report: the outcome, the path, each NAT. */
export function traceSummary(r: TraceReport, n: Namer): string[] {
  const out = [outcomeLine(r, n)];
  if (r.result.path.length) out.push(`path: ${r.result.path.map((p) => n.netns(p)).join(' > ')}`);
  for (const h of r.result.tunnels ?? []) if (h.direction === 'probe') out.push(`${h.kind.toUpperCase()} from ${n.netns(h.netns)} by ${h.device}: ${tunnelText(h, n)}`);
  const ipvs = r.result.ipvs;
  const byIpvs = ipvs ? `, by IPVS (virtual server ${namedAddress(ipvs.connection.virtual, n)}, real server ${namedAddress(ipvs.connection.destination, n)})` : '';
  const v = kernelVerdict(r.result);
  const confirmed = v.dnat && !v.dnat.unconfirmed ? v.dnat : undefined;
  if (confirmed) {
    // IPVS forwards to a real server without a netfilter rule: its connection table (or else conntrack) shows the translation.
    const by =
      (ipvs?.netns === confirmed.netns ? byIpvs : '') ||
      (confirmed.rule ? `, by ${ruleName(confirmed.rule)}` : '') ||
      (r.mode === 'ipvs' ? ', by IPVS (the virtual server of that address and port)' : '');
    out.push(`DNAT in ${n.netns(confirmed.netns)}: ${namedAddress(confirmed.from ?? '?', n)} -> ${namedAddress(confirmed.to, n)}${by}`);
  } else if (ipvs) out.push(`DNAT in ${n.netns(ipvs.netns)}: ${namedAddress(ipvs.connection.virtual, n)} -> ${namedAddress(ipvs.connection.destination, n)}${byIpvs}`);
  const skipped = r.mode === 'ipvs' ? r.result.namespaces.filter((x) => x.ipvsSkipped) : [];
  if (skipped.length) out.push(`IPVS's connections not read in ${skipped.length} namespace${skipped.length === 1 ? '' : 's'}: ${skipped[0]!.ipvsSkipped}`);
  // A packet dropped after its DNAT leaves no conntrack entry (never confirmed): the rule tells.
  const unconfirmed = v.dnat?.unconfirmed && !ipvs ? v.dnat : undefined;
  if (unconfirmed?.rule)
    out.push(
      `DNAT in ${n.netns(unconfirmed.netns)}: ${namedAddress(unconfirmed.from ?? '?', n)} -> ${namedAddress(unconfirmed.to, n)}, by ${ruleName(unconfirmed.rule)} (its connection was not confirmed)`,
    );
  const m = v.masquerade;
  if (m) out.push(`SNAT in ${n.netns(m.netns)}: ${namedAddress(m.from ?? '?', n)} -> ${namedAddress(m.to, n)}${m.rule ? `, by ${ruleName(m.rule)}` : ''}`);
  if (!confirmed && !ipvs && !unconfirmed && !m) out.push('no NAT on the way');
  if (r.notTraced?.length) out.push(`not traced (more namespaces than are armed at once): ${r.notTraced.map((x) => n.netns(x)).join(', ')}`);
  return out;
}

/** The whole trace: the summary, then every namespace crossed, its packets in and out, the chains each hook went through. */
export function renderTrace(r: TraceReport, n: Namer): string[] {
  const to = `${r.to.ref} = ${r.to.port === undefined ? n.ip(r.to.ip) : namedAddress(`${r.to.ip}:${r.to.port}`, n)}`;
  const out = [
    `trace ${r.kind} ${r.from.ref} (${r.from.ip}) -> ${to} (${r.to.meaning}), kube-proxy in ${r.mode} mode; the probe's ${r.kind === 'ping' ? 'echo id' : 'source port'} ${r.sport}`,
    ...traceSummary(r, n),
  ];
  const inPath = r.result.path;
  const others = r.result.namespaces.filter((ns) => !inPath.includes(ns.netns) && ns.passes.length).map((ns) => ns.netns);
  for (const netns of [...inPath, ...others]) {
    const ns = r.result.namespaces.find((x) => x.netns === netns)!;
    out.push('', `${n.netns(netns)}${inPath.includes(netns) ? '' : ' (replies only)'}`);
    // The connection's first packet each way in full; later ones only when a rule did more than let them through.
    let firstOut = true;
    let firstBack = true;
    let more = 0;
    for (const pass of ns.passes) {
      const outbound = isOutbound(pass);
      const first = outbound ? firstOut : firstBack;
      if (outbound) firstOut = false;
      else firstBack = false;
      const route = outbound && first ? r.routes?.find((x) => x.netns === netns) : undefined;
      if (first || notable(pass)) out.push(...passLines(pass, n, r.result.tunnels ?? [], route));
      else more++;
    }
    if (more) out.push(`  ${more} later packet${more === 1 ? '' : 's'} of the connection, let through as established`);
    if (ns.conntrack) out.push(`  conntrack: ${conntrackLine(ns.conntrack, n)}`);
  }
  return out;
}

/** The outer header: `192.168.8.202 (node/node-2) -> 192.168.8.201 (node/node-1), UDP 8472, VNI 1 (from the kernel: ...)`. */
function tunnelText(h: TunnelHop, n: Namer): string {
  const outer = `${h.local ? n.ip(h.local) : '?'} -> ${h.remote ? n.ip(h.remote) : '?'}`;
  const udp = h.kind === 'vxlan' ? `, UDP ${h.port ?? '?'}, VNI ${h.vni ?? '?'}` : '';
  const why =
    h.from === 'kernel'
      ? `from the kernel: ${h.device}'s ${h.kind === 'vxlan' ? `route, neighbour and fdb entry${h.via ? ` for ${n.ip(h.via)}` : ''}` : `route${h.via ? ` via ${n.ip(h.via)}` : ''}`}`
      : `from the model: the kernel showed no ${h.device} entry for ${h.inner}`;
  return `${outer}${udp} (${why})`;
}

/** A pass where a rule dropped, rejected or NATed the packet. */
function notable(pass: TracePass): boolean {
  return pass.hooks.some((h) => h.events.some((e) => e.verdict === 'drop' || e.verdict === 'reject' || (e.rule !== undefined && natTarget(e.rule) !== undefined)));
}

function passLines(pass: TracePass, n: Namer, tunnels: readonly TunnelHop[], route?: RouteHop): string[] {
  const p = pass.packet;
  const dir = isOutbound(pass) ? 'probe' : 'reply';
  const lastOif = [...pass.hooks].reverse().find((h) => h.packet.oif)?.packet.oif;
  const where = [p.iif ? `in ${p.iif}` : 'sent', lastOif ? `out ${lastOif}` : ''].filter(Boolean).join(', ');
  const out = [`  ${dir} ${where}: ${packetText(p, n)}`];
  if (route) out.push(`    route: ${routeText(route, n)}`);

  for (const h of pass.hooks) {
    const steps = hookSteps(h.events);
    if (steps.length) out.push(`    ${h.table} ${h.chain}: ${steps.join(' > ')}`);
  }
  const tunnel = tunnels.find((h) => h.netns === pass.netns && h.direction === dir && h.device === lastOif);
  if (tunnel) out.push(`    into ${tunnel.device} as ${tunnel.kind.toUpperCase()} ${tunnelText(tunnel, n)}`);
  return out;
}

/** `10.244.0.3 (pod/web) via 10.244.0.0 dev flannel.1`, `... local`, `... no route: Network is unreachable`. */
function routeText(r: RouteHop, n: Namer): string {
  const d = r.decision;
  const to = namedAddress(r.query.dst, n);
  if (d.error) return `${to}: no route (${d.error})`;
  if (d.type === 'local') return `${to} is local: delivered here`;
  return `${to}${d.type === 'unicast' ? '' : ` ${d.type}`}${d.gateway ? ` via ${namedAddress(d.gateway, n)}` : ''}${d.dev ? ` dev ${d.dev}` : ''}`;
}

/** A hook's way through its chains: each jump's target with the comment of the rule that jumped, then what ended it. */
function hookSteps(events: readonly TraceEvent[]): string[] {
  const out: string[] = [];
  for (const e of events) {
    const comment = e.rule ? commentOf(e.rule) : undefined;
    // An element without a comment adds nothing to a jump's target; on a drop it still says which.
    const element = e.element && (e.element.comment || e.verdict === 'drop' || e.verdict === 'reject') ? e.element : undefined;
    const said = comment ? ` "${comment}"` : element ? ` (${elementText(element)})` : '';
    if ((e.verdict === 'jump' || e.verdict === 'goto') && e.target) out.push(`${e.target}${said}`);
    else if (e.kind === 'policy') out.push(`policy ${e.verdict}`);
    else if (e.verdict === 'drop' || e.verdict === 'reject') out.push(`${e.verdict.toUpperCase()}${said}`);
    else if (e.verdict === 'accept' && e.rule) out.push(natTarget(e.rule) ?? 'accept');
  }
  return out;
}

/** `@no-endpoint-services element 172.30.0.46 . tcp . 80 "ns1/svc4:p80": goto reject-chain`. */
function elementText(el: MapElement): string {
  return `@${el.map} element ${el.key}${el.comment ? ` "${el.comment}"` : ''}: ${el.verdict}`;
}

function ruleName(e: TraceEvent): string {
  if (e.kind === 'policy') return `the policy of ${e.table} ${e.chain}`;
  const comment = e.rule ? commentOf(e.rule) : undefined;
  return `${e.table} ${e.chain}${comment ? ` "${comment}"` : ''}`;
}

/** kube-proxy's comment on a rule (`-m comment --comment "default/web:http"`, nft `comment "..."`): the Service it stands for. */
export function commentOf(rule: string): string | undefined {
  const m = /--comment (?:"((?:[^"\\]|\\.)*)"|(\S+))/.exec(rule) ?? /\bcomment "((?:[^"\\]|\\.)*)"/.exec(rule);
  return m ? (m[1] ?? m[2]) : undefined;
}

function packetText(p: TracePacket, n: Namer): string {
  const src = p.src ? namedAddress(p.sport === undefined ? p.src : `${p.src}:${p.sport}`, n) : '?';
  const dst = p.dst ? namedAddress(p.dport === undefined ? p.dst : `${p.dst}:${p.dport}`, n) : '?';
  const flags = p.tcpFlags?.length ? ` [${p.tcpFlags.join(',')}]` : p.icmpType ? ` [${p.icmpType}]` : '';
  return `${src} -> ${dst}${flags}`;
}

function conntrackLine(e: ConntrackEntry, n: Namer): string {
  const side = (x: ConntrackEntry['orig']) =>
    `${namedAddress(x.sport === undefined ? x.src : `${x.src}:${x.sport}`, n)} -> ${namedAddress(x.dport === undefined ? x.dst : `${x.dst}:${x.dport}`, n)}`;
  return `${e.proto}${e.state ? ` ${e.state}` : ''} original ${side(e.orig)}, reply ${side(e.reply)}${e.flags.length ? ` [${e.flags.join(',')}]` : ''}`;
}

/** `10.244.0.3:80 (pod/web-0)` from `10.244.0.3:80` or a bare address. */
export function namedAddress(s: string, n: Namer): string {
  const m = /^(\d+\.\d+\.\d+\.\d+)(?::(\d+))?$/.exec(s);
  if (!m) return s;
  const named = n.ip(m[1]!);
  if (m[2] === undefined) return named;
  const paren = named.indexOf(' (');
  return paren < 0 ? `${named}:${m[2]}` : `${named.slice(0, paren)}:${m[2]}${named.slice(paren)}`;
}
