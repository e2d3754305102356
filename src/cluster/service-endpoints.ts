import type { Model, Service, ServicePort, SliceEndpoint } from './types.js';

export interface PortEndpoint extends SliceEndpoint {
  port: number;
}

/**
 * The endpoints kube-proxy sees for one port of a Service: from every EndpointSlice of the
 * Service, the slice port with the same name and protocol (so a slice whose port names do not
 * match gives nothing, as upstream), each address once.
 */
export function endpointsForPort(model: Model, svc: Service, sp: ServicePort): PortEndpoint[] {
  const out: PortEndpoint[] = [];
  const seen = new Set<string>();
  for (const slice of model.endpointSlices) {
    if (slice.namespace !== svc.namespace || slice.service !== svc.name) continue;
    const port = slice.ports.find((p) => p.name === sp.name && p.protocol === sp.protocol);
    if (!port) continue;
    for (const e of slice.endpoints) {
      const key = `${e.ip}:${port.port}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({ ...e, port: port.port });
    }
  }
  return out;
}

/**
 * The ports a pod listens on: its container ports and, for the echo workload, also the numeric
 * targetPorts of Services that select it (pasted manifests often declare no ports).
 */
export function podListenPorts(model: Model, pod: Model['pods'][number]): { port: number; protocol: string }[] {
  const ports = new Map<string, { port: number; protocol: string }>();
  for (const c of pod.containers) for (const p of c.ports) ports.set(`${p.containerPort}/${p.protocol}`, { port: p.containerPort, protocol: p.protocol });
  if (pod.workload !== 'echo') return [...ports.values()];
  for (const svc of model.services) {
    const sel = svc.spec.selector;
    if (!sel || svc.namespace !== pod.namespace || !Object.entries(sel).every(([k, v]) => pod.labels[k] === v)) continue;
    for (const sp of svc.ports) if (typeof sp.targetPort === 'number') ports.set(`${sp.targetPort}/${sp.protocol}`, { port: sp.targetPort, protocol: sp.protocol });
  }
  return [...ports.values()];
}
