// The cloud load balancer of the LAN, as pure data: which nodes each LoadBalancer address is routed
// to (all of them, or for Local policy those whose health check passed), as `ip -batch` lines for
// the LAN's gateway, and which health checks kube-proxy answers for it. Not kube-proxy: in a real
// cluster this is the cloud's (or MetalLB's) part; the kernel side is kernel/load-balancer.ts.
import type { Model } from '../cluster/types.js';
import { endpointsForPort } from '../cluster/service-endpoints.js';
import { cidrContains, type Cidr } from '../util/ip.js';
import { LAN_BRIDGE } from './names.js';

/** A LoadBalancer Service with Local policy, whose nodes the load balancer health-checks. */
export interface HealthChecked {
  namespace: string;
  name: string;
  port: number;
  /** Per node: the local ready endpoints kube-proxy's health check server counts. */
  localEndpoints: Map<string, number>;
}

/** What kube-proxy's health check server on each node answers for each Local LoadBalancer Service. */
export function healthChecks(model: Model): HealthChecked[] {
  const out: HealthChecked[] = [];
  for (const svc of model.services) {
    if (svc.spec.type !== 'LoadBalancer' || svc.spec.externalTrafficPolicy !== 'Local' || svc.healthCheckNodePort === undefined) continue;
    const local = new Map(model.nodes.map((n) => [n.name, 0]));
    const seen = new Set<string>();
    for (const p of svc.ports) {
      for (const e of endpointsForPort(model, svc, p)) {
        if (!e.ready || !e.nodeName || seen.has(e.ip)) continue;
        seen.add(e.ip);
        local.set(e.nodeName, (local.get(e.nodeName) ?? 0) + 1);
      }
    }
    out.push({ namespace: svc.namespace, name: svc.name, port: svc.healthCheckNodePort, localEndpoints: local });
  }
  return out;
}

/**
 * The LAN gateway as the cloud load balancer: each LoadBalancer address routed to the nodes
 * (ECMP); for Local policy only to the nodes whose health check passed, as a cloud load
 * balancer probing healthCheckNodePort does (`healthy`: Service key -> node names).
 */
export function loadBalancerRoutes(model: Model, healthy: Map<string, Set<string>>): Map<string, string[]> {
  const routes = new Map<string, string[]>();
  for (const svc of model.services) {
    if (svc.spec.type !== 'LoadBalancer' || svc.loadBalancerIPs.length === 0) continue;
    let nodes = model.nodes;
    if (svc.spec.externalTrafficPolicy === 'Local') {
      const ok = healthy.get(`${svc.namespace}/${svc.name}`) ?? new Set<string>();
      nodes = nodes.filter((n) => ok.has(n.name));
    }
    for (const ip of svc.loadBalancerIPs)
      routes.set(
        ip,
        nodes.map((n) => n.ip),
      );
  }
  return routes;
}

/**
 * `ip -batch` lines for the gateway that turn the routes of `prev` into those of `next`. An address
 * inside the LAN is also answered for in ARP (a proxy neighbour), so that machines of the LAN send
 * to the gateway, as they would to a cloud load balancer or a MetalLB speaker.
 */
export function loadBalancerRouteLines(prev: Map<string, string[]>, next: Map<string, string[]>, lan: Cidr): string[] {
  const lines: string[] = [];
  for (const [ip, vias] of next) {
    if (JSON.stringify(prev.get(ip)) === JSON.stringify(vias)) continue;
    if (!prev.has(ip) && cidrContains(lan, ip)) lines.push(`neigh replace proxy ${ip} dev ${LAN_BRIDGE}`);
    if (vias.length === 0) lines.push(`route replace unreachable ${ip}/32`);
    else if (vias.length === 1) lines.push(`route replace ${ip}/32 via ${vias[0]}`);
    else lines.push(`route replace ${ip}/32 ${vias.map((v) => `nexthop via ${v}`).join(' ')}`);
  }
  for (const ip of prev.keys()) {
    if (next.has(ip)) continue;
    lines.push(`route del ${ip}/32`);
    if (cidrContains(lan, ip)) lines.push(`neigh del proxy ${ip} dev ${LAN_BRIDGE}`);
  }
  return lines;
}
