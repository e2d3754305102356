// What the model knows that a trace's kernel capture may lack: each node's tunnel device and the
// peers behind it (the outer header of a packet sent into it), from the scenario's network.
import { CALICO_IPIP_DEVICE, CALICO_VXLAN_DEVICE, CALICO_VXLAN_PORT, CALICO_VXLAN_VNI } from '../cni/calico.js';
import type { NetworkKind } from '../cni/networks.js';
import type { Model } from '../cluster/types.js';
import { VXLAN_PORT, VXLAN_VNI } from '../dataplane/flannel.js';
import { FLANNEL_DEVICE, machineNetns } from '../dataplane/names.js';
import type { TraceContext } from '../trace/result.js';
import type { ModelTunnel } from '../trace/tunnel.js';

/** Each network's tunnel between nodes, if it has one. */
const tunnelOf: Record<NetworkKind, Omit<ModelTunnel, 'local' | 'peers'> | undefined> = {
  'flannel-vxlan': { device: FLANNEL_DEVICE, kind: 'vxlan', port: VXLAN_PORT, vni: VXLAN_VNI },
  'host-gw': undefined,
  'calico-vxlan': { device: CALICO_VXLAN_DEVICE, kind: 'vxlan', port: CALICO_VXLAN_PORT, vni: CALICO_VXLAN_VNI },
  'calico-ipip': { device: CALICO_IPIP_DEVICE, kind: 'ipip' },
  'calico-bgp': undefined,
};

export function traceContextFor(model: Model): TraceContext {
  const tunnel = tunnelOf[model.config.network];
  if (!tunnel) return {};
  const tunnels = new Map<string, ModelTunnel>();
  for (const node of model.nodes)
    tunnels.set(machineNetns(node.name), {
      ...tunnel,
      local: node.ip,
      peers: model.nodes.filter((p) => p.name !== node.name).map((p) => ({ podCIDR: p.podCIDR, remote: p.ip })),
    });
  return { tunnels };
}
