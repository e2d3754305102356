// kube-proxy's nftables verdict maps (no-endpoint-services, no-endpoint-nodeports, firewall-ips,
// service-ips, ...): which element a traced packet matched, and the Service its comment names,
// looked up in `nft -j list maps ip` as read at disarm.
import { cidrContains, ipToInt, isIPv4, parseCidr } from '../util/ip.js';
import type { TracePacket } from './types.js';

/** The element of a verdict map a packet matched. */
export interface MapElement {
  table: string;
  map: string;
  /** The packet's key as nft writes it: `172.30.0.46 . tcp . 80`. */
  key: string;
  /** kube-proxy's comment on the element: the Service port it stands for (`ns1/svc4:p80`). */
  comment?: string;
  /** The element's verdict: `drop`, `goto reject-chain`, ... */
  verdict: string;
}

type NftValue = string | number | { prefix: { addr: string; len: number } } | { range: [string | number, string | number] } | { concat: NftValue[] };
type NftVerdict = Record<string, { target?: string } | null>;
interface NftMap {
  family: string;
  table: string;
  name: string;
  elem?: [NftValue | { elem: { val: NftValue; comment?: string } }, NftVerdict][];
}

/** The key expression and map of a rule's `... vmap @NAME` (`ip daddr . meta l4proto . th dport`), if it has one. */
export function vmapOf(rule: string): { selectors: string[]; map: string } | undefined {
  const m = /(?<![\w@.-])((?:[a-z0-9_]+ [a-z0-9_]+ \. )*[a-z0-9_]+ [a-z0-9_]+) vmap @([\w.-]+)/.exec(rule);
  return m ? { selectors: m[1]!.split(' . '), map: m[2]! } : undefined;
}

/** A selector's value in a packet as the monitor showed it; undefined when it does not show it. */
function packetValue(selector: string, p: TracePacket): string | number | undefined {
  switch (selector) {
    case 'ip daddr':
      return p.dst;
    case 'ip saddr':
      return p.src;
    case 'meta l4proto':
    case 'ip protocol':
      return p.proto;
    case 'th dport':
    case 'tcp dport':
    case 'udp dport':
    case 'sctp dport':
      return p.dport;
    case 'th sport':
    case 'tcp sport':
    case 'udp sport':
    case 'sctp sport':
      return p.sport;
    default:
      return undefined;
  }
}

const asNumber = (v: string | number): number => (typeof v === 'number' ? v : isIPv4(v) ? ipToInt(v) : Number(v));

function matches(value: NftValue, actual: string | number): boolean {
  if (typeof value === 'string' || typeof value === 'number') return String(value) === String(actual);
  if ('prefix' in value) {
    const c = parseCidr(`${value.prefix.addr}/${value.prefix.len}`);
    return typeof c !== 'string' && typeof actual === 'string' && isIPv4(actual) && cidrContains(c, actual);
  }
  if ('range' in value) {
    const n = asNumber(actual);
    return n >= asNumber(value.range[0]) && n <= asNumber(value.range[1]);
  }
  return false;
}

function verdictText(v: NftVerdict): string {
  const [word, arg] = Object.entries(v)[0] ?? ['?', null];
  return arg?.target ? `${word} ${arg.target}` : word;
}

/**
 * The element of `table`'s map that the rule's vmap looked the packet up in, from `nft -j list
 * maps ip` text; undefined when the rule has no vmap, the packet lacks a field of the key, or no
 * element holds it (the vmap then did nothing).
 */
export function vmapElement(mapsJson: string, table: string, rule: string, packet: TracePacket): MapElement | undefined {
  const vmap = vmapOf(rule);
  if (!vmap) return undefined;
  const actual = vmap.selectors.map((s) => packetValue(s, packet));
  if (actual.some((v) => v === undefined)) return undefined;
  let maps: NftMap[];
  try {
    const doc = JSON.parse(mapsJson) as { nftables?: { map?: NftMap }[] };
    maps = (doc.nftables ?? []).flatMap((x) => (x.map ? [x.map] : []));
  } catch {
    return undefined;
  }
  const map = maps.find((m) => m.table === table && m.name === vmap.map);
  for (const [key, verdict] of map?.elem ?? []) {
    const val = typeof key === 'object' && 'elem' in key ? key.elem.val : key;
    const comment = typeof key === 'object' && 'elem' in key ? key.elem.comment : undefined;
    const parts = typeof val === 'object' && 'concat' in val ? val.concat : [val];
    if (parts.length !== actual.length || !parts.every((p, i) => matches(p, actual[i]!))) continue;
    return { table, map: vmap.map, key: actual.join(' . '), ...(comment ? { comment } : {}), verdict: verdictText(verdict) };
  }
  return undefined;
}
