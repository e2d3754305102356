// Names and MAC addresses of the namespaces and interfaces knetlab makes. Every one is a pure
// function of the model's names, so a rerun builds byte-identical links (same `ip link` output, same
// tcpdump headers) and a pod added later by a step gets the same names it would have had at start.
import { sha256 } from '../util/hash.js';

/** The namespace that holds the LAN bridge and its gateway address. */
export const LAN_NETNS = 'lan';
/** The LAN switch, in the `lan` namespace. */
export const LAN_BRIDGE = 'br-lan';
/** The flannel CNI bridge on every node (the bridge plugin's default name). */
export const CNI_BRIDGE = 'cni0';
/** flanneld's VXLAN device: `flannel.` + the VNI. */
export const FLANNEL_DEVICE = 'flannel.1';
/** Linux's limit on an interface name (IFNAMSIZ 16, less the NUL). */
export const IFNAME_MAX = 15;

/** A node's or host's namespace is named after it; its LAN port in the `lan` namespace too. */
export function machineNetns(name: string): string {
  return name;
}

/** A pod's namespace: `NAME.NAMESPACE`, like the `pod.namespace` a user reads. */
export function podNetns(pod: { namespace: string; name: string }): string {
  return `${pod.name}.${pod.namespace}`;
}

/** The node-side end of a pod's veth: `veth` + 8 hex characters, like kubelet's CNI plugins name it. */
export function podVethName(pod: { namespace: string; name: string }): string {
  return `veth${sha256(`${pod.namespace}/${pod.name}`).toString('hex').slice(0, 8)}`;
}

/** What a MAC address belongs to; part of the hash, so two roles of one owner never share one. */
export type MacRole = 'br-lan' | 'lan-port' | 'eth0' | 'cni0' | 'flannel.1' | 'veth' | 'vxlan.calico';

/**
 * A stable, unicast, locally administered MAC address (first octet x2, x6, xA or xE) for an
 * interface: the first 6 bytes of sha256(`role owner`). Machines are named by their name, pods by
 * `namespace/name` (which has a `/`, so a pod never hashes like a machine).
 */
export function macAddress(role: MacRole, owner: string): string {
  const b = sha256(`${role} ${owner}`);
  // Set the locally-administered bit, clear the multicast bit: no vendor's address, never a group.
  b[0] = (b[0]! & 0xfc) | 0x02;
  return Array.from(b.subarray(0, 6), (x) => x.toString(16).padStart(2, '0')).join(':');
}

export function podOwner(pod: { namespace: string; name: string }): string {
  return `${pod.namespace}/${pod.name}`;
}

/** argv of a command run inside a network namespace of the sandbox. */
export function inNetns(netns: string, argv: readonly string[]): string[] {
  return ['ip', 'netns', 'exec', netns, ...argv];
}
