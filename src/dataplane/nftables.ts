// kube-proxy's nftables mode, rendered as the `nft -f -` input for one node (pure text).
// Transcribed from upstream pkg/proxy/nftables/proxier.go of the 1.31 line (setupNFTables,
// syncProxyRules, writeServiceToEndpointRules: base chains filter-prerouting ... nat-postrouting,
// service-endpoints-check / nodeport-endpoints-check, cluster-ips-check, filter-output-post-dnat,
// sets and verdict maps) and pkg/proxy/topology.go (CategorizeEndpoints). The commands are
// knftables' own (`add chain ip kube-proxy NAME`, `add rule ...`, `add element ...`), in the order
// of kube-proxy's transaction, without its flushes, which are no-ops on a table just re-created;
// sorted like upstream's sortNFTablesTransaction they equal the fixtures of its proxier_test.go.
//
// How to apply it: the text starts with `add table` + `delete table` (add first, so the delete
// never fails on a fresh node) and creates the whole table, for a node's first sync; later syncs
// turn it into kube-proxy's flush-and-refill transaction, which keeps the affinity sets
// (nft-sync.ts). Either way one `nft -f -` per node per sync: one atomic transaction.
import { categorizeEndpoints, externallyAccessible, parseSourceRange, usesClusterEndpoints, usesLocalEndpoints } from './kube-proxy-endpoints.js';
import type { Model } from '../cluster/types.js';
import { sha256 } from '../util/hash.js';
import { formatCidr } from '../util/ip.js';
import { baseServicePorts, sourceRangesContain, withNames, type BaseServicePortInfo } from './service-port.js';
import { base32 } from './kube-hash.js';

/** kube-proxy's table: every chain, set and map lives in it, so their names need no prefix. */
export const KUBE_PROXY_TABLE = 'kube-proxy';
const T = `ip ${KUBE_PROXY_TABLE}`;

export const SERVICES_CHAIN = 'services';
export const SERVICE_IPS_MAP = 'service-ips';
export const SERVICE_NODEPORTS_MAP = 'service-nodeports';
export const NODEPORT_IPS_SET = 'nodeport-ips';
export const CLUSTER_IPS_SET = 'cluster-ips';
export const SERVICE_ENDPOINTS_CHECK_CHAIN = 'service-endpoints-check';
export const NODEPORT_ENDPOINTS_CHECK_CHAIN = 'nodeport-endpoints-check';
export const NO_ENDPOINT_SERVICES_MAP = 'no-endpoint-services';
export const NO_ENDPOINT_NODEPORTS_MAP = 'no-endpoint-nodeports';
export const REJECT_CHAIN = 'reject-chain';
export const CLUSTER_IPS_CHECK_CHAIN = 'cluster-ips-check';
export const FIREWALL_IPS_MAP = 'firewall-ips';
export const FIREWALL_CHECK_CHAIN = 'firewall-check';
export const MARK_MASQ_CHAIN = 'mark-for-masquerade';
export const MASQUERADING_CHAIN = 'masquerading';

/** --masquerade-bit 14, as the fake proxier of upstream's tests writes it (the binary prints `%#08x`, `0x004000`: the same value). */
export const NFT_MASQUERADE_MARK = '0x4000';

export interface NftBaseChain {
  name: string;
  type: 'filter' | 'nat';
  hook: 'prerouting' | 'input' | 'forward' | 'output' | 'postrouting';
  /** knftables prints `dstnat-10` and friends as numbers: dstnat is -100, srcnat 100. */
  priority: number;
}

/** nftablesBaseChains, in upstream's order. The filter chains see the destination before DNAT, except filter-output-post-dnat. */
export const NFT_BASE_CHAINS: readonly NftBaseChain[] = [
  { name: 'filter-prerouting', type: 'filter', hook: 'prerouting', priority: -110 },
  { name: 'filter-input', type: 'filter', hook: 'input', priority: -110 },
  { name: 'filter-forward', type: 'filter', hook: 'forward', priority: -110 },
  { name: 'filter-output', type: 'filter', hook: 'output', priority: -110 },
  { name: 'filter-output-post-dnat', type: 'filter', hook: 'output', priority: -90 },
  { name: 'nat-prerouting', type: 'nat', hook: 'prerouting', priority: -100 },
  { name: 'nat-output', type: 'nat', hook: 'output', priority: -100 },
  { name: 'nat-postrouting', type: 'nat', hook: 'postrouting', priority: 100 },
];

/** nftablesJumpChains: [target, from, extra match], in upstream's order. */
const JUMP_CHAINS: readonly [string, string, string][] = [
  // reject is only valid in the input, forward and output hooks (kernels before 5.9), so not from prerouting.
  [NODEPORT_ENDPOINTS_CHECK_CHAIN, 'filter-input', 'ct state new'],
  [SERVICE_ENDPOINTS_CHECK_CHAIN, 'filter-input', 'ct state new'],
  [SERVICE_ENDPOINTS_CHECK_CHAIN, 'filter-forward', 'ct state new'],
  [SERVICE_ENDPOINTS_CHECK_CHAIN, 'filter-output', 'ct state new'],
  [FIREWALL_CHECK_CHAIN, 'filter-prerouting', 'ct state new'],
  [FIREWALL_CHECK_CHAIN, 'filter-output', 'ct state new'],
  [SERVICES_CHAIN, 'nat-output', ''],
  [SERVICES_CHAIN, 'nat-prerouting', ''],
  [MASQUERADING_CHAIN, 'nat-postrouting', ''],
  [CLUSTER_IPS_CHECK_CHAIN, 'filter-forward', 'ct state new'],
  [CLUSTER_IPS_CHECK_CHAIN, 'filter-output-post-dnat', 'ct state new'],
];

export interface KubeProxyNftablesOptions {
  /**
   * --nodeport-addresses. `primary` (kube-proxy's default in nftables mode): NodePorts answer on
   * the node's primary IP only, listed in @nodeport-ips. `all` (an explicit 0.0.0.0/0): on every
   * local address but 127/8 (`fib daddr type local`), without the set.
   */
  nodePortAddresses?: 'primary' | 'all';
  /**
   * The ServiceCIDRs kube-proxy watches, for the "Drop traffic to unallocated ClusterIPs" rule. It
   * watches them only with the MultiCIDRServiceAllocator gate (off by default in 1.31 and 1.32),
   * hence the default: none, and no such rule.
   */
  serviceCIDRs?: string[];
}

// ---------------------------------------------------------------------------------------------
// Names

/** knftables.NameLengthMax (256) less the longest prefix (16): the longest name base. */
const CHAIN_NAME_BASE_LENGTH_MAX = 240;

/** The first 8 characters of base32(sha256(name)), a dash, then name, cut to 240 characters with `...` (hashAndTruncate). */
export function hashAndTruncate(name: string): string {
  let out = `${base32(sha256(name)).slice(0, 8)}-${name}`;
  if (out.length > CHAIN_NAME_BASE_LENGTH_MAX) out = `${out.slice(0, CHAIN_NAME_BASE_LENGTH_MAX - 3)}...`;
  return out;
}

interface ServiceRef {
  namespace: string;
  name: string;
}

/** `HASH-ns/name/proto/port` (servicePortChainNameBase); an unnamed port leaves the last part empty. */
export function servicePortChainNameBase(svc: ServiceRef, portName: string, protocol: string): string {
  return hashAndTruncate(`${svc.namespace}/${svc.name}/${protocol.toLowerCase()}/${portName}`);
}

/** `HASH-ns/name/proto/port__ip/port` (servicePortEndpointChainNameBase); `endpoint` is `ip:port`. */
export function servicePortEndpointChainNameBase(svc: ServiceRef, portName: string, protocol: string, endpoint: string): string {
  const i = endpoint.lastIndexOf(':');
  // An IPv6 address would bring colons, which chain names cannot hold (SplitHostPort drops its brackets).
  const ip = endpoint.slice(0, i).replace(/^\[|\]$/g, '').replaceAll(':', '.');
  return hashAndTruncate(`${svc.namespace}/${svc.name}/${protocol.toLowerCase()}/${portName}__${ip}/${endpoint.slice(i + 1)}`);
}

export type NftServiceChainPrefix = 'service-' | 'local-' | 'external-' | 'firewall-';

/** A Service port's chain: `service-` (Cluster policy), `local-` (Local policy), `external-` or `firewall-` + its name base. */
export function serviceChainName(prefix: NftServiceChainPrefix, svc: ServiceRef, portName: string, protocol: string): string {
  return prefix + servicePortChainNameBase(svc, portName, protocol);
}

/** An endpoint's chain: `endpoint-` + its name base. */
export function endpointChainName(svc: ServiceRef, portName: string, protocol: string, endpoint: string): string {
  return 'endpoint-' + servicePortEndpointChainNameBase(svc, portName, protocol, endpoint);
}

/** An endpoint's ClientIP affinity set: `affinity-` + the same base as its chain. */
export function affinitySetName(svc: ServiceRef, portName: string, protocol: string, endpoint: string): string {
  return 'affinity-' + servicePortEndpointChainNameBase(svc, portName, protocol, endpoint);
}

/** Service and endpoint chains are the only ones with a `/` (isServiceChainName). */
export function isServiceChainName(chain: string): boolean {
  return chain.includes('/');
}

// ---------------------------------------------------------------------------------------------
// The nftables mode's view of a Service port: the shared one with its chain and set names

type ServicePortInfo = ReturnType<typeof servicePortInfo>;
type EndpointInfo = ServicePortInfo['endpoints'][number];

function servicePortInfo(base: BaseServicePortInfo) {
  return withNames(
    base,
    (s) => ({
      clusterPolicyChain: serviceChainName('service-', s.service, s.portName, s.protocol),
      localPolicyChain: serviceChainName('local-', s.service, s.portName, s.protocol),
      externalChain: serviceChainName('external-', s.service, s.portName, s.protocol),
      firewallChain: serviceChainName('firewall-', s.service, s.portName, s.protocol),
    }),
    (s, e) => ({
      chain: endpointChainName(s.service, s.portName, s.protocol, e.str),
      affinitySet: affinitySetName(s.service, s.portName, s.protocol, e.str),
    }),
  );
}

// ---------------------------------------------------------------------------------------------
// The renderer

const q = (s: string) => `"${s}"`;

/**
 * The `nft -f -` input that (re)creates kube-proxy's whole `table ip kube-proxy` on `nodeName`,
 * as kube-proxy in nftables mode (1.31) programs it for the model.
 */
export function renderKubeProxyNftables(model: Model, nodeName: string, options: KubeProxyNftablesOptions = {}): string {
  const node = model.nodes.find((n) => n.name === nodeName);
  if (!node) throw new Error(`Expected \`nodeName\` to be a node of the model, got \`${nodeName}\``);
  const matchAll = (options.nodePortAddresses ?? 'primary') === 'all';
  const serviceCIDRs = (options.serviceCIDRs ?? []).filter((c) => parseSourceRange(c) !== undefined);
  const clusterCIDR = formatCidr(model.config.podCIDR);
  const masqueradeAll = model.config.masqueradeAll;
  const mark = NFT_MASQUERADE_MARK;
  const ifLocal = `ip saddr ${clusterCIDR}`;
  const ifNotLocal = `ip saddr != ${clusterCIDR}`;

  const out: string[] = [];
  const created = new Set<string>();
  const line = (...parts: (string | number)[]) => out.push(parts.filter((p) => p !== '').join(' '));
  const chain = (name: string, extra = '') => {
    // ensureChain: each chain once (kube-proxy adds and flushes it the first time only).
    if (created.has(name)) return;
    created.add(name);
    line('add chain', T, name, extra);
  };
  const rule = (ch: string, body: string, comment?: string) => line('add rule', T, ch, body, comment === undefined ? '' : `comment ${q(comment)}`);
  const element = (set: string, key: (string | number)[], value?: string, comment?: string) =>
    line('add element', T, set, '{', key.join(' . '), comment === undefined ? '' : `comment ${q(comment)}`, value === undefined ? '' : `: ${value}`, '}');

  // Start from nothing: `add` first so that `delete` never fails, all in nft's one transaction.
  line('add table', T);
  line('delete table', T);

  // setupNFTables.
  line('add table', T, `{ comment ${q('rules for kube-proxy')} ; }`);
  for (const bc of NFT_BASE_CHAINS) chain(bc.name, `{ type ${bc.type} hook ${bc.hook} priority ${bc.priority} ; }`);
  for (const [target, from, extra] of JUMP_CHAINS) {
    chain(target);
    rule(from, [extra, 'jump', target].filter(Boolean).join(' '));
  }
  for (const c of [SERVICES_CHAIN, CLUSTER_IPS_CHECK_CHAIN, MASQUERADING_CHAIN, MARK_MASQ_CHAIN]) chain(c);
  rule(MARK_MASQ_CHAIN, `mark set mark or ${mark}`);
  // Unmarked packets leave; the mark is cleared so that a packet going through again is not masqueraded twice.
  rule(MASQUERADING_CHAIN, `mark and ${mark} == 0 return`);
  rule(MASQUERADING_CHAIN, `mark set mark xor ${mark}`);
  rule(MASQUERADING_CHAIN, 'masquerade fully-random');

  line('add set', T, CLUSTER_IPS_SET, `{ type ipv4_addr ; comment ${q('Active ClusterIPs')} ; }`);
  // A ClusterIP answers only on its Service's ports: anything else is refused, not routed on.
  rule(CLUSTER_IPS_CHECK_CHAIN, `ip daddr @${CLUSTER_IPS_SET} reject`, 'Reject traffic to invalid ports of ClusterIPs');
  if (serviceCIDRs.length > 0) rule(CLUSTER_IPS_CHECK_CHAIN, `ip daddr { ${serviceCIDRs.join(',')} } drop`, 'Drop traffic to unallocated ClusterIPs');

  if (!matchAll) {
    line('add set', T, NODEPORT_IPS_SET, `{ type ipv4_addr ; comment ${q('IPs that accept NodePort traffic')} ; }`);
    // --nodeport-addresses primary: the node's InternalIP, the LAN address here.
    element(NODEPORT_IPS_SET, [node.ip]);
  }

  line('add map', T, NO_ENDPOINT_SERVICES_MAP, `{ type ipv4_addr . inet_proto . inet_service : verdict ; comment ${q('vmap to drop or reject packets to services with no endpoints')} ; }`);
  line('add map', T, NO_ENDPOINT_NODEPORTS_MAP, `{ type inet_proto . inet_service : verdict ; comment ${q('vmap to drop or reject packets to service nodeports with no endpoints')} ; }`);
  chain(REJECT_CHAIN, `{ comment ${q('helper for @no-endpoint-services / @no-endpoint-nodeports')} ; }`);
  rule(REJECT_CHAIN, 'reject');
  rule(SERVICE_ENDPOINTS_CHECK_CHAIN, `ip daddr . meta l4proto . th dport vmap @${NO_ENDPOINT_SERVICES_MAP}`);
  if (matchAll) rule(NODEPORT_ENDPOINTS_CHECK_CHAIN, `ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @${NO_ENDPOINT_NODEPORTS_MAP}`);
  else rule(NODEPORT_ENDPOINTS_CHECK_CHAIN, `ip daddr @${NODEPORT_IPS_SET} meta l4proto . th dport vmap @${NO_ENDPOINT_NODEPORTS_MAP}`);

  line('add map', T, FIREWALL_IPS_MAP, `{ type ipv4_addr . inet_proto . inet_service : verdict ; comment ${q('destinations that are subject to LoadBalancerSourceRanges')} ; }`);
  chain(FIREWALL_CHECK_CHAIN);
  rule(FIREWALL_CHECK_CHAIN, `ip daddr . meta l4proto . th dport vmap @${FIREWALL_IPS_MAP}`);

  line('add map', T, SERVICE_IPS_MAP, `{ type ipv4_addr . inet_proto . inet_service : verdict ; comment ${q('ClusterIP, ExternalIP and LoadBalancer IP traffic')} ; }`);
  line('add map', T, SERVICE_NODEPORTS_MAP, `{ type inet_proto . inet_service : verdict ; comment ${q('NodePort traffic')} ; }`);
  rule(SERVICES_CHAIN, `ip daddr . meta l4proto . th dport vmap @${SERVICE_IPS_MAP}`);
  if (matchAll) rule(SERVICES_CHAIN, `fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @${SERVICE_NODEPORTS_MAP}`);
  else rule(SERVICES_CHAIN, `ip daddr @${NODEPORT_IPS_SET} meta l4proto . th dport vmap @${SERVICE_NODEPORTS_MAP}`);

  // syncProxyRules: each Service port.
  for (const s of baseServicePorts(model, nodeName).map(servicePortInfo)) {
    const p = s.protocol;
    const { cluster: clusterEndpoints, local: localEndpoints, reachable, hasAny: hasEndpoints } = categorizeEndpoints(s);
    out.push('', `# ${s.name}`);

    for (const ep of reachable) chain(ep.chain);
    const usesClusterPolicyChain = clusterEndpoints.length > 0 && usesClusterEndpoints(s);
    if (usesClusterPolicyChain) chain(s.clusterPolicyChain);
    const usesLocalPolicyChain = localEndpoints.length > 0 && usesLocalEndpoints(s);
    if (usesLocalPolicyChain) chain(s.localPolicyChain);

    let internalTrafficChain = s.clusterPolicyChain;
    let hasInternalEndpoints = hasEndpoints;
    if (s.internalPolicyLocal) {
      internalTrafficChain = s.localPolicyChain;
      if (localEndpoints.length === 0) hasInternalEndpoints = false;
    }
    let externalPolicyChain = s.clusterPolicyChain;
    let hasExternalEndpoints = hasEndpoints;
    if (s.externalPolicyLocal) {
      externalPolicyChain = s.localPolicyChain;
      if (localEndpoints.length === 0) hasExternalEndpoints = false;
    }
    const externalTrafficChain = s.externalChain;
    // On hasEndpoints, not hasExternalEndpoints: the short circuits for local traffic are needed even without local endpoints.
    const usesExternalTrafficChain = hasEndpoints && externallyAccessible(s);
    if (usesExternalTrafficChain) chain(externalTrafficChain);

    // No endpoints at all: reject everywhere. Local policy without local endpoints: drop what the short circuits let through.
    let internalVerdict = '';
    let externalVerdict = '';
    if (!hasEndpoints) internalVerdict = externalVerdict = `goto ${REJECT_CHAIN}`;
    else {
      if (!hasInternalEndpoints) internalVerdict = 'drop';
      if (!hasExternalEndpoints) externalVerdict = 'drop';
    }

    element(CLUSTER_IPS_SET, [s.clusterIP]);
    if (hasInternalEndpoints) element(SERVICE_IPS_MAP, [s.clusterIP, p, s.port], `goto ${internalTrafficChain}`);
    else element(NO_ENDPOINT_SERVICES_MAP, [s.clusterIP, p, s.port], internalVerdict, s.name);

    for (const ip of s.externalIPs) {
      if (hasEndpoints) element(SERVICE_IPS_MAP, [ip, p, s.port], `goto ${externalTrafficChain}`);
      if (!hasExternalEndpoints) element(NO_ENDPOINT_SERVICES_MAP, [ip, p, s.port], externalVerdict, s.name);
    }

    // loadBalancerSourceRanges: checked in filter-prerouting / filter-output, before DNAT, so on the LB IP itself.
    const usesFWChain = s.loadBalancerVIPs.length > 0 && s.loadBalancerSourceRanges.length > 0;
    if (usesFWChain) {
      chain(s.firewallChain);
      const sources = s.loadBalancerSourceRanges.map((r) => r.text);
      const allowFromNode = sourceRangesContain(s.loadBalancerSourceRanges, node.ip);
      // A VIP that is a local address loops a node's own request back with the VIP as its source.
      if (allowFromNode) sources.push(...s.loadBalancerVIPs);
      rule(s.firewallChain, `ip saddr != { ${sources.join(' , ')} } drop`);
    }
    for (const ip of s.loadBalancerVIPs) {
      if (hasEndpoints) element(SERVICE_IPS_MAP, [ip, p, s.port], `goto ${externalTrafficChain}`);
      if (usesFWChain) element(FIREWALL_IPS_MAP, [ip, p, s.port], `goto ${s.firewallChain}`);
    }
    if (!hasExternalEndpoints) for (const ip of s.loadBalancerVIPs) element(NO_ENDPOINT_SERVICES_MAP, [ip, p, s.port], externalVerdict, s.name);

    // NodePorts are never subject to loadBalancerSourceRanges.
    if (s.nodePort !== 0) {
      if (hasEndpoints) element(SERVICE_NODEPORTS_MAP, [p, s.nodePort], `goto ${externalTrafficChain}`);
      if (!hasExternalEndpoints) element(NO_ENDPOINT_NODEPORTS_MAP, [p, s.nodePort], externalVerdict, s.name);
    }

    // Internal traffic from outside the pod network is masqueraded: a route to the Service range via any node works, and the reply must come back through it.
    if (hasInternalEndpoints) {
      if (masqueradeAll) rule(internalTrafficChain, `ip daddr ${s.clusterIP} ${p} dport ${s.port} jump ${MARK_MASQ_CHAIN}`);
      else rule(internalTrafficChain, `ip daddr ${s.clusterIP} ${p} dport ${s.port} ${ifNotLocal} jump ${MARK_MASQ_CHAIN}`);
    }

    if (usesExternalTrafficChain) {
      if (!s.externalPolicyLocal) {
        // Endpoints may be on other nodes: masquerade, so that replies come back through this node.
        rule(externalTrafficChain, `jump ${MARK_MASQ_CHAIN}`);
      } else {
        // Pods skip the policy, as if they went out to the load balancer and back.
        rule(externalTrafficChain, `${ifLocal} goto ${s.clusterPolicyChain}`, 'short-circuit pod traffic');
        // The node's own traffic has a local source (maybe the LB IP itself): masquerade it, then any endpoint will do.
        rule(externalTrafficChain, `fib saddr type local jump ${MARK_MASQ_CHAIN}`, 'masquerade local traffic');
        rule(externalTrafficChain, `fib saddr type local goto ${s.clusterPolicyChain}`, 'short-circuit local traffic');
      }
      if (hasExternalEndpoints) rule(externalTrafficChain, `goto ${externalPolicyChain}`);
    }

    if (s.clientIPAffinity) {
      // One set per endpoint: the clients sent to it recently (by source IP, whichever Service IP they used).
      for (const ep of reachable) line('add set', T, ep.affinitySet, `{ type ipv4_addr ; flags dynamic,timeout ; timeout ${s.stickyMaxAgeSeconds}s ; }`);
    }

    if (usesClusterPolicyChain) writeServiceToEndpointRules(rule, s, s.clusterPolicyChain, clusterEndpoints);
    if (usesLocalPolicyChain) writeServiceToEndpointRules(rule, s, s.localPolicyChain, localEndpoints);

    for (const ep of reachable) {
      // Hairpin: a pod reaching itself through the Service must see another source, or it answers itself.
      rule(ep.chain, `ip saddr ${ep.ip} jump ${MARK_MASQ_CHAIN}`);
      if (s.clientIPAffinity) rule(ep.chain, `update @${ep.affinitySet} { ip saddr }`);
      rule(ep.chain, `meta l4proto ${p} dnat to ${ep.str}`);
    }
  }
  return out.join('\n') + '\n';
}

function writeServiceToEndpointRules(rule: (chain: string, body: string) => void, s: ServicePortInfo, chain: string, endpoints: EndpointInfo[]): void {
  // A client seen recently goes back to its endpoint, before any random choice.
  if (s.clientIPAffinity) for (const ep of endpoints) rule(chain, `ip saddr @${ep.affinitySet} goto ${ep.chain}`);
  const choices = endpoints.map((ep, i) => `${i} : goto ${ep.chain}`).join(' , ');
  rule(chain, `numgen random mod ${endpoints.length} vmap { ${choices} }`);
}

// ---------------------------------------------------------------------------------------------
// Reading texts back

/** The chains a render (or any `add chain ip kube-proxy NAME` text) creates, in order. */
export function nftChains(text: string): string[] {
  return [...text.matchAll(/^add chain ip kube-proxy (\S+)/gm)].map((m) => m[1]!);
}

/** The sets and maps a render creates, in order. */
export function nftSets(text: string): string[] {
  return [...text.matchAll(/^add (?:set|map) ip kube-proxy (\S+)/gm)].map((m) => m[1]!);
}
