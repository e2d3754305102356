// The topology a picture shows, from the cluster model: the nodes on the LAN with their CNI devices and
// pods, the hosts, the overlay between the nodes, the Services beside. Pure: a Model in, plain data out;
// graph-svg.ts and graph-mermaid.ts draw it, graph-trace.ts lays a traced path on it.
import { CALICO_IPIP_DEVICE, CALICO_VXLAN_DEVICE, CALICO_VXLAN_PORT, CALICO_VXLAN_VNI } from '../cni/calico.js';
import { cniOf } from '../cni/index.js';
import type { NetworkKind } from '../cni/networks.js';
import type { Model, Pod, Service } from '../cluster/types.js';
import { VXLAN_PORT, VXLAN_VNI } from '../dataplane/flannel.js';
import { KUBE_IPVS_DEVICE } from '../dataplane/ipvs.js';
import { CNI_BRIDGE, FLANNEL_DEVICE, LAN_BRIDGE, LAN_NETNS, machineNetns, podNetns } from '../dataplane/names.js';
import { cidrContains, formatCidr } from '../util/ip.js';

/** How the nodes reach each other's pods: a tunnel device on each node, or plain routes over the LAN. */
export interface Overlay {
  /** The tunnel device on every node (its address is in the node's devices); none when pods are routed over the LAN. */
  device?: string;
  label: string;
}

const overlays = {
  'flannel-vxlan': { device: FLANNEL_DEVICE, label: `VXLAN over the LAN (${FLANNEL_DEVICE}, VNI ${VXLAN_VNI}, UDP ${VXLAN_PORT})` },
  'host-gw': { label: "host-gw: each node's pod subnet routed via its LAN address" },
  'calico-vxlan': { device: CALICO_VXLAN_DEVICE, label: `VXLAN over the LAN (${CALICO_VXLAN_DEVICE}, VNI ${CALICO_VXLAN_VNI}, UDP ${CALICO_VXLAN_PORT})` },
  'calico-ipip': { device: CALICO_IPIP_DEVICE, label: `IP-in-IP over the LAN (${CALICO_IPIP_DEVICE})` },
  'calico-bgp': { label: "Calico BGP: each node's IPAM block routed via its LAN address" },
} as const satisfies Record<NetworkKind, Overlay>;

export interface GraphPod {
  /** Its network namespace (a traced path names these); hostNetwork pods share their node's. */
  netns: string;
  /** `pod/NAME` (default namespace) or `pod/NAME.NAMESPACE`, as steps name it. */
  place: string;
  ip?: string;
  /** The host side of its veth (on cni0 for flannel, routed cali veth for Calico). */
  veth?: string;
  hostNetwork: boolean;
  /** `Pending`, `not ready`, `terminating`, or empty when it runs and is ready. */
  state: string;
}

export interface GraphNode {
  netns: string;
  place: string;
  name: string;
  /** Its LAN address, on eth0. */
  ip: string;
  podCIDR: string;
  /** The pods' bridge and its address (flannel's cni0), when the CNI bridges them. */
  bridge?: { device: string; ip: string };
  /** The tunnel device and its address, when the overlay has one. */
  tunnel?: { device: string; ip: string };
  /** IPVS mode: the dummy device kube-proxy puts every Service address on. */
  ipvsDevice?: string;
  pods: GraphPod[];
}

export interface GraphHost {
  netns: string;
  place: string;
  ip: string;
  /** Its address is outside the LAN's: it sits behind the LAN's router (an internet client). */
  behindRouter: boolean;
}

export interface GraphService {
  place: string;
  type: string;
  clusterIP: string;
  /** External addresses: externalIPs and the load balancer's. */
  external: string[];
  ports: string;
}

export interface Graph {
  scenario: string;
  network: NetworkKind;
  proxyMode: string;
  lan: { netns: string; bridge: string; cidr: string; gateway: string };
  overlay: Overlay;
  nodes: GraphNode[];
  hosts: GraphHost[];
  /** Pods the scheduler could not place: no node holds them. */
  unplaced: GraphPod[];
  services: GraphService[];
}

const inNs = (name: string, namespace: string): string => (namespace === 'default' ? name : `${name}.${namespace}`);

function podState(p: Pod): string {
  if (p.phase === 'Pending') return 'Pending';
  if (p.terminating) return 'terminating';
  return p.ready ? '' : 'not ready';
}

function servicePorts(s: Service): string {
  return s.ports.map((p) => `${p.port}${p.nodePort !== undefined ? `:${p.nodePort}` : ''}/${p.protocol}`).join(',');
}

/** The picture's topology of a model (its state before any step). */
export function graphOf(model: Model): Graph {
  const cni = cniOf(model);
  const overlay: Overlay = overlays[model.config.network];
  const pod = (p: Pod): GraphPod => ({
    netns: p.hostNetwork && p.node ? machineNetns(p.node) : podNetns(p),
    place: `pod/${inNs(p.name, p.namespace)}`,
    ...(p.ip ? { ip: p.ip } : {}),
    ...(p.node && !p.hostNetwork ? { veth: cni.podVethName(p) } : {}),
    hostNetwork: p.hostNetwork,
    state: podState(p),
  });
  const nodes = model.nodes.map((n): GraphNode => {
    const bridgeIp = n.addresses[CNI_BRIDGE];
    const tunnelIp = overlay.device ? n.addresses[overlay.device] : undefined;
    return {
      netns: machineNetns(n.name),
      place: `node/${n.name}`,
      name: n.name,
      ip: n.ip,
      podCIDR: n.podCIDR,
      ...(bridgeIp ? { bridge: { device: CNI_BRIDGE, ip: bridgeIp } } : {}),
      ...(overlay.device && tunnelIp ? { tunnel: { device: overlay.device, ip: tunnelIp } } : {}),
      ...(model.config.proxyMode === 'ipvs' ? { ipvsDevice: KUBE_IPVS_DEVICE } : {}),
      pods: model.pods.filter((p) => p.node === n.name).map(pod),
    };
  });
  return {
    scenario: model.scenario.name,
    network: model.config.network,
    proxyMode: model.config.proxyMode,
    lan: { netns: LAN_NETNS, bridge: LAN_BRIDGE, cidr: formatCidr(model.config.lanCIDR), gateway: model.config.gateway },
    overlay,
    nodes,
    hosts: model.hosts.map((h) => ({ netns: machineNetns(h.name), place: `host/${h.name}`, ip: h.ip, behindRouter: !cidrContains(model.config.lanCIDR, h.ip) })),
    unplaced: model.pods.filter((p) => !p.node).map(pod),
    services: model.services.map((s) => ({
      place: `service/${inNs(s.name, s.namespace)}`,
      type: s.spec.type ?? 'ClusterIP',
      clusterIP: s.spec.type === 'ExternalName' ? '' : s.spec.clusterIP === 'None' ? 'None' : (s.clusterIP ?? ''),
      external: [...s.loadBalancerIPs, ...(s.spec.externalIPs ?? [])],
      ports: servicePorts(s),
    })),
  };
}
