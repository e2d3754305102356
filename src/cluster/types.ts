import type { Container, KubeObject, Labels, Protocol, ServiceSpec } from '../scenario/objects.js';
import type { Origin } from '../scenario/source.js';
import type { ProxyMode } from '../proxy/modes.js';
import type { Cidr } from '../util/ip.js';
import type { KubernetesVersion } from '../dataplane/versions.js';
import type { NetworkMtu } from './mtu.js';

export type { ProxyMode };
export type { NetworkKind } from '../cni/networks.js';
import type { NetworkKind } from '../cni/networks.js';

export interface ClusterConfig {
  proxyMode: ProxyMode;
  /** The modes the scenario is about (`cluster.proxyModes`; every mode when not given). */
  proxyModes: readonly ProxyMode[];
  /** The kube-proxy release modelled (src/dataplane/versions.ts). */
  kubernetesVersion: KubernetesVersion;
  network: NetworkKind;
  lanCIDR: Cidr;
  podCIDR: Cidr;
  serviceCIDR: Cidr;
  loadBalancerCIDR: Cidr;
  nodePortRange: { min: number; max: number };
  clusterDomain: string;
  dns: boolean;
  masqueradeAll: boolean;
  podEgressMasquerade: boolean;
  /** kube-proxy deletes the conntrack entries of removed UDP endpoints (off: the stale-DNS bug). */
  clearStaleConntrack: boolean;
  /** The underlay's MTU, the CNI's derived from it and the pods' (src/cluster/mtu.ts). */
  mtu: NetworkMtu;
  /** IPVS mode: the virtual servers' scheduler, and strictARP (kube-ipvs0's addresses not answered in ARP). */
  ipvs: { scheduler: string; strictARP: boolean };
  /** `cluster.upstreamDNS`: the LAN gateway also serves DNS; nodes' resolv.conf name it, the cluster DNS forwards to it. */
  upstreamDNS?: UpstreamDns;
  /** The LAN's router: .1 of lanCIDR, in the `lan` namespace. */
  gateway: string;
  /** kube-dns's ClusterIP: the 10th address of serviceCIDR. */
  dnsIP: string;
}

/** The upstream resolver's data: names lower case without the final dot. */
export interface UpstreamDns {
  /** Where it listens (port 53, UDP and TCP): the LAN gateway's address. */
  server: string;
  /** Each name's A records, or the name it is a CNAME to. */
  records: Record<string, { addresses: string[] } | { cname: string }>;
  /** Zones it answers REFUSED for (every name in or under them). */
  refuse: string[];
}

export interface ServePort {
  port: number;
  protocol: Protocol;
}

export interface Node {
  name: string;
  /** 0-based, file order. */
  index: number;
  ip: string;
  /** More addresses on its LAN interface (`extraAddresses`), when the scenario gives some. */
  extraAddresses?: string[];
  /** flannel's public IP for it (`flannelPublicIP`), when the scenario gives one; otherwise `ip`. */
  flannelPublicIP?: string;
  podCIDR: string;
  /**
   * The node's addresses on its CNI's devices, device -> address, as the CNI gives them from the
   * node's subnet (flannel: `cni0` .1 and, with VXLAN, `flannel.1` .0; Calico: `vxlan.calico` or `tunl0`).
   */
  addresses: Record<string, string>;
  labels: Labels;
  serve: ServePort[];
  origin: Origin;
}

export interface Host {
  name: string;
  ip: string;
  serve: ServePort[];
  routes: { to: string; via: string }[];
  origin: Origin;
}

export type Workload = 'echo' | 'command' | 'ingress-nginx' | 'dns';

export interface Pod {
  namespace: string;
  name: string;
  labels: Labels;
  annotations: Labels;
  /** Unset while Pending. */
  node?: string;
  /** Unset while Pending; the node's IP for hostNetwork pods. */
  ip?: string;
  hostNetwork: boolean;
  phase: 'Running' | 'Pending';
  /** Why a Pending pod was not placed. */
  pendingReason?: string;
  ready: boolean;
  terminating: boolean;
  owner?: { kind: 'Deployment' | 'DaemonSet'; name: string };
  /** Hash of the owner's pod template when the pod was made: a changed template replaces the pod. */
  templateHash?: string;
  containers: Container[];
  workload: Workload;
  /** The object the pod comes from (its Pod, Deployment or DaemonSet). */
  origin: Origin;
}

export interface ServicePort {
  name: string;
  port: number;
  targetPort: number | string;
  protocol: Protocol;
  nodePort?: number;
  appProtocol?: string;
}

export interface Service {
  namespace: string;
  name: string;
  spec: ServiceSpec;
  /** metadata.annotations (kube-proxy reads the topology hints ones). */
  annotations?: Labels;
  /** The ClusterIP; unset for headless and ExternalName Services. */
  clusterIP?: string;
  ports: ServicePort[];
  /** status.loadBalancer.ingress: the addresses the LAN's load balancer answers on. */
  loadBalancerIPs: string[];
  healthCheckNodePort?: number;
  origin: Origin;
}

export interface SliceEndpoint {
  ip: string;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
  nodeName?: string;
  zone?: string;
  /** hints.forZones: the zones whose kube-proxies may use it (topology-aware routing). */
  zoneHints?: string[];
  /** The pod behind it, when there is one. */
  pod?: { namespace: string; name: string };
}

export interface EndpointSlice {
  namespace: string;
  name: string;
  service: string;
  managedBy: 'endpointslice-controller.k8s.io' | 'endpointslicemirroring-controller.k8s.io' | 'user';
  ports: { name: string; port: number; protocol: Protocol }[];
  endpoints: SliceEndpoint[];
}

/** The whole cluster at one moment: what was applied and what the controllers made of it. */
export interface Model {
  scenario: { name: string; description: string; file: string };
  config: ClusterConfig;
  nodes: Node[];
  hosts: Host[];
  /** Objects as applied (manifests, apply steps, the cluster's own), in apply order. */
  objects: KubeObject[];
  pods: Pod[];
  services: Service[];
  endpointSlices: EndpointSlice[];
  /** Per node, host-local IPAM's last handed-out address (as a number), so new pods get fresh addresses. */
  ipamLast: Record<string, number>;
  /** Per owner (`Deployment/ns/name`), the next pod index to use. */
  nextPodIndex: Record<string, number>;
}

export function objectKey(o: { kind: string; meta: { namespace: string; name: string } }): string {
  return o.kind === 'Namespace' ? `Namespace//${o.meta.name}` : `${o.kind}/${o.meta.namespace}/${o.meta.name}`;
}

export function podKey(p: { namespace: string; name: string }): string {
  return `${p.namespace}/${p.name}`;
}
