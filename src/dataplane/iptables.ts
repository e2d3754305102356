// kube-proxy's iptables mode, rendered as the `iptables-restore` input it writes for one node (pure
// text). Transcribed from upstream pkg/proxy/iptables/proxier.go (syncProxyRules and
// writeServiceToEndpointRules, releases 1.29-1.31), pkg/proxy/topology.go (CategorizeEndpoints),
// pkg/proxy/serviceport.go and pkg/proxy/endpointslicecache.go; the output is in the canonical order
// of upstream's proxier_test.go (sortIPTablesRules), so it diffs line by line with its fixtures.
//
// How kube-proxy applies it, and so must the applier: the jumps from the builtin chains
// (kubeProxyJumps) are ensured one by one with `iptables -C` / `iptables -I` (never in the restore,
// which must not own PREROUTING, INPUT, ...); then this text goes to `iptables-restore --noflush
// --counters`. With --noflush only the chains declared here (`:CHAIN - [0:0]`, which flushes them)
// are replaced: flannel's FLANNEL-* chains and any other rule in the same tables are left alone.
import { cmp, portTraffic } from './kube-proxy-endpoints.js';
import type { Model } from '../cluster/types.js';
import { formatCidr } from '../util/ip.js';
import { baseServicePorts, sourceRangesContain, withNames, type BaseServicePortInfo } from './service-port.js';
import { kubeHash16 } from './kube-hash.js';
import { KnetlabError } from '../errors.js';
import { kubeProxyFeatures } from './versions.js';

export type IptablesTable = 'filter' | 'nat';

export const KUBE_SERVICES = 'KUBE-SERVICES';
export const KUBE_EXTERNAL_SERVICES = 'KUBE-EXTERNAL-SERVICES';
export const KUBE_NODEPORTS = 'KUBE-NODEPORTS';
export const KUBE_POSTROUTING = 'KUBE-POSTROUTING';
export const KUBE_MARK_MASQ = 'KUBE-MARK-MASQ';
export const KUBE_FORWARD = 'KUBE-FORWARD';
export const KUBE_PROXY_FIREWALL = 'KUBE-PROXY-FIREWALL';
/** kubelet's anti-martian chain, which kube-proxy also writes (and never deletes). */
export const KUBE_FIREWALL = 'KUBE-FIREWALL';

export type ServiceChainPrefix = 'KUBE-SVC-' | 'KUBE-SVL-' | 'KUBE-EXT-' | 'KUBE-FW-';
const SERVICE_CHAIN_PREFIXES = ['KUBE-SVC-', 'KUBE-SVL-', 'KUBE-SEP-', 'KUBE-FW-', 'KUBE-EXT-'];

/** Above this many endpoints (all Services together) kube-proxy drops the per-endpoint comments. */
export const LARGE_CLUSTER_ENDPOINTS_THRESHOLD = 1000;

export interface KubeProxyOptions {
  /**
   * --iptables-localhost-nodeports (default true, as kube-proxy's default with an empty
   * --nodeport-addresses): NodePorts answer on 127.0.0.0/8 (which needs route_localnet=1), and
   * KUBE-FIREWALL drops martian packets to 127/8.
   */
  localhostNodePorts?: boolean;
  /** kube-proxy could create its nfacct counters (xt_nfacct): the counting matches appear in a release that has them (1.31+, versions.ts). Default false. */
  nfacct?: boolean;
  /** iptables has --random-fully (1.6.2 and later): default true. */
  randomFully?: boolean;
  /** net.netfilter.nf_conntrack_tcp_be_liberal is 1: no DROP of INVALID packets. Default false. */
  conntrackTCPLiberal?: boolean;
  /**
   * Chains now in the nat table (`declaredChains(iptablesSaveText, 'nat')`, or those of the previous
   * render): service chains among them that this render does not declare are flushed and deleted
   * (`-X`), as kube-proxy does after reading iptables-save.
   */
  existingNatChains?: Iterable<string>;
}

/** kube-proxy's --masquerade-bit 14. (The binary formats it with %#08x, `0x00004000`; the value is the same, and iptables-save prints `0x4000`.) */
export const MASQUERADE_MARK = '0x4000';

// ---------------------------------------------------------------------------------------------
// Names

/** `KUBE-SVC-`, `KUBE-SVL-`, `KUBE-EXT-` or `KUBE-FW-` + portProtoHash(portName, protocol). */
export function servicePortChainName(prefix: ServiceChainPrefix, portName: string, protocol: string): string {
  return prefix + kubeHash16(portName + protocol.toLowerCase());
}

/** `KUBE-SEP-` + the hash of portName + protocol + endpoint (`ip:port`). */
export function endpointChainName(portName: string, protocol: string, endpoint: string): string {
  return `KUBE-SEP-${kubeHash16(portName + protocol.toLowerCase() + endpoint)}`;
}

function isServiceChainName(chain: string): boolean {
  return SERVICE_CHAIN_PREFIXES.some((p) => chain.startsWith(p));
}

/**
 * `--probability` for endpoint i of n (0-based) is 1/(n-i), printed as Go's `%0.10f`: rounded
 * half to even on the double's exact value (JS's toFixed rounds ties up: 1/2048 would differ).
 */
export function probability(remaining: number): string {
  const [int, frac] = (1 / remaining).toFixed(100).split('.') as [string, string]; // exact for these doubles
  let head = BigInt(int + frac.slice(0, 10));
  const next = frac[10]!;
  if (next > '5' || (next === '5' && (/[1-9]/.test(frac.slice(11)) || head % 2n === 1n))) head += 1n;
  const digits = head.toString().padStart(11, '0');
  return `${digits.slice(0, -10)}.${digits.slice(-10)}`;
}

// ---------------------------------------------------------------------------------------------
// The iptables mode's view of a Service port: the shared one with its chain names

type ServicePortInfo = ReturnType<typeof servicePortInfo>;
type EndpointInfo = ServicePortInfo['endpoints'][number];

function servicePortInfo(base: BaseServicePortInfo) {
  return withNames(
    base,
    (s) => ({
      clusterPolicyChain: servicePortChainName('KUBE-SVC-', s.name, s.protocol),
      localPolicyChain: servicePortChainName('KUBE-SVL-', s.name, s.protocol),
      firewallChain: servicePortChainName('KUBE-FW-', s.name, s.protocol),
      externalChain: servicePortChainName('KUBE-EXT-', s.name, s.protocol),
    }),
    (s, e) => ({ chain: endpointChainName(s.name, s.protocol, e.str) }),
  );
}

/** The Service name in a comment: up to the first space or colon (orderByCommentServiceName). */
function serviceOf(comment: string): string {
  const i = comment.search(/[ :]/);
  return i === -1 ? comment : comment.slice(0, i);
}

// ---------------------------------------------------------------------------------------------
// The renderer

const q = (s: string) => `"${s}"`;

/**
 * The `iptables-restore --noflush --counters` input kube-proxy writes on `nodeName`: the `*filter`
 * and `*nat` tables with only kube-proxy's own chains, in upstream's canonical test order.
 */
export function renderKubeProxyIptables(model: Model, nodeName: string, options: KubeProxyOptions = {}): string {
  const node = model.nodes.find((n) => n.name === nodeName);
  if (!node) throw new KnetlabError('EINTERNAL', `Expected \`nodeName\` to be a node of the model, got \`${nodeName}\``);
  const localhostNodePorts = options.localhostNodePorts ?? true;
  // A release before the counters writes no nfacct match even where the kernel could count.
  const nfacct = (options.nfacct ?? false) && kubeProxyFeatures(model.config.kubernetesVersion).nfacctCounters;
  const randomFully = options.randomFully ?? true;
  const conntrackTCPLiberal = options.conntrackTCPLiberal ?? false;
  const masqueradeAll = model.config.masqueradeAll;
  const clusterCIDR = formatCidr(model.config.podCIDR);
  const markMask = `${MASQUERADE_MARK}/${MASQUERADE_MARK}`;

  const filterChains: string[] = [KUBE_SERVICES, KUBE_EXTERNAL_SERVICES, KUBE_FORWARD, KUBE_NODEPORTS, KUBE_PROXY_FIREWALL];
  const filterRules: string[] = [];
  const natChains: string[] = [KUBE_SERVICES, KUBE_NODEPORTS, KUBE_POSTROUTING, KUBE_MARK_MASQ];
  const natRules: string[] = [];
  const natTrailer: string[] = [];
  const w = (buf: string[], ...parts: (string | number)[]) => buf.push(parts.join(' '));

  w(natRules, '-A', KUBE_POSTROUTING, '-m mark ! --mark', markMask, '-j RETURN');
  // Clear the mark so that a packet that goes through the stack again is not masqueraded twice.
  w(natRules, '-A', KUBE_POSTROUTING, '-j MARK --xor-mark', MASQUERADE_MARK);
  w(natRules, '-A', KUBE_POSTROUTING, '-m comment --comment', q('kubernetes service traffic requiring SNAT'), `-j MASQUERADE${randomFully ? ' --random-fully' : ''}`);
  w(natRules, '-A', KUBE_MARK_MASQ, '-j MARK --or-mark', MASQUERADE_MARK);

  if (localhostNodePorts) {
    // route_localnet=1 opens 127/8 to the outside (https://issue.k8s.io/90259); kubelet writes the same rule.
    filterChains.push(KUBE_FIREWALL);
    w(
      filterRules,
      '-A',
      KUBE_FIREWALL,
      '-m comment --comment',
      q('block incoming localnet connections'),
      '-d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP',
    );
  }

  const activeNatChains = new Set<string>(natChains);
  const declare = (chain: string) => {
    natChains.push(chain);
    activeNatChains.add(chain);
  };

  const ports = baseServicePorts(model, nodeName).map(servicePortInfo);
  const totalEndpoints = ports.reduce((n, s) => n + s.endpoints.length, 0);
  const largeClusterMode = totalEndpoints > LARGE_CLUSTER_ENDPOINTS_THRESHOLD;
  const svcComment = (c: string) => (largeClusterMode ? [] : ['-m comment --comment', c]);

  for (const s of ports) {
    const p = s.protocol;
    const proto = `-m ${p} -p ${p}`;
    const {
      cluster: clusterEndpoints,
      local: localEndpoints,
      reachable,
      hasEndpoints,
      hasInternalEndpoints,
      hasExternalEndpoints,
      usesClusterPolicyChain,
      usesLocalPolicyChain,
      usesExternalTrafficChain,
    } = portTraffic(s);
    const internalTrafficChain = s.internalPolicyLocal ? s.localPolicyChain : s.clusterPolicyChain;
    const externalPolicyChain = s.externalPolicyLocal ? s.localPolicyChain : s.clusterPolicyChain;
    const externalTrafficChain = s.externalChain;
    const usesFWChain = hasEndpoints && s.loadBalancerVIPs.length > 0 && s.loadBalancerSourceRanges.length > 0;
    const loadBalancerTrafficChain = usesFWChain ? s.firewallChain : externalTrafficChain;

    let internalFilterTarget = '';
    let internalFilterComment = '';
    let externalFilterTarget = '';
    let externalFilterComment = '';
    if (!hasEndpoints) {
      internalFilterTarget = externalFilterTarget = 'REJECT';
      internalFilterComment = externalFilterComment = q(`${s.name} has no endpoints`);
    } else {
      if (!hasInternalEndpoints) {
        internalFilterTarget = 'DROP';
        internalFilterComment = q(`${s.name} has no local endpoints`);
      }
      if (!hasExternalEndpoints) {
        externalFilterTarget = 'DROP';
        externalFilterComment = q(`${s.name} has no local endpoints`);
      }
    }

    // The ClusterIP.
    if (hasInternalEndpoints) {
      w(natRules, '-A', KUBE_SERVICES, '-m comment --comment', q(`${s.name} cluster IP`), proto, '-d', s.clusterIP, '--dport', s.port, '-j', internalTrafficChain);
    } else {
      w(filterRules, '-A', KUBE_SERVICES, '-m comment --comment', internalFilterComment, proto, '-d', s.clusterIP, '--dport', s.port, '-j', internalFilterTarget);
    }

    // externalIPs.
    for (const ip of s.externalIPs) {
      if (hasEndpoints) w(natRules, '-A', KUBE_SERVICES, '-m comment --comment', q(`${s.name} external IP`), proto, '-d', ip, '--dport', s.port, '-j', externalTrafficChain);
      // No endpoints at all (REJECT), or none for external traffic (DROP what the EXT chain did not short-circuit).
      if (!hasExternalEndpoints)
        w(filterRules, '-A', KUBE_EXTERNAL_SERVICES, '-m comment --comment', externalFilterComment, proto, '-d', ip, '--dport', s.port, '-j', externalFilterTarget);
    }

    // Load balancer ingress IPs.
    for (const ip of s.loadBalancerVIPs) {
      if (hasEndpoints)
        w(natRules, '-A', KUBE_SERVICES, '-m comment --comment', q(`${s.name} loadbalancer IP`), proto, '-d', ip, '--dport', s.port, '-j', loadBalancerTrafficChain);
      if (usesFWChain)
        w(filterRules, '-A', KUBE_PROXY_FIREWALL, '-m comment --comment', q(`${s.name} traffic not accepted by ${s.firewallChain}`), proto, '-d', ip, '--dport', s.port, '-j DROP');
    }
    if (!hasExternalEndpoints) {
      for (const ip of s.loadBalancerVIPs)
        w(filterRules, '-A', KUBE_EXTERNAL_SERVICES, '-m comment --comment', externalFilterComment, proto, '-d', ip, '--dport', s.port, '-j', externalFilterTarget);
    }

    // NodePorts (never subject to loadBalancerSourceRanges).
    if (s.nodePort !== 0) {
      if (hasEndpoints) {
        if (localhostNodePorts && nfacct) {
          w(
            natRules,
            '-A',
            KUBE_NODEPORTS,
            '-m comment --comment',
            s.name,
            proto,
            '-d 127.0.0.0/8 --dport',
            s.nodePort,
            '-m nfacct --nfacct-name localhost_nps_accepted_pkts -j',
            externalTrafficChain,
          );
        }
        w(natRules, '-A', KUBE_NODEPORTS, '-m comment --comment', s.name, proto, '--dport', s.nodePort, '-j', externalTrafficChain);
      }
      if (!hasExternalEndpoints) {
        w(
          filterRules,
          '-A',
          KUBE_EXTERNAL_SERVICES,
          '-m comment --comment',
          externalFilterComment,
          '-m addrtype --dst-type LOCAL',
          proto,
          '--dport',
          s.nodePort,
          '-j',
          externalFilterTarget,
        );
      }
    }

    // healthCheckNodePort: accepted whether or not this node has local endpoints.
    if (s.healthCheckNodePort !== 0) {
      w(filterRules, '-A', KUBE_NODEPORTS, '-m comment --comment', q(`${s.name} health check node port`), '-m tcp -p tcp --dport', s.healthCheckNodePort, '-j ACCEPT');
    }

    // Internal traffic: masquerade what comes from outside the pod network (a route to the service
    // range via any node works, and the reply may have to come back through it).
    if (hasInternalEndpoints) {
      const args = ['-m comment --comment', q(`${s.name} cluster IP`), proto, '-d', s.clusterIP, '--dport', s.port];
      if (masqueradeAll) w(natRules, '-A', internalTrafficChain, ...args, '-j', KUBE_MARK_MASQ);
      else w(natRules, '-A', internalTrafficChain, ...args, '!', '-s', clusterCIDR, '-j', KUBE_MARK_MASQ);
    }

    // External traffic: every external destination jumps to the EXT chain.
    if (usesExternalTrafficChain) {
      declare(externalTrafficChain);
      if (!s.externalPolicyLocal) {
        // Endpoints may be on other nodes: masquerade.
        w(natRules, '-A', externalTrafficChain, '-m comment --comment', q(`masquerade traffic for ${s.name} external destinations`), '-j', KUBE_MARK_MASQ);
      } else {
        // Pods reaching an external IP skip the policy, as if they went out to the load balancer and back.
        w(natRules, '-A', externalTrafficChain, '-m comment --comment', q(`pod traffic for ${s.name} external destinations`), '-s', clusterCIDR, '-j', s.clusterPolicyChain);
        // The node's own traffic has a local address (maybe the LB IP itself) as its source: masquerade it.
        w(
          natRules,
          '-A',
          externalTrafficChain,
          '-m comment --comment',
          q(`masquerade LOCAL traffic for ${s.name} external destinations`),
          '-m addrtype --src-type LOCAL -j',
          KUBE_MARK_MASQ,
        );
        w(
          natRules,
          '-A',
          externalTrafficChain,
          '-m comment --comment',
          q(`route LOCAL traffic for ${s.name} external destinations`),
          '-m addrtype --src-type LOCAL -j',
          s.clusterPolicyChain,
        );
      }
      if (hasExternalEndpoints) w(natRules, '-A', externalTrafficChain, '-j', externalPolicyChain);
    }

    // loadBalancerSourceRanges.
    if (usesFWChain) {
      declare(s.firewallChain);
      const args = ['-A', s.firewallChain, '-m comment --comment', q(`${s.name} loadbalancer IP`)];
      for (const range of s.loadBalancerSourceRanges) w(natRules, ...args, '-s', range.text, '-j', externalTrafficChain);
      // A VIP that is a local address loops a node's request back with the VIP as its source.
      if (sourceRangesContain(s.loadBalancerSourceRanges, node.ip)) for (const ip of s.loadBalancerVIPs) w(natRules, ...args, '-s', ip, '-j', externalTrafficChain);
      // Not DNATed: KUBE-PROXY-FIREWALL drops it in the filter table.
      w(natRules, '-A', s.firewallChain, '-m comment --comment', q(`other traffic to ${s.name} will be dropped by KUBE-PROXY-FIREWALL`));
    }

    if (usesClusterPolicyChain) {
      declare(s.clusterPolicyChain);
      writeServiceToEndpointRules(natRules, s, s.clusterPolicyChain, clusterEndpoints, largeClusterMode);
    }
    if (usesLocalPolicyChain) {
      declare(s.localPolicyChain);
      writeServiceToEndpointRules(natRules, s, s.localPolicyChain, localEndpoints, largeClusterMode);
    }

    for (const ep of reachable) {
      declare(ep.chain);
      // Hairpin: a pod reaching itself through the Service must see another source, or it answers itself.
      w(natRules, '-A', ep.chain, ...svcComment(s.name), '-s', ep.ip, '-j', KUBE_MARK_MASQ);
      const affinity = s.clientIPAffinity ? ['-m recent --name', ep.chain, '--set'] : [];
      w(natRules, '-A', ep.chain, ...svcComment(s.name), ...affinity, proto, '-j DNAT --to-destination', ep.str);
    }
  }

  // Service chains left from an earlier sync: a declaration flushes them, then -X deletes them.
  const stale = [...new Set(options.existingNatChains ?? [])].filter((c) => isServiceChainName(c) && !activeNatChains.has(c)).sort();
  for (const chain of stale) {
    natChains.push(chain);
    natTrailer.push(`-X ${chain}`);
  }

  // NodePorts last: any local destination address.
  w(
    natRules,
    '-A',
    KUBE_SERVICES,
    '-m comment --comment',
    q('kubernetes service nodeports; NOTE: this must be the last rule in this chain'),
    '-m addrtype --dst-type LOCAL',
    ...(localhostNodePorts ? [] : ['! -d 127.0.0.0/8']),
    '-j',
    KUBE_NODEPORTS,
  );

  if (!conntrackTCPLiberal) {
    // INVALID packets would otherwise reach a pod un-DNATed and reset the connection (kubernetes#74839).
    w(filterRules, '-A', KUBE_FORWARD, '-m conntrack --ctstate INVALID', ...(nfacct ? ['-m nfacct --nfacct-name ct_state_invalid_dropped_pkts'] : []), '-j DROP');
  }
  // Marked traffic is forwarded even when the FORWARD policy is DROP.
  w(filterRules, '-A', KUBE_FORWARD, '-m comment --comment', q('kubernetes forwarding rules'), '-m mark --mark', markMask, '-j ACCEPT');
  w(filterRules, '-A', KUBE_FORWARD, '-m comment --comment', q('kubernetes forwarding conntrack rule'), '-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT');

  return `${[...sortedTable('filter', filterChains, filterRules, []), ...sortedTable('nat', natChains, natRules, natTrailer)].join('\n')}\n`;
}

function writeServiceToEndpointRules(natRules: string[], s: ServicePortInfo, chain: string, endpoints: EndpointInfo[], largeClusterMode: boolean): void {
  const comment = (ep: EndpointInfo) => (largeClusterMode ? [] : ['-m comment --comment', q(`${s.name} -> ${ep.str}`)]);
  if (s.clientIPAffinity) {
    for (const ep of endpoints) {
      natRules.push(['-A', chain, ...comment(ep), '-m recent --name', ep.chain, '--rcheck --seconds', s.stickyMaxAgeSeconds, '--reap -j', ep.chain].join(' '));
    }
  }
  const n = endpoints.length;
  endpoints.forEach((ep, i) => {
    // Each rule but the last is a random match, 1/(n-i), so that every endpoint gets 1/n.
    const statistic = i < n - 1 ? ['-m statistic --mode random --probability', probability(n - i)] : [];
    natRules.push(['-A', chain, ...comment(ep), ...statistic, '-j', ep.chain].join(' '));
  });
}

// ---------------------------------------------------------------------------------------------
// Canonical order (proxier_test.go sortIPTablesRules): KUBE-NODEPORTS, KUBE-SERVICES, then the
// other chains by name; rules grouped by chain in that order, keeping their relative order, with
// KUBE-NODEPORTS and KUBE-SERVICES sorted by Service name (the nodeports jump stays last).

function chainOrder(a: string, b: string): number {
  const rank = (c: string) => (c === KUBE_NODEPORTS ? 0 : c === KUBE_SERVICES ? 1 : c.startsWith('KUBE-') ? 2 : 3);
  return rank(a) - rank(b) || cmp(a, b);
}

function commentOf(rule: string): string | undefined {
  const m = /--comment (?:"([^"]*)"|(\S+))/.exec(rule);
  return m ? (m[1] ?? m[2]) : undefined;
}

function sortedTable(table: IptablesTable, chains: string[], rules: string[], trailer: string[]): string[] {
  const declared = [...new Set(chains)].sort(chainOrder);
  const byChain = new Map<string, string[]>(declared.map((c) => [c, []]));
  for (const rule of rules) {
    const chain = rule.split(' ', 2)[1]!;
    const list = byChain.get(chain);
    if (!list) throw new KnetlabError('EINTERNAL', `rule for an undeclared chain: ${rule}`);
    list.push(rule);
  }
  const byService = (a: string, b: string) => {
    const ca = commentOf(a);
    const cb = commentOf(b);
    if (ca === undefined || cb === undefined) return 0;
    if (table === 'nat' && ca.includes('must be the last rule')) return 1;
    if (table === 'nat' && cb.includes('must be the last rule')) return -1;
    return cmp(serviceOf(ca), serviceOf(cb));
  };
  for (const chain of [KUBE_NODEPORTS, KUBE_SERVICES]) byChain.get(chain)?.sort(byService);
  return [`*${table}`, ...declared.map((c) => `:${c} - [0:0]`), ...declared.flatMap((c) => byChain.get(c)!), ...trailer, 'COMMIT'];
}

/** The chains a restore or iptables-save text declares in `table` (`:NAME POLICY [p:b]` lines). */
export function declaredChains(text: string, table: IptablesTable): string[] {
  const out: string[] = [];
  let current = '';
  for (const line of text.split('\n')) {
    if (line.startsWith('*')) current = line.slice(1).trim();
    else if (current === table && line.startsWith(':')) out.push(line.slice(1).split(' ', 1)[0]!);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The jumps from the builtin chains

export interface KubeProxyJump {
  table: IptablesTable;
  /** The builtin chain that jumps. */
  chain: string;
  /** kube-proxy's chain it jumps to. */
  target: string;
  /** The rule's arguments after `-I CHAIN` / `-C CHAIN`, as an argv. */
  rule: string[];
}

const JUMPS: [IptablesTable, string, string, string, string[]][] = [
  // iptablesJumpChains, in upstream's order: [table, target, builtin chain, comment, extra args].
  ['filter', KUBE_EXTERNAL_SERVICES, 'INPUT', 'kubernetes externally-visible service portals', ['-m', 'conntrack', '--ctstate', 'NEW']],
  ['filter', KUBE_EXTERNAL_SERVICES, 'FORWARD', 'kubernetes externally-visible service portals', ['-m', 'conntrack', '--ctstate', 'NEW']],
  ['filter', KUBE_NODEPORTS, 'INPUT', 'kubernetes health check service ports', []],
  ['filter', KUBE_SERVICES, 'FORWARD', 'kubernetes service portals', ['-m', 'conntrack', '--ctstate', 'NEW']],
  ['filter', KUBE_SERVICES, 'OUTPUT', 'kubernetes service portals', ['-m', 'conntrack', '--ctstate', 'NEW']],
  ['filter', KUBE_FORWARD, 'FORWARD', 'kubernetes forwarding rules', []],
  ['filter', KUBE_PROXY_FIREWALL, 'INPUT', 'kubernetes load balancer firewall', ['-m', 'conntrack', '--ctstate', 'NEW']],
  ['filter', KUBE_PROXY_FIREWALL, 'OUTPUT', 'kubernetes load balancer firewall', ['-m', 'conntrack', '--ctstate', 'NEW']],
  ['filter', KUBE_PROXY_FIREWALL, 'FORWARD', 'kubernetes load balancer firewall', ['-m', 'conntrack', '--ctstate', 'NEW']],
  ['nat', KUBE_SERVICES, 'OUTPUT', 'kubernetes service portals', []],
  ['nat', KUBE_SERVICES, 'PREROUTING', 'kubernetes service portals', []],
  ['nat', KUBE_POSTROUTING, 'POSTROUTING', 'kubernetes postrouting rules', []],
  // iptablesKubeletJumpChains: kubelet's KUBE-FIREWALL, without a comment.
  ['filter', KUBE_FIREWALL, 'INPUT', '', []],
  ['filter', KUBE_FIREWALL, 'OUTPUT', '', []],
];

/**
 * The jump rules kube-proxy ensures on every full sync, in its order: for each, the target chain
 * is created if missing (`-N`), then the rule is checked (`-C`) and, if absent, prepended (`-I`,
 * position 1). Prepending in this order leaves each builtin chain's jumps in the reverse order.
 */
export function kubeProxyJumps(): KubeProxyJump[] {
  return JUMPS.map(([table, target, chain, comment, extra]) => ({
    table,
    chain,
    target,
    rule: [...extra, ...(comment ? ['-m', 'comment', '--comment', comment] : []), '-j', target],
  }));
}

/** The argv (after `iptables`) that checks (`-C`) or prepends (`-I`) a jump. */
export function jumpArgv(jump: KubeProxyJump, op: '-C' | '-I'): string[] {
  return ['-t', jump.table, op, jump.chain, ...jump.rule];
}
