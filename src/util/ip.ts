import ipaddr from 'ipaddr.js';
import { KnetlabError } from '../errors.js';

/** An IPv4 network: its first address as a 32-bit number and its prefix length. */
export interface Cidr {
  base: number;
  bits: number;
}

const OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
/** What isIPv4 accepts, as a regular expression (for the scenario JSON Schema; a test keeps the two alike). */
export const IPV4_PATTERN = `^(?:${OCTET}\\.){3}${OCTET}$`;
/** The form parseCidr reads (whether host bits are set is not a matter of form). */
export const CIDR_PATTERN = `^(?:${OCTET}\\.){3}${OCTET}/(?:[0-2]?\\d|3[0-2])$`;

export function isIPv4(s: string): boolean {
  return ipaddr.IPv4.isValidFourPartDecimal(s);
}

export function isIPv6(s: string): boolean {
  return ipaddr.IPv6.isValid(s) && s.includes(':');
}

export function ipToInt(s: string): number {
  const b = ipaddr.IPv4.parse(s).octets;
  return ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
}

export function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export function mask(bits: number): number {
  return bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
}

/** Parses `a.b.c.d/n`; returns a reason instead when it is not a network address. */
export function parseCidr(s: string): Cidr | string {
  const m = /^([0-9.]+)\/(\d{1,2})$/.exec(s);
  if (!m || !isIPv4(m[1]!) || Number(m[2]) > 32) return 'to be an IPv4 CIDR such as 10.244.0.0/16';
  const bits = Number(m[2]);
  const addr = ipToInt(m[1]!);
  const base = (addr & mask(bits)) >>> 0;
  if (base !== addr) return `to be a network address (host bits set: did you mean \`${intToIp(base)}/${bits}\`?)`;
  return { base, bits };
}

export function cidrOf(s: string): Cidr {
  const c = parseCidr(s);
  if (typeof c === 'string') throw new KnetlabError('EINTERNAL', `not a CIDR: ${s}`);
  return c;
}

export function formatCidr(c: Cidr): string {
  return `${intToIp(c.base)}/${c.bits}`;
}

export function cidrSize(c: Cidr): number {
  return 2 ** (32 - c.bits);
}

export function cidrContains(c: Cidr, ip: string | number): boolean {
  const n = typeof ip === 'number' ? ip : ipToInt(ip);
  return (n & mask(c.bits)) >>> 0 === c.base;
}

export function cidrOverlaps(a: Cidr, b: Cidr): boolean {
  const bits = Math.min(a.bits, b.bits);
  return (a.base & mask(bits)) >>> 0 === (b.base & mask(bits)) >>> 0;
}

/** The n-th address of a network (0 is the network address itself). */
export function nthAddress(c: Cidr, n: number): string {
  return intToIp((c.base + n) >>> 0);
}

export function broadcastOf(c: Cidr): number {
  return (c.base + cidrSize(c) - 1) >>> 0;
}

/** The i-th subnet of prefix length bits inside c. */
export function nthSubnet(c: Cidr, bits: number, i: number): Cidr {
  return { base: (c.base + i * 2 ** (32 - bits)) >>> 0, bits };
}
