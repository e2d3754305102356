// Which Service port a probe's target stands for, and which endpoints kube-proxy programs for that
// way in on the node the packet enters: what `backends: all|rotate` and `spread` judge against and
// `plan` shows. It reads the same categorisation as the rules (kube-proxy-endpoints.ts for iptables
// and nftables, ipvs.ts's realServers for IPVS), so rules and judging cannot disagree. Pure.
import { resolveTarget, serviceForName, type Place } from '../cluster/resolve.js';
import { endpointsForPort } from '../cluster/service-endpoints.js';
import type { Model, Service, ServicePort } from '../cluster/types.js';
import type { Protocol } from '../scenario/objects.js';
import type { TargetRef } from '../scenario/refs.js';
import { cidrContains, isIPv4, parseCidr } from '../util/ip.js';
import { normalizeName, renderDnsZone, type DnsZone } from './dns-records.js';
import { realServers } from './ipvs.js';
import { portTraffic } from './kube-proxy-endpoints.js';
import { healthChecks } from './load-balancer.js';
import { planNginx } from './nginx-conf.js';
import { baseServicePorts, type BaseEndpointInfo, type BaseServicePortInfo } from './service-port.js';

/** How a packet reaches a Service port: the address kinds kube-proxy matches, or straight to a place. */
export type Way = 'clusterIP' | 'nodePort' | 'externalIP' | 'loadBalancer' | 'direct';

/** Where the packet meets kube-proxy's rules, and what its source looks like there (iptables' and nftables' Local short circuits). */
export interface Entry {
  node: string;
  /** pod: from the pod network (clusterCIDR); local: the node's own address; external: anything else. */
  source: 'pod' | 'local' | 'external';
}

export interface WayIn {
  /** The address and port the packet is sent to. */
  ip: string;
  port: number;
  way: Way;
  /** The Service port the target stands for (undefined: a place reached directly). */
  service?: { namespace: string; name: string; port: number; portName: string; protocol: Protocol };
  /** The nodes whose rules take the packet (several: the load balancer may choose any, or the entry is not known). */
  entries: Entry[];
  /** Who answers, as the echo server names itself (`pod/NAME.NS`, `node/NAME`, `host/NAME`), in endpoint order, each once. */
  endpoints: string[];
  /** How the endpoints were chosen: `Cluster`, `Local`, `serving-terminating`, `no local endpoints: DROP`, ... */
  notes: string[];
  /** The CNAMEs followed from a name to the address (ExternalName Services). */
  via: string[];
  /** The endpoints were ingress-nginx controllers: the rule the request matched (or why none), and the way to the controllers. */
  ingress?: { rule: string; through: string };
}

export interface WayInRequest {
  protocol: Protocol;
  /** http: the request's headers (Host) and path, for an Ingress rule. */
  headers?: Record<string, string>;
  path?: string;
}

const zones = new WeakMap<Model, DnsZone>();
function zoneOf(model: Model): DnsZone {
  return kept(zones, model, (m) => renderDnsZone(m));
}

/**
 * A name as a pod's resolver looks it up in the cluster DNS (search path `NS.svc.D svc.D D`, ndots:5):
 * its address and the CNAMEs followed on the way (ExternalName Services; the zone bounds the chain).
 */
export function resolveClusterName(model: Model, host: string, namespace: string): { ip: string; cnames: string[] } | undefined {
  const zone = zoneOf(model);
  const name = normalizeName(host);
  const d = zone.domain;
  const search = [`${namespace}.svc.${d}`, `svc.${d}`, d].map((s) => `${name}.${s}`);
  const absolute = host.endsWith('.');
  const dots = name.split('.').length - 1;
  const candidates = absolute ? [name] : dots >= 5 ? [name, ...search] : [...search, name];
  for (const c of candidates) {
    const records = zone.names[c]?.A?.answer ?? [];
    const a = records.find((r) => r.type === 'A');
    if (a) return { ip: a.data, cnames: records.filter((r) => r.type === 'CNAME').map((r) => `${r.name} -> ${r.data}`) };
  }
  return undefined;
}

const inNs = (ns: string, name: string) => (ns === 'default' ? name : `${name}.${ns}`);
const svcText = (s: { namespace: string; name: string }) => `service/${inNs(s.namespace, s.name)}`;

/** The node a LAN-side address belongs to: its eth0, an extra address or a CNI device's. */
function nodeOwning(model: Model, ip: string): string | undefined {
  return model.nodes.find((n) => n.ip === ip || (n.extraAddresses ?? []).includes(ip) || Object.values(n.addresses).includes(ip))?.name;
}

// A model is never changed once made (a step makes a new one): what is computed of it is kept with it,
// so that a plan's thousands of steps do not each walk every pod and endpoint again.
const answerers = new WeakMap<Model, Map<string, string>>();
const servicePorts = new WeakMap<Model, Map<string, Map<string, BaseServicePortInfo>>>();
const nginxPlans = new WeakMap<Model, ReturnType<typeof planNginx>>();
const checks = new WeakMap<Model, ReturnType<typeof healthChecks>>();
function kept<T>(cache: WeakMap<Model, T>, model: Model, make: (m: Model) => T): T {
  let v = cache.get(model);
  if (v === undefined) {
    v = make(model);
    cache.set(model, v);
  }
  return v;
}

/** Who answers at an address, as the echo server names itself. */
export function serverAt(model: Model, ip: string, pod?: { namespace: string; name: string }): string {
  if (pod) return `pod/${pod.name}.${pod.namespace}`;
  let byIp = answerers.get(model);
  if (!byIp) {
    byIp = new Map();
    for (const h of model.hosts) byIp.set(h.ip, `host/${h.name}`);
    for (const n of model.nodes) for (const a of [n.ip, ...(n.extraAddresses ?? []), ...Object.values(n.addresses)]) byIp.set(a, `node/${n.name}`);
    for (const p of model.pods) if (p.ip && !p.hostNetwork) byIp.set(p.ip, `pod/${p.name}.${p.namespace}`);
    answerers.set(model, byIp);
  }
  return byIp.get(ip) ?? ip;
}

/** kube-proxy's view of one Service port on one node (service-port.ts), kept per model and node. */
function servicePortOn(model: Model, node: string, svc: Service, sp: ServicePort): BaseServicePortInfo | undefined {
  let nodes = servicePorts.get(model);
  if (!nodes) {
    nodes = new Map();
    servicePorts.set(model, nodes);
  }
  let ports = nodes.get(node);
  if (!ports) {
    ports = new Map(baseServicePorts(model, node).map((s) => [`${s.name}/${s.protocol}`, s]));
    nodes.set(node, ports);
  }
  return ports.get(`${svc.namespace}/${svc.name}${sp.name ? `:${sp.name}` : ''}/${sp.protocol.toLowerCase()}`);
}

/** The Service port kube-proxy matches at ip:port, as KUBE-SERVICES orders it: ClusterIPs, external IPs, LB IPs, then NodePorts. */
function classify(model: Model, ip: string, port: number, protocol: Protocol): { svc: Service; sp: ServicePort; way: Exclude<Way, 'direct'>; node?: string } | undefined {
  const programmed = model.services.filter((s) => s.spec.type !== 'ExternalName' && s.clusterIP && s.clusterIP !== 'None');
  const find = (way: Exclude<Way, 'direct' | 'nodePort'>, has: (s: Service) => boolean) => {
    for (const svc of programmed) {
      if (!has(svc)) continue;
      const sp = svc.ports.find((p) => p.port === port && p.protocol === protocol);
      if (sp) return { svc, sp, way };
    }
    return undefined;
  };
  const hit =
    find('clusterIP', (s) => s.clusterIP === ip) ?? find('externalIP', (s) => s.spec.externalIPs.includes(ip)) ?? find('loadBalancer', (s) => s.loadBalancerIPs.includes(ip));
  if (hit) return hit;
  const node = nodeOwning(model, ip);
  if (!node) return undefined;
  for (const svc of programmed) {
    const sp = svc.ports.find((p) => p.nodePort === port && p.protocol === protocol);
    if (sp) return { svc, sp, way: 'nodePort', node };
  }
  return undefined;
}

/** The node whose rules a host's packet to ip meets: its own route's next hop, a node holding ip, or the LB's choice. */
function hostEntries(model: Model, host: string, ip: string, svc: Service, way: Way): string[] {
  const h = model.hosts.find((x) => x.name === host);
  for (const r of h?.routes ?? []) {
    const c = parseCidr(r.to.includes('/') ? r.to : `${r.to}/32`);
    if (typeof c !== 'string' && cidrContains(c, ip)) {
      const n = nodeOwning(model, r.via);
      if (n) return [n];
    }
  }
  const owner = nodeOwning(model, ip);
  if (owner) return [owner];
  if (way === 'loadBalancer' && svc.spec.type === 'LoadBalancer') {
    // The LAN gateway's ECMP route (dataplane/load-balancer.ts): every node, or for Local those whose health check passes.
    if (svc.spec.externalTrafficPolicy !== 'Local') return model.nodes.map((n) => n.name);
    const hc = kept(checks, model, healthChecks).find((c) => c.namespace === svc.namespace && c.name === svc.name);
    return model.nodes.filter((n) => (hc?.localEndpoints.get(n.name) ?? 0) > 0).map((n) => n.name);
  }
  // Nothing tells which node: any of them.
  return model.nodes.map((n) => n.name);
}

/** Where the packet meets kube-proxy: the source's own node for VIPs, the address's node for a NodePort. */
function entriesOf(model: Model, from: Place, ip: string, svc: Service, way: Exclude<Way, 'direct'>, owner: string | undefined): Entry[] {
  const srcNode = from.kind === 'pod' ? from.node : from.kind === 'node' ? from.name : undefined;
  const fromPodNetwork = from.kind === 'pod' && !from.hostNetwork;
  if (way === 'nodePort' && owner) {
    // Another node's address is not LOCAL here: the packet goes to that node, masqueraded by the CNI when pod egress masquerade is on.
    if (srcNode === owner) return [{ node: owner, source: fromPodNetwork ? 'pod' : 'local' }];
    return [{ node: owner, source: fromPodNetwork && !model.config.podEgressMasquerade ? 'pod' : 'external' }];
  }
  if (srcNode) return [{ node: srcNode, source: fromPodNetwork ? 'pod' : 'local' }];
  return hostEntries(model, from.name, ip, svc, way).map((node) => ({ node, source: 'external' as const }));
}

/** The endpoints one node's rules give this way in, under the scenario's kube-proxy mode, and why. */
function endpointsAt(model: Model, s: BaseServicePortInfo, way: Exclude<Way, 'direct'>, source: Entry['source']): { eps: BaseEndpointInfo[]; note: string } {
  const internal = way === 'clusterIP';
  const policyLocal = internal ? s.internalPolicyLocal : s.externalPolicyLocal;
  const t = portTraffic(s);
  // The Cluster endpoints narrowed to the node's zone by EndpointSlice hints (topology-aware routing).
  const zoned = t.topology ? `, zone ${s.nodeZone}` : '';
  const fallback = (eps: BaseEndpointInfo[]) => (eps.length && eps.every((e) => !e.ready) ? ', serving-terminating' : '');
  if (model.config.proxyMode === 'ipvs') {
    // syncEndpoint: the local endpoints, or the Cluster ones when the node has none (kubernetes#97081), whatever the source.
    const eps = realServers(s, policyLocal);
    const local = policyLocal && eps.some((e) => e.isLocal);
    return {
      eps,
      note: eps.length === 0 ? 'no endpoints' : `${policyLocal ? (local ? 'Local' : `Local, none on the node: Cluster${zoned}`) : `Cluster${zoned}`}${fallback(eps)}`,
    };
  }
  if (!t.hasEndpoints) return { eps: [], note: 'no endpoints: REJECT' };
  if (!policyLocal) return { eps: t.cluster, note: `Cluster${zoned}${fallback(t.cluster)}` };
  // External traffic from pods and from the node itself short-circuits to the Cluster endpoints.
  if (!internal && source !== 'external')
    return { eps: t.cluster, note: `Cluster${zoned} (Local policy, ${source === 'pod' ? 'pod' : 'node-local'} source)${fallback(t.cluster)}` };
  if (t.local.length === 0) return { eps: [], note: 'no local endpoints: DROP' };
  return { eps: t.local, note: `Local${fallback(t.local)}` };
}

/** The address and port a target is sent to, with the names followed on the way. */
function destination(model: Model, from: Place, to: TargetRef, protocol: Protocol): { ip: string; port: number; via: string[] } | undefined {
  if (to.kind === 'url' || to.kind === 'name') {
    const port = to.port ?? (to.kind === 'url' && to.scheme === 'https' ? 443 : 80);
    if (isIPv4(to.host)) return { ip: to.host, port, via: [] };
    const ns = from.kind === 'pod' ? from.namespace : 'default';
    const r = resolveClusterName(model, to.host, ns);
    if (r) return { ip: r.ip, port, via: r.cnames.map((c) => `CNAME ${c}`) };
    // Not in the cluster's DNS: the Service the name means, as before (a node has no resolver).
    const svc = serviceForName(model, to.host, ns);
    return svc?.clusterIP && svc.clusterIP !== 'None' ? { ip: svc.clusterIP, port, via: [] } : undefined;
  }
  const d = resolveTarget(model, to, protocol);
  if (!d.ok || d.value.port === undefined) return undefined;
  return { ip: d.value.ip, port: d.value.port, via: [] };
}

/** nginx's choice for a request: server by Host (exact, then wildcard, then the default), location by path (exact, then longest prefix). */
export function ingressRoute(
  model: Model,
  host: string,
  path: string,
): { servers: string[]; upstream?: string; from?: { namespace: string; ingress: string; service: string; port: string; path: string }; why?: string } {
  const { upstreams, servers } = kept(nginxPlans, model, planNginx);
  const name = host.replace(/:\d+$/, '').replace(/\.$/, '').toLowerCase();
  const server =
    servers.find((s) => s.hostname === name) ??
    servers.find(
      (s) => s.hostname.startsWith('*.') && name.endsWith(s.hostname.slice(1)) && !name.slice(0, -(s.hostname.length - 1)).includes('.') && name.length > s.hostname.length - 1,
    ) ??
    servers.find((s) => s.hostname === '_');
  const p = path.split('?', 1)[0]!;
  const loc =
    server?.locations.find((l) => l.exact && l.path === p) ?? server?.locations.filter((l) => !l.exact && p.startsWith(l.path)).sort((a, b) => b.path.length - a.path.length)[0];
  if (!loc?.upstream) return { servers: [], why: 'no Ingress rule matches: 404' };
  const u = upstreams.find((x) => x.name === loc.upstream);
  return { servers: u?.servers ?? [], upstream: loc.upstream, ...(loc.from ? { from: loc.from } : {}), ...(u?.why ? { why: u.why } : {}) };
}

function uniq<T>(xs: readonly T[]): T[] {
  return [...new Set(xs)];
}

/**
 * What a probe from `from` to `to` reaches: the Service port behind the address (or the place
 * itself), the node(s) whose rules take it, and the endpoints those rules give it, through an
 * ingress-nginx controller to the Ingress rule's backend when the endpoints are controller pods.
 * undefined when the target does not resolve.
 */
export function wayIn(model: Model, from: Place, to: TargetRef, req: WayInRequest): WayIn | undefined {
  const dest = destination(model, from, to, req.protocol);
  if (!dest) return undefined;
  const { ip, port } = dest;
  const via = [...dest.via];
  const hit = classify(model, ip, port, req.protocol);
  let out: WayIn;
  if (!hit) {
    out = { ip, port, way: 'direct', entries: [], endpoints: [serverAt(model, ip)], notes: [], via };
  } else {
    const { svc, sp, way } = hit;
    const entries = entriesOf(model, from, ip, svc, way, hit.node);
    const pods = new Map(endpointsForPort(model, svc, sp).map((e) => [e.ip, e.pod]));
    const endpoints: string[] = [];
    const notes: string[] = [];
    const perNode: [string, string][] = [];
    for (const e of entries) {
      const s = servicePortOn(model, e.node, svc, sp);
      if (!s) continue;
      const r = endpointsAt(model, s, way, e.source);
      endpoints.push(...r.eps.map((x) => serverAt(model, x.ip, pods.get(x.ip))));
      perNode.push([e.node, r.note]);
    }
    // One note when every node says the same; otherwise each node's.
    if (new Set(perNode.map(([, n]) => n)).size === 1) notes.push(perNode[0]![1]);
    else notes.push(...perNode.map(([node, n]) => `${n} on node/${node}`));
    if (entries.length === 0) notes.push('the load balancer routes to no node');
    out = {
      ip,
      port,
      way,
      service: { namespace: svc.namespace, name: svc.name, port: sp.port, portName: sp.name, protocol: sp.protocol },
      entries,
      endpoints: uniq(endpoints),
      notes: uniq(notes),
      via,
    };
  }
  return req.protocol === 'TCP' && req.path !== undefined ? throughIngress(model, out, to, req) : out;
}

/** Endpoints that are ingress-nginx controllers hand the request on to the backend of the Ingress rule it matches. */
function throughIngress(model: Model, w: WayIn, to: TargetRef, req: WayInRequest): WayIn {
  const controllers = new Set(model.pods.filter((p) => p.workload === 'ingress-nginx').map((p) => `pod/${p.name}.${p.namespace}`));
  if (!w.endpoints.some((e) => controllers.has(e))) return w;
  const hostHeader = Object.entries(req.headers ?? {}).find(([k]) => k.toLowerCase() === 'host')?.[1];
  const host = hostHeader ?? (to.kind === 'url' || to.kind === 'name' ? to.host : w.ip);
  const route = ingressRoute(model, host, req.path ?? '/');
  const through = w.service ? `${svcText(w.service)}:${w.service.port} ${wayText(w)}` : `${w.ip}:${w.port} directly`;
  const rule = route.from
    ? `ingress ${inNs(route.from.namespace, route.from.ingress)} (host ${host.replace(/:\d+$/, '')}, path ${route.from.path})`
    : "ingress-nginx's default backend";
  const servers = route.servers.map((s) => {
    const ip = s.slice(0, s.lastIndexOf(':'));
    return serverAt(model, ip);
  });
  const backend = route.from ? model.services.find((s) => s.namespace === route.from!.namespace && s.name === route.from!.service) : undefined;
  const sp = backend?.ports.find((p) => String(p.port) === route.from!.port || p.name === route.from!.port);
  return {
    ...w,
    ...(backend && sp ? { service: { namespace: backend.namespace, name: backend.name, port: sp.port, portName: sp.name, protocol: sp.protocol } } : {}),
    endpoints: uniq([...w.endpoints.filter((e) => !controllers.has(e)), ...servers]),
    notes: route.why && !route.servers.length ? [route.why] : ["the upstream's ready endpoints"],
    ingress: { rule, through },
  };
}

function wayText(w: WayIn): string {
  const nodes = uniq(w.entries.map((e) => `node/${e.node}`));
  const on = nodes.length === 0 ? '' : nodes.length === 1 ? ` on ${nodes[0]}` : ` on ${nodes.join(' or ')}`;
  switch (w.way) {
    case 'clusterIP':
      return `via ClusterIP ${w.ip}${on}`;
    case 'nodePort':
      return `via nodeport ${w.port}${on}`;
    case 'externalIP':
      return `via externalIP ${w.ip}${on}`;
    case 'loadBalancer':
      return `via load balancer ${w.ip}${on}`;
    case 'direct':
      return 'directly';
  }
}

/** `pod/web-0.default` -> `pod/web-0`: a server name as a scenario writes it. */
const shortName = (server: string) => server.replace(/\.default$/, '');

/** `service/web:80 via nodeport 30080 on node/node-2: endpoints pod/web-0, pod/web-1 (Local)`. */
export function formatWayIn(w: WayIn): string {
  const what = w.service ? `${svcText(w.service)}:${w.service.port}` : `${w.ip}:${w.port}`;
  const cnames = w.via.length ? ` (${w.via.join(', ')})` : '';
  const lead = w.ingress
    ? `${w.ingress.rule.startsWith('ingress ') ? `${what} via ${w.ingress.rule}` : w.ingress.rule} through ${w.ingress.through}`
    : w.way === 'direct'
      ? `${what} directly`
      : `${what} ${wayText(w)}`;
  return `${lead}${cnames}: endpoints ${w.endpoints.map(shortName).join(', ') || 'none'}${w.notes.length ? ` (${w.notes.join('; ')})` : ''}`;
}
