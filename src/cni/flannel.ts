// flannel as a CNI: the bridge plugin's cni0 with a veth per pod (hairpin on), and flanneld's VXLAN
// device and peers (flannel-vxlan) or routes via the other nodes' LAN addresses (host-gw).
import type { Model, Node, Pod } from '../cluster/types.js';
import { hostGwPeerLines, renderNodeIptables, VXLAN_OVERHEAD, vxlanDeviceLines, vxlanPeerLines } from '../dataplane/flannel.js';
import { CNI_BRIDGE, FLANNEL_DEVICE, macAddress, podNetns, podOwner, podVethName } from '../dataplane/names.js';
import { cidrOf, formatCidr, nthAddress, type Cidr } from '../util/ip.js';
import { nodeAddress } from './address.js';
import type { Cni, CniNodeState, MasqueradeSource } from './types.js';

// MASQUERADE takes the address of the device the packet leaves by: the bridge toward a pod of the
// node, the VXLAN device or eth0 toward another node's.
const masqCni0: MasqueradeSource = {
  source: 'node-cni0',
  rule: 'masqCni0',
  because: "MASQUERADE takes the address of the interface toward the endpoint: on the endpoint's node that is cni0.",
};
const masqOther: Record<'flannel-vxlan' | 'host-gw', MasqueradeSource> = {
  'flannel-vxlan': {
    source: 'node-flannel',
    rule: 'masqFlannel',
    because: "MASQUERADE takes the address of the interface toward the endpoint: from another node over VXLAN that is flannel.1 (the node subnet's .0).",
  },
  'host-gw': {
    source: 'node-ip',
    rule: 'masqEth0',
    because: "MASQUERADE takes the address of the interface toward the endpoint: from another node over host-gw that is eth0, the node's LAN address.",
  },
};

function flannel(network: 'flannel-vxlan' | 'host-gw'): Cni {
  const vxlan = network === 'flannel-vxlan';
  return {
    network,
    nodeSubnetBits: 24, // kube-controller-manager's --node-cidr-mask-size default
    subnetWord: 'pod subnet',
    requires: vxlan ? ['vxlan'] : [],
    // cni0 is .1 (the bridge plugin's gateway); flannel.1 the subnet's .0 (flanneld's VTEP address).
    nodeAddresses: (subnet: Cidr) => ({ [CNI_BRIDGE]: nthAddress(subnet, 1), ...(vxlan ? { [FLANNEL_DEVICE]: nthAddress(subnet, 0) } : {}) }),
    // host-local IPAM: .2 up to the one before broadcast.
    podOrdinals: (subnet: Cidr) => ({ first: 2, last: 2 ** (32 - subnet.bits) - 2 }),
    encapOverhead: vxlan ? VXLAN_OVERHEAD : 0,
    ...(vxlan ? { tunnelDevice: FLANNEL_DEVICE } : {}),
    renderNode(model: Model, node: Node): CniNodeState {
      const subnet = cidrOf(node.podCIDR);
      // The flannel CNI bridge plugin's bridge: the gateway .1 of the node's subnet, the pod MTU.
      const ip = [
        `link add ${CNI_BRIDGE} address ${macAddress('cni0', node.name)} mtu ${model.config.mtu.pod} type bridge`,
        `addr add ${nodeAddress(node, CNI_BRIDGE)}/${subnet.bits} dev ${CNI_BRIDGE}`,
        `link set dev ${CNI_BRIDGE} up`,
      ];
      const bridge: string[] = [];
      const peers = model.nodes.filter((n) => n.name !== node.name);
      if (vxlan) {
        ip.push(...vxlanDeviceLines(node, model.config.mtu.overlay));
        for (const peer of peers) {
          const l = vxlanPeerLines(peer);
          ip.push(...l.ip);
          bridge.push(...l.bridge);
        }
      } else {
        for (const peer of peers) ip.push(...hostGwPeerLines(peer));
      }
      return { ip, bridge, sysctls: {}, iptables: renderNodeIptables(model, node), ipset: '' };
    },
    podVethName,
    /** The veth whose far end is the pod's eth0, on cni0 with hairpin on (the bridge plugin's hairpinMode: a pod reaches itself through its Service), at the pod MTU. */
    podHostLines(model: Model, _node: Node, pod: Pod): string[] {
      const veth = podVethName(pod);
      const mtu = model.config.mtu.pod;
      return [
        `link add ${veth} address ${macAddress('veth', podOwner(pod))} mtu ${mtu} type veth peer name eth0 mtu ${mtu} netns ${podNetns(pod)}`,
        `link set dev ${veth} master ${CNI_BRIDGE}`,
        // Only a bridge port has bridge_slave options: after `master`.
        `link set dev ${veth} type bridge_slave hairpin on`,
        `link set dev ${veth} up`,
      ];
    },
    podLines(model: Model, node: Node, pod: Pod): string[] {
      const subnet = cidrOf(node.podCIDR);
      const gw = nodeAddress(node, CNI_BRIDGE);
      return [
        `addr add ${pod.ip}/${subnet.bits} dev eth0`,
        'link set dev eth0 up',
        // flannel's CNI plugin adds a route to the whole network, the bridge plugin's isDefaultGateway the default.
        `route add ${formatCidr(model.config.podCIDR)} via ${gw} dev eth0`,
        `route add default via ${gw} dev eth0`,
      ];
    },
    // br_netfilter shows bridged traffic to iptables with its bridge ports: physdev finds a pod's.
    policyHooks(pod: Pod) {
      const veth = podVethName(pod);
      return {
        egressForward: ['-m physdev --physdev-in', veth],
        egressInput: ['-m physdev --physdev-in', veth],
        ingressForward: [
          // From a pod of this node (also through a Service, DNATed on the bridge).
          { matches: ['-m physdev --physdev-out', veth, '--physdev-is-bridged'], label: 'ingress, bridged' },
          // Routed into cni0: from other nodes (flannel.1, or eth0 with host-gw), from the LAN (NodePort,
          // externalIPs). A routed packet's bridge port out is not known in FORWARD, hence the pod's
          // address; `! --physdev-is-bridged` keeps bridged packets from being judged twice.
          { dst: `${pod.ip}/32`, matches: ['-m physdev ! --physdev-is-bridged'], label: 'ingress, routed' },
        ],
      };
    },
    policyRequires: ['physdev'],
    masquerade: { endpointNode: masqCni0, otherNode: masqOther[network] },
  };
}

export const flannelVxlan = flannel('flannel-vxlan');
export const flannelHostGw = flannel('host-gw');
