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
}

export interface PortPolicy<E extends ProxyEndpoint> {
  nodePort: number;
  loadBalancerVIPs: string[];
  externalIPs: string[];
  externalPolicyLocal: boolean;
  internalPolicyLocal: boolean;
  endpoints: E[];
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
 * CategorizeEndpoints without topology hints: Ready endpoints, or (separately for Cluster and
 * Local) the serving-terminating ones when none is Ready.
 */
export function categorizeEndpoints<E extends ProxyEndpoint>(s: PortPolicy<E>): { cluster: E[]; local: E[]; reachable: E[]; hasAny: boolean } {
  const all = s.endpoints;
  let cluster: E[] = [];
  let local: E[] = [];
  let hasAny = false;
  if (usesClusterEndpoints(s)) {
    cluster = all.filter((e) => e.ready);
    if (cluster.length === 0) cluster = all.filter((e) => e.serving && e.terminating);
    if (cluster.length > 0) hasAny = true;
  }
  if (!usesLocalEndpoints(s)) return { cluster, local, reachable: cluster, hasAny };

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
  if (!usesClusterEndpoints(s)) return { cluster, local, reachable: local, hasAny };
  if (!servingTerminating) return { cluster, local, reachable: cluster, hasAny };
  // Upstream merges through a map (random order); sorted here, as every other list.
  const merged = new Map<string, E>();
  for (const e of [...cluster, ...local]) merged.set(e.str, e);
  return { cluster, local, reachable: [...merged.values()].sort((a, b) => cmp(a.str, b.str)), hasAny };
}

/** Where a Service port's traffic goes, the same in iptables and nftables modes (syncProxyRules' flags). */
export interface PortTraffic<E extends ProxyEndpoint> {
  /** categorizeEndpoints' lists. */
  cluster: E[];
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
  const { cluster, local, reachable, hasAny } = categorizeEndpoints(s);
  return {
    cluster,
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
