import type { LoadedScenario } from '../scenario/load.js';
import type { Problems } from '../scenario/problems.js';
import { originAt } from '../scenario/source.js';
import { cidrOf, cidrOverlaps, cidrSize, formatCidr, nthAddress, type Cidr } from '../util/ip.js';
import { cniOf } from '../cni/index.js';
import type { ClusterConfig } from './types.js';
import { networkMtu } from './mtu.js';
import { MTU_MIN } from '../scenario/schema.js';

export const defaults = {
  proxyMode: 'iptables',
  network: 'flannel-vxlan',
  lanCIDR: '192.168.8.0/24',
  podCIDR: '10.244.0.0/16',
  serviceCIDR: '10.96.0.0/12',
  nodePortRange: '30000-32767',
  clusterDomain: 'cluster.local',
  dns: true,
  masqueradeAll: false,
  podEgressMasquerade: true,
  clearStaleConntrack: true,
  /** The underlay's MTU: Ethernet's, what a veth gets by default. */
  mtu: 1500,
  /** kube-proxy's defaults: --ipvs-scheduler rr (its empty default means rr), --ipvs-strict-arp false. */
  ipvs: { scheduler: 'rr', strictARP: false },
} as const;

/** The top /28 of the LAN, or its top quarter when the LAN is smaller than a /26. */
export function defaultLoadBalancerCIDR(lan: Cidr): Cidr {
  const bits = Math.min(32, Math.max(lan.bits + 2, 28));
  return { base: (lan.base + cidrSize(lan) - 2 ** (32 - bits)) >>> 0, bits };
}

/**
 * The cluster section with its defaults, checked for ranges that cannot work together. The
 * problems are reported, and the config is still returned so that later checks can go on.
 */
export function resolveConfig(s: LoadedScenario, problems: Problems): ClusterConfig {
  const c = s.cluster;
  const at = (k: string) => originAt(s.clusterOrigin, k);
  const before = problems.errorCount;
  const lanCIDR = cidrOf(c.lanCIDR ?? defaults.lanCIDR);
  const podCIDR = cidrOf(c.podCIDR ?? defaults.podCIDR);
  const serviceCIDR = cidrOf(c.serviceCIDR ?? defaults.serviceCIDR);
  const loadBalancerCIDR = c.loadBalancerCIDR ? cidrOf(c.loadBalancerCIDR) : defaultLoadBalancerCIDR(lanCIDR);
  const [lo, hi] = (c.nodePortRange ?? defaults.nodePortRange).split('-').map(Number) as [number, number];
  if (!(lo >= 1 && hi <= 65535 && lo < hi)) {
    problems.error(
      'bad-address',
      at('nodePortRange'),
      `Expected \`cluster.nodePortRange\` to be a range of ports such as 30000-32767 (low < high, within 1-65535), got \`${c.nodePortRange}\``,
    );
  }
  if (lanCIDR.bits > 29)
    problems.error('range-too-small', at('lanCIDR'), `\`cluster.lanCIDR\` ${formatCidr(lanCIDR)} is too small: a LAN needs at least a /29 for its gateway, nodes and hosts`);
  // Each node's subnet: flannel's /24 (kube-controller-manager's --node-cidr-mask-size default), Calico's /26 block.
  const cni = cniOf(c.network ?? defaults.network);
  const NODE_CIDR_BITS = cni.nodeSubnetBits;
  if (podCIDR.bits > NODE_CIDR_BITS) {
    problems.error(
      'range-too-small',
      at('podCIDR'),
      `\`cluster.podCIDR\` ${formatCidr(podCIDR)} is too small: every node gets a${cni.subnetWord === 'IPAM block' ? 'n IPAM block' : ''} /${NODE_CIDR_BITS} from it, so it must be a /${NODE_CIDR_BITS} or larger`,
    );
  }
  const serviceRangeOk = serviceCIDR.bits <= 28;
  if (!serviceRangeOk)
    problems.error(
      'range-too-small',
      at('serviceCIDR'),
      `\`cluster.serviceCIDR\` ${formatCidr(serviceCIDR)} is too small: kube-dns alone takes its 10th address; use a /28 or larger`,
    );
  const ranges: [string, Cidr, boolean][] = [
    ['lanCIDR', lanCIDR, c.lanCIDR !== undefined],
    ['podCIDR', podCIDR, c.podCIDR !== undefined],
    ['serviceCIDR', serviceCIDR, c.serviceCIDR !== undefined],
  ];
  for (let i = 0; i < ranges.length; i++) {
    for (let j = i + 1; j < ranges.length; j++) {
      const [an, a] = ranges[i]!;
      const [bn, b, bGiven] = ranges[j]!;
      if (cidrOverlaps(a, b)) {
        const blame = bGiven ? bn : ranges[i]![2] ? an : bn;
        const dflt = (given: boolean) => (given ? '' : ' (the default)');
        problems.error(
          'ranges-overlap',
          at(blame),
          `\`cluster.${an}\` ${formatCidr(a)}${dflt(ranges[i]![2])} and \`cluster.${bn}\` ${formatCidr(b)}${dflt(bGiven)} overlap; the LAN, pod and Service ranges must be apart`,
        );
      }
    }
  }
  for (const [n, r] of ranges.slice(1)) {
    // The default pool lies in the LAN: an overlap with the LAN is reported above already.
    if (cidrOverlaps(loadBalancerCIDR, r) && (c.loadBalancerCIDR || !cidrOverlaps(lanCIDR, r))) {
      problems.error(
        'ranges-overlap',
        at(c.loadBalancerCIDR ? 'loadBalancerCIDR' : 'lanCIDR'),
        `\`cluster.loadBalancerCIDR\` ${formatCidr(loadBalancerCIDR)} overlaps \`cluster.${n}\` ${formatCidr(r)}`,
      );
    }
  }
  const mtu = networkMtu(c.network ?? defaults.network, c.mtu ?? defaults.mtu, c.podMTU);
  // Linux refuses a VXLAN or IPIP device below IPv4's 68 bytes (and a VXLAN device above its lower device's less 50).
  if (mtu.overlay < MTU_MIN)
    problems.error(
      'out-of-range',
      at('mtu'),
      `\`cluster.mtu\` ${mtu.underlay} leaves ${cni.tunnelDevice ?? 'the tunnel'} ${mtu.overlay} bytes after ${c.network ?? defaults.network}'s ${cni.encapOverhead} bytes of encapsulation; Linux needs at least ${MTU_MIN}: use ${MTU_MIN + cni.encapOverhead} or more`,
    );
  void before;
  return {
    proxyMode: c.proxyMode ?? defaults.proxyMode,
    network: c.network ?? defaults.network,
    lanCIDR,
    podCIDR,
    serviceCIDR,
    loadBalancerCIDR,
    nodePortRange: lo >= 1 && hi <= 65535 && lo < hi ? { min: lo, max: hi } : { min: 30000, max: 32767 },
    clusterDomain: c.clusterDomain ?? defaults.clusterDomain,
    dns: (c.dns ?? defaults.dns) && serviceRangeOk, // no kube-dns where it cannot have its address (reported above)
    masqueradeAll: c.masqueradeAll ?? defaults.masqueradeAll,
    podEgressMasquerade: c.podEgressMasquerade ?? defaults.podEgressMasquerade,
    clearStaleConntrack: c.clearStaleConntrack ?? defaults.clearStaleConntrack,
    mtu: mtu.overlay < MTU_MIN ? networkMtu(c.network ?? defaults.network, defaults.mtu, c.podMTU) : mtu,
    ipvs: { scheduler: c.ipvs?.scheduler ?? defaults.ipvs.scheduler, strictARP: c.ipvs?.strictARP ?? defaults.ipvs.strictARP },
    gateway: nthAddress(lanCIDR, 1),
    dnsIP: nthAddress(serviceCIDR, 10),
  };
}
