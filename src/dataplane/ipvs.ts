// kube-proxy's IPVS mode, rendered for one node as the state it programs (pure text): the
// addresses on the dummy device kube-ipvs0, the IPVS virtual and real servers (as
// `ipvsadm-restore` input), the ipsets (as `ipset restore` input) and the iptables rules it writes
// around them (as `iptables-restore --noflush` input). Transcribed from upstream
// pkg/proxy/ipvs/proxier.go (syncProxyRules, writeIptablesRules, acceptIPVSTraffic,
// createAndLinkKubeChain, syncEndpoint; releases 1.29-1.31), pkg/proxy/ipvs/ipset.go (set names,
// types and comments), pkg/proxy/ipvs/ipset/ipset.go (createSet's arguments, Entry.String) and
// pkg/proxy/ipvs/netlink_linux.go (which node addresses NodePorts bind).
//
// Where upstream walks Go maps (Services, endpoints, node addresses) the order here is fixed:
// Service ports by name, endpoints by `ip:port`, node addresses by interface (eth0, cni0,
// flannel.1). Set members are sorted, as upstream adds them (sets.String.List()).
//
// How kube-proxy applies it, and so must the applier: kube-ipvs0 (`ip link add kube-ipvs0 type
// dummy`, left down) gets each address as a /32 first (the kernel refuses real servers in a
// namespace with no local address yet); the ipsets next (`ipset restore -exist`: the text creates,
// flushes and fills every set, so a re-apply converges), then the virtual servers
// (`ipvsadm-restore`, after `ipvsadm -C` on a re-sync), then `iptables-restore --noflush` (which
// replaces only the chains declared here; the rules use the sets), then the jumps from the builtin
// chains (ipvsJumps(), ensured one by one with `iptables -C` / `-I`).
import { categorizeEndpoints, cmp } from './kube-proxy-endpoints.js';
import type { Model } from '../cluster/types.js';
import { formatCidr, ipToInt } from '../util/ip.js';
import { MASQUERADE_MARK, type KubeProxyJump } from './iptables.js';
import { baseServicePorts, sourceRangesContain, type BaseEndpointInfo, type BaseServicePortInfo } from './service-port.js';
import { KnetlabError } from '../errors.js';
import { kubeProxyFeatures, NEWEST_KUBERNETES_VERSION, type KubernetesVersion } from './versions.js';

/** The dummy device kube-proxy binds ClusterIPs, external IPs and LB IPs to (defaultDummyDevice). */
export const KUBE_IPVS_DEVICE = 'kube-ipvs0';
/** kube-proxy's --ipvs-scheduler default (defaultScheduler). */
export const DEFAULT_IPVS_SCHEDULER = 'rr';

export const KUBE_SERVICES = 'KUBE-SERVICES';
export const KUBE_POSTROUTING = 'KUBE-POSTROUTING';
export const KUBE_MARK_MASQ = 'KUBE-MARK-MASQ';
export const KUBE_NODE_PORT = 'KUBE-NODE-PORT';
export const KUBE_LOAD_BALANCER = 'KUBE-LOAD-BALANCER';
export const KUBE_FORWARD = 'KUBE-FORWARD';
export const KUBE_PROXY_FIREWALL = 'KUBE-PROXY-FIREWALL';
export const KUBE_SOURCE_RANGES_FIREWALL = 'KUBE-SOURCE-RANGES-FIREWALL';
/** Filters external access to ports of the node through VIPs (kubernetes#72236). */
export const KUBE_IPVS_FILTER = 'KUBE-IPVS-FILTER';
/** Drops the node's own access to LB IPs whose source ranges do not hold it (kubernetes#119656). */
export const KUBE_IPVS_OUT_FILTER = 'KUBE-IPVS-OUT-FILTER';

export interface IpvsOptions {
  /** --ipvs-scheduler: rr, wrr, lc, sh, mh, ... (default: the cluster's `ipvs.scheduler`, else rr) */
  scheduler?: string;
  /** iptables has --random-fully (1.6.2 and later): default true. */
  randomFully?: boolean;
}

export interface IpvsRender {
  /** The addresses kube-proxy binds to kube-ipvs0 (each a /32), sorted. */
  dummyAddresses: string[];
  /** `ipvsadm-restore` input, in `ipvsadm -Sn`'s syntax: `-A` virtual servers, `-a` real servers. */
  ipvsadm: string;
  /** `ipset restore -exist` input: every set kube-proxy makes, flushed and filled. */
  ipset: string;
  /** `iptables-restore --noflush` input: the nat and filter tables' kube-proxy chains. */
  iptables: string;
}

// ---------------------------------------------------------------------------------------------
// ipsets (pkg/proxy/ipvs/ipset.go)

export type IpsetType = 'hash:ip' | 'hash:ip,port' | 'hash:ip,port,ip' | 'hash:ip,port,net' | 'bitmap:port';

export interface IpsetInfo {
  name: string;
  type: IpsetType;
  comment: string;
}

export const KUBE_LOOP_BACK = 'KUBE-LOOP-BACK';
export const KUBE_CLUSTER_IP = 'KUBE-CLUSTER-IP';
export const KUBE_EXTERNAL_IP = 'KUBE-EXTERNAL-IP';
export const KUBE_EXTERNAL_IP_LOCAL = 'KUBE-EXTERNAL-IP-LOCAL';
export const KUBE_LOAD_BALANCER_SET = 'KUBE-LOAD-BALANCER';
export const KUBE_LOAD_BALANCER_FW = 'KUBE-LOAD-BALANCER-FW';
export const KUBE_LOAD_BALANCER_LOCAL = 'KUBE-LOAD-BALANCER-LOCAL';
export const KUBE_LOAD_BALANCER_SOURCE_IP = 'KUBE-LOAD-BALANCER-SOURCE-IP';
export const KUBE_LOAD_BALANCER_SOURCE_CIDR = 'KUBE-LOAD-BALANCER-SOURCE-CIDR';
export const KUBE_NODE_PORT_TCP = 'KUBE-NODE-PORT-TCP';
export const KUBE_NODE_PORT_LOCAL_TCP = 'KUBE-NODE-PORT-LOCAL-TCP';
export const KUBE_NODE_PORT_UDP = 'KUBE-NODE-PORT-UDP';
export const KUBE_NODE_PORT_LOCAL_UDP = 'KUBE-NODE-PORT-LOCAL-UDP';
export const KUBE_NODE_PORT_SCTP = 'KUBE-NODE-PORT-SCTP-HASH';
export const KUBE_NODE_PORT_LOCAL_SCTP = 'KUBE-NODE-PORT-LOCAL-SCTP-HASH';
export const KUBE_HEALTH_CHECK_NODE_PORT = 'KUBE-HEALTH-CHECK-NODE-PORT';
export const KUBE_IPVS_IPS = 'KUBE-IPVS-IPS';

/** Every set kube-proxy creates, in upstream's ipsetInfo order, with its types and comments. */
export const IPSETS: readonly IpsetInfo[] = [
  { name: KUBE_LOOP_BACK, type: 'hash:ip,port,ip', comment: 'Kubernetes endpoints dst ip:port, source ip for solving hairpin purpose' },
  { name: KUBE_CLUSTER_IP, type: 'hash:ip,port', comment: 'Kubernetes service cluster ip + port for masquerade purpose' },
  { name: KUBE_EXTERNAL_IP, type: 'hash:ip,port', comment: 'Kubernetes service external ip + port for masquerade and filter purpose' },
  { name: KUBE_EXTERNAL_IP_LOCAL, type: 'hash:ip,port', comment: 'Kubernetes service external ip + port with externalTrafficPolicy=local' },
  { name: KUBE_LOAD_BALANCER_SET, type: 'hash:ip,port', comment: 'Kubernetes service lb portal' },
  { name: KUBE_LOAD_BALANCER_FW, type: 'hash:ip,port', comment: 'Kubernetes service load balancer ip + port for load balancer with sourceRange' },
  { name: KUBE_LOAD_BALANCER_LOCAL, type: 'hash:ip,port', comment: 'Kubernetes service load balancer ip + port with externalTrafficPolicy=local' },
  { name: KUBE_LOAD_BALANCER_SOURCE_IP, type: 'hash:ip,port,ip', comment: 'Kubernetes service load balancer ip + port + source IP for packet filter purpose' },
  { name: KUBE_LOAD_BALANCER_SOURCE_CIDR, type: 'hash:ip,port,net', comment: 'Kubernetes service load balancer ip + port + source cidr for packet filter purpose' },
  { name: KUBE_NODE_PORT_TCP, type: 'bitmap:port', comment: 'Kubernetes nodeport TCP port for masquerade purpose' },
  { name: KUBE_NODE_PORT_LOCAL_TCP, type: 'bitmap:port', comment: 'Kubernetes nodeport TCP port with externalTrafficPolicy=local' },
  { name: KUBE_NODE_PORT_UDP, type: 'bitmap:port', comment: 'Kubernetes nodeport UDP port for masquerade purpose' },
  { name: KUBE_NODE_PORT_LOCAL_UDP, type: 'bitmap:port', comment: 'Kubernetes nodeport UDP port with externalTrafficPolicy=local' },
  { name: KUBE_NODE_PORT_SCTP, type: 'hash:ip,port', comment: "Kubernetes nodeport SCTP port for masquerade purpose with type 'hash ip:port'" },
  { name: KUBE_NODE_PORT_LOCAL_SCTP, type: 'hash:ip,port', comment: "Kubernetes nodeport SCTP port with externalTrafficPolicy=local with type 'hash ip:port'" },
  { name: KUBE_HEALTH_CHECK_NODE_PORT, type: 'bitmap:port', comment: 'Kubernetes health check node port' },
  { name: KUBE_IPVS_IPS, type: 'hash:ip', comment: 'Addresses on the ipvs interface' },
];

const COMMENT = new Map(IPSETS.map((s) => [s.name, s.comment]));

/** The sets of a release: KUBE-IPVS-IPS came with KUBE-IPVS-FILTER (1.26). */
function ipsetsOf(ipvsFilter: boolean): readonly IpsetInfo[] {
  return ipvsFilter ? IPSETS : IPSETS.filter((s) => s.name !== KUBE_IPVS_IPS);
}

/**
 * ipsetWithIptablesChain: `-A FROM [-p PROTO] -m comment --comment C -m set --match-set NAME MATCH
 * -j TO`, written for each non-empty set in this order (a Local set before its plain one).
 */
const IPSET_RULES: { set: string; table: 'nat' | 'filter'; from: string; to: string; match: string; protocol?: string }[] = [
  { set: KUBE_LOOP_BACK, table: 'nat', from: KUBE_POSTROUTING, to: 'MASQUERADE', match: 'dst,dst,src' },
  { set: KUBE_LOAD_BALANCER_SET, table: 'nat', from: KUBE_SERVICES, to: KUBE_LOAD_BALANCER, match: 'dst,dst' },
  { set: KUBE_LOAD_BALANCER_LOCAL, table: 'nat', from: KUBE_LOAD_BALANCER, to: 'RETURN', match: 'dst,dst' },
  { set: KUBE_NODE_PORT_LOCAL_TCP, table: 'nat', from: KUBE_NODE_PORT, to: 'RETURN', match: 'dst', protocol: 'tcp' },
  { set: KUBE_NODE_PORT_TCP, table: 'nat', from: KUBE_NODE_PORT, to: KUBE_MARK_MASQ, match: 'dst', protocol: 'tcp' },
  { set: KUBE_NODE_PORT_LOCAL_UDP, table: 'nat', from: KUBE_NODE_PORT, to: 'RETURN', match: 'dst', protocol: 'udp' },
  { set: KUBE_NODE_PORT_UDP, table: 'nat', from: KUBE_NODE_PORT, to: KUBE_MARK_MASQ, match: 'dst', protocol: 'udp' },
  { set: KUBE_NODE_PORT_LOCAL_SCTP, table: 'nat', from: KUBE_NODE_PORT, to: 'RETURN', match: 'dst,dst', protocol: 'sctp' },
  { set: KUBE_NODE_PORT_SCTP, table: 'nat', from: KUBE_NODE_PORT, to: KUBE_MARK_MASQ, match: 'dst,dst', protocol: 'sctp' },
  { set: KUBE_LOAD_BALANCER_FW, table: 'filter', from: KUBE_PROXY_FIREWALL, to: KUBE_SOURCE_RANGES_FIREWALL, match: 'dst,dst' },
  { set: KUBE_LOAD_BALANCER_SOURCE_CIDR, table: 'filter', from: KUBE_SOURCE_RANGES_FIREWALL, to: 'RETURN', match: 'dst,dst,src' },
  { set: KUBE_LOAD_BALANCER_SOURCE_IP, table: 'filter', from: KUBE_SOURCE_RANGES_FIREWALL, to: 'RETURN', match: 'dst,dst,src' },
];

/** iptablesChains: the chains kube-proxy declares (and so flushes) on every sync. */
const NAT_CHAINS = [KUBE_SERVICES, KUBE_POSTROUTING, KUBE_NODE_PORT, KUBE_LOAD_BALANCER, KUBE_MARK_MASQ];
const FILTER_CHAINS = [KUBE_FORWARD, KUBE_NODE_PORT, KUBE_PROXY_FIREWALL, KUBE_SOURCE_RANGES_FIREWALL, KUBE_IPVS_FILTER, KUBE_IPVS_OUT_FILTER];

/** `create` arguments as createSet passes them (setIPSetDefaults: hashsize 1024, maxelem 65536, range 0-65535). */
function createLine(s: IpsetInfo): string {
  const params = s.type === 'bitmap:port' ? 'range 0-65535' : 'family inet hashsize 1024 maxelem 65536';
  return `create ${s.name} ${s.type} ${params}`;
}

// ---------------------------------------------------------------------------------------------
// The IPVS mode's view of a Service port: the shared one, no names of its own

type ServicePortInfo = BaseServicePortInfo;
type EndpointInfo = BaseEndpointInfo;

/** The Service ports by port name (not by Service first, as the other modes): the order of the IPVS goldens. */
function servicePorts(model: Model, nodeName: string): ServicePortInfo[] {
  return baseServicePorts(model, nodeName).sort((a, b) => cmp(a.name, b.name) || cmp(a.protocol, b.protocol));
}

/**
 * syncEndpoint: the real servers of one virtual server. With onlyNodeLocal (internal policy
 * Local for the ClusterIP, external policy Local for the ways in from outside) the local
 * endpoints, or, when this node has none, the Cluster ones (kubernetes#97081: pods on the node
 * still reach the Service; an outside client's reply comes from the pod's address and is lost).
 */
export function realServers<E extends EndpointInfo>(s: BaseServicePortInfo<E>, onlyNodeLocal: boolean): E[] {
  const { cluster, local } = categorizeEndpoints(s);
  if (onlyNodeLocal) return local.length > 0 ? local : cluster;
  return cluster;
}

// ---------------------------------------------------------------------------------------------
// The renderer

const IPVS_PROTOCOL_FLAG: Record<string, string> = { tcp: '-t', udp: '-u', sctp: '--sctp-service' };

/**
 * The addresses of the node NodePorts answer on: GetAllLocalAddressesExcept(kube-ipvs0) filtered
 * by isValidForSet (no loopback, so not lo's 127.0.0.1): eth0's and those of the CNI's devices
 * (flannel: cni0's and, with VXLAN, flannel.1's; Calico: vxlan.calico's or tunl0's, its veths have none). (Releases before 1.22 also bound 127.0.0.1, as older `ipvsadm -Ln` dumps show;
 * kubernetes#96879: it never worked, and #101023 dropped it.)
 */
export function nodePortAddresses(model: Model, nodeName: string): { device: string; ip: string }[] {
  const node = model.nodes.find((n) => n.name === nodeName);
  if (!node) throw new KnetlabError('EINTERNAL', `Expected \`nodeName\` to be a node of the model, got \`${nodeName}\``);
  return [{ device: 'eth0', ip: node.ip }, ...Object.entries(node.addresses).map(([device, ip]) => ({ device, ip }))];
}

/** kube-proxy's IPVS mode on `nodeName`: kube-ipvs0's addresses, IPVS, ipsets and iptables. */
export function renderIpvs(model: Model, nodeName: string, opts: IpvsOptions = {}): IpvsRender {
  const node = model.nodes.find((n) => n.name === nodeName);
  if (!node) throw new KnetlabError('EINTERNAL', `Expected \`nodeName\` to be a node of the model, got \`${nodeName}\``);
  const scheduler = opts.scheduler || model.config.ipvs.scheduler || DEFAULT_IPVS_SCHEDULER;
  if (!/^[a-z]+$/.test(scheduler)) throw new KnetlabError('EINTERNAL', `Expected \`scheduler\` to be an IPVS scheduler such as rr, wrr, sh or mh, got \`${scheduler}\``);
  const randomFully = opts.randomFully ?? true;

  const nodeAddresses = nodePortAddresses(model, nodeName).map((a) => a.ip);
  const nodeAddressSet = new Set(nodeAddresses);
  const entries = new Map<string, Set<string>>(IPSETS.map((s) => [s.name, new Set<string>()]));
  const add = (set: string, entry: string) => entries.get(set)!.add(entry);
  const bound = new Set<string>();
  const ipvs: string[] = [];
  /** Upstream's lbNoNodeAccessIPPortProtocolEntries: LB IP, port and protocol the node may not reach. */
  const noNodeAccess: { ip: string; port: number; protocol: string }[] = [];

  const ports = servicePorts(model, nodeName);
  const hasNodePort = ports.some((s) => s.nodePort !== 0);
  const nodeIPs = hasNodePort ? nodeAddresses : [];

  const virtualServer = (s: ServicePortInfo, ip: string, port: number, onlyNodeLocal: boolean) => {
    const vs = `${IPVS_PROTOCOL_FLAG[s.protocol] ?? '-t'} ${ip}:${port}`;
    let line = `-A ${vs} -s ${scheduler}`;
    // Set the source hash flag needed for the distribution method "mh" (FlagSourceHash: IP_VS_SVC_F_SCHED2).
    if (scheduler === 'mh') line += ' -b mh-port';
    // Session affinity: a persistent service with the Service's timeout.
    if (s.clientIPAffinity) line += ` -p ${s.stickyMaxAgeSeconds}`;
    ipvs.push(line);
    // Real servers in masquerade (NAT) mode, weight 1.
    for (const ep of realServers(s, onlyNodeLocal)) ipvs.push(`-a ${vs} -r ${ep.str} -m -w 1`);
  };

  for (const s of ports) {
    const p = s.protocol;
    // Hairpin: a local endpoint reaching itself through the Service is masqueraded.
    for (const ep of s.endpoints) if (ep.isLocal) add(KUBE_LOOP_BACK, `${ep.ip},${p}:${ep.port},${ep.ip}`);

    // The ClusterIP, bound to kube-ipvs0 (internal traffic policy picks the endpoints).
    add(KUBE_CLUSTER_IP, `${s.clusterIP},${p}:${s.port}`);
    virtualServer(s, s.clusterIP, s.port, s.internalPolicyLocal);
    bound.add(s.clusterIP);

    // External IPs: masqueraded unless the policy is Local. Not bound when a node address.
    for (const ip of s.externalIPs) {
      add(s.externalPolicyLocal ? KUBE_EXTERNAL_IP_LOCAL : KUBE_EXTERNAL_IP, `${ip},${p}:${s.port}`);
      virtualServer(s, ip, s.port, s.externalPolicyLocal);
      if (!nodeAddressSet.has(ip)) bound.add(ip);
    }

    // Load balancer ingress IPs.
    for (const ip of s.loadBalancerVIPs) {
      const entry = `${ip},${p}:${s.port}`;
      add(KUBE_LOAD_BALANCER_SET, entry);
      if (s.externalPolicyLocal) add(KUBE_LOAD_BALANCER_LOCAL, entry);
      if (s.loadBalancerSourceRanges.length > 0) {
        // Only what preserves the source can be filtered: LBs that go through the NodePort are not.
        add(KUBE_LOAD_BALANCER_FW, entry);
        for (const r of s.loadBalancerSourceRanges) add(KUBE_LOAD_BALANCER_SOURCE_CIDR, `${ip},${p}:${s.port},${r.text}`);
        // A request from the LB's own backends loops back locally with the LB IP as its source.
        if (sourceRangesContain(s.loadBalancerSourceRanges, node.ip)) add(KUBE_LOAD_BALANCER_SOURCE_IP, `${ip},${p}:${s.port},${ip}`);
        else noNodeAccess.push({ ip, port: s.port, protocol: p });
      }
      virtualServer(s, ip, s.port, s.externalPolicyLocal);
      if (!nodeAddressSet.has(ip)) bound.add(ip);
    }

    // NodePorts: the port in a bitmap (SCTP: ip,port per node address), a virtual server per node address.
    if (s.nodePort !== 0 && nodeIPs.length > 0) {
      const portEntries = p === 'sctp' ? nodeIPs.map((ip) => `${ip},${p}:${s.nodePort}`) : [String(s.nodePort)];
      const set = p === 'tcp' ? KUBE_NODE_PORT_TCP : p === 'udp' ? KUBE_NODE_PORT_UDP : KUBE_NODE_PORT_SCTP;
      const localSet = p === 'tcp' ? KUBE_NODE_PORT_LOCAL_TCP : p === 'udp' ? KUBE_NODE_PORT_LOCAL_UDP : KUBE_NODE_PORT_LOCAL_SCTP;
      for (const e of portEntries) add(set, e);
      if (s.externalPolicyLocal) for (const e of portEntries) add(localSet, e);
      for (const ip of nodeIPs) virtualServer(s, ip, s.nodePort, s.externalPolicyLocal);
    }

    if (s.healthCheckNodePort !== 0) add(KUBE_HEALTH_CHECK_NODE_PORT, String(s.healthCheckNodePort));
  }
  for (const ip of bound) add(KUBE_IPVS_IPS, ip); // written only where the release has the set (ipsetsOf)

  const dummyAddresses = [...bound].sort((a, b) => ipToInt(a) - ipToInt(b));
  const ipvsFilter = kubeProxyFeatures(model.config.kubernetesVersion).ipvsFilter;
  const ipset = ipsetsOf(ipvsFilter).flatMap((s) => [
    `# ${s.name}: ${s.comment}`,
    createLine(s),
    `flush ${s.name}`,
    ...[...entries.get(s.name)!].sort(cmp).map((e) => `add ${s.name} ${e}`),
  ]);
  const iptables = writeIptablesRules(model, entries, noNodeAccess, randomFully, ipvsFilter);
  return { dummyAddresses, ipvsadm: ipvs.map((l) => `${l}\n`).join(''), ipset: ipset.map((l) => `${l}\n`).join(''), iptables };
}

/** writeIptablesRules and acceptIPVSTraffic, in upstream's order: nat chains and rules, then filter's. */
function writeIptablesRules(
  model: Model,
  entries: Map<string, Set<string>>,
  noNodeAccess: { ip: string; port: number; protocol: string }[],
  randomFully: boolean,
  ipvsFilter: boolean,
): string {
  const nat: string[] = [];
  const filter: string[] = [];
  const empty = (set: string) => entries.get(set)!.size === 0;
  const comment = (set: string) => `-m comment --comment "${COMMENT.get(set)}"`;
  const markMask = `${MASQUERADE_MARK}/${MASQUERADE_MARK}`;

  // Dismiss connects to localhost early in the service chain.
  nat.push(`-A ${KUBE_SERVICES} -s 127.0.0.0/8 -j RETURN`);

  for (const r of IPSET_RULES) {
    if (empty(r.set)) continue;
    const rule = `-A ${r.from}${r.protocol ? ` -p ${r.protocol}` : ''} ${comment(r.set)} -m set --match-set ${r.set} ${r.match} -j ${r.to}`;
    (r.table === 'nat' ? nat : filter).push(rule);
  }

  if (!empty(KUBE_CLUSTER_IP)) {
    const args = `-A ${KUBE_SERVICES} ${comment(KUBE_CLUSTER_IP)} -m set --match-set ${KUBE_CLUSTER_IP}`;
    // Off-cluster traffic to a ClusterIP (a route to the service range via any node) is masqueraded.
    if (model.config.masqueradeAll) nat.push(`${args} dst,dst -j ${KUBE_MARK_MASQ}`);
    else nat.push(`${args} dst,dst ! -s ${formatCidr(model.config.podCIDR)} -j ${KUBE_MARK_MASQ}`);
  }

  // External IPs: accepted from off the machine (not from a bridge, not locally) and when local.
  const externalIPRules = (args: string) => {
    nat.push(`${args} -m physdev ! --physdev-is-in -m addrtype ! --src-type LOCAL -j ACCEPT`);
    nat.push(`${args} -m addrtype --dst-type LOCAL -j ACCEPT`);
  };
  if (!empty(KUBE_EXTERNAL_IP)) {
    const args = `-A ${KUBE_SERVICES} ${comment(KUBE_EXTERNAL_IP)} -m set --match-set ${KUBE_EXTERNAL_IP} dst,dst`;
    nat.push(`${args} -j ${KUBE_MARK_MASQ}`);
    externalIPRules(args);
  }
  if (!empty(KUBE_EXTERNAL_IP_LOCAL)) {
    externalIPRules(`-A ${KUBE_SERVICES} ${comment(KUBE_EXTERNAL_IP_LOCAL)} -m set --match-set ${KUBE_EXTERNAL_IP_LOCAL} dst,dst`);
  }

  nat.push(`-A ${KUBE_SERVICES} -m addrtype --dst-type LOCAL -j ${KUBE_NODE_PORT}`);
  // Load balancer traffic is masqueraded, unless KUBE-LOAD-BALANCER-LOCAL returned first.
  nat.push(`-A ${KUBE_LOAD_BALANCER} -j ${KUBE_MARK_MASQ}`);
  // What no source range let through.
  filter.push(`-A ${KUBE_SOURCE_RANGES_FIREWALL} -j DROP`);
  // The node's own access to an LB IP its source ranges leave out: source and VIP are both the LB IP.
  for (const e of noNodeAccess) filter.push(`-A ${KUBE_IPVS_OUT_FILTER} -s ${e.ip} -m ipvs --vaddr ${e.ip} --vproto ${e.protocol} --vport ${e.port} -j DROP`);

  // acceptIPVSTraffic: accept whatever goes to a virtual server, whatever rules follow.
  for (const set of [KUBE_CLUSTER_IP, KUBE_LOAD_BALANCER_SET]) if (!empty(set)) nat.push(`-A ${KUBE_SERVICES} -m set --match-set ${set} dst,dst -j ACCEPT`);

  // Marked traffic is forwarded even when the FORWARD policy is DROP, and so are its replies.
  filter.push(`-A ${KUBE_FORWARD} -m comment --comment "kubernetes forwarding rules" -m mark --mark ${markMask} -j ACCEPT`);
  filter.push(`-A ${KUBE_FORWARD} -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`);
  filter.push(`-A ${KUBE_NODE_PORT} ${comment(KUBE_HEALTH_CHECK_NODE_PORT)} -m set --match-set ${KUBE_HEALTH_CHECK_NODE_PORT} dst -j ACCEPT`);

  // KUBE-IPVS-FILTER (1.26+): new connections to a kube-ipvs0 address that is no Service port are
  // rejected (kubernetes#72236: the node's own ports must not answer on VIPs).
  if (ipvsFilter) {
    // Before the release that RETURNs KUBE-EXTERNAL-IP-LOCAL, a Local Service's external IP is rejected here.
    const returned = kubeProxyFeatures(model.config.kubernetesVersion).ipvsFilterExternalIPLocal ? [KUBE_EXTERNAL_IP_LOCAL] : [];
    for (const set of [KUBE_LOAD_BALANCER_SET, KUBE_CLUSTER_IP, KUBE_EXTERNAL_IP, ...returned]) filter.push(`-A ${KUBE_IPVS_FILTER} -m set --match-set ${set} dst,dst -j RETURN`);
    filter.push(`-A ${KUBE_IPVS_FILTER} -m set --match-set ${KUBE_HEALTH_CHECK_NODE_PORT} dst -j RETURN`);
    filter.push(`-A ${KUBE_IPVS_FILTER} -m conntrack --ctstate NEW -m set --match-set ${KUBE_IPVS_IPS} dst -j REJECT`);
  }

  nat.push(`-A ${KUBE_POSTROUTING} -m mark ! --mark ${markMask} -j RETURN`);
  // Clear the mark so that a packet that goes through the stack again is not masqueraded twice.
  nat.push(`-A ${KUBE_POSTROUTING} -j MARK --xor-mark ${MASQUERADE_MARK}`);
  nat.push(`-A ${KUBE_POSTROUTING} -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE${randomFully ? ' --random-fully' : ''}`);
  nat.push(`-A ${KUBE_MARK_MASQ} -j MARK --or-mark ${MASQUERADE_MARK}`);

  const table = (name: string, chains: string[], rules: string[]) => [`*${name}`, ...chains.map((c) => `:${c} - [0:0]`), ...rules, 'COMMIT'];
  const filterChains = ipvsFilter ? FILTER_CHAINS : FILTER_CHAINS.filter((c) => c !== KUBE_IPVS_FILTER);
  return `${[...table('nat', NAT_CHAINS, nat), ...table('filter', filterChains, filter)].join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------------
// The jumps from the builtin chains

const JUMPS: [KubeProxyJump['table'], string, string, string][] = [
  // iptablesJumpChain, in upstream's order: [table, builtin chain, target, comment].
  ['nat', 'OUTPUT', KUBE_SERVICES, 'kubernetes service portals'],
  ['nat', 'PREROUTING', KUBE_SERVICES, 'kubernetes service portals'],
  ['nat', 'POSTROUTING', KUBE_POSTROUTING, 'kubernetes postrouting rules'],
  ['filter', 'FORWARD', KUBE_FORWARD, 'kubernetes forwarding rules'],
  ['filter', 'INPUT', KUBE_NODE_PORT, 'kubernetes health check rules'],
  ['filter', 'INPUT', KUBE_PROXY_FIREWALL, 'kube-proxy firewall rules'],
  ['filter', 'FORWARD', KUBE_PROXY_FIREWALL, 'kube-proxy firewall rules'],
  ['filter', 'INPUT', KUBE_IPVS_FILTER, 'kubernetes ipvs access filter'],
  ['filter', 'OUTPUT', KUBE_IPVS_OUT_FILTER, 'kubernetes ipvs access filter'],
];

/**
 * The jump rules kube-proxy's IPVS mode ensures on every sync (createAndLinkKubeChain), in its
 * order, each prepended (`-I`, position 1) when `-C` does not find it. Use jumpArgv() for argvs.
 */
export function ipvsJumps(version: KubernetesVersion = NEWEST_KUBERNETES_VERSION): KubeProxyJump[] {
  const ipvsFilter = kubeProxyFeatures(version).ipvsFilter;
  return JUMPS.filter(([, , target]) => ipvsFilter || target !== KUBE_IPVS_FILTER).map(([table, chain, target, comment]) => ({
    table,
    chain,
    target,
    rule: ['-m', 'comment', '--comment', comment, '-j', target],
  }));
}
