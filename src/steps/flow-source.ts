// Who sends a packet-flow case's packet: the pod, node or host that holds its `from` address, and how
// the packet is made to enter the node under test. Pure (the model in, a plan out).
import type { Resolved } from '../cluster/resolve.js';
import type { Model, Node } from '../cluster/types.js';
import { CNI_BRIDGE, LAN_BRIDGE, LAN_NETNS, machineNetns, podNetns } from '../dataplane/names.js';
import { broadcastOf, cidrContains, cidrOf, formatCidr, ipToInt } from '../util/ip.js';

/** Commands (argv, in a namespace or the sandbox's own) that make a synthesized source, and those that remove it. */
export interface MadeSource {
  create: { netns?: string; argv: string[] }[];
  remove: { netns?: string; argv: string[] }[];
}

/** Where a case's packet starts; `made`: a source no pod, node or host holds, made for the step and removed after. */
export type FlowSource =
  /** A pod on the node under test (or an address of its pod range): its packets enter the node through a veth. */
  | { kind: 'pod'; ip: string; netns: string; ref: string; made?: MadeSource }
  /** The node under test itself: its own packet (kube-proxy's LOCAL source). */
  | { kind: 'local'; ip: string; netns: string; ref: string }
  /**
   * Another node or a host: for the case the destination is routed through the node under test, in
   * `routeNetns`: the sender's own (on the LAN), or the LAN gateway's (a host outside the LAN).
   */
  | { kind: 'lan'; ip: string; netns: string; ref: string; routeNetns: string; made?: MadeSource };

/** The node under test: the one named, else the first. */
export function flowNode(model: Model, on: string | undefined): Node | undefined {
  return on === undefined ? model.nodes[0] : model.nodes.find((n) => n.name === on);
}

/** Every address a node holds: its LAN address and its CNI devices' ones. */
export function nodeAddresses(n: Node): string[] {
  return [n.ip, ...(n.extraAddresses ?? []), ...Object.values(n.addresses)];
}

const podRef = (p: { name: string; namespace: string }) => `pod/${p.namespace === 'default' ? p.name : `${p.name}.${p.namespace}`}`;

/** The holder of `ip` that sends a case's packet into `node`, or why there is none. */
export function flowSource(model: Model, ip: string, node: Node): Resolved<FlowSource> {
  if (nodeAddresses(node).includes(ip)) return { ok: true, value: { kind: 'local', ip, netns: machineNetns(node.name), ref: `node/${node.name}` } };
  const pod = model.pods.find((p) => p.ip === ip && !p.hostNetwork && p.phase === 'Running');
  if (pod) {
    if (pod.node !== node.name)
      return { ok: false, reason: `${podRef(pod)} holds ${ip} but runs on node/${pod.node}: its packets enter that node, not node/${node.name} under test` };
    return { ok: true, value: { kind: 'pod', ip, netns: podNetns(pod), ref: podRef(pod) } };
  }
  const other = model.nodes.find((n) => n.ip === ip || n.extraAddresses?.includes(ip));
  if (other) return { ok: true, value: { kind: 'lan', ip, netns: machineNetns(other.name), ref: `node/${other.name}`, routeNetns: machineNetns(other.name) } };
  const host = model.hosts.find((h) => h.ip === ip);
  if (host) {
    const netns = machineNetns(host.name);
    return { ok: true, value: { kind: 'lan', ip, netns, ref: `host/${host.name}`, routeNetns: cidrContains(model.config.lanCIDR, ip) ? netns : LAN_NETNS } };
  }
  return synthesized(model, ip, node);
}

/** The namespace of a synthesized source: named after its address (an interface name too, so 15 characters at most). */
export function madeNetns(ip: string): string {
  return `kf-${ip
    .split('.')
    .map((o) => Number(o).toString(16).padStart(2, '0'))
    .join('')}`;
}

/**
 * An address nobody holds: in a node's pod range, a source on that node's pod network (a veth into
 * its cni0 with that address, default route via cni0); anywhere else, a client on a port of the LAN
 * switch, in lanCIDR a LAN client, outside it behind the gateway (its address alone, routed back to it).
 */
function synthesized(model: Model, ip: string, node: Node): Resolved<FlowSource> {
  const { config } = model;
  const ns = madeNetns(ip);
  const ref = `address ${ip}`;
  const owner = model.nodes.find((n) => cidrContains(cidrOf(n.podCIDR), ip));
  if (owner) {
    const subnet = cidrOf(owner.podCIDR);
    if (owner.name !== node.name)
      return { ok: false, reason: `${ip} is in node/${owner.name}'s pod range ${owner.podCIDR}: its packets would enter that node, not node/${node.name} under test` };
    const n = ipToInt(ip);
    if (n === subnet.base || n === broadcastOf(subnet))
      return { ok: false, reason: `${ip} is the ${n === subnet.base ? 'network' : 'broadcast'} address of node/${owner.name}'s pod range ${owner.podCIDR}` };
    const bridge = owner.addresses.cni0;
    if (!bridge) return { ok: false, reason: `no pod holds ${ip}, and a source in node/${owner.name}'s pod range is made on cni0, which ${config.network} does not have` };
    const nodeNs = machineNetns(owner.name);
    return {
      ok: true,
      value: {
        kind: 'pod',
        ip,
        netns: ns,
        ref,
        made: {
          create: vethInto(ns, nodeNs, CNI_BRIDGE, config.mtu.pod, `${ip}/${subnet.bits}`, ['default', 'via', bridge]),
          remove: [{ argv: ['ip', 'netns', 'del', ns] }],
        },
      },
    };
  }
  for (const [range, what] of [
    [config.serviceCIDR, 'cluster.serviceCIDR'],
    [config.podCIDR, 'cluster.podCIDR'],
  ] as const)
    if (cidrContains(range, ip))
      return { ok: false, reason: `no pod, node or host holds ${ip}, and a source cannot be made inside \`${what}\` ${formatCidr(range)} outside any node's pod range` };
  const lan = config.lanCIDR;
  const inLan = cidrContains(lan, ip);
  const n = ipToInt(ip);
  if (inLan && (n === lan.base || n === broadcastOf(lan) || ip === config.gateway))
    return { ok: false, reason: `${ip} is the LAN's ${ip === config.gateway ? 'gateway' : n === lan.base ? 'network' : 'broadcast'} address` };
  return {
    ok: true,
    value: {
      kind: 'lan',
      ip,
      netns: ns,
      ref,
      routeNetns: inLan ? ns : LAN_NETNS,
      made: {
        create: [
          ...vethInto(ns, LAN_NETNS, LAN_BRIDGE, config.mtu.underlay, `${ip}/${inLan ? lan.bits : 32}`, [
            'default',
            'via',
            config.gateway,
            'dev',
            'eth0',
            ...(inLan ? [] : ['onlink']),
          ]),
          ...(inLan ? [] : [{ netns: LAN_NETNS, argv: ['ip', 'route', 'add', ip, 'dev', LAN_BRIDGE, 'scope', 'link'] }]),
        ],
        remove: [...(inLan ? [] : [{ netns: LAN_NETNS, argv: ['ip', 'route', 'del', ip, 'dev', LAN_BRIDGE] }]), { argv: ['ip', 'netns', 'del', ns] }],
      },
    },
  };
}

/** A made namespace on a bridge: a veth (at the MTU of the bridge's other ports) from the bridge's namespace, its eth0 with the address, lo up, the route given. */
function vethInto(ns: string, bridgeNs: string, bridge: string, mtu: number, address: string, route: string[]): { netns?: string; argv: string[] }[] {
  const m = String(mtu);
  return [
    { argv: ['ip', 'netns', 'add', ns] },
    { netns: bridgeNs, argv: ['ip', 'link', 'add', ns, 'mtu', m, 'type', 'veth', 'peer', 'name', 'eth0', 'mtu', m, 'netns', ns] },
    { netns: bridgeNs, argv: ['ip', 'link', 'set', ns, 'master', bridge, 'up'] },
    { netns: ns, argv: ['ip', 'link', 'set', 'lo', 'up'] },
    { netns: ns, argv: ['ip', 'addr', 'add', address, 'dev', 'eth0'] },
    { netns: ns, argv: ['ip', 'link', 'set', 'eth0', 'up'] },
    { netns: ns, argv: ['ip', 'route', 'add', ...route] },
  ];
}
