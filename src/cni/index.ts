// The CNI registry: one Cni per network of the list in networks.ts (the compiler checks that every
// network has one). Adding a CNI: a module here, its names in networks.ts, one line below.
import type { Model } from '../cluster/types.js';
import { calicoBgp, calicoIpip, calicoVxlan } from './calico.js';
import { flannelHostGw, flannelVxlan } from './flannel.js';
import type { NetworkKind } from './networks.js';
import type { Cni } from './types.js';

export const cnis: Record<NetworkKind, Cni> = {
  'flannel-vxlan': flannelVxlan,
  'host-gw': flannelHostGw,
  'calico-vxlan': calicoVxlan,
  'calico-ipip': calicoIpip,
  'calico-bgp': calicoBgp,
};

/** The CNI of a network, or of a model's cluster. */
export function cniOf(x: NetworkKind | Model): Cni {
  return cnis[typeof x === 'string' ? x : x.config.network];
}

export { networks, type NetworkKind } from './networks.js';
export type { Cni, CniNodeState, PolicyHooks } from './types.js';
