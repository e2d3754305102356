// What kube-proxy knows of one Service port and its endpoints, the same for every mode (upstream's
// BaseServicePortInfo, pkg/proxy/serviceport.go and endpointslicecache.go): each mode's renderer
// adds only its own chain or set names to it.
import { endpointsForPort } from '../cluster/service-endpoints.js';
import type { Model, Service, ServicePort } from '../cluster/types.js';
import { cidrContains, isIPv4 } from '../util/ip.js';
import { cmp, externallyAccessibleService, parseSourceRange, type ProxyEndpoint } from './kube-proxy-endpoints.js';
import { kubeProxyFeatures, type KubernetesVersion } from './versions.js';

export interface BaseEndpointInfo extends ProxyEndpoint {
  ip: string;
  port: number;
}

/** A loadBalancerSourceRanges entry, its host bits cleared (Go's net.ParseCIDR). */
export interface SourceRange {
  text: string;
  base: number;
  bits: number;
}

export interface BaseServicePortInfo<E extends BaseEndpointInfo = BaseEndpointInfo> {
  service: { namespace: string; name: string };
  /** The port's own name (may be empty). */
  portName: string;
  /** `ns/name:port` (ServicePortName.String()). */
  name: string;
  /** Lower-case. */
  protocol: string;
  clusterIP: string;
  port: number;
  nodePort: number;
  externalIPs: string[];
  loadBalancerVIPs: string[];
  loadBalancerSourceRanges: SourceRange[];
  healthCheckNodePort: number;
  externalPolicyLocal: boolean;
  internalPolicyLocal: boolean;
  clientIPAffinity: boolean;
  stickyMaxAgeSeconds: number;
  /** Sorted by `ip:port`, as endpointsMapFromEndpointInfo returns them. */
  endpoints: E[];
  /** The node's topology.kubernetes.io/zone label ('' when it has none). */
  nodeZone: string;
  /** Whether kube-proxy looks at zone hints for this Service (before 1.31: only under its hints annotation). */
  useZoneHints: boolean;
}

/** Whether a release's kube-proxy uses zone hints for a Service with these annotations (versions.ts hintsGate). */
export function zoneHintsUsed(version: KubernetesVersion, annotations: Readonly<Record<string, string>> | undefined): boolean {
  const a = annotations ?? {};
  const gate = kubeProxyFeatures(version).hintsGate;
  switch (gate) {
    case 'always':
      return true;
    case 'auto-only': {
      const v = a['service.kubernetes.io/topology-aware-hints'];
      return v === 'Auto' || v === 'auto';
    }
    case 'not-disabled': {
      // The deprecated annotation wins when present, even empty (serviceport.go).
      const v = a['service.kubernetes.io/topology-aware-hints'] ?? a['service.kubernetes.io/topology-mode'] ?? '';
      return v !== '' && v !== 'disabled' && v !== 'Disabled';
    }
    default: {
      const never: never = gate;
      return never;
    }
  }
}

/** `ns/name:port`, or `ns/name` for an unnamed port (proxy.ServicePortName.String()). */
export function servicePortName(svc: { namespace: string; name: string }, portName: string): string {
  return `${svc.namespace}/${svc.name}${portName ? `:${portName}` : ''}`;
}

/** Whether any of the ranges holds `ip` (the node's own address, for loadBalancerSourceRanges). */
export function sourceRangesContain(ranges: readonly SourceRange[], ip: string): boolean {
  return ranges.some((r) => cidrContains(r, ip));
}

function baseServicePortInfo(model: Model, svc: Service, sp: ServicePort, nodeName: string): BaseServicePortInfo {
  // Zero-masked ranges mean "allow any", the same as none (newBaseServiceInfo).
  let ranges = svc.spec.loadBalancerSourceRanges.map(parseSourceRange).filter((r) => r !== undefined);
  if (ranges.some((r) => r.bits === 0)) ranges = [];
  const externalPolicyLocal = externallyAccessibleService(svc) && svc.spec.externalTrafficPolicy === 'Local';
  const endpoints = endpointsForPort(model, svc, sp)
    .filter((e) => isIPv4(e.ip))
    .map(
      (e): BaseEndpointInfo => ({
        ip: e.ip,
        port: e.port,
        str: `${e.ip}:${e.port}`,
        ready: e.ready,
        serving: e.serving,
        terminating: e.terminating,
        isLocal: e.nodeName !== undefined && e.nodeName === nodeName,
        zoneHints: e.zoneHints ?? [],
      }),
    )
    // endpointsMapFromEndpointInfo: "Ensure endpoints are always returned in the same order" (by string).
    .sort((a, b) => cmp(a.str, b.str));
  return {
    service: { namespace: svc.namespace, name: svc.name },
    portName: sp.name,
    name: servicePortName(svc, sp.name),
    protocol: sp.protocol.toLowerCase(),
    clusterIP: svc.clusterIP!,
    port: sp.port,
    nodePort: sp.nodePort ?? 0,
    externalIPs: svc.spec.externalIPs.filter(isIPv4),
    loadBalancerVIPs: svc.loadBalancerIPs.filter(isIPv4),
    loadBalancerSourceRanges: ranges,
    healthCheckNodePort: svc.spec.type === 'LoadBalancer' && externalPolicyLocal ? (svc.healthCheckNodePort ?? 0) : 0,
    externalPolicyLocal,
    internalPolicyLocal: svc.spec.internalTrafficPolicy === 'Local',
    clientIPAffinity: svc.spec.sessionAffinity === 'ClientIP',
    stickyMaxAgeSeconds: svc.spec.sessionAffinityTimeout,
    endpoints,
    nodeZone: model.nodes.find((n) => n.name === nodeName)?.labels['topology.kubernetes.io/zone'] ?? '',
    useZoneHints: zoneHintsUsed(model.config.kubernetesVersion, svc.annotations),
  };
}

/** The Service name of a port name: up to the first colon. */
const serviceOf = (name: string) => name.split(':', 1)[0]!;

/**
 * The Service ports kube-proxy programs (ShouldSkipService: no ClusterIP, headless, ExternalName),
 * by Service name, then port name and protocol (kube-proxy walks a Go map; any fixed order gives
 * the same rules; this is the order upstream's tests sort by).
 */
export function baseServicePorts(model: Model, nodeName: string): BaseServicePortInfo[] {
  const out: BaseServicePortInfo[] = [];
  for (const svc of model.services) {
    if (svc.spec.type === 'ExternalName' || !svc.clusterIP || svc.clusterIP === 'None' || !isIPv4(svc.clusterIP)) continue;
    for (const sp of svc.ports) out.push(baseServicePortInfo(model, svc, sp, nodeName));
  }
  return out.sort((a, b) => cmp(serviceOf(a.name), serviceOf(b.name)) || cmp(a.name, b.name) || cmp(a.protocol, b.protocol));
}

/**
 * A mode's view of a Service port: the shared one with names added to it and to each endpoint. In
 * place: `base` is the caller's own (fresh from baseServicePorts), and copying every endpoint cost
 * a tenth of a render.
 */
export function withNames<P extends object, E extends object>(
  base: BaseServicePortInfo,
  portNames: (s: BaseServicePortInfo) => P,
  endpointNames: (s: BaseServicePortInfo, e: BaseEndpointInfo) => E,
): BaseServicePortInfo<BaseEndpointInfo & E> & P {
  for (const e of base.endpoints) Object.assign(e, endpointNames(base, e));
  return Object.assign(base as BaseServicePortInfo<BaseEndpointInfo & E>, portNames(base));
}

// ---------------------------------------------------------------------------------------------
// Stale UDP conntrack entries (every mode clears them the same way)

export interface StaleUdpEndpoint {
  /** `ns/name:port`. */
  servicePort: string;
  /** The removed endpoint, `ip:port`. */
  endpoint: string;
  ip: string;
  /**
   * The `conntrack` argv lists kube-proxy runs for it (pkg/proxy/conntrack: ClearEntriesForPortNAT
   * for the nodePort, then ClearEntriesForNAT for the ClusterIP, each external IP and LB IP).
   */
  conntrack: string[][];
}

/**
 * The UDP endpoints that were serving in `prev` and are no longer serving in `next`
 * (detectStaleConntrackEntries), for Service ports that still exist: their conntrack entries
 * must be deleted after the new rules are in, or clients keep sending to the gone endpoint. The
 * endpoints map does not depend on the node, so `nodeName` only names whose conntrack table it is.
 */
export function staleUdpEndpoints(prev: Model, next: Model, nodeName: string): StaleUdpEndpoint[] {
  const key = (s: BaseServicePortInfo) => `${s.name}/${s.protocol}`;
  const nextPorts = new Map(baseServicePorts(next, nodeName).map((s) => [key(s), s]));
  const out: StaleUdpEndpoint[] = [];
  for (const old of baseServicePorts(prev, nodeName)) {
    if (old.protocol !== 'udp') continue;
    const now = nextPorts.get(key(old));
    if (!now) continue; // A deleted Service's IPs are cleaned as a whole, not per endpoint.
    for (const ep of old.endpoints) {
      // An endpoint that was not serving never got traffic.
      if (!ep.serving) continue;
      if (now.endpoints.some((e) => e.str === ep.str && e.serving === ep.serving)) continue;
      const conntrack: string[][] = [];
      if (now.nodePort !== 0) conntrack.push(['-D', '-p', 'udp', '--dport', String(now.nodePort), '--dst-nat', ep.ip]);
      for (const origin of [now.clusterIP, ...now.externalIPs, ...now.loadBalancerVIPs]) conntrack.push(['-D', '--orig-dst', origin, '--dst-nat', ep.ip, '-p', 'udp']);
      out.push({ servicePort: now.name, endpoint: ep.str, ip: ep.ip, conntrack });
    }
  }
  return out;
}

/** What kube-proxy's conntrack reconciler reads of a UDP entry: the original destination and who replies. */
export interface UdpConntrackEntry {
  origDst: string;
  origDport: number;
  replySrc: string;
}

/**
 * The `conntrack -D` argv lists of kube-proxy's reconciler (pkg/proxy/conntrack CleanStaleEntries,
 * run when UDP Services are in the sync, as on the first sync after a start): every UDP entry sent
 * to a Service IP:port or a NodePort whose reply does not come from one of its serving endpoints.
 * A Service port without serving endpoints is left alone; traffic policies and topology are not
 * taken into account (existing flows keep going, as TCP ones do).
 */
export function udpConntrackCleanup(model: Model, nodeName: string, entries: readonly UdpConntrackEntry[]): string[][] {
  const byFrontend = new Map<string, Set<string>>();
  const byNodePort = new Map<number, Set<string>>();
  for (const sp of baseServicePorts(model, nodeName)) {
    if (sp.protocol !== 'udp') continue;
    const serving = new Set(sp.endpoints.filter((e) => e.serving).map((e) => e.ip));
    if (serving.size === 0) continue;
    for (const ip of [sp.clusterIP, ...sp.loadBalancerVIPs, ...sp.externalIPs]) byFrontend.set(`${ip}:${sp.port}`, serving);
    if (sp.nodePort !== 0) byNodePort.set(sp.nodePort, serving);
  }
  const out: string[][] = [];
  const seen = new Set<string>();
  const add = (argv: string[]) => {
    const key = argv.join(' ');
    if (seen.has(key)) return;
    seen.add(key);
    out.push(argv);
  };
  for (const e of entries) {
    const front = byFrontend.get(`${e.origDst}:${e.origDport}`);
    if (front && !front.has(e.replySrc)) add(['-D', '-p', 'udp', '--orig-dst', e.origDst, '--dport', String(e.origDport), '--reply-src', e.replySrc]);
    const np = byNodePort.get(e.origDport);
    if (np && !np.has(e.replySrc)) add(['-D', '-p', 'udp', '--dport', String(e.origDport), '--reply-src', e.replySrc]);
  }
  return out;
}

export interface NewlyActiveUdpService {
  /** `ns/name:port`. */
  servicePort: string;
  /**
   * The `conntrack` argv lists kube-proxy runs for it (pkg/proxy/conntrack,
   * deleteStaleServiceConntrackEntries: ClearEntriesForIP for the ClusterIP, each external IP and LB
   * IP, then ClearEntriesForPort for the nodePort).
   */
  conntrack: string[][];
}

/**
 * The UDP Service ports that had no serving endpoint in `prev` (or did not exist) and have one in
 * `next` (NewlyActiveUDPServices): a datagram sent while nothing served them may have left an
 * un-DNATed entry that would blackhole the flow after the endpoints come (kubernetes#48370).
 * Without `prev` (a kube-proxy's first sync) every UDP Service port with a serving endpoint is.
 */
export function newlyActiveUdpServices(prev: Model | undefined, next: Model, nodeName: string): NewlyActiveUdpService[] {
  const key = (s: BaseServicePortInfo) => `${s.name}/${s.protocol}`;
  const serving = (s: BaseServicePortInfo | undefined) => (s?.endpoints ?? []).some((e) => e.serving);
  const before = new Map((prev ? baseServicePorts(prev, nodeName) : []).map((s) => [key(s), s]));
  const out: NewlyActiveUdpService[] = [];
  for (const now of baseServicePorts(next, nodeName)) {
    if (now.protocol !== 'udp' || !serving(now) || serving(before.get(key(now)))) continue;
    const conntrack = [now.clusterIP, ...now.externalIPs, ...now.loadBalancerVIPs].map((ip) => ['-D', '--orig-dst', ip, '-p', 'udp']);
    if (now.nodePort !== 0) conntrack.push(['-D', '-p', 'udp', '--dport', String(now.nodePort)]);
    out.push({ servicePort: now.name, conntrack });
  }
  return out;
}
