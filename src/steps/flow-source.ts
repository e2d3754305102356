// Who sends a packet-flow case's packet: the pod, node or host that holds its `from` address, and how
// the packet is made to enter the node under test. Pure (the model in, a plan out).
import type { Resolved } from '../cluster/resolve.js';
import type { Model, Node } from '../cluster/types.js';
import { LAN_NETNS, machineNetns, podNetns } from '../dataplane/names.js';
import { cidrContains } from '../util/ip.js';

/** Where a case's packet starts. */
export type FlowSource =
  /** A pod on the node under test: its packets enter the node through its veth. */
  | { kind: 'pod'; ip: string; netns: string; ref: string }
  /** The node under test itself: its own packet (kube-proxy's LOCAL source). */
  | { kind: 'local'; ip: string; netns: string; ref: string }
  /**
   * Another node or a host: for the case the destination is routed through the node under test, in
   * `routeNetns`: the sender's own (on the LAN), or the LAN gateway's (a host outside the LAN).
   */
  | { kind: 'lan'; ip: string; netns: string; ref: string; routeNetns: string };

/** The node under test: the one named, else the first. */
export function flowNode(model: Model, on: string | undefined): Node | undefined {
  return on === undefined ? model.nodes[0] : model.nodes.find((n) => n.name === on);
}

/** Every address a node holds: its LAN address and its CNI devices' ones. */
export function nodeAddresses(n: Node): string[] {
  return [n.ip, ...(n.extraAddresses ?? []), ...Object.values(n.addresses)];
}

const podRef = (p: { name: string; namespace: string }) => `pod/${p.namespace === 'default' ? p.name : `${p.name}.${p.namespace}`}`;

/** The holder of `ip` that sends a case's packet into `node`, or why there is none. */
export function flowSource(model: Model, ip: string, node: Node): Resolved<FlowSource> {
  if (nodeAddresses(node).includes(ip)) return { ok: true, value: { kind: 'local', ip, netns: machineNetns(node.name), ref: `node/${node.name}` } };
  const pod = model.pods.find((p) => p.ip === ip && !p.hostNetwork && p.phase === 'Running');
  if (pod) {
    if (pod.node !== node.name)
      return { ok: false, reason: `${podRef(pod)} holds ${ip} but runs on node/${pod.node}: its packets enter that node, not node/${node.name} under test` };
    return { ok: true, value: { kind: 'pod', ip, netns: podNetns(pod), ref: podRef(pod) } };
  }
  const other = model.nodes.find((n) => n.ip === ip || n.extraAddresses?.includes(ip));
  if (other) return { ok: true, value: { kind: 'lan', ip, netns: machineNetns(other.name), ref: `node/${other.name}`, routeNetns: machineNetns(other.name) } };
  const host = model.hosts.find((h) => h.ip === ip);
  if (host) {
    const netns = machineNetns(host.name);
    return { ok: true, value: { kind: 'lan', ip, netns, ref: `host/${host.name}`, routeNetns: cidrContains(model.config.lanCIDR, ip) ? netns : LAN_NETNS } };
  }
  return { ok: false, reason: `no pod, node or host holds ${ip}` };
}
