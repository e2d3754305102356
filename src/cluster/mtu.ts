// The MTUs of a cluster's devices, derived as the CNIs derive them from the underlay's: flanneld's
// FLANNEL_MTU (eth0's less 50 with VXLAN: pkg/backend/vxlan/vxlan_network.go, encapOverhead; eth0's with
// host-gw) and felix's ConfigureDefaultMTUs/determinePodMTU (host MTU less 50 for VXLAN, 20 for IPIP,
// none without encapsulation). The CNI plugin's own `mtu` (flannel) or `veth_mtu` (Calico), when a
// scenario states one as `cluster.podMTU`, wins for the pods' side, as it does in a real cluster.
import type { NetworkKind } from '../cni/networks.js';
import { cniOf } from '../cni/index.js';

export interface NetworkMtu {
  /** The LAN's: every node's and host's eth0, their LAN ports and the router's bridge. */
  underlay: number;
  /** What the CNI derives from it: its tunnel device's MTU (the underlay's without encapsulation). */
  overlay: number;
  /** What pods get (their eth0, the host-side veth, flannel's cni0): the overlay's unless stated. */
  pod: number;
}

/** The CNI's encapsulation overhead subtracted from the underlay's MTU, and the pods' unless stated otherwise. */
export function networkMtu(network: NetworkKind, underlay: number, podMTU?: number): NetworkMtu {
  const overlay = underlay - cniOf(network).encapOverhead;
  return { underlay, overlay, pod: podMTU ?? overlay };
}
