// The one list of networks (CNIs and their modes) a scenario can choose with `cluster.network`;
// schema, model and registry derive from it, and src/cni/index.ts must have a Cni for each.
export const networks = ['flannel-vxlan', 'host-gw', 'calico-vxlan', 'calico-ipip', 'calico-bgp'] as const;
export type NetworkKind = (typeof networks)[number];
