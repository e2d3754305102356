import { isIPv4 } from '../util/ip.js';
import { REQUEST_TARGET, REQUEST_TARGET_RULE } from './schema.js';

// The names steps use (SCENARIO_FORMAT.md, "Names used in steps"), parsed for their syntax only;
// cluster/resolve.ts finds what they name.

export type PortRef = number | string;

/** Where a probe runs. */
export type SourceRef = { kind: 'host' | 'node'; name: string } | { kind: 'pod' | 'deployment'; name: string; namespace?: string };

/** What a probe is sent to. */
export type TargetRef =
  | { kind: 'service' | 'externalip' | 'loadbalancer'; name: string; namespace?: string; port?: PortRef }
  | { kind: 'nodeport'; name: string; namespace?: string; port?: PortRef; node: string }
  | { kind: 'pod'; name: string; namespace?: string; port?: PortRef }
  | { kind: 'node' | 'host'; name: string; port?: number }
  | { kind: 'ip'; ip: string; port?: number }
  | { kind: 'url'; scheme: 'http' | 'https'; host: string; port?: number; path: string }
  /** A bare DNS name (`db`, `web.default:80`), resolved in the source's namespace as a URL's host is. */
  | { kind: 'name'; host: string; port?: number };

/** An address in an expectation. */
export type AddressRef =
  | { kind: 'host'; name: string }
  | { kind: 'node'; name: string; device?: string }
  | { kind: 'pod' | 'service'; name: string; namespace?: string }
  | { kind: 'ip'; ip: string };

export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const bad = <T>(reason: string): Parsed<T> => ({ ok: false, reason });

/** `NAME[.NS]`: namespaces have no dots, so the last dot splits. */
function nameNs(s: string): { name: string; namespace?: string } {
  const dot = s.lastIndexOf('.');
  if (dot <= 0) return { name: s };
  return { name: s.slice(0, dot), namespace: s.slice(dot + 1) };
}

function portOf(s: string): PortRef {
  return /^\d+$/.test(s) ? Number(s) : s;
}

function splitPort(s: string): { head: string; port?: PortRef } {
  const colon = s.lastIndexOf(':');
  if (colon < 0) return { head: s };
  return { head: s.slice(0, colon), port: portOf(s.slice(colon + 1)) };
}

function validPort(p: PortRef | undefined): boolean {
  if (p === undefined) return true;
  if (typeof p === 'number') return p >= 1 && p <= 65535;
  return /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(p);
}

const sourceKinds = ['host', 'node', 'pod', 'deployment'];
const targetKinds = ['service', 'nodeport', 'externalip', 'loadbalancer', 'pod', 'node', 'host'];
const addressKinds = ['host', 'node', 'pod', 'service'];

function kindOf(s: string): { kind: string; rest: string } | undefined {
  const slash = s.indexOf('/');
  if (slash <= 0) return undefined;
  return { kind: s.slice(0, slash), rest: s.slice(slash + 1) };
}

export function parseSource(s: string): Parsed<SourceRef> {
  const k = kindOf(s);
  if (!k || !sourceKinds.includes(k.kind) || k.rest === '') return bad('to be host/NAME, node/NAME, pod/NAME[.NS] or deployment/NAME[.NS]');
  if (k.kind === 'host' || k.kind === 'node') return ok({ kind: k.kind, name: k.rest });
  return ok({ kind: k.kind as 'pod' | 'deployment', ...nameNs(k.rest) });
}

export function parseTarget(s: string): Parsed<TargetRef> {
  const url = /^(https?):\/\/([^/:]+)(?::(\d+))?(\/.*)?$/.exec(s);
  if (url) {
    const port = url[3] ? Number(url[3]) : undefined;
    if (port !== undefined && !validPort(port)) return bad('to have a port from 1 to 65535');
    // The URL goes to curl as it is: a host name or address, and a path as an http step's `path`.
    if (!/^[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?$/.test(url[2]!)) return bad('to name a host by a DNS name or an IPv4 address');
    if (url[4] !== undefined && !REQUEST_TARGET.test(url[4])) return bad(`to have a path ${REQUEST_TARGET_RULE.replace(/^to be a path /, '')}`);
    return ok({ kind: 'url', scheme: url[1] as 'http' | 'https', host: url[2]!, ...(port ? { port } : {}), path: url[4] ?? '/' });
  }
  const lit = /^(\d+\.\d+\.\d+\.\d+)(?::(\d+))?$/.exec(s);
  if (lit) {
    if (!isIPv4(lit[1]!)) return bad('to be a valid IPv4 address');
    const port = lit[2] ? Number(lit[2]) : undefined;
    if (!validPort(port)) return bad('to have a port from 1 to 65535');
    return ok({ kind: 'ip', ip: lit[1]!, ...(port ? { port } : {}) });
  }
  const expectedForms =
    'to be service/NAME[.NS][:PORT], nodeport/NAME[.NS][:PORT]@NODE, externalip/..., loadbalancer/..., pod/NAME[.NS]:PORT, node/NAME:PORT, host/NAME:PORT, IP:PORT, http://NAME[:PORT]/PATH or a DNS name NAME[:PORT]';
  if (!s.includes('/')) return parseName(s, expectedForms);
  const k = kindOf(s);
  if (!k || !targetKinds.includes(k.kind) || k.rest === '') return bad(expectedForms);
  let rest = k.rest;
  let node: string | undefined;
  if (k.kind === 'nodeport') {
    const at = rest.lastIndexOf('@');
    if (at < 0 || at === rest.length - 1) return bad('to name the node: nodeport/NAME[.NS][:PORT]@NODE');
    node = rest.slice(at + 1);
    rest = rest.slice(0, at);
  } else if (rest.includes('@')) return bad(expectedForms);
  const { head, port } = splitPort(rest);
  if (head === '') return bad(expectedForms);
  if (!validPort(port)) return bad('to have a port from 1 to 65535 or a port name');
  const withPort = port === undefined ? {} : { port };
  switch (k.kind) {
    case 'node':
    case 'host':
      if (typeof port === 'string') return bad(`to have a port number: ${k.kind}/NAME:PORT`);
      return ok({ kind: k.kind, name: head, ...(withPort as { port?: number }) });
    case 'nodeport':
      return ok({ kind: 'nodeport', ...nameNs(head), ...withPort, node: node! });
    case 'pod':
      return ok({ kind: 'pod', ...nameNs(head), ...withPort });
    default:
      return ok({ kind: k.kind as 'service' | 'externalip' | 'loadbalancer', ...nameNs(head), ...withPort });
  }
}

/** A DNS label as resolvers take it (letters, digits, `-` inside), at most 63 characters. */
const DNS_LABEL = /^[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?$/;

/** `NAME[:PORT]`: a DNS name (a final dot makes it absolute, past the search list), with a port or not. */
function parseName(s: string, expectedForms: string): Parsed<TargetRef> {
  const m = /^([^:@]+)(?::([^:]*))?$/.exec(s);
  if (!m) return bad(expectedForms);
  const host = m[1]!;
  if (m[2] !== undefined && !/^\d+$/.test(m[2])) return bad('to have a port number after a DNS name, NAME:PORT (a port by name needs the Service: service/NAME:PORT)');
  const port = m[2] ? Number(m[2]) : undefined;
  // glibc reads `10.1.2` or `10.1` as an address (inet_aton), not as a name.
  if (/^[\d.]+$/.test(host)) return bad('to be a valid IPv4 address with a port, IP:PORT');
  const labels = (host.endsWith('.') ? host.slice(0, -1) : host).split('.');
  if (host.length > 254 || !labels.every((l) => DNS_LABEL.test(l)))
    return bad('to be a DNS name NAME[:PORT], labels of letters, digits and - joined by dots (or service/NAME, pod/NAME:PORT, IP:PORT, http://NAME/ and the other targets)');
  if (port !== undefined && !validPort(port)) return bad('to have a port from 1 to 65535');
  return ok({ kind: 'name', host, ...(port ? { port } : {}) });
}

export function parseAddress(s: string): Parsed<AddressRef> {
  if (/^\d+\.\d+\.\d+\.\d+$/.test(s)) return isIPv4(s) ? ok({ kind: 'ip', ip: s }) : bad('to be a valid IPv4 address');
  const k = kindOf(s);
  if (!k || !addressKinds.includes(k.kind) || k.rest === '') return bad('to be host/NAME, node/NAME, node/NAME@DEVICE, pod/NAME[.NS], service/NAME[.NS] or an IPv4 address');
  if (k.kind === 'node') {
    const at = k.rest.indexOf('@');
    if (at === 0) return bad('to be node/NAME@DEVICE');
    return at < 0 ? ok({ kind: 'node', name: k.rest }) : ok({ kind: 'node', name: k.rest.slice(0, at), device: k.rest.slice(at + 1) });
  }
  if (k.kind === 'host') return ok({ kind: 'host', name: k.rest });
  return ok({ kind: k.kind as 'pod' | 'service', ...nameNs(k.rest) });
}

export function formatTarget(t: TargetRef): string {
  switch (t.kind) {
    case 'url':
      return `${t.scheme}://${t.host}${t.port ? `:${t.port}` : ''}${t.path}`;
    case 'ip':
      return t.port ? `${t.ip}:${t.port}` : t.ip;
    case 'name':
      return t.port ? `${t.host}:${t.port}` : t.host;
    case 'node':
    case 'host':
      return `${t.kind}/${t.name}${t.port ? `:${t.port}` : ''}`;
    default: {
      const ns = t.namespace ? `.${t.namespace}` : '';
      const port = t.port !== undefined ? `:${t.port}` : '';
      return `${t.kind}/${t.name}${ns}${port}${t.kind === 'nodeport' ? `@${t.node}` : ''}`;
    }
  }
}
