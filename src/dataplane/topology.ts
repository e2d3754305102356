// The topology of a model as desired kernel state, per namespace: the LAN, its machines, each node's
// CNI state (src/cni/: flannel's bridge and VXLAN device, Calico's routed veths and tunnels), each
// pod. Pure and deterministic; kernel/ applies it.
//
// How to apply a TopologyPlan (kernel/ relies on this order):
// 1. `ip -batch -` (in the sandbox's root namespace) with netnsAddLines(plan.namespaces), and write
//    every namespace's etc files to /etc/netns/NAME/ (`ip netns exec` bind-mounts them over /etc).
// 2. Then stages in order; the namespaces of one stage in any order or in parallel. In each: the
//    sysctls, then its ip lines as `ip -n NAME -batch -` runs them, then its bridge lines as
//    `bridge -n NAME -batch -` does (kernel/ may send the same netlink requests itself), then
//    `ip netns exec NAME ipset restore` with its ipset text if any (its rules match the sets), then
//    `ip netns exec NAME iptables-restore` with its iptables text (whole nat and filter tables:
//    any kube-proxy rules come after it, restored with --noflush).
// A veth is made by the namespace that holds its first end, with `peer ... netns FAR`: the LAN makes
// every machine's eth0 (stage 1), a node each of its pods' eth0 (stage 2), and the far namespace
// configures that eth0 in the next stage; it needs only that namespace's lines done before it.
import type { Host, Model, Node, Pod } from '../cluster/types.js';
import type { NamespacePlan, TopologyPlan } from './types.js';
import { cniOf } from '../cni/index.js';
import { IFNAME_MAX, LAN_BRIDGE, LAN_NETNS, macAddress, machineNetns, podNetns, podOwner } from './names.js';
import { KnetlabError } from '../errors.js';
import { cidrContains } from '../util/ip.js';

// Linux refuses a netns file name longer than NAME_MAX.
const NETNS_NAME_MAX = 255;

function plan(name: string, kind: NamespacePlan['kind']): NamespacePlan {
  return { name, kind, ip: [], bridge: [], sysctls: {}, iptables: '', etc: {} };
}

/** Pods that have a namespace of their own: placed, with an address, not hostNetwork. */
export function podsWithNetns(model: Model): Pod[] {
  return model.pods.filter(hasOwnNetns);
}

function hasOwnNetns(pod: Pod): boolean {
  return !pod.hostNetwork && pod.node !== undefined && pod.ip !== undefined;
}

function nodeOf(model: Model, pod: Pod): Node {
  if (!hasOwnNetns(pod)) {
    const why = pod.hostNetwork ? "is hostNetwork and lives in its node's namespace" : 'is not placed on a node (Pending)';
    throw new KnetlabError('EINTERNAL', `pod ${podOwner(pod)} ${why}: it has no namespace of its own`);
  }
  const node = model.nodes.find((n) => n.name === pod.node);
  if (!node) throw new KnetlabError('EINTERNAL', `pod ${podOwner(pod)} is on node ${pod.node}, which the model does not have`);
  return node;
}

/** `netns add` lines for `ip -batch -`, run in the sandbox's root namespace before any stage. */
export function netnsAddLines(names: string[]): string[] {
  return names.map((n) => `netns add ${n}`);
}

/** Bring up a machine's eth0 (made by the LAN stage) with its address and a default route to the LAN's gateway. */
function machineEth0(model: Model, name: string, ip: string): string[] {
  const { lanCIDR, gateway } = model.config;
  return [
    'link set dev lo up',
    `link set dev eth0 address ${macAddress('eth0', name)}`,
    `addr add ${ip}/${lanCIDR.bits} dev eth0`,
    'link set dev eth0 up',
    `route add default via ${gateway} dev eth0`,
  ];
}

/** A host outside the LAN: its address alone on eth0 and everything via the LAN's gateway, as a client beyond the router. */
function outsideEth0(model: Model, name: string, ip: string): string[] {
  const { gateway } = model.config;
  return [
    'link set dev lo up',
    `link set dev eth0 address ${macAddress('eth0', name)}`,
    `addr add ${ip}/32 dev eth0`,
    'link set dev eth0 up',
    `route add default via ${gateway} dev eth0 onlink`,
  ];
}

// Nodes and hosts use no resolver: an empty list would make glibc ask 127.0.0.1, which stays inside
// the sandbox; the host's own resolvers are never reached.
const NO_NAMESERVER = "# knetlab: no nameserver on nodes and hosts (cluster DNS serves pods); nothing here asks the host's resolvers\n";

/** A machine's port on the LAN bridge: a veth whose far end is the machine's eth0. */
function lanPortLines(machine: string, mtu: number): string[] {
  const port = machineNetns(machine);
  return [
    `link add ${port} address ${macAddress('lan-port', machine)} mtu ${mtu} type veth peer name eth0 mtu ${mtu} netns ${port}`,
    `link set dev ${port} master ${LAN_BRIDGE}`,
    `link set dev ${port} up`,
  ];
}

/** What a node or host of the LAN has: the LAN gateway's resolver with `cluster.upstreamDNS`, else none. */
export function machineResolvConf(model: Model): string {
  const up = model.config.upstreamDNS;
  return up ? `# knetlab: cluster.upstreamDNS, served by the LAN gateway\nnameserver ${up.server}\n` : NO_NAMESERVER;
}

/** Stage 1: the LAN switch with the gateway's address, and a port for every machine. */
export function renderLan(model: Model): NamespacePlan {
  const p = plan(LAN_NETNS, 'lan');
  const { lanCIDR, gateway } = model.config;
  // The underlay's MTU on the switch and both ends of every machine's cable (cluster.mtu).
  const mtu = model.config.mtu.underlay;
  p.ip.push(
    'link set dev lo up',
    `link add ${LAN_BRIDGE} address ${macAddress('br-lan', LAN_NETNS)} mtu ${mtu} type bridge`,
    `addr add ${gateway}/${lanCIDR.bits} dev ${LAN_BRIDGE}`,
    `link set dev ${LAN_BRIDGE} up`,
  );
  for (const m of [...model.nodes, ...model.hosts]) p.ip.push(...lanPortLines(m.name, mtu));
  // Addresses outside the LAN: a host's sits on its port (reached only through the gateway), a node's extra one is routed to the node.
  for (const h of model.hosts) if (!cidrContains(lanCIDR, h.ip)) p.ip.push(`route add ${h.ip} dev ${LAN_BRIDGE} scope link`);
  for (const n of model.nodes) for (const ip of n.extraAddresses ?? []) if (!cidrContains(lanCIDR, ip)) p.ip.push(`route add ${ip} via ${n.ip} dev ${LAN_BRIDGE}`);
  // The gateway routes: the LAN's router (and, through hosts' routes, toward external IPs).
  p.sysctls['net.ipv4.ip_forward'] = '1';
  return p;
}

/** Stage 2, a node: its LAN address, its CNI's devices, peers and rules, its pods' veths, its sysctls. */
export function renderNode(model: Model, node: Node): NamespacePlan {
  const p = plan(machineNetns(node.name), 'node');
  p.ip.push(...machineEth0(model, node.name, node.ip));
  for (const ip of node.extraAddresses ?? []) p.ip.push(`addr add ${ip}/32 dev eth0`);
  const cni = cniOf(model).renderNode(model, node);
  p.ip.push(...cni.ip);
  p.bridge.push(...cni.bridge);
  for (const pod of model.pods) if (hasOwnNetns(pod) && pod.node === node.name) p.ip.push(...renderPodVeth(model, pod));
  p.sysctls['net.ipv4.ip_forward'] = '1';
  // kubeadm's preflight requires these (br_netfilter): bridged pod-to-pod traffic must see kube-proxy's DNAT.
  p.sysctls['net.bridge.bridge-nf-call-iptables'] = '1';
  p.sysctls['net.bridge.bridge-nf-call-ip6tables'] = '1';
  // Loose, as systemd's 50-default.conf leaves Ubuntu/Debian nodes; `all` wins by max, so a strict host value cannot leak in.
  p.sysctls['net.ipv4.conf.all.rp_filter'] = '2';
  Object.assign(p.sysctls, cni.sysctls);
  if (cni.ipset) p.ipset = cni.ipset;
  if (cni.fallbackDevices) p.fallbackDevices = cni.fallbackDevices;
  p.iptables = cni.iptables;
  p.etc['resolv.conf'] = machineResolvConf(model);
  return p;
}

/** Stage 2, a host outside the cluster: its LAN address, default route and extra routes. */
export function renderHost(model: Model, host: Host): NamespacePlan {
  const p = plan(machineNetns(host.name), 'host');
  p.ip.push(...(cidrContains(model.config.lanCIDR, host.ip) ? machineEth0(model, host.name, host.ip) : outsideEth0(model, host.name, host.ip)));
  for (const r of host.routes) p.ip.push(`route add ${r.to} via ${r.via} dev eth0`);
  p.etc['resolv.conf'] = machineResolvConf(model);
  return p;
}

/**
 * The node-side lines of one pod, run in its node's namespace once the pod's namespace exists: the
 * veth whose far end is the pod's eth0, and what its CNI adds (flannel: on cni0, hairpin on;
 * Calico: a cali veth and its /32 route).
 */
export function renderPodVeth(model: Model, pod: Pod): string[] {
  return cniOf(model).podHostLines(model, nodeOf(model, pod), pod);
}

/**
 * Stage 3, one pod: its eth0 with the address and routes its CNI gives it (flannel: the node
 * subnet's prefix, routes via cni0's .1; Calico: a /32, the default via 169.254.1.1), and its resolv.conf.
 */
export function renderPodNamespace(model: Model, pod: Pod): NamespacePlan {
  const node = nodeOf(model, pod);
  const p = plan(podNetns(pod), 'pod');
  p.ip.push('link set dev lo up', `link set dev eth0 address ${macAddress('eth0', podOwner(pod))}`, ...cniOf(model).podLines(model, node, pod));
  p.etc['resolv.conf'] = podResolvConf(model, pod);
  return p;
}

/** What kubelet writes: dnsPolicy ClusterFirst, except for CoreDNS, which kubeadm gives dnsPolicy Default (its node's file). */
export function podResolvConf(model: Model, pod: Pod): string {
  const { dns, dnsIP, clusterDomain: d } = model.config;
  if (pod.workload === 'dns')
    return model.config.upstreamDNS
      ? `# knetlab: dnsPolicy Default, as kubeadm's CoreDNS has: its node's resolv.conf\nnameserver ${model.config.upstreamDNS.server}\n`
      : "# knetlab: dnsPolicy Default, as kubeadm's CoreDNS has: its node's resolv.conf, with no nameserver\n";
  if (!dns) return '# knetlab: cluster DNS is off (cluster.dns: false), so pods have no nameserver\n';
  return `nameserver ${dnsIP}\nsearch ${pod.namespace}.svc.${d} svc.${d} ${d}\noptions ndots:5\n`;
}

/**
 * Adding pods to a built topology, as a plan of its own: their namespaces, then each of their
 * nodes' part (the pods' veths, the lines renderNode gives them), then the pods' own namespaces.
 */
export function renderPods(model: Model, pods: readonly Pod[]): TopologyPlan {
  const nodes: NamespacePlan[] = [];
  for (const node of model.nodes) {
    const mine = pods.filter((p) => p.node === node.name);
    if (!mine.length) continue;
    const p = plan(machineNetns(node.name), 'node');
    for (const pod of mine) p.ip.push(...renderPodVeth(model, pod));
    nodes.push(p);
  }
  const own = pods.map((p) => renderPodNamespace(model, p));
  return { namespaces: own.map((p) => p.name), stages: [nodes, own] };
}

export interface PodRemoval {
  /** The node whose namespace runs `ip`. */
  node: string;
  /** ip lines for the node, first: deleting one end deletes the pair at once. */
  ip: string[];
  /** The pod's namespace, to delete then (with its /etc/netns/NAME folder). */
  netns: string;
  /** `ip -batch -` lines for the sandbox's root namespace, after the node's lines. */
  netnsLines: string[];
}

/**
 * Removing a pod. The veth goes first, explicitly: `netns del` only unmounts the name, and a socket
 * still open in the namespace (a workload's) would keep it, and so the pod's bridge port, alive.
 */
export function removePod(model: Model, pod: Pod): PodRemoval {
  const node = nodeOf(model, pod);
  const netns = podNetns(pod);
  return { node: machineNetns(node.name), ip: [`link del dev ${cniOf(model).podVethName(pod)}`], netns, netnsLines: [`netns del ${netns}`] };
}

/** Names the kernel would refuse or confuse, caught here rather than as a failed batch line. */
function checkNames(model: Model, pods: Pod[]): void {
  const problems: string[] = [];
  const netns = new Map<string, string>([[LAN_NETNS, 'the LAN']]);
  const claim = (name: string, who: string) => {
    const prior = netns.get(name);
    if (prior) problems.push(`namespace name ${name} is both ${prior}'s and ${who}'s`);
    else netns.set(name, who);
    if (name.length > NETNS_NAME_MAX) problems.push(`namespace name of ${who} is ${name.length} characters; Linux allows ${NETNS_NAME_MAX}`);
  };
  for (const m of [...model.nodes, ...model.hosts]) {
    claim(machineNetns(m.name), `machine ${m.name}`);
    if (m.name.length > IFNAME_MAX) problems.push(`machine ${m.name} names its LAN port, which Linux limits to ${IFNAME_MAX} characters`);
  }
  const veths = new Map<string, string>();
  for (const pod of pods) {
    claim(podNetns(pod), `pod ${podOwner(pod)}`);
    const veth = cniOf(model).podVethName(pod);
    const key = `${pod.node} ${veth}`;
    const prior = veths.get(key);
    if (prior) problems.push(`pods ${prior} and ${podOwner(pod)} on node ${pod.node} hash to the same veth name ${veth}`);
    else veths.set(key, podOwner(pod));
  }
  if (problems.length) throw new KnetlabError('EINTERNAL', `cannot render the topology:\n${problems.map((p) => `  ${p}`).join('\n')}`);
}

/** The whole topology of a model: namespaces, then the LAN, then nodes and hosts, then pods. */
export function renderTopology(model: Model): TopologyPlan {
  const pods = podsWithNetns(model);
  checkNames(model, pods);
  return {
    namespaces: [LAN_NETNS, ...model.nodes.map((n) => machineNetns(n.name)), ...model.hosts.map((h) => machineNetns(h.name)), ...pods.map(podNetns)],
    stages: [[renderLan(model)], [...model.nodes.map((n) => renderNode(model, n)), ...model.hosts.map((h) => renderHost(model, h))], pods.map((p) => renderPodNamespace(model, p))],
  };
}

/** A readable dump of a plan, for golden files, `--debug` output and diagnostics bundles. */
export function formatTopology(plan: TopologyPlan): string {
  const out: string[] = [`namespaces (${plan.namespaces.length}), created first:`, ...plan.namespaces.map((n) => `  ${n}`)];
  plan.stages.forEach((stage, i) => {
    out.push('', `== stage ${i + 1} (${stage.length} namespace${stage.length === 1 ? '' : 's'})`);
    for (const ns of stage) {
      out.push('', `--- ${ns.name} (${ns.kind})`);
      const sysctls = Object.entries(ns.sysctls);
      if (sysctls.length) out.push('sysctls:', ...sysctls.map(([k, v]) => `  ${k} = ${v}`));
      if (ns.fallbackDevices?.length) out.push('made first where the kernel has not:', ...ns.fallbackDevices.map((d) => `  ${d.name} (type ${d.kind})`));
      if (ns.ip.length) out.push('ip:', ...ns.ip.map((l) => `  ${l}`));
      if (ns.bridge.length) out.push('bridge:', ...ns.bridge.map((l) => `  ${l}`));
      if (ns.ipset)
        out.push(
          'ipset restore:',
          ...ns.ipset
            .replace(/\n$/, '')
            .split('\n')
            .map((l) => `  ${l}`),
        );
      if (ns.iptables)
        out.push(
          'iptables-restore:',
          ...ns.iptables
            .replace(/\n$/, '')
            .split('\n')
            .map((l) => `  ${l}`),
        );
      for (const [file, text] of Object.entries(ns.etc))
        out.push(
          `etc/${file}:`,
          ...text
            .replace(/\n$/, '')
            .split('\n')
            .map((l) => `  ${l}`),
        );
    }
  });
  return `${out.join('\n')}\n`;
}

/** What a node's reboot takes away: its LAN port (and so its eth0), its pods' veths and namespaces, its own namespace. */
export interface NodeShutdown {
  /** `ip -n LAN -batch -` lines: the node's port, whose far end is its eth0. */
  lan: string[];
  /** Pod removals, as removePods takes them. */
  pods: PodRemoval[];
  /** The node's namespace, deleted last (with its /etc/netns/NAME folder). */
  netns: string;
}

/** The pods that live on a node: in their own namespaces, or in the node's (hostNetwork). */
export function podsOnNode(model: Model, nodeName: string): Pod[] {
  return model.pods.filter((p) => p.node === nodeName && p.ip !== undefined);
}

/**
 * A node going down as in a reboot. Devices go first, explicitly: a socket still open in a
 * namespace (a workload's, a connection in flight) keeps it alive after its name is gone.
 */
export function nodeShutdown(model: Model, nodeName: string): NodeShutdown {
  const pods = podsOnNode(model, nodeName).filter(hasOwnNetns);
  return { lan: [`link del dev ${machineNetns(nodeName)}`], pods: pods.map((p) => removePod(model, p)), netns: machineNetns(nodeName) };
}

/**
 * A node coming back up after a reboot, as a plan of its own: its port on the LAN, then the node as
 * renderNode makes it (its CNI's devices, peers and rules, its pods' veths), then its pods. The
 * other machines keep what they had: their routes and flannel's fdb and neighbour entries name
 * this node's address and flannel.1's MAC, both the same after the reboot.
 */
export function renderNodeBoot(model: Model, nodeName: string): TopologyPlan {
  const node = model.nodes.find((n) => n.name === nodeName);
  if (!node) throw new KnetlabError('EINTERNAL', `node ${nodeName} is not in the model`);
  const pods = podsOnNode(model, nodeName).filter(hasOwnNetns);
  const lan = plan(LAN_NETNS, 'lan');
  lan.ip.push(...lanPortLines(nodeName, model.config.mtu.underlay));
  return {
    namespaces: [machineNetns(nodeName), ...pods.map(podNetns)],
    stages: [[lan], [renderNode(model, node)], pods.map((p) => renderPodNamespace(model, p))],
  };
}
