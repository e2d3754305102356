// What the cluster DNS answers, as CoreDNS's kubernetes plugin answers it (plugin/kubernetes
// kubernetes.go findServices/findPods, reverse.go, ns.go; plugin/backend_lookup.go A/SRV/PTR):
// every name that exists and its answer per query type, precomputed from the model as plain data,
// so the server (src/workloads/dns.py) only looks names up. Pure; golden-tested.
import type { Model, Service, UpstreamDns } from '../cluster/types.js';
import { sha256 } from '../util/hash.js';
import { isIPv4 } from '../util/ip.js';

/** The kubernetes plugin's default TTL (`defaultTTL = 5`); kubeadm's Corefile raises it with `ttl 30`. */
export const DNS_TTL = 5;
/** The reverse zones kubeadm's Corefile gives the plugin (`kubernetes cluster.local in-addr.arpa ip6.arpa`). */
export const REVERSE_ZONES = ['in-addr.arpa', 'ip6.arpa'] as const;
/** Namespaces every kubeadm cluster has. */
const BUILTIN_NAMESPACES = ['default', 'kube-node-lease', 'kube-public', 'kube-system'];

export type DnsType = 'A' | 'AAAA' | 'CNAME' | 'NS' | 'PTR' | 'SOA' | 'SRV' | 'TXT';
export type DnsRcode = 'NOERROR' | 'NXDOMAIN' | 'REFUSED' | 'SERVFAIL';

/** One resource record. Names are lower case without the final dot; `data` is presentation format with names the same way. */
export interface DnsRecord {
  name: string;
  type: DnsType;
  ttl: number;
  data: string;
}

/** The answer to one query type at one name. */
export interface DnsAnswer {
  answer: DnsRecord[];
  additional: DnsRecord[];
}

/**
 * Everything the cluster DNS answers, JSON-able. A name in `names` exists: a query type it lists
 * gets that answer, any other type NOERROR with no data. A name under one of `zones` that is not
 * listed is NXDOMAIN (except pod names in `pods: insecure` mode); any other name is REFUSED, since
 * there is no upstream to forward it to. Negative answers carry the zone's SOA.
 */
export interface DnsZone {
  /** The cluster domain, e.g. `cluster.local`. */
  domain: string;
  ttl: number;
  /** The zones answered for: the cluster domain and the reverse zones, each with its SOA. */
  zones: { name: string; soa: DnsRecord }[];
  /**
   * `insecure` (kubeadm's `pods insecure`): `a-b-c-d.NS.pod.DOMAIN` answers a.b.c.d for any address
   * in an existing namespace; `verified`: only for a pod of that namespace with that IP (listed in `names`).
   */
  pods: 'insecure' | 'verified';
  /** Namespaces that exist: `NS.svc.DOMAIN` and `NS.pod.DOMAIN` answer NOERROR, and insecure pod names need one. */
  namespaces: string[];
  names: Record<string, Partial<Record<DnsType, DnsAnswer>>>;
  /**
   * `cluster.upstreamDNS`: the nameservers of the DNS pods' resolv.conf (their node's), to which names
   * outside `zones` are forwarded over UDP port 53, as kubeadm's `forward . /etc/resolv.conf`; absent: REFUSED.
   */
  forward?: string[];
  /** `cluster.upstreamDNS`: what the upstream resolver answers (its listeners answer from this, not from `names`). */
  upstream?: UpstreamZone;
}

/**
 * The LAN's upstream resolver: a name in `names` answers its type's records (any other type NOERROR
 * with no data); a name in or under a zone of `refuse` is REFUSED; any other name NXDOMAIN.
 */
export interface UpstreamZone {
  ttl: number;
  refuse: string[];
  names: Record<string, Partial<Record<DnsType, DnsAnswer>>>;
}

/** The TTL of the upstream's records (they never change during a run). */
export const UPSTREAM_TTL = 300;

export interface DnsResponse {
  rcode: DnsRcode;
  answer: DnsRecord[];
  authority: DnsRecord[];
  additional: DnsRecord[];
}

export interface DnsZoneOptions {
  pods?: 'insecure' | 'verified';
  ttl?: number;
}

/** What CoreDNS's Services() returns for a name: an address or a name (ExternalName), a port (-1: none), and the SRV target for an address. */
interface Backend {
  host: string;
  port: number;
  target: string;
}

/** `10.244.1.5` -> `10-244-1-5`: an endpoint's name without a hostname, and a pod's name under `pod.`. */
export function dashedIp(ip: string): string {
  return ip.replaceAll('.', '-');
}

/** `10.96.0.10` -> `10.0.96.10.in-addr.arpa`. */
export function reverseName(ip: string): string {
  return `${ip.split('.').reverse().join('.')}.in-addr.arpa`;
}

/** A query name as zone keys hold it: lower case, no final dot. */
export function normalizeName(name: string): string {
  const n = name.toLowerCase();
  return n.endsWith('.') ? n.slice(0, -1) : n;
}

const isHeadless = (svc: Service) => svc.spec.type !== 'ExternalName' && svc.clusterIP === undefined;

/** The namespaces of the model: kubeadm's own, Namespace objects, and every namespace an object was applied to. */
function namespacesOf(model: Model): string[] {
  const out = new Set(BUILTIN_NAMESPACES);
  for (const o of model.objects) out.add(o.kind === 'Namespace' ? o.meta.name : o.meta.namespace);
  for (const p of model.pods) out.add(p.namespace);
  for (const s of model.services) out.add(s.namespace);
  out.delete('');
  return [...out].sort();
}

/**
 * A Service's endpoints as CoreDNS reads EndpointSlices (object/endpoint.go): ready addresses only
 * (the endpoint controller already marks them ready for publishNotReadyAddresses), each with every
 * port of its slice, or port -1 when the slice has none.
 */
function endpointsOf(model: Model, svc: Service): { ip: string; host: string; port: number; portName: string; protocol: string }[] {
  const out: { ip: string; host: string; port: number; portName: string; protocol: string }[] = [];
  for (const slice of model.endpointSlices) {
    if (slice.namespace !== svc.namespace || slice.service !== svc.name) continue;
    const ports = slice.ports.length ? slice.ports : [{ name: '', port: -1, protocol: '' }];
    for (const e of slice.endpoints) {
      if (!e.ready || !isIPv4(e.ip)) continue;
      for (const p of ports) out.push({ ip: e.ip, host: dashedIp(e.ip), port: p.port, portName: p.name.toLowerCase(), protocol: p.protocol.toLowerCase() });
    }
  }
  return out;
}

/** The zone the cluster DNS serves for this model. */
export function renderDnsZone(model: Model, opts: DnsZoneOptions = {}): DnsZone {
  const domain = normalizeName(model.config.clusterDomain);
  const ttl = opts.ttl ?? DNS_TTL;
  const namespaces = namespacesOf(model);
  const services = [...model.services].sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`));
  // Names that exist, with what Services() would return for them; [] is NOERROR with no data.
  const backends = new Map<string, Backend[]>();
  const add = (name: string, bs: Backend[]) => backends.set(name, [...(backends.get(name) ?? []), ...bs]);

  add(domain, []);
  add(`svc.${domain}`, []);
  add(`pod.${domain}`, []);
  for (const ns of namespaces) {
    add(`${ns}.svc.${domain}`, []);
    add(`${ns}.pod.${domain}`, []);
  }

  for (const svc of services) {
    const base = `${svc.name}.${svc.namespace}.svc.${domain}`;
    if (svc.spec.type === 'ExternalName') {
      const target = normalizeName(svc.spec.externalName ?? '');
      // An address as externalName is not a CNAME: CoreDNS leaves the name NXDOMAIN.
      if (target && !isIPv4(target)) add(base, [{ host: target, port: -1, target: base }]);
      continue;
    }
    const eps = endpointsOf(model, svc);
    if (isHeadless(svc)) {
      const all = eps.map((e) => ({ host: e.ip, port: e.port, target: `${e.host}.${base}` }));
      if (all.length) add(base, all);
      for (const key of new Set(eps.filter((e) => e.portName && e.protocol).map((e) => `_${e.portName}._${e.protocol}`))) {
        add(
          `${key}.${base}`,
          eps.filter((e) => `_${e.portName}._${e.protocol}` === key).map((e) => ({ host: e.ip, port: e.port, target: `${e.host}.${base}` })),
        );
      }
    } else if (svc.clusterIP) {
      const ip = svc.clusterIP;
      if (svc.ports.length)
        add(
          base,
          svc.ports.map((p) => ({ host: ip, port: p.port, target: base })),
        );
      for (const p of svc.ports) {
        if (p.name) add(`_${p.name.toLowerCase()}._${p.protocol.toLowerCase()}.${base}`, [{ host: ip, port: p.port, target: base }]);
      }
    }
    // Endpoint names: CoreDNS answers them for every Service with endpoints, not only headless ones.
    for (const e of eps) add(`${e.host}.${base}`, [{ host: e.ip, port: e.port, target: `${e.host}.${base}` }]);
  }

  const pods = model.pods.filter((p) => p.ip && isIPv4(p.ip) && !p.terminating);
  for (const p of pods) add(`${dashedIp(p.ip!)}.${p.namespace}.pod.${domain}`, [{ host: p.ip!, port: -1, target: '' }]);

  const names: DnsZone['names'] = {};
  for (const name of [...backends.keys()].sort()) {
    const entry: Partial<Record<DnsType, DnsAnswer>> = {};
    for (const type of ['A', 'AAAA', 'CNAME', 'SRV', 'TXT'] as const) {
      const a = answerFor(backends, domain, ttl, name, type);
      if (a.answer.length) entry[type] = a;
    }
    names[name] = entry;
  }

  // The apex: CoreDNS's own NS name is the Service in front of its pods, whose address `ns.dns.DOMAIN` also has.
  const dnsSvc = services.find((s) => s.clusterIP === model.config.dnsIP);
  const nsName = dnsSvc ? `${dnsSvc.name}.${dnsSvc.namespace}.svc.${domain}` : `ns.dns.${domain}`;
  names[`ns.dns.${domain}`] = { A: { answer: [{ name: `ns.dns.${domain}`, type: 'A', ttl, data: model.config.dnsIP }], additional: [] } };
  names[domain]!.NS = {
    answer: [{ name: domain, type: 'NS', ttl, data: nsName }],
    additional: [{ name: nsName, type: 'A', ttl, data: model.config.dnsIP }],
  };

  // PTR: a ClusterIP names its Service; any other address every ready endpoint it is (reverse.go).
  const ptr = new Map<string, string[]>();
  for (const svc of services) if (svc.clusterIP && isIPv4(svc.clusterIP) && !ptr.has(svc.clusterIP)) ptr.set(svc.clusterIP, [`${svc.name}.${svc.namespace}.svc.${domain}`]);
  const byEndpoint = new Map<string, string[]>();
  for (const svc of services) {
    if (svc.spec.type === 'ExternalName') continue;
    for (const e of endpointsOf(model, svc)) {
      const list = byEndpoint.get(e.ip) ?? [];
      const target = `${e.host}.${svc.name}.${svc.namespace}.svc.${domain}`;
      if (!list.includes(target)) list.push(target);
      byEndpoint.set(e.ip, list);
    }
  }
  for (const [ip, targets] of byEndpoint) if (!ptr.has(ip)) ptr.set(ip, targets);
  for (const [ip, targets] of [...ptr].sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true }))) {
    const name = reverseName(ip);
    names[name] = { PTR: { answer: targets.map((data) => ({ name, type: 'PTR', ttl, data })), additional: [] } };
  }

  const body = JSON.stringify(names);
  // CoreDNS's serial is the time of the last change; a hash of the answers changes with them and is reproducible.
  const serial = sha256(body).readUInt32BE(0);
  const soa = (zone: string): DnsRecord => ({ name: zone, type: 'SOA', ttl: Math.min(ttl, 300), data: `ns.dns.${zone} hostmaster.${zone} ${serial} 7200 1800 86400 ${ttl}` });
  names[domain]!.SOA = { answer: [soa(domain)], additional: [] };
  const sorted: DnsZone['names'] = {};
  for (const k of Object.keys(names).sort()) sorted[k] = names[k]!;
  const up = model.config.upstreamDNS;
  return {
    domain,
    ttl,
    zones: [domain, ...REVERSE_ZONES].map((name) => ({ name, soa: soa(name) })),
    pods: opts.pods ?? 'insecure',
    namespaces,
    names: sorted,
    ...(up ? { forward: [up.server], upstream: renderUpstreamZone(up) } : {}),
  };
}

/** The upstream resolver's answers: A records, or a CNAME followed through its own names (at most 8 deep). */
export function renderUpstreamZone(up: UpstreamDns): UpstreamZone {
  const ttl = UPSTREAM_TTL;
  const chain = (name: string, seen: string[]): DnsRecord[] => {
    const r = up.records[name];
    if (!r || seen.includes(name) || seen.length > 7) return [];
    if ('addresses' in r) return r.addresses.map((data) => ({ name, type: 'A' as const, ttl, data }));
    return [{ name, type: 'CNAME', ttl, data: r.cname }, ...chain(r.cname, [...seen, name])];
  };
  const names: UpstreamZone['names'] = {};
  for (const name of Object.keys(up.records).sort()) {
    const r = up.records[name]!;
    names[name] = { A: { answer: chain(name, []), additional: [] } };
    if ('cname' in r) names[name].CNAME = { answer: [{ name, type: 'CNAME', ttl, data: r.cname }], additional: [] };
  }
  return { ttl, refuse: [...up.refuse].sort(), names };
}

/** The upstream resolver's answer to one query: the reference dns.py's resolve_upstream() follows line for line. */
export function lookupUpstream(up: UpstreamZone, qname: string, qtype: string): DnsResponse {
  const name = normalizeName(qname);
  const type = qtype.toUpperCase();
  if (up.refuse.some((z) => name === z || name.endsWith(`.${z}`))) return { rcode: 'REFUSED', answer: [], authority: [], additional: [] };
  const entry = up.names[name];
  if (!entry) return { rcode: 'NXDOMAIN', answer: [], authority: [], additional: [] };
  const a = entry[type as DnsType];
  if (!a || a.answer.length === 0) return { rcode: 'NOERROR', answer: [], authority: [], additional: [] };
  return { rcode: 'NOERROR', answer: a.answer, authority: [], additional: a.additional };
}

/** One query type at one name, from the backends, as plugin/backend_lookup.go builds it. */
function answerFor(backends: Map<string, Backend[]>, domain: string, ttl: number, name: string, type: DnsType): DnsAnswer {
  const bs = backends.get(name) ?? [];
  if (type === 'A' || type === 'AAAA' || type === 'TXT') return { answer: follow(backends, domain, ttl, name, type, []) ?? [], additional: [] };
  if (type === 'CNAME') {
    const first = bs[0];
    return { answer: first && !isIPv4(first.host) ? [{ name, type: 'CNAME', ttl, data: first.host }] : [], additional: [] };
  }
  // SRV: Services() drops ExternalName answers; weights split 100 over everything returned, ports -1 are then skipped.
  const internal = bs.filter((b) => isIPv4(b.host));
  const weight = Math.max(1, Math.floor((100 / (100 * internal.length)) * 100));
  const answer: DnsRecord[] = [];
  const additional: DnsRecord[] = [];
  const seen = new Set<string>();
  for (const b of internal) {
    if (b.port === -1) continue;
    if (!seen.has(`${b.target} ${b.port}`)) {
      seen.add(`${b.target} ${b.port}`);
      answer.push({ name, type: 'SRV', ttl, data: `0 ${weight} ${b.port} ${b.target}` });
    }
    if (!seen.has(`${b.target} @${b.host}`)) {
      seen.add(`${b.target} @${b.host}`);
      additional.push({ name: b.target, type: 'A', ttl, data: b.host });
    }
  }
  return { answer, additional };
}

/**
 * A, AAAA or TXT at a name: addresses, or a CNAME followed inside the cluster domain (kept only when
 * the target answers) and left as is outside it (there is no upstream). undefined: the name does not exist.
 */
function follow(backends: Map<string, Backend[]>, domain: string, ttl: number, name: string, type: 'A' | 'AAAA' | 'TXT', previous: DnsRecord[]): DnsRecord[] | undefined {
  const bs = backends.get(name);
  if (!bs) return undefined;
  const out: DnsRecord[] = [];
  const seen = new Set<string>();
  for (const b of bs) {
    if (isIPv4(b.host)) {
      if (type === 'A' && !seen.has(b.host)) {
        seen.add(b.host);
        out.push({ name, type: 'A', ttl, data: b.host });
      }
      continue;
    }
    if (b.host === name || previous.length > 7) continue; // a CNAME to itself, or a chain too long
    const cname: DnsRecord = { name, type: 'CNAME', ttl, data: b.host };
    if (previous.some((r) => r.name === cname.name && r.data === cname.data)) continue;
    if (b.host === domain || b.host.endsWith(`.${domain}`)) {
      const next = follow(backends, domain, ttl, b.host, type, [...previous, cname]);
      if (next?.length) out.push(cname, ...next);
      continue;
    }
    out.push(cname);
  }
  return out;
}

/** The zone (cluster domain or reverse zone) a name falls in, if any. */
function zoneOf(zone: DnsZone, name: string): { name: string; soa: DnsRecord } | undefined {
  return zone.zones.find((z) => name === z.name || name.endsWith(`.${z.name}`));
}

/** The address of an insecure-mode pod name (`a-b-c-d.NS.pod.DOMAIN`) in an existing namespace, or undefined. */
function insecurePodAddress(zone: DnsZone, name: string): string | undefined {
  const suffix = `.pod.${zone.domain}`;
  if (zone.pods !== 'insecure' || !name.endsWith(suffix)) return undefined;
  const labels = name.slice(0, -suffix.length).split('.');
  if (labels.length !== 2 || !zone.namespaces.includes(labels[1]!)) return undefined;
  const octets = labels[0]!.split('-');
  if (octets.length !== 4 || !octets.every((o) => /^(0|[1-9]\d{0,2})$/.test(o) && Number(o) <= 255)) return undefined;
  return octets.join('.');
}

/**
 * The answer the cluster DNS gives to one query: the reference that src/workloads/dns.py follows
 * line for line (test/workloads/dns.test.ts checks that both agree).
 */
export function lookupDns(zone: DnsZone, qname: string, qtype: string): DnsResponse {
  const name = normalizeName(qname);
  const type = qtype.toUpperCase();
  const z = zoneOf(zone, name);
  if (!z) return { rcode: 'REFUSED', answer: [], authority: [], additional: [] };
  let entry = zone.names[name];
  const podIp = entry ? undefined : insecurePodAddress(zone, name);
  if (podIp) entry = { A: { answer: [{ name, type: 'A', ttl: zone.ttl, data: podIp }], additional: [] } };
  if (!entry) return { rcode: 'NXDOMAIN', answer: [], authority: [z.soa], additional: [] };
  const a = entry[type as DnsType];
  if (!a || a.answer.length === 0) return { rcode: 'NOERROR', answer: [], authority: [z.soa], additional: [] };
  return { rcode: 'NOERROR', answer: a.answer, authority: [], additional: a.additional };
}

/** A readable dump of the zone (the golden files): every name, then each query type's answer. */
export function formatDnsZone(zone: DnsZone): string {
  const lines = [
    `; cluster DNS for ${zone.domain}: ttl ${zone.ttl}, pods ${zone.pods}`,
    `; zones: ${zone.zones.map((z) => z.name).join(' ')} (any other name: REFUSED; an unlisted name in them: NXDOMAIN)`,
    `; namespaces: ${zone.namespaces.join(' ')}`,
  ];
  const rr = (r: DnsRecord, owner: string) => `${r.name === owner ? '' : `${r.name} `}${r.type} ${r.data}`;
  for (const [name, entry] of Object.entries(zone.names)) {
    lines.push('', name);
    const types = Object.keys(entry) as DnsType[];
    if (types.length === 0) lines.push('  (exists: NOERROR, no data)');
    for (const type of types) {
      const a = entry[type]!;
      a.answer.forEach((r, i) => lines.push(`  ${(i === 0 ? `${type}?` : '').padEnd(7)}${rr(r, name)}`));
      for (const r of a.additional) lines.push(`  ${''.padEnd(7)}+ ${r.name} ${r.type} ${r.data}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
