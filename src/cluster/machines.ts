import type { LoadedScenario } from '../scenario/load.js';
import type { Problems } from '../scenario/problems.js';
import { MACHINE_NAME_MAX } from '../scenario/schema.js';
import { originAt } from '../scenario/source.js';
import { suggestion } from '../scenario/suggest.js';
import { broadcastOf, cidrContains, cidrOf, cidrOverlaps, cidrSize, formatCidr, intToIp, ipToInt, nthSubnet, type Cidr } from '../util/ip.js';
import { cniOf } from '../cni/index.js';
import type { ClusterConfig, Host, Node } from './types.js';

const machineName = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/** The cluster range an address outside the LAN would fall in (pods, Services, load balancers), in words, if any. */
function clusterRange(config: ClusterConfig, ip: string): string | undefined {
  if (cidrContains(config.podCIDR, ip)) return `\`cluster.podCIDR\` ${formatCidr(config.podCIDR)}`;
  if (cidrContains(config.serviceCIDR, ip)) return `\`cluster.serviceCIDR\` ${formatCidr(config.serviceCIDR)}`;
  if (cidrContains(config.loadBalancerCIDR, ip)) return `\`cluster.loadBalancerCIDR\` ${formatCidr(config.loadBalancerCIDR)}`;
  return undefined;
}

/**
 * Nodes and hosts with their addresses: given ones first, then nodes from .11 up and hosts from
 * .200 down. Problems are reported and the machines still returned (a bad address replaced by an
 * allocated one) so that the checks after these can go on.
 */
export function resolveMachines(s: LoadedScenario, config: ClusterConfig, problems: Problems): { nodes: Node[]; hosts: Host[] } {
  const before = problems.errorCount;
  const lan = config.lanCIDR;
  const taken = new Map<number, string>(); // address -> who has it
  taken.set(ipToInt(config.gateway), 'the LAN gateway');

  const names = new Map<string, string>();
  const goodIPs = new Set<string>(); // `kind/name` of machines whose given address is usable
  const all = [
    ...s.nodes.map((n, i) => ({ kind: 'node', spec: n.spec, origin: n.origin, where: `nodes[${i}]` })),
    ...s.hosts.map((h, i) => ({ kind: 'host', spec: h.spec, origin: h.origin, where: `hosts[${i}]` })),
  ];
  for (const m of all) {
    const name = m.spec.name;
    const at = originAt(m.origin, 'name');
    if (!machineName.test(name)) {
      problems.error('bad-name', at, `Expected \`${m.where}.name\` to be lower-case a-z, 0-9, - and ., starting and ending with a letter or digit, got \`${name}\``);
    } else if (name.length > MACHINE_NAME_MAX) {
      problems.error(
        'name-too-long',
        at,
        `\`${m.where}.name\` \`${name}\` is ${name.length} characters; a machine's name names its interface in the lan namespace, which Linux limits to ${MACHINE_NAME_MAX}`,
      );
    } else if (name === 'lan') {
      problems.error('reserved-name', at, '`lan` is the name of the LAN namespace itself; choose another name');
    }
    const prior = names.get(name);
    if (prior) problems.error('duplicate-name', at, `The name \`${name}\` is used twice (also ${prior}); node and host names must be unique`);
    else names.set(name, m.where);
    if (m.spec.ip !== undefined) {
      const ip = m.spec.ip;
      const n = ipToInt(ip);
      const ipAt = originAt(m.origin, 'ip');
      const inLan = cidrContains(lan, ip);
      if (!inLan && m.kind === 'node') problems.error('outside-range', ipAt, `\`${m.where}.ip\` ${ip} is outside \`cluster.lanCIDR\` ${formatCidr(lan)}`);
      else if (!inLan && clusterRange(config, ip))
        problems.error('reserved-address', ipAt, `\`${m.where}.ip\` ${ip} is inside ${clusterRange(config, ip)}; a host outside the LAN needs an address of its own`);
      else if (inLan && (n === lan.base || n === broadcastOf(lan)))
        problems.error('reserved-address', ipAt, `\`${m.where}.ip\` ${ip} is the LAN's ${n === lan.base ? 'network' : 'broadcast'} address`);
      else if (taken.has(n)) problems.error('already-allocated', ipAt, `\`${m.where}.ip\` ${ip} is already ${taken.get(n)}'s address`);
      else if (s.cluster.loadBalancerCIDR !== undefined && cidrContains(config.loadBalancerCIDR, ip))
        problems.error(
          'reserved-address',
          ipAt,
          `\`${m.where}.ip\` ${ip} is inside \`cluster.loadBalancerCIDR\` ${formatCidr(config.loadBalancerCIDR)}, which is kept for LoadBalancer addresses`,
        );
      else {
        taken.set(n, `${m.kind}/${name}`);
        goodIPs.add(`${m.where}`);
      }
    }
    if (m.kind === 'node' && 'extraAddresses' in m.spec)
      (m.spec.extraAddresses ?? []).forEach((ip, j) => {
        const n = ipToInt(ip);
        const at = originAt(m.origin, 'extraAddresses', j);
        const where = `\`${m.where}.extraAddresses[${j}]\``;
        if (taken.has(n)) problems.error('already-allocated', at, `${where} ${ip} is already ${taken.get(n)}'s address`);
        else if (cidrContains(lan, ip) && (n === lan.base || n === broadcastOf(lan)))
          problems.error('reserved-address', at, `${where} ${ip} is the LAN's ${n === lan.base ? 'network' : 'broadcast'} address`);
        else if (clusterRange(config, ip)) problems.error('reserved-address', at, `${where} ${ip} is inside ${clusterRange(config, ip)}`);
        else taken.set(n, `${m.kind}/${name}`);
      });
    if (m.kind === 'node' && 'flannelPublicIP' in m.spec && m.spec.flannelPublicIP !== undefined) {
      const ip = m.spec.flannelPublicIP;
      const at = originAt(m.origin, 'flannelPublicIP');
      if (clusterRange(config, ip)) problems.error('reserved-address', at, `\`${m.where}.flannelPublicIP\` ${ip} is inside ${clusterRange(config, ip)}`);
      else if (config.network !== 'flannel-vxlan')
        problems.warn('ignored-field', at, `\`${m.where}.flannelPublicIP\` is read by flannel's VXLAN backend only; \`cluster.network\` is ${config.network}`);
    }
    const seen = new Set<string>();
    (m.spec.serve ?? []).forEach((sv, i) => {
      const key = `${sv.port}/${sv.protocol ?? 'TCP'}`;
      if (seen.has(key)) problems.error('duplicate-port', originAt(m.origin, 'serve', i), `\`${m.where}.serve\` lists ${key} twice`);
      seen.add(key);
    });
  }
  const usable = (n: number): boolean => !taken.has(n) && n !== lan.base && n !== broadcastOf(lan) && !cidrContains(config.loadBalancerCIDR, n);
  const allocate = (start: number, step: 1 | -1, who: string): string | undefined => {
    const first = lan.base + 1;
    const last = broadcastOf(lan) - 1;
    let n = Math.min(Math.max(lan.base + start, first), last);
    // Walk from the preferred start in its direction, then the other way, so a small LAN still fits.
    for (const dir of [step, -step as 1 | -1]) {
      for (let x = n; x >= first && x <= last; x += dir) {
        if (usable(x)) {
          taken.set(x, who);
          return intToIp(x);
        }
      }
      n = Math.min(Math.max(lan.base + start, first), last);
    }
    return undefined;
  };

  const cni = cniOf(config.network);
  // Pod subnets: node i gets the i-th subnet of the CNI's size (flannel a /24, Calico a /26 IPAM block) of podCIDR unless an override took it.
  const subnetsTaken: Cidr[] = [];
  s.nodes.forEach((n, i) => {
    if (!n.spec.podCIDR) return;
    const c = cidrOf(n.spec.podCIDR);
    const at = originAt(n.origin, 'podCIDR');
    if (!(c.bits >= config.podCIDR.bits && cidrContains(config.podCIDR, c.base)))
      problems.error('outside-range', at, `\`nodes[${i}].podCIDR\` ${n.spec.podCIDR} is outside \`cluster.podCIDR\` ${formatCidr(config.podCIDR)}`);
    else if (c.bits > 30) problems.error('range-too-small', at, `\`nodes[${i}].podCIDR\` ${n.spec.podCIDR} is too small for pods; use a /30 or larger (a /24 is usual)`);
    else if (subnetsTaken.some((t) => cidrOverlaps(t, c))) problems.error('ranges-overlap', at, `\`nodes[${i}].podCIDR\` ${n.spec.podCIDR} overlaps another node's pod subnet`);
    subnetsTaken.push(c);
  });
  const subnetCount = cidrSize(config.podCIDR) / 2 ** (32 - cni.nodeSubnetBits);
  const nodes: Node[] = [];
  let nextSubnet = 0;
  for (const [i, n] of s.nodes.entries()) {
    let subnet: Cidr | undefined = n.spec.podCIDR ? cidrOf(n.spec.podCIDR) : undefined;
    if (!subnet) {
      for (let k = Math.max(i, nextSubnet); k < subnetCount; k++) {
        const cand = nthSubnet(config.podCIDR, cni.nodeSubnetBits, k);
        if (!subnetsTaken.some((t) => cidrOverlaps(t, cand))) {
          subnet = cand;
          nextSubnet = k + 1;
          break;
        }
      }
      if (!subnet) {
        problems.error(
          'no-free-address',
          originAt(n.origin, 'name'),
          `No /${cni.nodeSubnetBits} is left in \`cluster.podCIDR\` ${formatCidr(config.podCIDR)} for node ${n.spec.name}`,
        );
        continue;
      }
      subnetsTaken.push(subnet);
    }
    const ip = n.spec.ip !== undefined && goodIPs.has(`nodes[${i}]`) ? n.spec.ip : allocate(11, 1, `node/${n.spec.name}`);
    if (!ip) {
      problems.error('no-free-address', originAt(n.origin, 'name'), `No free address is left in \`cluster.lanCIDR\` ${formatCidr(lan)} for node ${n.spec.name}`);
      continue;
    }
    nodes.push({
      name: n.spec.name,
      index: i,
      ip,
      podCIDR: formatCidr(subnet),
      addresses: cni.nodeAddresses(subnet),
      labels: { 'kubernetes.io/arch': 'amd64', 'kubernetes.io/hostname': n.spec.name, 'kubernetes.io/os': 'linux', ...(n.spec.labels ?? {}) },
      serve: (n.spec.serve ?? []).map((p) => ({ port: p.port, protocol: p.protocol ?? 'TCP' })),
      ...(n.spec.extraAddresses?.length ? { extraAddresses: [...n.spec.extraAddresses] } : {}),
      ...(n.spec.flannelPublicIP !== undefined && config.network === 'flannel-vxlan' ? { flannelPublicIP: n.spec.flannelPublicIP } : {}),
      origin: n.origin,
    });
  }
  const hosts: Host[] = [];
  for (const [i, h] of s.hosts.entries()) {
    const ip = h.spec.ip !== undefined && goodIPs.has(`hosts[${i}]`) ? h.spec.ip : allocate(200, -1, `host/${h.spec.name}`);
    if (!ip) {
      problems.error('no-free-address', originAt(h.origin, 'name'), `No free address is left in \`cluster.lanCIDR\` ${formatCidr(lan)} for host ${h.spec.name}`);
      continue;
    }
    hosts.push({ name: h.spec.name, ip, serve: (h.spec.serve ?? []).map((p) => ({ port: p.port, protocol: p.protocol ?? 'TCP' })), routes: [], origin: h.origin });
  }
  // Routes after every address is known, since `via: node/NAME` may name any machine.
  const machines = new Map<string, string>([...nodes.map((n) => [`node/${n.name}`, n.ip] as const), ...hosts.map((h) => [`host/${h.name}`, h.ip] as const)]);
  s.hosts.forEach((h, i) => {
    const host = hosts.find((x) => x.name === h.spec.name);
    (h.spec.routes ?? []).forEach((r, j) => {
      const at = originAt(h.origin, 'routes', j, 'via');
      let via: string | undefined;
      if (/^\d/.test(r.via)) {
        via = r.via;
        if (!cidrContains(lan, via))
          problems.error('outside-range', at, `\`hosts[${i}].routes[${j}].via\` ${via} is not on the LAN ${formatCidr(lan)}, so it cannot be a next hop`);
      } else {
        via = machines.get(r.via);
        if (!via)
          problems.error('unknown-machine', at, `\`hosts[${i}].routes[${j}].via\` names \`${r.via}\`, which is not a node or host${suggestion(r.via, [...machines.keys()])}`);
      }
      if (via && host) host.routes.push({ to: r.to, via });
    });
  });
  void before;
  return { nodes, hosts };
}
