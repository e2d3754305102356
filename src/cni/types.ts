// What a CNI contributes to a node and its pods, as the pure renderers ask for it. One object per
// network in src/cni/index.ts; dataplane/ and cluster/ ask it instead of naming devices.
import type { NodeSource } from '../cluster/source-ip.js';
import type { Model, Node, Pod } from '../cluster/types.js';
import type { FallbackDevice } from '../dataplane/types.js';
import type { Feature } from '../kernel/capabilities.js';
import type { Cidr } from '../util/ip.js';
import type { NetworkKind } from './networks.js';

/** A node's part of the topology that the CNI writes: its devices, peers, sysctls and rules. */
export interface CniNodeState {
  /** `ip -batch` lines after eth0 is up: devices, addresses, routes and neighbours for the other nodes. */
  ip: string[];
  /** `bridge -batch` lines (fdb entries). */
  bridge: string[];
  /** Sysctls the CNI sets, beside the node's common ones. */
  sysctls: Record<string, string>;
  /** The node's whole nat and filter tables as iptables-restore input (builtin chains and the CNI's rules). */
  iptables: string;
  /** `ipset restore` input its rules match (restored before them), or ''. */
  ipset: string;
  /** Devices its lines configure that a module makes in every namespace (tunl0). */
  fallbackDevices?: FallbackDevice[];
}

/** How NetworkPolicy chains hook in for one pod: the matches that select its traffic in each builtin hook. */
export interface PolicyHooks {
  /** FORWARD, out of the pod. */
  egressForward: string[];
  /** INPUT, out of the pod to the node. */
  egressInput: string[];
  /** FORWARD, into the pod: one rule each (with a label). */
  ingressForward: { dst?: string; matches: string[]; label: string }[];
}

/** The address MASQUERADE gives a packet toward a pod, for the source-IP model (src/cluster/source-ip.ts), and its rule: a name and the words of `because`. */
export interface MasqueradeSource {
  source: NodeSource;
  rule: string;
  because: string;
}

export interface Cni {
  readonly network: NetworkKind;
  /** Prefix length of each node's pod subnet: flannel's node podCIDR (/24), Calico's IPAM block (/26). */
  readonly nodeSubnetBits: number;
  /** What a node's subnet is called in messages. */
  readonly subnetWord: string;
  /** Kernel features its devices and rules need (a scenario without them skips naming them). */
  readonly requires: readonly Feature[];
  /** The node's addresses on the CNI's own devices, device -> address, from its subnet. */
  nodeAddresses(subnet: Cidr): Record<string, string>;
  /** The ordinals of the subnet its IPAM hands to pods, first and last. */
  podOrdinals(subnet: Cidr): { first: number; last: number };
  /** Bytes its encapsulation adds to a pod's packet (VXLAN 50, IPIP 20, none 0): its MTU is the underlay's less these (src/cluster/mtu.ts). */
  readonly encapOverhead: number;
  /** Its tunnel device, whose MTU is the derived one, when it has one. */
  readonly tunnelDevice?: string;
  /** The node's CNI state. */
  renderNode(model: Model, node: Node): CniNodeState;
  /** The host side of a pod's veth. */
  podVethName(pod: { namespace: string; name: string }): string;
  /** The node's lines for one pod (its veth and what the CNI adds for it), in the node's namespace. */
  podHostLines(model: Model, node: Node, pod: Pod): string[];
  /** The pod's own lines: eth0's address and routes. */
  podLines(model: Model, node: Node, pod: Pod): string[];
  /** How NetworkPolicy finds a pod's traffic. */
  policyHooks(pod: Pod): PolicyHooks;
  /** Kernel features the policy hooks need. */
  readonly policyRequires: readonly Feature[];
  /** Which address a masqueraded packet to a pod leaves with: on the pod's own node, and from another node. */
  readonly masquerade: { readonly endpointNode: MasqueradeSource; readonly otherNode: MasqueradeSource };
}
