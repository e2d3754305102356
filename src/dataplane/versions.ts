// The one list of kube-proxy releases knetlab models (`cluster.kubernetesVersion`), each with what
// changed in it that the renderers and validation read. Only differences established from upstream
// code are flags here (docs/versions.md gives the source of each); everything else is rendered as
// the newest release does.
import type { ProxyMode } from '../proxy/modes.js';

/** How far a kube-proxy mode is in a release: absent, or its feature stage. */
export type ModeStage = 'absent' | 'alpha' | 'beta' | 'ga';

export interface KubeProxyFeatures {
  /**
   * IPVS mode's KUBE-IPVS-FILTER (and its ipset KUBE-IPVS-IPS): new connections to a kube-ipvs0
   * address that are no Service port are rejected (kubernetes#108460, in 1.26). Before it, a
   * ClusterIP answered ping and every port the node listens on.
   */
  ipvsFilter: boolean;
  /** The nftables mode: feature gate NFTablesProxyMode, alpha in 1.29, beta (on) in 1.31, GA in 1.33. */
  nftables: ModeStage;
  /**
   * iptables mode counts with xt_nfacct where the kernel has it: `-m nfacct` on KUBE-FORWARD's
   * INVALID drop (ct_state_invalid_dropped_pkts, kubernetes#122812) and a KUBE-NODEPORTS rule per
   * NodePort for 127.0.0.0/8 (localhost_nps_accepted_pkts, kubernetes#125015); both in 1.31.
   */
  nfacctCounters: boolean;
  /**
   * Stale UDP conntrack entries are found by a reconciler over the whole table (pkg/proxy/conntrack
   * CleanStaleEntries(ct, family, svcPortMap, endpointsMap), kubernetes#127318, in 1.32). Before it
   * kube-proxy deleted by change: the Service IPs and NodePort of a newly active UDP Service, and the
   * IP pairs of a removed endpoint; a restarted kube-proxy's first sync finds every UDP Service
   * newly active, so it deletes every UDP entry to them, healthy or not.
   */
  conntrackReconciler: boolean;
  /**
   * nftables mode's default --nodeport-addresses is `primary`: NodePorts answer on the node's
   * primary IP only (@nodeport-ips; kubernetes#123105, in 1.31). Before, on every local address but
   * 127/8 (`fib daddr type local`), as iptables mode still does by default.
   */
  nftablesPrimaryNodePorts: boolean;
  /**
   * KUBE-IPVS-FILTER RETURNs KUBE-EXTERNAL-IP-LOCAL too (kubernetes#121919, fixing #121909, in
   * 1.30.0; backported to later 1.28 and 1.29 patches). Without it new connections to an external IP
   * of an externalTrafficPolicy Local Service, which is on kube-ipvs0 and only in that set, are
   * REJECTed (docs/versions.md).
   */
  ipvsFilterExternalIPLocal: boolean;
  /**
   * When kube-proxy uses EndpointSlice zone hints for a Service (pkg/proxy/topology.go):
   * `auto-only` (1.25, 1.26): its topology-aware-hints annotation is Auto or auto;
   * `not-disabled` (1.27 to 1.30, kubernetes#116522 added topology-mode): topology-aware-hints, or
   * if absent topology-mode, is anything but "", "disabled" or "Disabled";
   * `always` (from 1.31, ServiceTrafficDistribution on, KEP-4444): whatever the annotations say.
   */
  hintsGate: 'auto-only' | 'not-disabled' | 'always';
  /**
   * spec.trafficDistribution (gate ServiceTrafficDistribution): absent before 1.30, alpha (off: the
   * API server drops the field) in 1.30, beta in 1.31, GA in 1.33. From beta the EndpointSlice
   * controller hints PreferClose endpoints for their own zone (endpointslice/trafficdist).
   */
  trafficDistribution: ModeStage;
}

export const kubeProxyVersions = {
  '1.25': {
    ipvsFilter: false,
    nftables: 'absent',
    nfacctCounters: false,
    conntrackReconciler: false,
    nftablesPrimaryNodePorts: false,
    ipvsFilterExternalIPLocal: false,
    hintsGate: 'auto-only',
    trafficDistribution: 'absent',
  },
  '1.26': {
    ipvsFilter: true,
    nftables: 'absent',
    nfacctCounters: false,
    conntrackReconciler: false,
    nftablesPrimaryNodePorts: false,
    ipvsFilterExternalIPLocal: false,
    hintsGate: 'auto-only',
    trafficDistribution: 'absent',
  },
  '1.27': {
    ipvsFilter: true,
    nftables: 'absent',
    nfacctCounters: false,
    conntrackReconciler: false,
    nftablesPrimaryNodePorts: false,
    ipvsFilterExternalIPLocal: false,
    hintsGate: 'not-disabled',
    trafficDistribution: 'absent',
  },
  '1.28': {
    ipvsFilter: true,
    nftables: 'absent',
    nfacctCounters: false,
    conntrackReconciler: false,
    nftablesPrimaryNodePorts: false,
    ipvsFilterExternalIPLocal: false,
    hintsGate: 'not-disabled',
    trafficDistribution: 'absent',
  },
  '1.29': {
    ipvsFilter: true,
    nftables: 'alpha',
    nfacctCounters: false,
    conntrackReconciler: false,
    nftablesPrimaryNodePorts: false,
    ipvsFilterExternalIPLocal: false,
    hintsGate: 'not-disabled',
    trafficDistribution: 'absent',
  },
  '1.30': {
    ipvsFilter: true,
    nftables: 'alpha',
    nfacctCounters: false,
    conntrackReconciler: false,
    nftablesPrimaryNodePorts: false,
    ipvsFilterExternalIPLocal: true,
    hintsGate: 'not-disabled',
    trafficDistribution: 'alpha',
  },
  '1.31': {
    ipvsFilter: true,
    nftables: 'beta',
    nfacctCounters: true,
    conntrackReconciler: false,
    nftablesPrimaryNodePorts: true,
    ipvsFilterExternalIPLocal: true,
    hintsGate: 'always',
    trafficDistribution: 'beta',
  },
  '1.32': {
    ipvsFilter: true,
    nftables: 'beta',
    nfacctCounters: true,
    conntrackReconciler: true,
    nftablesPrimaryNodePorts: true,
    ipvsFilterExternalIPLocal: true,
    hintsGate: 'always',
    trafficDistribution: 'beta',
  },
  '1.33': {
    ipvsFilter: true,
    nftables: 'ga',
    nfacctCounters: true,
    conntrackReconciler: true,
    nftablesPrimaryNodePorts: true,
    ipvsFilterExternalIPLocal: true,
    hintsGate: 'always',
    trafficDistribution: 'ga',
  },
} as const satisfies Record<`1.${number}`, KubeProxyFeatures>;

export type KubernetesVersion = keyof typeof kubeProxyVersions;

/** The releases in order, oldest first. */
export const kubernetesVersions = Object.keys(kubeProxyVersions) as KubernetesVersion[];

/** The default: the newest release modelled. */
export const NEWEST_KUBERNETES_VERSION = kubernetesVersions.at(-1)!;

export const KUBERNETES_VERSION_RANGE = `${kubernetesVersions[0]} to ${NEWEST_KUBERNETES_VERSION}`;

export function isKubernetesVersion(s: string): s is KubernetesVersion {
  return Object.hasOwn(kubeProxyVersions, s);
}

export function kubeProxyFeatures(version: KubernetesVersion): KubeProxyFeatures {
  return kubeProxyVersions[version];
}

/** The stage of a kube-proxy mode in a release (iptables and IPVS are GA in every modelled one). */
export function modeStage(version: KubernetesVersion, mode: ProxyMode): ModeStage {
  switch (mode) {
    case 'iptables':
    case 'ipvs':
      return 'ga';
    case 'nftables':
      return kubeProxyVersions[version].nftables;
    default: {
      const never: never = mode;
      return never;
    }
  }
}

/** The first modelled release where a mode is at least alpha. */
export function firstReleaseWith(mode: ProxyMode): KubernetesVersion | undefined {
  return kubernetesVersions.find((v) => modeStage(v, mode) !== 'absent');
}

/** Why a mode cannot run in a release, or undefined when it can. */
export function modeUnavailable(version: KubernetesVersion, mode: ProxyMode): string | undefined {
  if (modeStage(version, mode) !== 'absent') return undefined;
  const first = firstReleaseWith(mode);
  return `kube-proxy ${version} has no ${mode} mode${first ? ` (it came in ${first} as alpha)` : ''}`;
}
