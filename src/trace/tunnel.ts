// The outer packet of a probe sent into a tunnel (flannel.1, vxlan.calico: VXLAN; tunl0: IPIP): read
// from the kernel's own state at disarm (the device, its route, neighbour and fdb entry), or, where
// the kernel showed no entry, from the model's topology; the hop says which.
import { cidrContains, isIPv4, parseCidr } from '../util/ip.js';
import type { TunnelCapture } from './types.js';

export type TunnelKind = 'vxlan' | 'ipip';

/** A packet's way into a tunnel, with the outer header the kernel wraps it in. */
export interface TunnelHop {
  netns: string;
  /** probe: the probe's way out; reply: a reply's way back. */
  direction: 'probe' | 'reply';
  device: string;
  kind: TunnelKind;
  /** The inner packet's destination, as it left the namespace. */
  inner: string;
  /** The next hop on the device the route gave (VXLAN: the peer's VTEP address; IPIP: the peer's LAN address). */
  via?: string;
  /** The outer source and destination: this node's and the peer node's LAN addresses. */
  local?: string;
  remote?: string;
  /** VXLAN: the outer UDP destination port and the VNI. */
  port?: number;
  vni?: number;
  /** kernel: every field from the namespace's device, route, neighbour and fdb entry; model: some or all from the scenario's topology. */
  from: 'kernel' | 'model';
}

/** What the model says of one node's tunnel: its device, and each peer's subnet behind it. */
export interface ModelTunnel {
  device: string;
  kind: TunnelKind;
  local: string;
  port?: number;
  vni?: number;
  peers: { podCIDR: string; remote: string }[];
}

interface LinkJson {
  ifname?: string;
  linkinfo?: { info_kind?: string; info_data?: { id?: number; local?: string; port?: number } };
}
interface RouteJson {
  dst?: string;
  gateway?: string;
}
interface NeighJson {
  dst?: string;
  lladdr?: string;
}
interface FdbJson {
  mac?: string;
  dst?: string;
}

/** Whether an address is in a CIDR; false for anything that is not IPv4 (the kernel's IPv6 routes). */
function inCidr(ip: string, cidr: string): boolean {
  const c = parseCidr(cidr);
  return typeof c !== 'string' && isIPv4(ip) && cidrContains(c, ip);
}

function parse<T>(text: string): T[] {
  try {
    const v = JSON.parse(text || '[]') as unknown;
    return Array.isArray(v) ? (v as T[]) : [];
  } catch {
    return [];
  }
}

/** The route of the device that `dst` takes: the longest prefix holding it (`default` holds everything). */
function routeFor(routes: readonly RouteJson[], dst: string): RouteJson | undefined {
  let best: { r: RouteJson; bits: number } | undefined;
  for (const r of routes) {
    if (!r.dst) continue;
    const cidr = r.dst === 'default' ? '0.0.0.0/0' : r.dst.includes('/') ? r.dst : `${r.dst}/32`;
    const bits = Number(cidr.split('/')[1]);
    if (inCidr(dst, cidr) && (!best || bits > best.bits)) best = { r, bits };
  }
  return best?.r;
}

/** The outer header the kernel gives a packet to `inner` sent into this tunnel device, from its state; undefined fields where the kernel showed no entry. */
export function kernelTunnelHop(c: TunnelCapture, inner: string): Omit<TunnelHop, 'netns' | 'direction' | 'from'> | undefined {
  const [link] = parse<LinkJson>(`[${c.link}]`);
  const kind = link?.linkinfo?.info_kind;
  if (kind !== 'vxlan' && kind !== 'ipip') return undefined;
  const data = link?.linkinfo?.info_data ?? {};
  const local = data.local && data.local !== 'any' ? data.local : undefined;
  const route = routeFor(parse<RouteJson>(c.routes), inner);
  const via = route?.gateway;
  let remote: string | undefined;
  if (kind === 'ipip') remote = via;
  else if (via) {
    const mac = parse<NeighJson>(c.neighbours).find((n) => n.dst === via)?.lladdr;
    remote = mac ? parse<FdbJson>(c.fdb).find((f) => f.mac === mac)?.dst : undefined;
  }
  return {
    device: c.device,
    kind,
    inner,
    ...(via ? { via } : {}),
    ...(local ? { local } : {}),
    ...(remote ? { remote } : {}),
    ...(kind === 'vxlan' && data.port !== undefined ? { port: data.port } : {}),
    ...(kind === 'vxlan' && data.id !== undefined ? { vni: data.id } : {}),
  };
}

/**
 * A packet to `inner` leaving `netns` by `device`: the kernel's answer where it has every field, the
 * model's fields for the rest (then `from: 'model'`); undefined when neither knows the device.
 */
export function tunnelHop(
  netns: string,
  direction: TunnelHop['direction'],
  device: string,
  inner: string,
  captures: readonly TunnelCapture[] | undefined,
  model: ModelTunnel | undefined,
): TunnelHop | undefined {
  const c = captures?.find((x) => x.device === device);
  const k = c ? kernelTunnelHop(c, inner) : undefined;
  const complete = k?.local && k.remote && (k.kind === 'ipip' || (k.port !== undefined && k.vni !== undefined));
  if (k && complete) return { netns, direction, ...k, from: 'kernel' };
  const m = model?.device === device ? model : undefined;
  if (!m) return k ? { netns, direction, ...k, from: 'kernel' } : undefined;
  const remote = m.peers.find((p) => inCidr(inner, p.podCIDR))?.remote;
  return {
    netns,
    direction,
    device,
    kind: m.kind,
    inner,
    ...(k?.via ? { via: k.via } : {}),
    local: k?.local ?? m.local,
    ...((k?.remote ?? remote) ? { remote: k?.remote ?? remote } : {}),
    ...((k?.port ?? m.port) !== undefined ? { port: k?.port ?? m.port } : {}),
    ...((k?.vni ?? m.vni) !== undefined ? { vni: k?.vni ?? m.vni } : {}),
    from: 'model',
  };
}
