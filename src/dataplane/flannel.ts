// What flanneld itself writes on a node: the VXLAN device, one route + neighbour + fdb entry per
// other node (or one route per other node with host-gw), and its iptables rules. Pure text.
import type { Model, Node } from '../cluster/types.js';
import { cidrOf, formatCidr } from '../util/ip.js';
import { nodeAddress } from '../cni/address.js';
import { FLANNEL_DEVICE, macAddress } from './names.js';

/** flannel's VXLAN port: the Linux default flanneld gets by leaving Port 0 (not IANA's 4789). */
export const VXLAN_PORT = 8472;
export const VXLAN_VNI = 1;
/** flanneld's `encapOverhead` (50 bytes of outer Ethernet, IP, UDP and VXLAN headers). */
export const VXLAN_OVERHEAD = 50;
/** kube-proxy's masquerade mark, which flannel's first rule leaves to kube-proxy (trafficmngr.KubeProxyMark). */
export const KUBE_PROXY_MARK = '0x4000/0x4000';

export function flannelMac(node: Node): string {
  return macAddress('flannel.1', node.name);
}

/**
 * flannel.1 as flanneld's newVXLANDevice and Configure make it (pkg/backend/vxlan/device.go,
 * vxlan.go): VNI 1, local = the node IP on eth0, no learning, MTU eth0 - 50 (what the kernel gives a
 * VXLAN device on eth0, and its most), and the subnet's .0 as a /32 "so that no broadcast routes are created".
 */
export function vxlanDeviceLines(node: Node, mtu: number): string[] {
  const dev = FLANNEL_DEVICE;
  return [
    `link add ${dev} address ${flannelMac(node)} mtu ${mtu} type vxlan id ${VXLAN_VNI} local ${node.ip} dev eth0 dstport ${VXLAN_PORT} nolearning`,
    `addr add ${nodeAddress(node, dev)}/32 dev ${dev}`,
    `link set dev ${dev} up`,
  ];
}

/**
 * What flanneld's handleSubnetEvents writes for another node's lease (pkg/backend/vxlan/
 * vxlan_network.go, EventAdded): a permanent neighbour for the peer's .0 with its VTEP MAC (AddARP),
 * an fdb entry sending that MAC to the peer's node IP (AddFDB), and the subnet's route via .0,
 * onlink, on flannel.1. flanneld uses NeighSet and RouteReplace, hence `replace`; ip lines run
 * before bridge lines here, so the route exists a moment before its fdb entry (nothing sends yet).
 */
export function vxlanPeerLines(peer: Node): { ip: string[]; bridge: string[] } {
  const dev = FLANNEL_DEVICE;
  const mac = flannelMac(peer);
  const vtep = nodeAddress(peer, dev);
  return {
    ip: [`neigh replace ${vtep} lladdr ${mac} dev ${dev} nud permanent`, `route replace ${peer.podCIDR} via ${vtep} dev ${dev} onlink`],
    // The lease's PublicIP: the node IP unless flannel was given (or picked) another.
    bridge: [`fdb replace ${mac} dev ${dev} dst ${peer.flannelPublicIP ?? peer.ip} self permanent`],
  };
}

/** flannel host-gw (pkg/backend/hostgw/hostgw.go, GetRoute): the other node's subnet via its LAN address, on eth0. */
export function hostGwPeerLines(peer: Node): string[] {
  return [`route replace ${peer.podCIDR} via ${peer.ip} dev eth0`];
}

const masq = '-m comment --comment "flanneld masq"';
const fwd = '-m comment --comment "flanneld forward"';

/**
 * flanneld --ip-masq's nat rules, in its order (pkg/trafficmngr/iptables/iptables.go, masqRules;
 * the iptables in use supports --random-fully and flanneld does not disable it by default).
 */
export function flannelMasqRules(clusterCIDR: string, podSubnet: string): string[] {
  return [
    `-A POSTROUTING ${masq} -j FLANNEL-POSTRTG`,
    // kube-proxy's marked packets are its to masquerade (flannel: avoids a double NAT on some kernels).
    `-A FLANNEL-POSTRTG -m mark --mark ${KUBE_PROXY_MARK} ${masq} -j RETURN`,
    `-A FLANNEL-POSTRTG -s ${podSubnet} -d ${clusterCIDR} ${masq} -j RETURN`,
    `-A FLANNEL-POSTRTG -s ${clusterCIDR} -d ${podSubnet} ${masq} -j RETURN`,
    `-A FLANNEL-POSTRTG ! -s ${clusterCIDR} -d ${podSubnet} ${masq} -j RETURN`,
    `-A FLANNEL-POSTRTG -s ${clusterCIDR} ! -d 224.0.0.0/4 ${masq} -j MASQUERADE --random-fully`,
    `-A FLANNEL-POSTRTG ! -s ${clusterCIDR} -d ${clusterCIDR} ${masq} -j MASQUERADE --random-fully`,
  ];
}

/** flanneld's filter rules (iptables.go, forwardRules); on by default (--iptables-forward-rules), with or without --ip-masq. */
export function flannelForwardRules(clusterCIDR: string): string[] {
  return [`-A FORWARD ${fwd} -j FLANNEL-FWD`, `-A FLANNEL-FWD -s ${clusterCIDR} ${fwd} -j ACCEPT`, `-A FLANNEL-FWD -d ${clusterCIDR} ${fwd} -j ACCEPT`];
}

/**
 * A node's whole iptables-restore input for the nat and filter tables: the builtin chains with
 * ACCEPT policies (a containerd node's; Docker's FORWARD DROP is what FLANNEL-FWD exists for), then
 * flannel's chains and rules. It replaces both tables: apply it before any kube-proxy rules, which
 * must then be restored with --noflush, as kube-proxy does.
 */
export function renderNodeIptables(model: Model, node: Node): string {
  const cluster = formatCidr(model.config.podCIDR);
  const subnet = formatCidr(cidrOf(node.podCIDR));
  const nat = model.config.podEgressMasquerade ? flannelMasqRules(cluster, subnet) : [];
  return [
    '*nat',
    ':PREROUTING ACCEPT [0:0]',
    ':INPUT ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ':POSTROUTING ACCEPT [0:0]',
    ...(nat.length ? [':FLANNEL-POSTRTG - [0:0]'] : []),
    ...nat,
    'COMMIT',
    '*filter',
    ':INPUT ACCEPT [0:0]',
    ':FORWARD ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ':FLANNEL-FWD - [0:0]',
    ...flannelForwardRules(cluster),
    'COMMIT',
    '',
  ].join('\n');
}
