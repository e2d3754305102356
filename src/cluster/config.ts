import type { LoadedScenario } from '../scenario/load.js';
import type { Problems } from '../scenario/problems.js';
import { originAt } from '../scenario/source.js';
import { cidrOf, cidrOverlaps, cidrSize, formatCidr, isIPv4, nthAddress, type Cidr } from '../util/ip.js';
import { cniOf } from '../cni/index.js';
import { proxyModes } from '../proxy/modes.js';
import type { ClusterConfig, UpstreamDns } from './types.js';
import {
  isKubernetesVersion,
  KUBERNETES_VERSION_RANGE,
  kubernetesVersions,
  modeStage,
  modeUnavailable,
  NEWEST_KUBERNETES_VERSION,
  type KubernetesVersion,
} from '../dataplane/versions.js';
import type { ProxyMode } from '../proxy/modes.js';

/** Bounds of `cluster.upstreamDNS`: a resolver for a scenario's few external names, not a zone file. */
export const UPSTREAM_DNS_MAX_RECORDS = 64;

const lowerName = (n: string) => (n.endsWith('.') ? n.slice(0, -1) : n).toLowerCase();
const under = (name: string, zone: string) => name === zone || name.endsWith(`.${zone}`);

/** `cluster.upstreamDNS` read: names normalised; names the cluster DNS keeps, or both refused and recorded, reported. */
function resolveUpstreamDns(s: LoadedScenario, problems: Problems, clusterDomain: string, gateway: string): UpstreamDns | undefined {
  const u = s.cluster.upstreamDNS;
  if (!u) return undefined;
  const at = (...k: string[]) => originAt(s.clusterOrigin, 'upstreamDNS', ...k);
  const domain = lowerName(clusterDomain);
  const records: UpstreamDns['records'] = {};
  const given = Object.entries(u.records ?? {});
  if (given.length > UPSTREAM_DNS_MAX_RECORDS)
    problems.error('list-size', at('records'), `\`cluster.upstreamDNS.records\` has ${given.length} names; at most ${UPSTREAM_DNS_MAX_RECORDS}`);
  const refuse = [...new Set((u.refuse ?? []).map(lowerName))];
  (u.refuse ?? []).forEach((z, i) => {
    if (under(lowerName(z), domain) || under(domain, lowerName(z)))
      problems.error(
        'conflicting-fields',
        originAt(at('refuse'), i),
        `\`cluster.upstreamDNS.refuse\` ${z} overlaps the cluster domain ${domain}, which the cluster DNS answers itself and never forwards`,
      );
  });
  for (const [raw, value] of given) {
    const name = lowerName(raw);
    if (under(name, domain)) {
      problems.error(
        'conflicting-fields',
        at('records', raw),
        `\`cluster.upstreamDNS.records\` ${raw} is in the cluster domain ${domain}, which the cluster DNS answers itself and never forwards`,
        { key: true },
      );
      continue;
    }
    const refused = refuse.find((z) => under(name, z));
    if (refused)
      problems.error('conflicting-fields', at('records', raw), `\`cluster.upstreamDNS.records\` ${raw} is under the refused zone ${refused}: it would never be answered`, {
        key: true,
      });
    if (records[name]) problems.error('duplicate-entry', at('records', raw), `\`cluster.upstreamDNS.records\` names ${name} twice (names are case-insensitive)`, { key: true });
    records[name] = typeof value === 'string' && !isIPv4(value) ? { cname: lowerName(value) } : { addresses: [...new Set(typeof value === 'string' ? [value] : value)] };
  }
  return { server: gateway, records, refuse };
}
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
  const modes = c.proxyModes ?? proxyModes;
  for (const [i, m] of modes.entries()) if (modes.indexOf(m) !== i) problems.error('duplicate-entry', at('proxyModes'), `\`cluster.proxyModes\` names ${m} twice`);
  if (c.proxyMode && !modes.includes(c.proxyMode))
    problems.error('conflicting-fields', at('proxyMode'), `\`cluster.proxyMode\` ${c.proxyMode} is not one of \`cluster.proxyModes\` (${[...new Set(modes)].join(', ')})`);
  // Without proxyMode, the default mode if the scenario is about it, else the first it names.
  const proxyMode = c.proxyMode ?? (modes.includes(defaults.proxyMode) ? defaults.proxyMode : modes[0]!);
  const gateway = nthAddress(lanCIDR, 1);
  const clusterDomain = c.clusterDomain ?? defaults.clusterDomain;
  const upstreamDNS = resolveUpstreamDns(s, problems, clusterDomain, gateway);
  return {
    proxyMode,
    proxyModes: [...new Set(modes)],
    kubernetesVersion: resolveKubernetesVersion(s, proxyMode, problems),
    network: c.network ?? defaults.network,
    lanCIDR,
    podCIDR,
    serviceCIDR,
    loadBalancerCIDR,
    nodePortRange: lo >= 1 && hi <= 65535 && lo < hi ? { min: lo, max: hi } : { min: 30000, max: 32767 },
    clusterDomain,
    dns: (c.dns ?? defaults.dns) && serviceRangeOk, // no kube-dns where it cannot have its address (reported above)
    masqueradeAll: c.masqueradeAll ?? defaults.masqueradeAll,
    podEgressMasquerade: c.podEgressMasquerade ?? defaults.podEgressMasquerade,
    clearStaleConntrack: c.clearStaleConntrack ?? defaults.clearStaleConntrack,
    mtu: mtu.overlay < MTU_MIN ? networkMtu(c.network ?? defaults.network, defaults.mtu, c.podMTU) : mtu,
    ipvs: { scheduler: c.ipvs?.scheduler ?? defaults.ipvs.scheduler, strictARP: c.ipvs?.strictARP ?? defaults.ipvs.strictARP },
    ...(upstreamDNS ? { upstreamDNS } : {}),
    gateway,
    dnsIP: nthAddress(serviceCIDR, 10),
  };
}

/**
 * `cluster.kubernetesVersion`: a quoted "MAJOR.MINOR" among the modelled releases (default the
 * newest), and one that has the scenario's own proxyMode (a mode still alpha is warned about).
 */
function resolveKubernetesVersion(s: LoadedScenario, proxyMode: ProxyMode, problems: Problems): KubernetesVersion {
  const given: unknown = s.cluster.kubernetesVersion;
  if (given === undefined) return NEWEST_KUBERNETES_VERSION;
  const at = originAt(s.clusterOrigin, 'kubernetesVersion');
  const range = `a release from ${KUBERNETES_VERSION_RANGE} such as "${NEWEST_KUBERNETES_VERSION}"`;
  if (typeof given === 'number') {
    // YAML reads 1.30 as the number 1.3: only a quoted version says which release it means.
    problems.error(
      'wrong-type',
      at,
      `Expected \`cluster.kubernetesVersion\` to be text such as "${NEWEST_KUBERNETES_VERSION}" (quote it: YAML reads 1.30 as 1.3), got \`${given}\``,
    );
    return NEWEST_KUBERNETES_VERSION;
  }
  if (typeof given !== 'string') {
    problems.error('wrong-type', at, `Expected \`cluster.kubernetesVersion\` to be ${range}, got ${given === null ? 'null' : typeof given}`);
    return NEWEST_KUBERNETES_VERSION;
  }
  const version = given.replace(/^v/, '').replace(/^(\d+\.\d+)\.\d+$/, '$1');
  if (!isKubernetesVersion(version)) {
    problems.error('unknown-value', at, `Expected \`cluster.kubernetesVersion\` to be ${range} (knetlab models kube-proxy ${kubernetesVersions.join(', ')}), got \`${given}\``);
    return NEWEST_KUBERNETES_VERSION;
  }
  const unavailable = modeUnavailable(version, proxyMode);
  if (unavailable && s.cluster.proxyMode !== undefined) {
    problems.error('conflicting-fields', at, `\`cluster.proxyMode\` ${proxyMode} cannot run with \`cluster.kubernetesVersion\` "${version}": ${unavailable}`);
  } else if (s.cluster.proxyMode !== undefined && modeStage(version, proxyMode) === 'alpha') {
    problems.warn(
      'alpha-feature',
      at,
      `kube-proxy ${version}'s ${proxyMode} mode is alpha: it runs only with \`--feature-gates=NFTablesProxyMode=true\` (knetlab models it as enabled)`,
    );
  }
  return version;
}
