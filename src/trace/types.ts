import type { MapElement } from './nft-maps.js';

/** The protocols a traced probe can use: it is told apart by its source port (ICMP: its echo identifier, `ping -e`). */
export const traceProtos = ['tcp', 'udp', 'sctp', 'icmp'] as const;
export type TraceProto = (typeof traceProtos)[number];

/** One probe, as the tracer recognises its packets: protocol and the source port it sends from. */
export interface ProbeKey {
  proto: TraceProto;
  /** The source port; for icmp the echo identifier (`ping -e ID`). */
  sport: number;
}

/** Which monitor printed a capture: `xtables-monitor --trace` (iptables-save text with comments) or `nft monitor trace`. */
export const traceMonitors = ['xtables', 'nft'] as const;
export type TraceMonitor = (typeof traceMonitors)[number];

/** A packet as a monitor shows it when it enters a base chain. */
export interface TracePacket {
  iif?: string;
  oif?: string;
  src?: string;
  dst?: string;
  /** tcp, udp, icmp, or the protocol number. */
  proto?: string;
  sport?: number;
  dport?: number;
  ttl?: number;
  /** The DSCP bits of the IP header (knetlab marks a traced probe's packets with 0x2d). */
  dscp?: number;
  /** The IP header's identification field. */
  ipId?: number;
  len?: number;
  /** The firewall mark, hex as printed (0x4000); absent when 0. */
  mark?: string;
  /** TCP flags as printed, lower case (syn, ack, ...). */
  tcpFlags?: string[];
  /** The ICMP type, e.g. destination-unreachable (nft only: xtables-monitor prints no ICMP header). */
  icmpType?: string;
  /** The ICMP echo identifier (nft only). */
  icmpId?: number;
}

/** How a rule or a chain's policy let the packet go on. */
export type Verdict = 'continue' | 'accept' | 'drop' | 'reject' | 'return' | 'jump' | 'goto' | 'queue' | 'stolen';

/** One rule (or policy) that a traced packet matched, in order. */
export interface TraceEvent {
  /** The network namespace it happened in. */
  netns: string;
  /** The kernel's trace id: one packet in one namespace (ids repeat for later packets). */
  traceId: string;
  /** nf_tables family: ip, ip6, inet, bridge, arp. */
  family: string;
  table: string;
  chain: string;
  /** `policy`: the base chain's default verdict; `return`: an implicit return at a chain's end. */
  kind: 'rule' | 'policy' | 'return';
  /** The rule's handle (xtables-monitor prints it in hex; the number is the same). */
  handle?: number;
  /** The rule as the monitor printed it: iptables-save text with its comment (xtables), or nft syntax. */
  rule?: string;
  verdict: Verdict;
  /** The chain jumped or gone to. */
  target?: string;
  /** The packet as it entered the base chain this event belongs to. */
  packet: TracePacket;
  /** A vmap rule: the map's element the packet matched (with the Service its comment names), from the maps read at disarm. */
  element?: MapElement;
}

/** One packet's way through one namespace: the base chains it entered, with the rules it matched in each. */
export interface TracePass {
  netns: string;
  traceId: string;
  /** The packet as first seen in the namespace (before any NAT there). */
  packet: TracePacket;
  /** Each base chain entered, with the packet as it was then, and the rules matched (knetlab's own tracing rules left out). */
  hooks: { family: string; table: string; chain: string; packet: TracePacket; events: TraceEvent[] }[];
}

/** An address and port of a conntrack tuple. */
export interface Endpoint {
  src: string;
  dst: string;
  sport?: number;
  dport?: number;
  /** ICMP: the echo identifier. */
  id?: number;
}

/** One conntrack entry, as `conntrack -L` prints it. */
export interface ConntrackEntry {
  proto: string;
  /** Seconds left, when printed. */
  timeout?: number;
  /** TCP state (SYN_SENT, ESTABLISHED, TIME_WAIT, ...); absent for UDP. */
  state?: string;
  orig: Endpoint;
  reply: Endpoint;
  /** ASSURED, UNREPLIED, ... without the brackets. */
  flags: string[];
  mark?: number;
  /** The line as printed. */
  line: string;
}

/** What NAT a conntrack entry shows: DNAT when the reply comes from elsewhere than the original destination, SNAT when it goes elsewhere than the original source. */
export interface NatFacts {
  dnat?: { from: string; to: string };
  snat?: { from: string; to: string };
}

/** What one armed namespace gave: the monitor's text and the conntrack table after the probe. */
export interface NamespaceCapture {
  netns: string;
  monitor: TraceMonitor;
  /** The monitor's output, knetlab's marker packets included (the parsers leave them out). */
  trace: string;
  /** `conntrack -L -p PROTO` after the probe: every entry of the protocol in the namespace. */
  conntrack: string;
  /** The tunnel devices here (VXLAN, IPIP) after the probe, each with what decides a packet's outer header. */
  tunnels?: TunnelCapture[];
  /** nft monitor: `nft -j list maps ip` after the probe (kube-proxy's verdict maps, their elements with the Services' comments). */
  nftMaps?: string;
  /** IPVS mode: `ipvsadm -Lnc` after the probe, or why it could not be read (no ip_vs in the kernel). */
  ipvs?: { connections: string } | { skipped: string };
}

/** One tunnel device as the kernel holds it: all JSON as `ip -j` / `bridge -j` print it. */
export interface TunnelCapture {
  device: string;
  /** Its entry of `ip -j -d link show` (kind, VNI, local address, UDP port). */
  link: string;
  /** `ip -j route show dev DEVICE`: the pod subnets sent into it and their next hops. */
  routes: string;
  /** `ip -j neigh show dev DEVICE`: each next hop's MAC (VXLAN). */
  neighbours: string;
  /** `bridge -j fdb show dev DEVICE`: each MAC's remote address (VXLAN; empty for IPIP). */
  fdb: string;
}

/** The kernel's routing decision for a packet, as `ip -j route get` gives it. */
export interface RouteDecision {
  /** unicast, local, unreachable, blackhole, ... */
  type: string;
  dst: string;
  dev?: string;
  gateway?: string;
  prefsrc?: string;
  /** The kernel's refusal (e.g. "Network is unreachable") when there is no route. */
  error?: string;
}
