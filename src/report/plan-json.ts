import type { Model } from '../cluster/types.js';
import { formatWayIn } from '../dataplane/way-in.js';
import type { Step } from '../scenario/steps.js';
import { planSteps } from './plan.js';
import { formatCidr } from '../util/ip.js';

/** The resolved model as plain data (what `knetlab plan -o json` prints): addresses, no source positions. */
export function planJson(model: Model, steps: readonly Step[] = []): unknown {
  const c = model.config;
  return {
    scenario: model.scenario,
    cluster: {
      ...c,
      lanCIDR: formatCidr(c.lanCIDR),
      podCIDR: formatCidr(c.podCIDR),
      serviceCIDR: formatCidr(c.serviceCIDR),
      loadBalancerCIDR: formatCidr(c.loadBalancerCIDR),
    },
    // cni0 and flannel as before the CNI interface (scripts and users read them), beside every CNI device's address.
    nodes: model.nodes.map(({ origin: _o, ...n }) => ({
      ...n,
      ...(n.addresses.cni0 ? { cni0: n.addresses.cni0 } : {}),
      ...(n.addresses['flannel.1'] ? { flannel: n.addresses['flannel.1'] } : {}),
    })),
    hosts: model.hosts.map(({ origin: _o, ...h }) => h),
    pods: model.pods.map(({ origin: _o, ...p }) => p),
    services: model.services.map(({ origin: _o, spec, ...s }) => ({ ...s, type: spec.type, spec })),
    endpointSlices: model.endpointSlices,
    // Each probe's target: the Service port it stands for, where kube-proxy takes it, the endpoints it gives it.
    ...(steps.length
      ? {
          steps: planSteps(model, steps).map((p) => ({
            index: p.index,
            kind: p.kind,
            ...(p.name !== undefined ? { name: p.name } : {}),
            ...(p.wayIn ? { wayIn: { ...p.wayIn, text: formatWayIn(p.wayIn) } } : {}),
          })),
        }
      : {}),
  };
}
