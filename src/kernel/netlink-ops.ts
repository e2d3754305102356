// The `ip` and `bridge` batch lines that netns-config.py applies itself, by rtnetlink, parsed into
// its requests. Only the exact forms the dataplane renders for the topology are known (with the
// same meaning as iproute2 gives them); any other line, or any doubt, is left to `ip` and `bridge`,
// so that nothing is ever silently skipped.
import { isIPv4, parseCidr } from '../util/ip.js';

/** Attributes `link add` and `link set` share. */
interface LinkAttrs {
  dev: string;
  up?: boolean;
  address?: string;
  mtu?: number;
  master?: string;
}

/** The far end of a veth: made in `netns` (the namespace of the line when absent). */
export interface VethPeer {
  name: string;
  address?: string;
  mtu?: number;
  netns?: string;
}

/** A VXLAN device as flannel makes it: no learning. */
export interface Vxlan {
  id: number;
  local: string;
  dev: string;
  dstport: number;
}

/** One request of netns-config.py; `line` is the batch line it stands for, quoted in its errors. */
export type NetlinkOp =
  | ({ op: 'link'; cmd: 'add'; kind: 'bridge'; line: string } & LinkAttrs)
  | ({ op: 'link'; cmd: 'add'; kind: 'veth'; peer: VethPeer; line: string } & LinkAttrs)
  | ({ op: 'link'; cmd: 'add'; kind: 'vxlan'; vxlan: Vxlan; line: string } & LinkAttrs)
  | ({ op: 'link'; cmd: 'set'; hairpin?: boolean; line: string } & LinkAttrs)
  | { op: 'link'; cmd: 'del'; dev: string; line: string }
  | { op: 'addr'; cmd: 'add' | 'replace'; dev: string; address: string; prefix: number; line: string }
  | { op: 'route'; cmd: 'add' | 'replace'; dev: string; dst: string; prefix: number; via: string; onlink: boolean; line: string }
  | { op: 'route'; cmd: 'add' | 'replace'; dev: string; dst: string; prefix: number; scope: 'link'; line: string }
  | { op: 'route'; cmd: 'add' | 'replace'; dst: string; prefix: number; blackhole: true; line: string }
  | { op: 'sysctl'; key: string; value: string; line: string }
  | { op: 'neigh'; cmd: 'add' | 'replace'; dev: string; dst: string; lladdr: string; line: string }
  | { op: 'fdb'; cmd: 'add' | 'replace' | 'append'; dev: string; lladdr: string; dst: string; line: string };

// Linux's IFNAMSIZ less the NUL; no slash or whitespace, not `.` or `..`.
const DEV = /^(?!\.\.?$)[^\s/]{1,15}$/;
// A file name under /run/netns.
const NETNS = /^(?!\.\.?$)[^\s/]{1,255}$/;
const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;
const MTU = /^\d{2,5}$/;
const MTU_MAX = 65535;

const isDev = (s: string | undefined): s is string => s !== undefined && DEV.test(s);
const isMtu = (s: string | undefined): s is string => s !== undefined && MTU.test(s) && Number(s) <= MTU_MAX;

/** `A.B.C.D/N` with 0 <= N <= 32, host bits allowed (an interface address). */
function addressWithPrefix(s: string): { address: string; prefix: number } | undefined {
  const m = /^([0-9.]+)\/(\d{1,2})$/.exec(s);
  if (!m || !isIPv4(m[1]!) || Number(m[2]) > 32) return undefined;
  return { address: m[1]!, prefix: Number(m[2]) };
}

/**
 * Reads `key value` pairs and flags from w[from..to), each at most once, into `into`; false when
 * a word is not one of `keys` (each key with its check of the value, or null for a flag).
 */
function readWords(w: string[], from: number, to: number, keys: Record<string, ((v: string | undefined) => boolean) | null>, into: Record<string, string | true>): boolean {
  for (let i = from; i < to; i++) {
    const word = w[i]!;
    if (!Object.hasOwn(keys, word) || Object.hasOwn(into, word)) return false;
    const check = keys[word];
    if (check === null) into[word] = true;
    else if (check!(w[i + 1])) into[word] = w[++i]!;
    else return false;
  }
  return true;
}

const LINK_KEYS = { up: null, address: (v: string | undefined) => v !== undefined && MAC.test(v), mtu: isMtu, master: isDev };

function linkAttrs(dev: string, words: Record<string, string | true>): LinkAttrs {
  return {
    dev,
    ...(words.up ? { up: true } : {}),
    ...(typeof words.address === 'string' ? { address: words.address } : {}),
    ...(typeof words.mtu === 'string' ? { mtu: Number(words.mtu) } : {}),
    ...(typeof words.master === 'string' ? { master: words.master } : {}),
  };
}

function parseLinkAdd(w: string[], line: string): NetlinkOp | undefined {
  const dev = w[2];
  const type = w.indexOf('type');
  if (!isDev(dev) || type < 0) return undefined;
  const words: Record<string, string | true> = {};
  if (!readWords(w, 3, type, LINK_KEYS, words)) return undefined;
  const attrs = linkAttrs(dev, words);
  const kind = w[type + 1];
  if (kind === 'bridge' && w.length === type + 2) return { op: 'link', cmd: 'add', kind, ...attrs, line };
  if (kind === 'veth' && w[type + 2] === 'peer' && w[type + 3] === 'name' && isDev(w[type + 4])) {
    const p: Record<string, string | true> = {};
    const keys = { address: LINK_KEYS.address, mtu: isMtu, netns: (v: string | undefined) => v !== undefined && NETNS.test(v) };
    if (!readWords(w, type + 5, w.length, keys, p)) return undefined;
    const peer: VethPeer = {
      name: w[type + 4]!,
      ...(typeof p.address === 'string' ? { address: p.address } : {}),
      ...(typeof p.mtu === 'string' ? { mtu: Number(p.mtu) } : {}),
      ...(typeof p.netns === 'string' ? { netns: p.netns } : {}),
    };
    return { op: 'link', cmd: 'add', kind, ...attrs, peer, line };
  }
  if (kind === 'vxlan') {
    const v: Record<string, string | true> = {};
    const keys = {
      id: (s: string | undefined) => s !== undefined && /^\d{1,8}$/.test(s) && Number(s) < 2 ** 24,
      local: (s: string | undefined) => s !== undefined && isIPv4(s),
      dev: isDev,
      dstport: (s: string | undefined) => s !== undefined && /^\d{1,5}$/.test(s) && Number(s) > 0 && Number(s) < 65536,
      nolearning: null,
    };
    // All of them: a default left to the kernel is a default iproute2 might set otherwise.
    if (!readWords(w, type + 2, w.length, keys, v) || Object.keys(v).length !== Object.keys(keys).length) return undefined;
    return { op: 'link', cmd: 'add', kind, ...attrs, vxlan: { id: Number(v.id), local: v.local as string, dev: v.dev as string, dstport: Number(v.dstport) }, line };
  }
  return undefined;
}

function parseLinkSet(w: string[], line: string): NetlinkOp | undefined {
  const dev = w[3];
  if (w[2] !== 'dev' || !isDev(dev) || w.length === 4) return undefined;
  if (w[4] === 'type') {
    // A bridge port's option: only hairpin.
    if (w.length === 8 && w[5] === 'bridge_slave' && w[6] === 'hairpin' && (w[7] === 'on' || w[7] === 'off')) return { op: 'link', cmd: 'set', dev, hairpin: w[7] === 'on', line };
    return undefined;
  }
  const words: Record<string, string | true> = {};
  if (!readWords(w, 4, w.length, { ...LINK_KEYS, down: null }, words) || (words.up && words.down)) return undefined;
  return { op: 'link', cmd: 'set', ...linkAttrs(dev, words), ...(words.down ? { up: false } : {}), line };
}

/** A route's destination as ip reads it: `default`, `A.B.C.D` (a /32) or a CIDR without host bits. */
function routeDestination(to: string): { address: string; prefix: number } | undefined {
  if (to === 'default') return { address: '0.0.0.0', prefix: 0 };
  if (isIPv4(to)) return { address: to, prefix: 32 };
  // A destination with host bits set is an error of ip's; left to ip to report it.
  return typeof parseCidr(to) === 'string' ? undefined : addressWithPrefix(to);
}

/** The request for one `ip -batch` line, or undefined when the line is not one of the known forms. */
export function parseIpLine(line: string): NetlinkOp | undefined {
  const w = line.trim().split(/\s+/);
  if (w[0] === 'link' && w[1] === 'add') return parseLinkAdd(w, line);
  if (w[0] === 'link' && w[1] === 'set') return parseLinkSet(w, line);
  if (w[0] === 'link' && w[1] === 'del' && w[2] === 'dev' && isDev(w[3]) && w.length === 4) return { op: 'link', cmd: 'del', dev: w[3], line };
  if (w[0] === 'addr' && (w[1] === 'add' || w[1] === 'replace') && w.length === 5 && w[3] === 'dev' && isDev(w[4])) {
    const a = addressWithPrefix(w[2]!);
    return a ? { op: 'addr', cmd: w[1], dev: w[4], ...a, line } : undefined;
  }
  if (w[0] === 'route' && (w[1] === 'add' || w[1] === 'replace') && (w.length === 7 || (w.length === 8 && w[7] === 'onlink')) && w[3] === 'via' && w[5] === 'dev') {
    const [, cmd, to, , via, , dev] = w as [string, 'add' | 'replace', string, string, string, string, string];
    if (!isIPv4(via) || !isDev(dev)) return undefined;
    // A destination with host bits set is an error of ip's (left to ip to report it); a bare address is a /32.
    const dst = routeDestination(to);
    return dst ? { op: 'route', cmd, dev, dst: dst.address, prefix: dst.prefix, via, onlink: w.length === 8, line } : undefined;
  }
  // `route add|replace DST dev DEV scope link`: a device route (a bare address is a /32, as ip reads it)
  if (w[0] === 'route' && (w[1] === 'add' || w[1] === 'replace') && w.length === 7 && w[3] === 'dev' && isDev(w[4]) && w[5] === 'scope' && w[6] === 'link') {
    const dst = routeDestination(w[2]!);
    return dst ? { op: 'route', cmd: w[1], dev: w[4], dst: dst.address, prefix: dst.prefix, scope: 'link', line } : undefined;
  }
  // `route add|replace blackhole DST`
  if (w[0] === 'route' && (w[1] === 'add' || w[1] === 'replace') && w.length === 4 && w[2] === 'blackhole') {
    const dst = routeDestination(w[3]!);
    return dst ? { op: 'route', cmd: w[1], dst: dst.address, prefix: dst.prefix, blackhole: true, line } : undefined;
  }
  // `ntable change name arp_cache dev DEV proxy_delay N`: the device's neighbour parameter, as its sysctl
  // (net.ipv4.neigh.DEV.proxy_delay; 0 is 0 in ntable's ms and the sysctl's USER_HZ alike, so only 0 is taken).
  if (
    w[0] === 'ntable' &&
    w[1] === 'change' &&
    w.length === 8 &&
    w[2] === 'name' &&
    w[3] === 'arp_cache' &&
    w[4] === 'dev' &&
    isDev(w[5]) &&
    w[6] === 'proxy_delay' &&
    w[7] === '0'
  ) {
    return { op: 'sysctl', key: `net.ipv4.neigh.${w[5].replaceAll('.', '/')}.proxy_delay`, value: '0', line };
  }
  // `neigh add|replace IP lladdr MAC dev DEV nud permanent`
  if (
    w[0] === 'neigh' &&
    (w[1] === 'add' || w[1] === 'replace') &&
    w.length === 9 &&
    isIPv4(w[2]!) &&
    w[3] === 'lladdr' &&
    MAC.test(w[4]!) &&
    w[5] === 'dev' &&
    isDev(w[6]) &&
    w[7] === 'nud' &&
    w[8] === 'permanent'
  ) {
    return { op: 'neigh', cmd: w[1], dev: w[6], dst: w[2]!, lladdr: w[4]!, line };
  }
  return undefined;
}

/** The request for one `bridge -batch` line: `fdb add|replace|append MAC dev DEV dst IP self permanent`. */
export function parseBridgeLine(line: string): NetlinkOp | undefined {
  const w = line.trim().split(/\s+/);
  if (w[0] !== 'fdb' || (w[1] !== 'add' && w[1] !== 'replace' && w[1] !== 'append') || w.length !== 9) return undefined;
  if (!MAC.test(w[2]!) || w[3] !== 'dev' || !isDev(w[4]) || w[5] !== 'dst' || !isIPv4(w[6]!) || w[7] !== 'self' || w[8] !== 'permanent') return undefined;
  return { op: 'fdb', cmd: w[1], dev: w[4], lladdr: w[2]!, dst: w[6]!, line };
}

function parseAll(lines: readonly string[], parse: (line: string) => NetlinkOp | undefined): NetlinkOp[] | undefined {
  const ops: NetlinkOp[] = [];
  for (const line of lines) {
    const op = parse(line);
    if (!op) return undefined;
    ops.push(op);
  }
  return ops;
}

/** A namespace's ip lines then bridge lines as requests, or undefined when any line is not a known form. */
export function parseNamespaceLines(ip: readonly string[], bridge: readonly string[]): NetlinkOp[] | undefined {
  const a = parseAll(ip, parseIpLine);
  const b = a && parseAll(bridge, parseBridgeLine);
  return a && b ? [...a, ...b] : undefined;
}
