import type { Service } from '../cluster/types.js';
import { formatCidr, ipToInt, isIPv4, mask } from '../util/ip.js';

// What every kube-proxy mode shares (upstream's pkg/proxy): which endpoints a Service port uses.

export interface ProxyEndpoint {
  /** `ip:port` (Endpoint.String()). */
  str: string;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
  isLocal: boolean;
  /** hints.forZones of its EndpointSlice endpoint (empty: none). */
  zoneHints?: readonly string[];
}

export interface PortPolicy<E extends ProxyEndpoint> {
  nodePort: number;
  loadBalancerVIPs: string[];
  externalIPs: string[];
  externalPolicyLocal: boolean;
  internalPolicyLocal: boolean;
  endpoints: E[];
  /** The node's topology.kubernetes.io/zone label ('' or undefined: none). */
  nodeZone?: string;
  /** Whether this release uses zone hints for this Service at all (before 1.31 only under its hints annotation). */
  useZoneHints?: boolean;
}

export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A CIDR with its host bits cleared (Go's net.ParseCIDR), or undefined when it is not IPv4. */
export function parseSourceRange(s: string): { text: string; base: number; bits: number } | undefined {
  const m = /^([0-9.]+)\/(\d{1,2})$/.exec(s.trim());
  if (!m || !isIPv4(m[1]!) || Number(m[2]) > 32) return undefined;
  const bits = Number(m[2]);
  const base = (ipToInt(m[1]!) & mask(bits)) >>> 0;
  return { text: formatCidr({ base, bits }), base, bits };
}

export function externallyAccessibleService(svc: Service): boolean {
  const type = svc.spec.type;
  return type === 'LoadBalancer' || type === 'NodePort' || (type === 'ClusterIP' && svc.spec.externalIPs.length > 0);
}

export function externallyAccessible(s: PortPolicy<ProxyEndpoint>): boolean {
  return s.nodePort !== 0 || s.loadBalancerVIPs.length > 0 || s.externalIPs.length > 0;
}

export function usesClusterEndpoints(s: PortPolicy<ProxyEndpoint>): boolean {
  // Even with Local external policy, Cluster endpoints implement the short circuits.
  return !s.internalPolicyLocal || externallyAccessible(s);
}

export function usesLocalEndpoints(s: PortPolicy<ProxyEndpoint>): boolean {
  return s.internalPolicyLocal || (s.externalPolicyLocal && externallyAccessible(s));
}

/**
 * topologyModeFromHints (canUseTopology before 1.31), zones only: every ready endpoint has a zone
 * hint and one is hinted for this node's zone. Node hints (PreferSameNode) need the
 * PreferSameTrafficDistribution gate, alpha and off in 1.33, absent before: never used here.
 */
export function usesTopology(s: PortPolicy<ProxyEndpoint>): boolean {
  const zone = s.nodeZone ?? '';
  if (!s.useZoneHints || zone === '') return false;
  let hasReady = false;
  let hasForZone = false;
  for (const e of s.endpoints) {
    if (!e.ready) continue;
    hasReady = true;
    const hints = e.zoneHints ?? [];
    if (hints.length === 0) return false;
    if (hints.includes(zone)) hasForZone = true;
  }
  return hasReady && hasForZone;
}

/**
 * CategorizeEndpoints: Ready endpoints (for Cluster, those hinted for the node's zone when
 * topology applies), or (separately for Cluster and Local) the serving-terminating ones when none
 * is Ready. Local endpoints ignore topology.
 */
export function categorizeEndpoints<E extends ProxyEndpoint>(s: PortPolicy<E>): { cluster: E[]; local: E[]; reachable: E[]; hasAny: boolean; topology: boolean } {
  const all = s.endpoints;
  let cluster: E[] = [];
  let local: E[] = [];
  let hasAny = false;
  let topology = false;
  if (usesClusterEndpoints(s)) {
    topology = usesTopology(s);
    const zone = s.nodeZone ?? '';
    cluster = all.filter((e) => e.ready && (!topology || (e.zoneHints ?? []).includes(zone)));
    if (cluster.length === 0) cluster = all.filter((e) => e.serving && e.terminating);
    if (cluster.length > 0) hasAny = true;
  }
  if (!usesLocalEndpoints(s)) return { cluster, local, reachable: cluster, hasAny, topology };

  let localReady = false;
  let localServingTerminating = false;
  for (const e of all) {
    if (e.ready) {
      hasAny = true;
      if (e.isLocal) localReady = true;
    } else if (e.serving && e.terminating) {
      hasAny = true;
      if (e.isLocal) localServingTerminating = true;
    }
  }
  let servingTerminating = false;
  if (localReady) local = all.filter((e) => e.isLocal && e.ready);
  else if (localServingTerminating) {
    servingTerminating = true;
    local = all.filter((e) => e.isLocal && e.serving && e.terminating);
  }
  if (!usesClusterEndpoints(s)) return { cluster, local, reachable: local, hasAny, topology };
  if (!topology && !servingTerminating) return { cluster, local, reachable: cluster, hasAny, topology };
  // Upstream merges through a map (random order); sorted here, as every other list.
  const merged = new Map<string, E>();
  for (const e of [...cluster, ...local]) merged.set(e.str, e);
  return { cluster, local, reachable: [...merged.values()].sort((a, b) => cmp(a.str, b.str)), hasAny, topology };
}

/** Where a Service port's traffic goes, the same in iptables and nftables modes (syncProxyRules' flags). */
export interface PortTraffic<E extends ProxyEndpoint> {
  /** categorizeEndpoints' lists. */
  cluster: E[];
  /** The Cluster endpoints are narrowed to the node's zone by hints. */
  topology: boolean;
  local: E[];
  reachable: E[];
  /** Any usable endpoint at all: without, every way in rejects. */
  hasEndpoints: boolean;
  /** ClusterIP traffic has endpoints under its policy (Local: on this node). */
  hasInternalEndpoints: boolean;
  /** External traffic has endpoints under its policy (Local: on this node). */
  hasExternalEndpoints: boolean;
  usesClusterPolicyChain: boolean;
  usesLocalPolicyChain: boolean;
  /** On hasEndpoints, not hasExternalEndpoints: the short circuits for local traffic are needed even without local endpoints. */
  usesExternalTrafficChain: boolean;
}

export function portTraffic<E extends ProxyEndpoint>(s: PortPolicy<E>): PortTraffic<E> {
  const { cluster, local, reachable, hasAny, topology } = categorizeEndpoints(s);
  return {
    cluster,
    topology,
    local,
    reachable,
    hasEndpoints: hasAny,
    hasInternalEndpoints: hasAny && !(s.internalPolicyLocal && local.length === 0),
    hasExternalEndpoints: hasAny && !(s.externalPolicyLocal && local.length === 0),
    usesClusterPolicyChain: cluster.length > 0 && usesClusterEndpoints(s),
    usesLocalPolicyChain: local.length > 0 && usesLocalEndpoints(s),
    usesExternalTrafficChain: hasAny && externallyAccessible(s),
  };
}
