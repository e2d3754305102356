// Which source address a Service's endpoint sees: a small, pure model of kube-proxy's iptables mode
// (pkg/proxy/iptables/proxier.go), the CNI's part (flannel --ip-masq, vxlan or host-gw; Calico's
// natOutgoing, VXLAN or BGP routes) and Linux's MASQUERADE. Where another mode departs from the
// iptables answers, its driver says so (ProxyDriver.sourceIp, src/proxy/); which address a
// masqueraded packet leaves with, the CNI says (Cni.masquerade, src/cni/).
// The setting: two nodes, the endpoint's node (the only endpoint is a pod there) and another node,
// and an outside host on the same LAN. scripts/truth-table.mjs checks every cell on the kernel and
// writes docs/source-ip.md. Each rule names its reason, a line of `because`; a result carries
// the reasons that produced it, so a failed cell or the doc says why the model expected it.

import { cnis } from '../cni/index.js';
import type { NetworkKind } from '../cni/networks.js';
import { proxyDrivers } from '../proxy/drivers.js';
import { proxyModes } from '../proxy/modes.js';
import type { ProxyMode } from './types.js';

export const clientLocations = ['pod-on-endpoint-node', 'pod-on-other-node', 'endpoint-node', 'other-node', 'outside-host'] as const;
/** The outside host routes one external IP via the endpoint's node and another via the other node. */
export const waysIn = ['cluster-ip', 'nodeport-endpoint-node', 'nodeport-other-node', 'external-ip-via-endpoint-node', 'external-ip-via-other-node', 'load-balancer'] as const;
export const policies = ['Cluster', 'Local'] as const;
/** The truth table's networks (calico-ipip needs the ipip module: on this project's CI, only its VM has it). */
export const networks = ['flannel-vxlan', 'host-gw', 'calico-vxlan', 'calico-bgp', 'calico-ipip'] as const satisfies readonly NetworkKind[];
/** The networks whose cells are modelled (and checked) under a kube-proxy mode: those its driver models. */
export function networksFor(mode: ProxyMode): Network[] {
  const modelled = proxyDrivers[mode].sourceIp.networks;
  return networks.filter((n) => !modelled || modelled.includes(n));
}

export type ClientLocation = (typeof clientLocations)[number];
export type WayIn = (typeof waysIn)[number];
export type Policy = (typeof policies)[number];
export type Network = (typeof networks)[number];
export interface Cell {
  from: ClientLocation;
  via: WayIn;
  /** externalTrafficPolicy. */
  policy: Policy;
  network: Network;
}

export type NodeRole = 'endpoint' | 'other';
/**
 * `client`: the client's own address; `vip`: the Service address the client connected to (an
 * external IP or LB IP); otherwise an address of a node, on cni0, flannel.1, Calico's tunnel
 * (vxlan.calico) or eth0 (its LAN IP).
 */
export type Source = 'client' | 'vip' | NodeSource;
/** A node's address, on one of its devices: what MASQUERADE gives a packet (the CNI says which, Cni.masquerade). */
export type NodeSource = 'node-cni0' | 'node-flannel' | 'node-tunnel' | 'node-ip';
export interface Answered {
  outcome: 'answered';
  source: Source;
  /** Whose address, when it is a node's. */
  node?: NodeRole;
  /** The rules that lead here, in order (texts of `because`). */
  because: string[];
}
export type Expected =
  | Answered
  /** The load balancer picks a node per flow: any of these. */
  | { outcome: 'either'; of: Answered[]; because: string[] }
  /** dropped: no answer (a timeout); unreachable: ICMP unreachable; refused: a REJECT (a Service without endpoints; not in this matrix). */
  | { outcome: 'dropped' | 'unreachable' | 'refused'; because: string[] };

/** The rules every mode and network share, in words; results name the ones that produced them. */
const shared = {
  noRoute: 'An outside host has no route to the service range: the LAN router answers "network unreachable".',
  ownNode:
    "kube-proxy on the client's own node matches every ClusterIP, external IP and LB IP in KUBE-SERVICES (PREROUTING for its pods, OUTPUT for itself): in-cluster traffic never takes the outside path.",
  nodePort: 'A NodePort is an address of one node: only that node DNATs it (KUBE-SERVICES -> addrtype LOCAL -> KUBE-NODEPORTS).',
  podEgress:
    "A pod's packet to another node's address is masqueraded to its own node's IP on the way out (flannel --ip-masq, Calico's natOutgoing), so it arrives as outside traffic from that node.",
  hostRoute: "The outside host's route sends the external IP to one node, whose KUBE-SERVICES matches it.",
  lbCluster: 'Policy Cluster: the load balancer (the LAN router, ECMP) sends each flow to any node.',
  lbLocal: 'Policy Local: the load balancer sends only to nodes whose health check passes, those with a ready endpoint.',
  clusterIP: 'ClusterIP: KUBE-SVC marks for masquerade only sources outside the pod CIDR, so a pod keeps its address and a node (whose source is its own address) is masqueraded.',
  extCluster: 'Policy Cluster: KUBE-EXT marks every external packet for masquerade.',
  extLocalPod: 'Policy Local: KUBE-EXT sends pod-CIDR sources to KUBE-SVC unmarked (as if they went out to the load balancer and back): the source is kept.',
  extLocalNode: "Policy Local: KUBE-EXT marks the node's own traffic (--src-type LOCAL) for masquerade and sends it to KUBE-SVC, every endpoint.",
  extLocalKept: "Policy Local: other sources go to KUBE-SVL, this node's endpoints, unmarked: the source is kept.",
  extLocalDrop: 'Policy Local on a node without a ready endpoint: KUBE-EXT has no KUBE-SVL jump, and KUBE-EXTERNAL-SERVICES drops the packet ("has no local endpoints").',
} as const;

/**
 * Every rule of the model, name -> words, numbered in this order by docs/source-ip.md: the shared
 * ones, then each network's masquerade addresses (its CNI's), then each mode's own (its driver's).
 */
export const because: Readonly<typeof shared & Record<string, string>> = {
  ...shared,
  ...Object.fromEntries(networks.flatMap((n) => Object.values(cnis[n].masquerade).map((m) => [m.rule, m.because]))),
  ...Object.fromEntries(proxyModes.flatMap((m) => Object.entries(proxyDrivers[m].sourceIp.because))),
};

/** What kind of source a packet carries where kube-proxy meets it: pod, a pod-CIDR address; local, this node's own address; outside, anything else. */
export type ArrivalSource = 'pod' | 'local' | 'outside';

/** What a mode's departure from the shared answers is asked with (ProxyDriver.sourceIp.atNode). */
export interface SourceIpContext {
  cell: Cell;
  /** Whose kube-proxy meets the packet. */
  node: NodeRole;
  source: ArrivalSource;
  /** The answer when `node` masquerades the packet for `rule`: the CNI's address toward the endpoint. */
  masquerade(rule: string): Answered;
  /** The answer when the packet keeps its source, for `rule`. */
  kept(rule: string): Answered;
}

/** A kube-proxy mode's part of the source-IP model: where it departs from iptables mode's answers. */
export interface SourceIpMode {
  /** The mode's own rules, name -> words (lines of `because`). */
  readonly because: Readonly<Record<string, string>>;
  /** The networks whose cells are modelled under the mode; all of `networks` when absent. */
  readonly networks?: readonly Network[];
  /** The mode's answer where it is not the shared one (asked first), otherwise undefined. */
  atNode?(ctx: SourceIpContext): Expected | undefined;
}

/** Where kube-proxy meets the packet, and what kind of source it carries there. */
interface Arrival {
  node: NodeRole | 'load-balancer-pick';
  source: ArrivalSource;
  because: string[];
}

const clientNode: Record<ClientLocation, NodeRole | undefined> = {
  'pod-on-endpoint-node': 'endpoint',
  'pod-on-other-node': 'other',
  'endpoint-node': 'endpoint',
  'other-node': 'other',
  'outside-host': undefined,
};
const isPod = (from: ClientLocation) => from.startsWith('pod-');

function arrival({ from, via, policy }: Cell): Arrival {
  const own = clientNode[from];
  const inside = isPod(from) ? 'pod' : 'local';
  if (via === 'nodeport-endpoint-node' || via === 'nodeport-other-node') {
    const target: NodeRole = via === 'nodeport-endpoint-node' ? 'endpoint' : 'other';
    if (own === target) return { node: target, source: inside, because: [because.nodePort] };
    return { node: target, source: 'outside', because: isPod(from) ? [because.nodePort, because.podEgress] : [because.nodePort] };
  }
  if (own) return { node: own, source: inside, because: [because.ownNode] };
  if (via === 'external-ip-via-endpoint-node') return { node: 'endpoint', source: 'outside', because: [because.hostRoute] };
  if (via === 'external-ip-via-other-node') return { node: 'other', source: 'outside', because: [because.hostRoute] };
  if (policy === 'Cluster') return { node: 'load-balancer-pick', source: 'outside', because: [because.lbCluster] };
  return { node: 'endpoint', source: 'outside', because: [because.lbLocal] };
}

/** What kube-proxy on `node` does with a packet that arrived with a source of this kind: the mode's answer if it has its own, else the shared one. */
function atNode(cell: Cell, node: NodeRole, source: ArrivalSource, mode: ProxyMode): Expected {
  const masquerade = (rule: string): Answered => {
    const m = cnis[cell.network].masquerade[node === 'endpoint' ? 'endpointNode' : 'otherNode'];
    return { outcome: 'answered', source: m.source, node, because: [rule, m.because] };
  };
  const kept = (rule: string): Answered => {
    // A pod that went through another node's address arrives as its node's IP (because.podEgress).
    if (source === 'outside' && isPod(cell.from)) return { outcome: 'answered', source: 'node-ip', node: clientNode[cell.from]!, because: [rule] };
    return { outcome: 'answered', source: 'client', because: [rule] };
  };
  const own = proxyDrivers[mode].sourceIp.atNode?.({ cell, node, source, masquerade, kept });
  if (own) return own;
  if (cell.via === 'cluster-ip') return source === 'pod' ? kept(because.clusterIP) : masquerade(because.clusterIP);
  if (cell.policy === 'Cluster') return masquerade(because.extCluster);
  if (source === 'pod') return kept(because.extLocalPod);
  if (source === 'local') return masquerade(because.extLocalNode);
  if (node === 'endpoint') return kept(because.extLocalKept);
  return { outcome: 'dropped', because: [because.extLocalDrop] };
}

/** What the endpoint sees for one cell of the matrix. */
export function expectedSource(cell: Cell, mode: ProxyMode = 'iptables'): Expected {
  if (cell.from === 'outside-host' && cell.via === 'cluster-ip') return { outcome: 'unreachable', because: [because.noRoute] };
  const a = arrival(cell);
  const withArrival = (e: Expected): Expected => ({ ...e, because: [...a.because, ...e.because] });
  if (a.node === 'load-balancer-pick') {
    const of = (['endpoint', 'other'] as const).map((n) => atNode(cell, n, a.source, mode) as Answered);
    return { outcome: 'either', of, because: [...a.because, ...new Set(of.flatMap((o) => o.because))] };
  }
  return withArrival(atNode(cell, a.node, a.source, mode));
}

/** Every cell (of the networks modelled under `mode`, all by default), network by network, then policy, client location and way in. */
export function allCells(mode?: ProxyMode): Cell[] {
  return (mode ? networksFor(mode) : [...networks]).flatMap((network) =>
    policies.flatMap((policy) => clientLocations.flatMap((from) => waysIn.map((via) => ({ from, via, policy, network })))),
  );
}
