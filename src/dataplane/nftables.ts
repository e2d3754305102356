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
import { parseSourceRange, portTraffic, type PortTraffic } from './kube-proxy-endpoints.js';
import type { Model } from '../cluster/types.js';
import { sha256 } from '../util/hash.js';
import { formatCidr } from '../util/ip.js';
import { baseServicePorts, sourceRangesContain, withNames, type BaseServicePortInfo } from './service-port.js';
import { base32 } from './kube-hash.js';
import { KnetlabError } from '../errors.js';
import { kubeProxyFeatures } from './versions.js';

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
   * --nodeport-addresses. `primary` (kube-proxy's default in nftables mode from 1.31): NodePorts
   * answer on the node's primary IP only, listed in @nodeport-ips. `all` (an explicit 0.0.0.0/0, and
   * the default before 1.31): on every local address but 127/8 (`fib daddr type local`), without the set.
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
  const ip = endpoint
    .slice(0, i)
    .replace(/^\[|\]$/g, '')
    .replaceAll(':', '.');
  return hashAndTruncate(`${svc.namespace}/${svc.name}/${protocol.toLowerCase()}/${portName}__${ip}/${endpoint.slice(i + 1)}`);
}

export type NftServiceChainPrefix = 'service-' | 'local-' | 'external-' | 'firewall-';

/** A Service port's chain: `service-` (Cluster policy), `local-` (Local policy), `external-` or `firewall-` + its name base. */
export function serviceChainName(prefix: NftServiceChainPrefix, svc: ServiceRef, portName: string, protocol: string): string {
  return prefix + servicePortChainNameBase(svc, portName, protocol);
}

/** An endpoint's chain: `endpoint-` + its name base. */
export function endpointChainName(svc: ServiceRef, portName: string, protocol: string, endpoint: string): string {
  return `endpoint-${servicePortEndpointChainNameBase(svc, portName, protocol, endpoint)}`;
}

/** An endpoint's ClientIP affinity set: `affinity-` + the same base as its chain. */
export function affinitySetName(svc: ServiceRef, portName: string, protocol: string, endpoint: string): string {
  return `affinity-${servicePortEndpointChainNameBase(svc, portName, protocol, endpoint)}`;
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
// The renderer: a writer of knftables' commands, then upstream's phases in its order

const q = (s: string) => `"${s}"`;

/** Writes one transaction's commands, each chain once (ensureChain: kube-proxy adds and flushes it the first time only). */
class NftWriter {
  private readonly out: string[] = [];
  private readonly created = new Set<string>();

  line(...parts: (string | number)[]): void {
    this.out.push(parts.filter((p) => p !== '').join(' '));
  }

  /** A comment line, after an empty one. */
  heading(text: string): void {
    this.out.push('', `# ${text}`);
  }

  chain(name: string, extra = ''): void {
    if (this.created.has(name)) return;
    this.created.add(name);
    this.line('add chain', T, name, extra);
  }

  rule(chain: string, body: string, comment?: string): void {
    this.line('add rule', T, chain, body, comment === undefined ? '' : `comment ${q(comment)}`);
  }

  element(set: string, key: (string | number)[], value?: string, comment?: string): void {
    this.line('add element', T, set, '{', key.join(' . '), comment === undefined ? '' : `comment ${q(comment)}`, value === undefined ? '' : `: ${value}`, '}');
  }

  text(): string {
    return `${this.out.join('\n')}\n`;
  }
}

/** What every phase needs to know of the node and the options. */
interface NftContext {
  nodeIP: string;
  /** --nodeport-addresses 0.0.0.0/0: every local address but 127/8, no @nodeport-ips. */
  matchAll: boolean;
  serviceCIDRs: string[];
  clusterCIDR: string;
  masqueradeAll: boolean;
}

/**
 * The `nft -f -` input that (re)creates kube-proxy's whole `table ip kube-proxy` on `nodeName`,
 * as kube-proxy in nftables mode (1.31) programs it for the model.
 */
export function renderKubeProxyNftables(model: Model, nodeName: string, options: KubeProxyNftablesOptions = {}): string {
  const node = model.nodes.find((n) => n.name === nodeName);
  if (!node) throw new KnetlabError('EINTERNAL', `Expected \`nodeName\` to be a node of the model, got \`${nodeName}\``);
  const ctx: NftContext = {
    nodeIP: node.ip,
    matchAll: (options.nodePortAddresses ?? (kubeProxyFeatures(model.config.kubernetesVersion).nftablesPrimaryNodePorts ? 'primary' : 'all')) === 'all',
    serviceCIDRs: (options.serviceCIDRs ?? []).filter((c) => parseSourceRange(c) !== undefined),
    clusterCIDR: formatCidr(model.config.podCIDR),
    masqueradeAll: model.config.masqueradeAll,
  };
  const w = new NftWriter();
  // Start from nothing: `add` first so that `delete` never fails, all in nft's one transaction.
  w.line('add table', T);
  w.line('delete table', T);
  // setupNFTables, then syncProxyRules for each Service port.
  writeBaseChains(w);
  writeClusterIPsCheck(w, ctx);
  writeNodePortIPs(w, ctx);
  writeNoEndpointMaps(w, ctx);
  writeFirewallCheck(w);
  writeServiceMaps(w, ctx);
  for (const s of baseServicePorts(model, nodeName).map(servicePortInfo)) writeServicePort(w, ctx, s);
  return w.text();
}

/** The table, its base chains with the jumps from them, and masquerading by mark. */
function writeBaseChains(w: NftWriter): void {
  w.line('add table', T, `{ comment ${q('rules for kube-proxy')} ; }`);
  for (const bc of NFT_BASE_CHAINS) w.chain(bc.name, `{ type ${bc.type} hook ${bc.hook} priority ${bc.priority} ; }`);
  for (const [target, from, extra] of JUMP_CHAINS) {
    w.chain(target);
    w.rule(from, [extra, 'jump', target].filter(Boolean).join(' '));
  }
  for (const c of [SERVICES_CHAIN, CLUSTER_IPS_CHECK_CHAIN, MASQUERADING_CHAIN, MARK_MASQ_CHAIN]) w.chain(c);
  w.rule(MARK_MASQ_CHAIN, `mark set mark or ${NFT_MASQUERADE_MARK}`);
  // Unmarked packets leave; the mark is cleared so that a packet going through again is not masqueraded twice.
  w.rule(MASQUERADING_CHAIN, `mark and ${NFT_MASQUERADE_MARK} == 0 return`);
  w.rule(MASQUERADING_CHAIN, `mark set mark xor ${NFT_MASQUERADE_MARK}`);
  w.rule(MASQUERADING_CHAIN, 'masquerade fully-random');
}

/** @cluster-ips: a ClusterIP answers only on its Service's ports; anything else is refused, not routed on. */
function writeClusterIPsCheck(w: NftWriter, ctx: NftContext): void {
  w.line('add set', T, CLUSTER_IPS_SET, `{ type ipv4_addr ; comment ${q('Active ClusterIPs')} ; }`);
  w.rule(CLUSTER_IPS_CHECK_CHAIN, `ip daddr @${CLUSTER_IPS_SET} reject`, 'Reject traffic to invalid ports of ClusterIPs');
  if (ctx.serviceCIDRs.length > 0) w.rule(CLUSTER_IPS_CHECK_CHAIN, `ip daddr { ${ctx.serviceCIDRs.join(',')} } drop`, 'Drop traffic to unallocated ClusterIPs');
}

/** @nodeport-ips: --nodeport-addresses primary, the node's InternalIP (the LAN address here). */
function writeNodePortIPs(w: NftWriter, ctx: NftContext): void {
  if (ctx.matchAll) return;
  w.line('add set', T, NODEPORT_IPS_SET, `{ type ipv4_addr ; comment ${q('IPs that accept NodePort traffic')} ; }`);
  w.element(NODEPORT_IPS_SET, [ctx.nodeIP]);
}

/** The verdict maps that drop or reject traffic to Services and NodePorts without endpoints. */
function writeNoEndpointMaps(w: NftWriter, ctx: NftContext): void {
  w.line(
    'add map',
    T,
    NO_ENDPOINT_SERVICES_MAP,
    `{ type ipv4_addr . inet_proto . inet_service : verdict ; comment ${q('vmap to drop or reject packets to services with no endpoints')} ; }`,
  );
  w.line(
    'add map',
    T,
    NO_ENDPOINT_NODEPORTS_MAP,
    `{ type inet_proto . inet_service : verdict ; comment ${q('vmap to drop or reject packets to service nodeports with no endpoints')} ; }`,
  );
  w.chain(REJECT_CHAIN, `{ comment ${q('helper for @no-endpoint-services / @no-endpoint-nodeports')} ; }`);
  w.rule(REJECT_CHAIN, 'reject');
  w.rule(SERVICE_ENDPOINTS_CHECK_CHAIN, `ip daddr . meta l4proto . th dport vmap @${NO_ENDPOINT_SERVICES_MAP}`);
  if (ctx.matchAll) w.rule(NODEPORT_ENDPOINTS_CHECK_CHAIN, `ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @${NO_ENDPOINT_NODEPORTS_MAP}`);
  else w.rule(NODEPORT_ENDPOINTS_CHECK_CHAIN, `ip daddr @${NODEPORT_IPS_SET} meta l4proto . th dport vmap @${NO_ENDPOINT_NODEPORTS_MAP}`);
}

/** @firewall-ips: the destinations subject to loadBalancerSourceRanges. */
function writeFirewallCheck(w: NftWriter): void {
  w.line('add map', T, FIREWALL_IPS_MAP, `{ type ipv4_addr . inet_proto . inet_service : verdict ; comment ${q('destinations that are subject to LoadBalancerSourceRanges')} ; }`);
  w.chain(FIREWALL_CHECK_CHAIN);
  w.rule(FIREWALL_CHECK_CHAIN, `ip daddr . meta l4proto . th dport vmap @${FIREWALL_IPS_MAP}`);
}

/** @service-ips and @service-nodeports, which the services chain dispatches on. */
function writeServiceMaps(w: NftWriter, ctx: NftContext): void {
  w.line('add map', T, SERVICE_IPS_MAP, `{ type ipv4_addr . inet_proto . inet_service : verdict ; comment ${q('ClusterIP, ExternalIP and LoadBalancer IP traffic')} ; }`);
  w.line('add map', T, SERVICE_NODEPORTS_MAP, `{ type inet_proto . inet_service : verdict ; comment ${q('NodePort traffic')} ; }`);
  w.rule(SERVICES_CHAIN, `ip daddr . meta l4proto . th dport vmap @${SERVICE_IPS_MAP}`);
  if (ctx.matchAll) w.rule(SERVICES_CHAIN, `fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @${SERVICE_NODEPORTS_MAP}`);
  else w.rule(SERVICES_CHAIN, `ip daddr @${NODEPORT_IPS_SET} meta l4proto . th dport vmap @${SERVICE_NODEPORTS_MAP}`);
}

/** One Service port's jump table: where each kind of traffic goes, and what happens without endpoints. */
interface PortJumps {
  traffic: PortTraffic<EndpointInfo>;
  internalTrafficChain: string;
  externalPolicyChain: string;
  externalTrafficChain: string;
  /** `goto reject-chain` without any endpoint, `drop` without local ones under Local policy, else empty. */
  internalVerdict: string;
  externalVerdict: string;
  usesFWChain: boolean;
}

function portJumps(s: ServicePortInfo): PortJumps {
  const traffic = portTraffic(s);
  const verdict = (has: boolean) => (!traffic.hasEndpoints ? `goto ${REJECT_CHAIN}` : has ? '' : 'drop');
  return {
    traffic,
    internalTrafficChain: s.internalPolicyLocal ? s.localPolicyChain : s.clusterPolicyChain,
    externalPolicyChain: s.externalPolicyLocal ? s.localPolicyChain : s.clusterPolicyChain,
    externalTrafficChain: s.externalChain,
    internalVerdict: verdict(traffic.hasInternalEndpoints),
    externalVerdict: verdict(traffic.hasExternalEndpoints),
    usesFWChain: s.loadBalancerVIPs.length > 0 && s.loadBalancerSourceRanges.length > 0,
  };
}

/** syncProxyRules for one Service port, in upstream's order. */
function writeServicePort(w: NftWriter, ctx: NftContext, s: ServicePortInfo): void {
  const j = portJumps(s);
  w.heading(s.name);
  declareServicePortChains(w, s, j);
  writeDestinations(w, ctx, s, j);
  writeMasqueradeRules(w, ctx, s, j);
  writeEndpointRules(w, s, j);
}

function declareServicePortChains(w: NftWriter, s: ServicePortInfo, j: PortJumps): void {
  for (const ep of j.traffic.reachable) w.chain(ep.chain);
  if (j.traffic.usesClusterPolicyChain) w.chain(s.clusterPolicyChain);
  if (j.traffic.usesLocalPolicyChain) w.chain(s.localPolicyChain);
  if (j.traffic.usesExternalTrafficChain) w.chain(j.externalTrafficChain);
}

/** The map elements for each way in (ClusterIP, external IPs, LB IPs with their firewall, NodePort). */
function writeDestinations(w: NftWriter, ctx: NftContext, s: ServicePortInfo, j: PortJumps): void {
  const p = s.protocol;
  const { hasEndpoints, hasInternalEndpoints, hasExternalEndpoints } = j.traffic;
  w.element(CLUSTER_IPS_SET, [s.clusterIP]);
  if (hasInternalEndpoints) w.element(SERVICE_IPS_MAP, [s.clusterIP, p, s.port], `goto ${j.internalTrafficChain}`);
  else w.element(NO_ENDPOINT_SERVICES_MAP, [s.clusterIP, p, s.port], j.internalVerdict, s.name);

  for (const ip of s.externalIPs) {
    if (hasEndpoints) w.element(SERVICE_IPS_MAP, [ip, p, s.port], `goto ${j.externalTrafficChain}`);
    if (!hasExternalEndpoints) w.element(NO_ENDPOINT_SERVICES_MAP, [ip, p, s.port], j.externalVerdict, s.name);
  }

  // loadBalancerSourceRanges: checked in filter-prerouting / filter-output, before DNAT, so on the LB IP itself.
  if (j.usesFWChain) {
    w.chain(s.firewallChain);
    const sources = s.loadBalancerSourceRanges.map((r) => r.text);
    // A VIP that is a local address loops a node's own request back with the VIP as its source.
    if (sourceRangesContain(s.loadBalancerSourceRanges, ctx.nodeIP)) sources.push(...s.loadBalancerVIPs);
    w.rule(s.firewallChain, `ip saddr != { ${sources.join(' , ')} } drop`);
  }
  for (const ip of s.loadBalancerVIPs) {
    if (hasEndpoints) w.element(SERVICE_IPS_MAP, [ip, p, s.port], `goto ${j.externalTrafficChain}`);
    if (j.usesFWChain) w.element(FIREWALL_IPS_MAP, [ip, p, s.port], `goto ${s.firewallChain}`);
  }
  if (!hasExternalEndpoints) for (const ip of s.loadBalancerVIPs) w.element(NO_ENDPOINT_SERVICES_MAP, [ip, p, s.port], j.externalVerdict, s.name);

  // NodePorts are never subject to loadBalancerSourceRanges.
  if (s.nodePort !== 0) {
    if (hasEndpoints) w.element(SERVICE_NODEPORTS_MAP, [p, s.nodePort], `goto ${j.externalTrafficChain}`);
    if (!hasExternalEndpoints) w.element(NO_ENDPOINT_NODEPORTS_MAP, [p, s.nodePort], j.externalVerdict, s.name);
  }
}

/** The internal and external traffic chains: what is masqueraded, and the short circuits of Local policy. */
function writeMasqueradeRules(w: NftWriter, ctx: NftContext, s: ServicePortInfo, j: PortJumps): void {
  const p = s.protocol;
  // Internal traffic from outside the pod network is masqueraded: a route to the Service range via any node works, and the reply must come back through it.
  if (j.traffic.hasInternalEndpoints) {
    if (ctx.masqueradeAll) w.rule(j.internalTrafficChain, `ip daddr ${s.clusterIP} ${p} dport ${s.port} jump ${MARK_MASQ_CHAIN}`);
    else w.rule(j.internalTrafficChain, `ip daddr ${s.clusterIP} ${p} dport ${s.port} ip saddr != ${ctx.clusterCIDR} jump ${MARK_MASQ_CHAIN}`);
  }
  if (!j.traffic.usesExternalTrafficChain) return;
  if (!s.externalPolicyLocal) {
    // Endpoints may be on other nodes: masquerade, so that replies come back through this node.
    w.rule(j.externalTrafficChain, `jump ${MARK_MASQ_CHAIN}`);
  } else {
    // Pods skip the policy, as if they went out to the load balancer and back.
    w.rule(j.externalTrafficChain, `ip saddr ${ctx.clusterCIDR} goto ${s.clusterPolicyChain}`, 'short-circuit pod traffic');
    // The node's own traffic has a local source (maybe the LB IP itself): masquerade it, then any endpoint will do.
    w.rule(j.externalTrafficChain, `fib saddr type local jump ${MARK_MASQ_CHAIN}`, 'masquerade local traffic');
    w.rule(j.externalTrafficChain, `fib saddr type local goto ${s.clusterPolicyChain}`, 'short-circuit local traffic');
  }
  if (j.traffic.hasExternalEndpoints) w.rule(j.externalTrafficChain, `goto ${j.externalPolicyChain}`);
}

/** Affinity sets, the policy chains' endpoint choice, and each endpoint's chain (hairpin mark, DNAT). */
function writeEndpointRules(w: NftWriter, s: ServicePortInfo, j: PortJumps): void {
  const { reachable } = j.traffic;
  if (s.clientIPAffinity) {
    // One set per endpoint: the clients sent to it recently (by source IP, whichever Service IP they used).
    for (const ep of reachable) w.line('add set', T, ep.affinitySet, `{ type ipv4_addr ; flags dynamic,timeout ; timeout ${s.stickyMaxAgeSeconds}s ; }`);
  }
  if (j.traffic.usesClusterPolicyChain) writeServiceToEndpointRules(w, s, s.clusterPolicyChain, j.traffic.cluster);
  if (j.traffic.usesLocalPolicyChain) writeServiceToEndpointRules(w, s, s.localPolicyChain, j.traffic.local);
  for (const ep of reachable) {
    // Hairpin: a pod reaching itself through the Service must see another source, or it answers itself.
    w.rule(ep.chain, `ip saddr ${ep.ip} jump ${MARK_MASQ_CHAIN}`);
    if (s.clientIPAffinity) w.rule(ep.chain, `update @${ep.affinitySet} { ip saddr }`);
    w.rule(ep.chain, `meta l4proto ${s.protocol} dnat to ${ep.str}`);
  }
}

function writeServiceToEndpointRules(w: NftWriter, s: ServicePortInfo, chain: string, endpoints: EndpointInfo[]): void {
  // A client seen recently goes back to its endpoint, before any random choice.
  if (s.clientIPAffinity) for (const ep of endpoints) w.rule(chain, `ip saddr @${ep.affinitySet} goto ${ep.chain}`);
  const choices = endpoints.map((ep, i) => `${i} : goto ${ep.chain}`).join(' , ');
  w.rule(chain, `numgen random mod ${endpoints.length} vmap { ${choices} }`);
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
