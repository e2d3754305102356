// Calico as calico-node configures a node with felix's iptables dataplane (projectcalico/calico:
// cni-plugin for the pod side, felix/dataplane/linux vxlan_mgr.go and ipip_mgr.go for the tunnels,
// felix/rules/nat.go and static.go for the nat rules; bird's routes for BGP and IPIP).
// Pods sit on routed veths: host side `cali` + 11 hex of sha1("namespace.name"), no address on it,
// proxy ARP on; the pod's eth0 has its IP as a /32 and a default route via 169.254.1.1, which the
// node answers by proxy ARP. Each node owns one IPAM block (a /26 of the pool; real Calico takes
// more blocks as a node fills and picks them by affinity, knetlab gives node i the i-th block).
import { createHash } from 'node:crypto';
import type { Model, Node, Pod } from '../cluster/types.js';
import { VXLAN_OVERHEAD } from '../dataplane/flannel.js';
import { macAddress, podNetns } from '../dataplane/names.js';
import { formatCidr, nthAddress, type Cidr } from '../util/ip.js';
import { nodeAddress } from './address.js';
import type { Cni, CniNodeState, MasqueradeSource } from './types.js';

/** Calico's IPAM block size (IPPool blockSize default). */
export const CALICO_BLOCK_BITS = 26;
export const CALICO_VXLAN_DEVICE = 'vxlan.calico';
/** Calico's VXLAN VNI and port (FelixConfiguration vxlanVNI, vxlanPort defaults). */
export const CALICO_VXLAN_VNI = 4096;
export const CALICO_VXLAN_PORT = 4789;
export const CALICO_IPIP_DEVICE = 'tunl0';
/** IPIP's 20 bytes of outer IPv4 header. */
export const IPIP_OVERHEAD = 20;
/** The pod's gateway: a link-local address no one has, answered by the node's proxy ARP. */
export const CALICO_GATEWAY = '169.254.1.1';
/** The MAC the CNI plugin gives every host-side cali veth. */
export const CALI_MAC = 'ee:ee:ee:ee:ee:ee';
/** felix's natOutgoing ipsets (IPSetIDNATOutgoingMasqPools / AllPools, v4 prefix `cali40`). */
export const MASQ_POOLS_SET = 'cali40masq-ipam-pools';
export const ALL_POOLS_SET = 'cali40all-ipam-pools';

/** libcalico-go's VethNameForWorkload: `cali` + the first 11 hex characters of sha1("namespace.podname"). */
export function caliVethName(pod: { namespace: string; name: string }): string {
  return `cali${createHash('sha1').update(`${pod.namespace}.${pod.name}`).digest('hex').slice(0, 11)}`;
}

type Encapsulation = 'vxlan' | 'ipip' | 'none';
const tunnelDevice: Record<Encapsulation, string | undefined> = { vxlan: CALICO_VXLAN_DEVICE, ipip: CALICO_IPIP_DEVICE, none: undefined };
// felix's ipipMTUOverhead and vxlanMTUOverhead (int_dataplane.go): its MTU auto-detection subtracts them from the host's.
const overheadOf: Record<Encapsulation, number> = { vxlan: VXLAN_OVERHEAD, ipip: IPIP_OVERHEAD, none: 0 };

export function vxlanCalicoMac(node: Node): string {
  return macAddress('vxlan.calico', node.name);
}

/** felix's nat table (StaticNATPostroutingChains, NATOutgoingChain), without its rule-hash comments and with the empty cali-fip-* chains' PREROUTING/OUTPUT jumps left out. */
export function calicoNatRules(model: Model, tunnel: string | undefined): { chains: string[]; rules: string[] } {
  const natOutgoing = model.config.podEgressMasquerade;
  const chains = ['cali-POSTROUTING', 'cali-fip-snat', 'cali-nat-outgoing'];
  const rules = ['-A POSTROUTING -j cali-POSTROUTING', '-A cali-POSTROUTING -j cali-fip-snat', '-A cali-POSTROUTING -j cali-nat-outgoing'];
  // The node's own traffic sent into the tunnel from another of its addresses takes the tunnel's.
  if (tunnel) rules.push(`-A cali-POSTROUTING -o ${tunnel} -m addrtype ! --src-type LOCAL --limit-iface-out -m addrtype --src-type LOCAL -j MASQUERADE --random-fully`);
  if (natOutgoing) rules.push(`-A cali-nat-outgoing -m set --match-set ${MASQ_POOLS_SET} src -m set ! --match-set ${ALL_POOLS_SET} dst -j MASQUERADE --random-fully`);
  return { chains, rules };
}

/** The pools' ipsets felix keeps: the pool is natOutgoing when podEgressMasquerade is on. */
export function calicoIpsets(model: Model): string {
  const pool = formatCidr(model.config.podCIDR);
  const sets = [ALL_POOLS_SET, MASQ_POOLS_SET];
  const lines = sets.map((s) => `create ${s} hash:net family inet hashsize 1024 maxelem 1048576`);
  lines.push(`add ${ALL_POOLS_SET} ${pool}`);
  if (model.config.podEgressMasquerade) lines.push(`add ${MASQ_POOLS_SET} ${pool}`);
  return `${lines.join('\n')}\n`;
}

// MASQUERADE takes the address of the device the packet leaves by: toward a pod of the node its cali
// veth, which has none (so the node's first global address), toward another node's the tunnel or eth0.
const masqCali: MasqueradeSource = {
  source: 'node-ip',
  rule: 'masqCali',
  because:
    "MASQUERADE takes the address of the interface toward the endpoint: on Calico's endpoint node that is the pod's cali veth, which has none, so the node's first global address, eth0's (its LAN address).",
};
const masqOther: Record<Encapsulation, MasqueradeSource> = {
  vxlan: {
    source: 'node-tunnel',
    rule: 'masqCalicoVxlan',
    because:
      "MASQUERADE takes the address of the interface toward the endpoint: from another node over Calico's VXLAN that is vxlan.calico (the first address of the node's block).",
  },
  ipip: {
    source: 'node-tunnel',
    rule: 'masqCalicoIpip',
    because: "MASQUERADE takes the address of the interface toward the endpoint: from another node over Calico's IPIP that is tunl0 (the first address of the node's block).",
  },
  none: {
    source: 'node-ip',
    rule: 'masqCalicoBgp',
    because: "MASQUERADE takes the address of the interface toward the endpoint: from another node over Calico's BGP routes that is eth0, the node's LAN address.",
  },
};

function calico(network: 'calico-vxlan' | 'calico-ipip' | 'calico-bgp', encap: Encapsulation): Cni {
  const tunnel = tunnelDevice[encap];
  return {
    network,
    nodeSubnetBits: CALICO_BLOCK_BITS,
    subnetWord: 'IPAM block',
    requires: encap === 'vxlan' ? ['vxlan', 'ipset'] : encap === 'ipip' ? ['ipip', 'tunl0-after-eth0', 'ipset'] : ['ipset'],
    // The tunnel's address is the first IPAM hands out in the node's block (its ordinal 0).
    nodeAddresses: (subnet: Cidr) => (tunnel ? { [tunnel]: nthAddress(subnet, 0) } : {}),
    // Calico's IPAM uses every address of a block, .0 and the last too.
    podOrdinals: (subnet: Cidr) => ({ first: tunnel ? 1 : 0, last: 2 ** (32 - subnet.bits) - 1 }),
    encapOverhead: overheadOf[encap],
    ...(tunnel ? { tunnelDevice: tunnel } : {}),
    renderNode(model: Model, node: Node): CniNodeState {
      const mtu = model.config.mtu.overlay;
      const ip: string[] = [];
      const bridge: string[] = [];
      if (encap === 'vxlan') {
        // vxlan_mgr.go: VNI 4096, port 4789, parent eth0 with the node's IP as source, no learning.
        ip.push(
          `link add ${CALICO_VXLAN_DEVICE} address ${vxlanCalicoMac(node)} mtu ${mtu} type vxlan id ${CALICO_VXLAN_VNI} local ${node.ip} dev eth0 dstport ${CALICO_VXLAN_PORT} nolearning`,
          `addr add ${nodeAddress(node, CALICO_VXLAN_DEVICE)}/32 dev ${CALICO_VXLAN_DEVICE}`,
          `link set dev ${CALICO_VXLAN_DEVICE} up`,
        );
      } else if (encap === 'ipip') {
        // tunl0 is the ipip module's fallback device, in every namespace made once it is loaded (renderNode names it so the kernel makes it where it does not); felix configures it (ipip_mgr.go).
        ip.push(
          `link set dev ${CALICO_IPIP_DEVICE} mtu ${mtu}`,
          `addr add ${nodeAddress(node, CALICO_IPIP_DEVICE)}/32 dev ${CALICO_IPIP_DEVICE}`,
          `link set dev ${CALICO_IPIP_DEVICE} up`,
        );
      }
      // The node's own block: its pods' /32 routes are more specific; the rest goes nowhere.
      ip.push(`route add blackhole ${node.podCIDR}`);
      for (const peer of model.nodes.filter((n) => n.name !== node.name)) {
        if (encap === 'vxlan') {
          // vxlan_mgr.go: a permanent neighbour for the peer's VTEP address, its MAC's fdb entry to the peer's IP, the block via the VTEP address.
          const vtep = nodeAddress(peer, CALICO_VXLAN_DEVICE);
          ip.push(
            `neigh replace ${vtep} lladdr ${vxlanCalicoMac(peer)} dev ${CALICO_VXLAN_DEVICE} nud permanent`,
            `route replace ${peer.podCIDR} via ${vtep} dev ${CALICO_VXLAN_DEVICE} onlink`,
          );
          bridge.push(`fdb replace ${vxlanCalicoMac(peer)} dev ${CALICO_VXLAN_DEVICE} dst ${peer.ip} self permanent`);
        } else if (encap === 'ipip') {
          // bird's route for an IPIP pool: the peer's block via its LAN address, into tunl0.
          ip.push(`route replace ${peer.podCIDR} via ${peer.ip} dev ${CALICO_IPIP_DEVICE} onlink`);
        } else {
          // bird's route learned over BGP with no encapsulation: the peer's block via its LAN address.
          ip.push(`route replace ${peer.podCIDR} via ${peer.ip} dev eth0`);
        }
      }
      const nat = calicoNatRules(model, tunnel);
      const iptables = [
        '*nat',
        ':PREROUTING ACCEPT [0:0]',
        ':INPUT ACCEPT [0:0]',
        ':OUTPUT ACCEPT [0:0]',
        ':POSTROUTING ACCEPT [0:0]',
        ...nat.chains.map((c) => `:${c} - [0:0]`),
        ...nat.rules,
        'COMMIT',
        // felix's filter chains only police endpoints: without policies its FORWARD lets pod traffic through, as the ACCEPT policy does here.
        '*filter',
        ':INPUT ACCEPT [0:0]',
        ':FORWARD ACCEPT [0:0]',
        ':OUTPUT ACCEPT [0:0]',
        'COMMIT',
        '',
      ].join('\n');
      return {
        ip,
        bridge,
        // The CNI plugin turns proxy ARP on for each cali veth: here as the namespace's default, set before any is made (sysctls come before links).
        sysctls: { 'net.ipv4.conf.default.proxy_arp': '1' },
        iptables,
        ipset: calicoIpsets(model),
        ...(encap === 'ipip' ? { fallbackDevices: [{ name: CALICO_IPIP_DEVICE, kind: 'ipip' as const }] } : {}),
      };
    },
    podVethName: caliVethName,
    podHostLines(model: Model, _node: Node, pod: Pod): string[] {
      const veth = caliVethName(pod);
      // The CNI plugin's veth_mtu (felix's determinePodMTU when auto), on both ends.
      const mtu = model.config.mtu.pod;
      return [
        `link add ${veth} address ${CALI_MAC} mtu ${mtu} type veth peer name eth0 mtu ${mtu} netns ${podNetns(pod)}`,
        // The CNI plugin's neigh/caliX/proxy_delay 0: a pod's broadcast ARP for its gateway is answered at once, not after up to 0.8 s.
        `ntable change name arp_cache dev ${veth} proxy_delay 0`,
        `link set dev ${veth} up`,
        // felix's route to a local workload: its /32 on its cali device.
        `route add ${pod.ip}/32 dev ${veth} scope link`,
      ];
    },
    podLines: (_model: Model, _node: Node, pod: Pod) => calicoPodLines(pod),
    policyHooks(pod: Pod) {
      const veth = caliVethName(pod);
      // Routed veths: every packet of a pod comes in on its cali device and goes to it out of it.
      return { egressForward: ['-i', veth], egressInput: ['-i', veth], ingressForward: [{ matches: ['-o', veth], label: 'ingress' }] };
    },
    policyRequires: [],
    masquerade: { endpointNode: masqCali, otherNode: masqOther[encap] },
  };
}

/** The pod's side, as the Calico CNI plugin sets it up: the /32, and the default route via 169.254.1.1 on the link. */
export function calicoPodLines(pod: Pod): string[] {
  return [`addr add ${pod.ip}/32 dev eth0`, 'link set dev eth0 up', `route add ${CALICO_GATEWAY} dev eth0 scope link`, `route add default via ${CALICO_GATEWAY} dev eth0`];
}

export const calicoVxlan = calico('calico-vxlan', 'vxlan');
export const calicoIpip = calico('calico-ipip', 'ipip');
export const calicoBgp = calico('calico-bgp', 'none');
