import type { ServiceObject } from '../scenario/objects.js';
import { describe } from '../scenario/objects.js';
import type { Problems } from '../scenario/problems.js';
import { originAt } from '../scenario/source.js';
import { hashNumber } from '../util/hash.js';
import { broadcastOf, cidrContains, cidrSize, formatCidr, intToIp, ipToInt } from '../util/ip.js';
import type { ClusterConfig, Host, Node, Service, ServicePort } from './types.js';

export const KUBE_DNS = { namespace: 'kube-system', name: 'kube-dns' };

const portId = (p: { name: string; port: number; protocol: string }) => `${p.name}|${p.port}|${p.protocol}`;

/** What every allocator reads: the Services before this change, by `namespace/name`, and where problems go. */
interface Allocation {
  objects: readonly ServiceObject[];
  prevByKey: Map<string, Service>;
  config: ClusterConfig;
  problems: Problems;
}

const keyOf = (o: ServiceObject) => `${o.meta.namespace}/${o.meta.name}`;

/**
 * The API server's allocators: ClusterIPs and nodePorts are kept once given; new ones are
 * chosen by a hash of the Service's name and probed to the next free one, so the same file gets
 * the same addresses whatever else changes. LoadBalancer addresses come from loadBalancerCIDR
 * in apply order, as MetalLB hands them out.
 */
export function allocateServices(
  prev: readonly Service[],
  objects: readonly ServiceObject[],
  config: ClusterConfig,
  nodes: readonly Node[],
  hosts: readonly Host[],
  problems: Problems,
): Service[] {
  const a: Allocation = { objects, prevByKey: new Map(prev.map((s) => [`${s.namespace}/${s.name}`, s])), config, problems };
  const clusterIPs = allocateClusterIPs(a);
  const { nodePorts, healthPorts } = allocateNodePorts(a);
  const lbIPs = allocateLoadBalancerIPs(a, nodes, hosts);
  return objects.map((o) => {
    const key = keyOf(o);
    const ports: ServicePort[] = o.spec.ports.map((p) => {
      const nodePort = nodePorts.get(`${key}#${portId(p)}`);
      return {
        name: p.name,
        port: p.port,
        targetPort: p.targetPort,
        protocol: p.protocol,
        ...(nodePort !== undefined ? { nodePort } : {}),
        ...(p.appProtocol ? { appProtocol: p.appProtocol } : {}),
      };
    });
    const clusterIP = clusterIPs.get(o);
    const health = healthPorts.get(o);
    return {
      namespace: o.meta.namespace,
      name: o.meta.name,
      spec: o.spec,
      annotations: o.meta.annotations,
      ...(clusterIP ? { clusterIP } : {}),
      ports,
      loadBalancerIPs: lbIPs.get(o) ?? [],
      ...(health !== undefined ? { healthCheckNodePort: health } : {}),
      origin: o.origin,
    };
  });
}

/** ClusterIPs: given and kept addresses first, so that new Services never take them, then hashed and probed. */
function allocateClusterIPs({ objects, prevByKey, config, problems }: Allocation): Map<ServiceObject, string> {
  const cidr = config.serviceCIDR;
  const usedIPs = new Map<number, string>();
  usedIPs.set(cidr.base + 1, 'the `kubernetes` Service');
  if (config.dns) usedIPs.set(ipToInt(config.dnsIP), 'kube-dns');
  const clusterIPs = new Map<ServiceObject, string>();
  const wantsIP = (o: ServiceObject) => o.spec.type !== 'ExternalName' && o.spec.clusterIP !== 'None';
  const isDns = (o: ServiceObject) => config.dns && o.meta.namespace === KUBE_DNS.namespace && o.meta.name === KUBE_DNS.name;
  // The first address is the API server's `kubernetes` Service: pasted as it is, it keeps it.
  const isKubernetes = (o: ServiceObject, n: number) => o.meta.namespace === 'default' && o.meta.name === 'kubernetes' && n === cidr.base + 1;

  for (const o of objects) {
    if (!wantsIP(o)) continue;
    const what = describe(o);
    const given = o.spec.clusterIP;
    const kept = prevByKey.get(keyOf(o))?.clusterIP;
    if (given) {
      const at = originAt(o.origin, 'spec', 'clusterIP');
      const n = ipToInt(given);
      if (!cidrContains(cidr, given))
        problems.error(
          'outside-range',
          at,
          `\`spec.clusterIP\` ${given} of ${what} is outside \`cluster.serviceCIDR\` ${formatCidr(cidr)} (set \`cluster.serviceCIDR\` to the range of the cluster it comes from)`,
        );
      else if (n === cidr.base || n === broadcastOf(cidr))
        problems.error('reserved-address', at, `\`spec.clusterIP\` ${given} of ${what} is the network or broadcast address of \`cluster.serviceCIDR\``);
      else if (kept !== undefined && kept !== given)
        problems.error('immutable-field', at, `\`spec.clusterIP\` of ${what} cannot change from ${kept} to ${given} (the field is immutable)`);
      else if (usedIPs.has(n) && !(isDns(o) && given === config.dnsIP) && !isKubernetes(o, n))
        problems.error('already-allocated', at, `\`spec.clusterIP\` ${given} of ${what} is already allocated to ${usedIPs.get(n)}`);
      else {
        usedIPs.set(n, what);
        clusterIPs.set(o, given);
      }
    } else if (kept !== undefined) {
      usedIPs.set(ipToInt(kept), what);
      clusterIPs.set(o, kept);
    } else if (isDns(o)) {
      clusterIPs.set(o, config.dnsIP);
    }
  }
  const size = cidrSize(cidr);
  for (const o of objects) {
    if (!wantsIP(o) || clusterIPs.has(o)) continue; // a refused given address (reported above) gets a stand-in too
    const start = hashNumber(keyOf(o)) % size;
    for (let k = 0; k < size; k++) {
      const n = (cidr.base + ((start + k) % size)) >>> 0;
      if (n === cidr.base || n === broadcastOf(cidr) || usedIPs.has(n)) continue;
      usedIPs.set(n, describe(o));
      clusterIPs.set(o, intToIp(n));
      break;
    }
    if (!clusterIPs.has(o))
      problems.error(
        'no-free-address',
        originAt(o.origin, 'metadata', 'name'),
        `No free address is left in \`cluster.serviceCIDR\` ${formatCidr(cidr)} for ${describe(o)}; give \`cluster.serviceCIDR\` a larger range`,
      );
  }
  return clusterIPs;
}

/** nodePorts and health-check node ports: one number space for every Service; a Service may use one number for TCP and UDP. */
function allocateNodePorts({ objects, prevByKey, config, problems }: Allocation): { nodePorts: Map<string, number>; healthPorts: Map<ServiceObject, number> } {
  const range = config.nodePortRange;
  const usedPorts = new Map<number, string>();
  const nodePorts = new Map<string, number>(); // `${key}#${portId}` -> port
  const healthPorts = new Map<ServiceObject, number>();
  const hasNodePorts = (o: ServiceObject) => o.spec.type === 'NodePort' || o.spec.type === 'LoadBalancer';
  const needsHealth = (o: ServiceObject) => o.spec.type === 'LoadBalancer' && o.spec.externalTrafficPolicy === 'Local';
  const claim = (o: ServiceObject, port: number, at: ReturnType<typeof originAt>, field: string): boolean => {
    const what = describe(o);
    if (port < range.min || port > range.max) {
      const lo = Math.min(port, range.min);
      const hi = Math.max(port, range.max);
      problems.error(
        'outside-range',
        at,
        `\`${field}\` ${port} of ${what} is outside \`cluster.nodePortRange\` ${range.min}-${range.max} (to keep it, set \`cluster.nodePortRange: ${lo}-${hi}\`)`,
      );
      return false;
    }
    const owner = usedPorts.get(port);
    if (owner !== undefined && owner !== what) {
      problems.error('already-allocated', at, `\`${field}\` ${port} of ${what} is already allocated to ${owner}`);
      return false;
    }
    usedPorts.set(port, what);
    return true;
  };
  // Given and kept ports first.
  for (const o of objects) {
    if (!hasNodePorts(o)) continue;
    const key = keyOf(o);
    const before = prevByKey.get(key);
    const seenHere = new Map<number, string>();
    o.spec.ports.forEach((p, i) => {
      const kept = before?.ports.find((q) => portId(q) === portId(p))?.nodePort;
      const port = p.nodePort ?? kept;
      if (port === undefined) return;
      const field = `spec.ports[${i}].nodePort`;
      const at = originAt(o.origin, 'spec', 'ports', i, 'nodePort');
      const clash = seenHere.get(port);
      if (clash !== undefined && clash === p.protocol) {
        problems.error('duplicate-port', at, `\`${field}\` ${port} of ${describe(o)} is used twice for ${p.protocol}`);
        return;
      }
      if (claim(o, port, at, field)) {
        seenHere.set(port, p.protocol);
        nodePorts.set(`${key}#${portId(p)}`, port);
      }
    });
    if (needsHealth(o)) {
      const port = o.spec.healthCheckNodePort ?? before?.healthCheckNodePort;
      if (port !== undefined && claim(o, port, originAt(o.origin, 'spec', 'healthCheckNodePort'), 'spec.healthCheckNodePort')) healthPorts.set(o, port);
    }
  }
  const span = range.max - range.min + 1;
  const allocPort = (o: ServiceObject, seed: string): number | undefined => {
    const start = hashNumber(seed) % span;
    for (let k = 0; k < span; k++) {
      const port = range.min + ((start + k) % span);
      if (!usedPorts.has(port)) {
        usedPorts.set(port, describe(o));
        return port;
      }
    }
    problems.error(
      'no-free-address',
      originAt(o.origin, 'metadata', 'name'),
      `No free port is left in \`cluster.nodePortRange\` ${range.min}-${range.max} (${span} ports) for ${describe(o)}; widen \`cluster.nodePortRange\``,
    );
    return undefined;
  };
  for (const o of objects) {
    if (!hasNodePorts(o)) continue;
    const key = keyOf(o);
    for (const p of o.spec.ports) {
      const id = `${key}#${portId(p)}`;
      // A refused given port (reported above) gets a stand-in, so steps naming it are still checked.
      if (nodePorts.has(id)) continue;
      const port = allocPort(o, id);
      if (port !== undefined) nodePorts.set(id, port);
    }
    if (needsHealth(o) && !healthPorts.has(o)) {
      const port = allocPort(o, `${key}#health`);
      if (port !== undefined) healthPorts.set(o, port);
    }
  }
  return { nodePorts, healthPorts };
}

/** LoadBalancer addresses: given ones (status or loadBalancerIP), kept ones, then the pool's lowest free. */
function allocateLoadBalancerIPs({ objects, prevByKey, config, problems }: Allocation, nodes: readonly Node[], hosts: readonly Host[]): Map<ServiceObject, string[]> {
  const pool = config.loadBalancerCIDR;
  const machineIPs = new Set([config.gateway, ...nodes.map((n) => n.ip), ...hosts.map((h) => h.ip)]);
  const usedLB = new Map<string, string>();
  const lbIPs = new Map<ServiceObject, string[]>();
  for (const o of objects) {
    if (o.spec.type !== 'LoadBalancer') continue;
    const kept = prevByKey.get(keyOf(o))?.loadBalancerIPs ?? [];
    const given = o.ingressIPs.length > 0 ? o.ingressIPs : o.spec.loadBalancerIP ? [o.spec.loadBalancerIP] : kept;
    const at = originAt(o.origin, ...(o.ingressIPs.length > 0 ? ['status', 'loadBalancer', 'ingress'] : ['spec', 'loadBalancerIP']));
    const ok: string[] = [];
    for (const ip of given) {
      if (machineIPs.has(ip)) problems.error('reserved-address', at, `LoadBalancer address ${ip} of ${describe(o)} is a node's or host's own address`);
      else if (cidrContains(config.podCIDR, ip) || cidrContains(config.serviceCIDR, ip))
        problems.error('reserved-address', at, `LoadBalancer address ${ip} of ${describe(o)} is inside the pod or Service range`);
      else if (usedLB.has(ip) && usedLB.get(ip) !== describe(o))
        problems.error('already-allocated', at, `LoadBalancer address ${ip} of ${describe(o)} is already ${usedLB.get(ip)}'s`);
      else {
        usedLB.set(ip, describe(o));
        ok.push(ip);
      }
    }
    if (ok.length > 0) lbIPs.set(o, ok);
  }
  const lanEdges = new Set([config.lanCIDR.base, broadcastOf(config.lanCIDR)]);
  for (const o of objects) {
    if (o.spec.type !== 'LoadBalancer' || lbIPs.has(o) || o.ingressIPs.length > 0 || o.spec.loadBalancerIP) continue;
    for (let k = 0; k < cidrSize(pool); k++) {
      const n = (pool.base + k) >>> 0;
      const ip = intToIp(n);
      if (lanEdges.has(n) || machineIPs.has(ip) || usedLB.has(ip)) continue;
      usedLB.set(ip, describe(o));
      lbIPs.set(o, [ip]);
      break;
    }
    // A cluster would leave its EXTERNAL-IP <pending>, and every step through it would fail: said here instead.
    if (!lbIPs.has(o))
      problems.error(
        'no-free-address',
        originAt(o.origin, 'spec', 'type'),
        `No free address is left in \`cluster.loadBalancerCIDR\` ${formatCidr(pool)} for ${describe(o)} (its EXTERNAL-IP would stay <pending>); give \`cluster.loadBalancerCIDR\` a larger range`,
      );
  }
  return lbIPs;
}
