// The CNI portmap plugin (containernetworking/plugins, plugins/meta/portmap, iptables backend),
// chained after flannel's and Calico's CNI as their configurations do (capabilities portMappings):
// kubelet hands it every container port with a hostPort, and it writes, in the nat table,
//   PREROUTING, OUTPUT: -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT
//   CNI-HOSTPORT-DNAT:  per pod (newest first) -m multiport --dports P,Q -j CNI-DN-<hash>
//   CNI-DN-<hash>:      per port: hairpin mark, localhost mark, DNAT to podIP:containerPort
//   POSTROUTING (first): CNI-HOSTPORT-MASQ, which masquerades what CNI-HOSTPORT-SETMARK marked.
// and sets route_localnet on the host interface that routes to the pod (127.0.0.1:hostPort works).
import type { Model, Node, Pod } from '../cluster/types.js';
import type { NetworkKind } from '../cni/networks.js';
import { createHash } from 'node:crypto';
import { cniOf } from '../cni/index.js';
import { cidrOf } from '../util/ip.js';
import { CNI_BRIDGE } from './names.js';

const sha512Hex = (s: string): string => createHash('sha512').update(s).digest('hex');

export const TOP_LEVEL_DNAT_CHAIN = 'CNI-HOSTPORT-DNAT';
export const SET_MARK_CHAIN = 'CNI-HOSTPORT-SETMARK';
export const MARK_MASQ_CHAIN = 'CNI-HOSTPORT-MASQ';
/** portmap's DefaultMarkBit: Kubernetes uses bits 14 and 15, Calico 20 to 31. */
export const DEFAULT_MARK_BIT = 13;

/** One entry of the runtime config's portMappings (what kubelet's CRI passes, protocol lower-case). */
export interface PortMapEntry {
  hostPort: number;
  containerPort: number;
  protocol: string;
  hostIP?: string;
}

export interface PortMapConf {
  /** The CNI network's name (`cbr0` in kube-flannel.yml, `k8s-pod-network` in Calico's manifests). */
  name: string;
  containerID: string;
  portMappings: PortMapEntry[];
  /** snat (default true): mark hairpin and localhost traffic for masquerade. */
  snat?: boolean;
  conditionsV4?: string[];
  masqAll?: boolean;
}

/** A chain as portmap's chain struct has it: its rules, and the rules that jump to it from its entry chains. */
export interface PortMapChain {
  name: string;
  entryChains: string[];
  entryRules: string[][];
  rules: string[][];
}

const MAX_CHAIN_LENGTH = 28;

/** pkg/utils MustFormatChainNameWithPrefix: `CNI-` + prefix + hex(sha512(name + id)), 28 characters in all. */
export function formatChainName(name: string, id: string, prefix: string): string {
  const head = `CNI-${prefix}`;
  return head + sha512Hex(name + id).slice(0, MAX_CHAIN_LENGTH - head.length);
}

function trimComment(s: string): string {
  return s.length <= 255 ? s : `${s.slice(0, 253)}...`;
}

/** multiport takes at most 15 ports a rule. */
function splitPortList(ports: number[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < ports.length; i += 15) out.push(ports.slice(i, i + 15).join(','));
  return out;
}

/** genDnatChain + fillDnatRules for an IPv4 container address (`10.244.0.2/24`: the address with its prefix, as the CNI result has it). */
export function dnatChain(conf: PortMapConf, containerNet: string): PortMapChain {
  const snat = conf.snat ?? true;
  const containerIP = containerNet.split('/')[0]!;
  const comment = trimComment(`dnat name: "${conf.name}" id: "${conf.containerID}"`);
  const byProto = new Map<string, number[]>();
  for (const e of conf.portMappings) byProto.set(e.protocol, [...(byProto.get(e.protocol) ?? []), e.hostPort]);
  const entryRules: string[][] = [];
  for (const proto of [...byProto.keys()].sort()) {
    for (const ports of splitPortList(byProto.get(proto)!)) {
      entryRules.push(['-m', 'comment', '--comment', comment, '-m', 'multiport', '-p', proto, '--destination-ports', ports, ...(conf.conditionsV4 ?? [])]);
    }
  }
  const rules: string[][] = [];
  for (const e of conf.portMappings) {
    let dst = false;
    if (e.hostIP) {
      if (e.hostIP.includes(':')) continue; // another family than the container's address
      dst = e.hostIP !== '0.0.0.0';
    }
    const base = ['-p', e.protocol, '--dport', String(e.hostPort), ...(dst ? ['-d', e.hostIP!] : [])];
    if (snat) {
      rules.push([...base, '-s', conf.masqAll ? '0.0.0.0/0' : containerNet, '-j', SET_MARK_CHAIN]);
      if (!conf.masqAll) rules.push([...base, '-s', '127.0.0.1', '-j', SET_MARK_CHAIN]);
    }
    rules.push([...base, '-j', 'DNAT', '--to-destination', `${containerIP}:${e.containerPort}`]);
  }
  return { name: formatChainName(conf.name, conf.containerID, 'DN-'), entryChains: [TOP_LEVEL_DNAT_CHAIN], entryRules, rules };
}

export function topLevelDnatChain(): PortMapChain {
  return { name: TOP_LEVEL_DNAT_CHAIN, entryChains: ['PREROUTING', 'OUTPUT'], entryRules: [['-m', 'addrtype', '--dst-type', 'LOCAL']], rules: [] };
}

function markDef(bit: number): string {
  const v = `0x${(1 << bit).toString(16)}`;
  return `${v}/${v}`;
}

export function setMarkChain(bit = DEFAULT_MARK_BIT): PortMapChain {
  return {
    name: SET_MARK_CHAIN,
    entryChains: [],
    entryRules: [],
    rules: [['-m', 'comment', '--comment', 'CNI portfwd masquerade mark', '-j', 'MARK', '--set-xmark', markDef(bit)]],
  };
}

export function markMasqChain(bit = DEFAULT_MARK_BIT): PortMapChain {
  return {
    name: MARK_MASQ_CHAIN,
    entryChains: ['POSTROUTING'],
    entryRules: [['-m', 'comment', '--comment', 'CNI portfwd requiring masquerade']],
    rules: [['-m', 'mark', '--mark', markDef(bit), '-j', 'MASQUERADE']],
  };
}

// ---------------------------------------------------------------------------------------------
// The cluster's part: which pods get port mappings, and the node's rules as iptables-restore input

/** What portmap sees of each network's CNI: its configuration's name, the pod's address as its result gives it, the host interface routing to it. */
interface PortmapNetwork {
  name: string;
  containerNet(node: Node, pod: Pod): string;
  hostInterface(model: Model, pod: Pod): string;
}

const flannel: PortmapNetwork = {
  name: 'cbr0', // kube-flannel.yml's cni-conf.json
  // The bridge plugin's host-local IPAM answers with the node subnet's prefix.
  containerNet: (node, pod) => `${pod.ip}/${cidrOf(node.podCIDR).bits}`,
  hostInterface: () => CNI_BRIDGE,
};

const calico: PortmapNetwork = {
  name: 'k8s-pod-network', // calico.yaml's cni_network_config
  containerNet: (_node, pod) => `${pod.ip}/32`, // calico-ipam gives each pod a /32
  hostInterface: (model, pod) => cniOf(model).podVethName(pod), // its cali veth, routed to the pod's /32
};

const networks: Record<NetworkKind, PortmapNetwork> = {
  'flannel-vxlan': flannel,
  'host-gw': flannel,
  'calico-vxlan': calico,
  'calico-ipip': calico,
  'calico-bgp': calico,
};

/** The sandbox's container ID that the runtime passes to the CNI: a stable 64-hex-digit ID per pod here. */
export function podContainerID(pod: { namespace: string; name: string }): string {
  return sha512Hex(`sandbox ${pod.namespace}/${pod.name}`).slice(0, 64);
}

/** kubelet's port mappings of a pod: every container port with a hostPort (none for hostNetwork pods, which the CNI never sees). */
export function podPortMappings(pod: Pod): PortMapEntry[] {
  if (pod.hostNetwork || !pod.ip || pod.phase !== 'Running') return [];
  return pod.containers.flatMap((c) =>
    c.ports.flatMap((p) =>
      p.hostPort ? [{ hostPort: p.hostPort, containerPort: p.containerPort, protocol: p.protocol.toLowerCase(), ...(p.hostIP ? { hostIP: p.hostIP } : {}) }] : [],
    ),
  );
}

export interface NodePortMaps {
  /** The per-pod chains, newest pod first (as portmap prepends each to CNI-HOSTPORT-DNAT). */
  pods: { pod: Pod; chain: PortMapChain; hostInterface: string }[];
}

export function nodePortMaps(model: Model, nodeName: string): NodePortMaps {
  const node = model.nodes.find((n) => n.name === nodeName);
  if (!node) return { pods: [] };
  const net = networks[model.config.network];
  const pods = model.pods
    .filter((p) => p.node === nodeName)
    .flatMap((pod) => {
      const portMappings = podPortMappings(pod);
      if (!portMappings.length) return [];
      const chain = dnatChain({ name: net.name, containerID: podContainerID(pod), portMappings }, net.containerNet(node, pod));
      return [{ pod, chain, hostInterface: net.hostInterface(model, pod) }];
    })
    .reverse();
  return { pods };
}

/** A rule's words as iptables-restore reads them: a word with a space or quote quoted, its quotes escaped. */
function words(argv: readonly string[]): string {
  return argv.map((w) => (/[\s"]/.test(w) ? `"${w.replace(/"/g, '\\"')}"` : w)).join(' ');
}

/** The chains portmap made on a node earlier, from a restore text this module wrote. */
function declared(text: string): string[] {
  return [...text.matchAll(/^:(CNI-DN-\S+) /gm)].map((m) => m[1]!).filter((c) => !text.includes(`\n-X ${c}\n`));
}

/**
 * The node's portmap state as `iptables-restore --noflush` input for the nat table. The first
 * time, with the jumps from the builtin chains (CNI-HOSTPORT-DNAT appended to PREROUTING and
 * OUTPUT, CNI-HOSTPORT-MASQ prepended to POSTROUTING); each time, every portmap chain declared
 * (so flushed) and written again, and the per-pod chains of pods gone deleted. '' when the node has
 * never had, and has no, port mappings.
 */
export function portmapRestore(model: Model, nodeName: string, opts: { previous?: string } = {}): string {
  const { pods } = nodePortMaps(model, nodeName);
  const first = opts.previous === undefined;
  if (first && pods.length === 0) return '';
  const top = topLevelDnatChain();
  const mark = setMarkChain();
  const masq = markMasqChain();
  const chains = [top.name, mark.name, masq.name, ...pods.map((p) => p.chain.name)];
  const gone = opts.previous === undefined ? [] : declared(opts.previous).filter((c) => !chains.includes(c));
  // A gone chain is declared (so flushed) before its -X: its rules jump to CNI-HOSTPORT-SETMARK.
  const lines = ['*nat', ...[...chains, ...gone].map((c) => `:${c} - [0:0]`)];
  if (first) {
    for (const entry of top.entryChains) lines.push(`-A ${entry} ${words([...top.entryRules[0]!, '-j', top.name])}`);
    lines.push(`-I ${masq.entryChains[0]} 1 ${words([...masq.entryRules[0]!, '-j', masq.name])}`);
  }
  for (const r of mark.rules) lines.push(`-A ${mark.name} ${words(r)}`);
  for (const r of masq.rules) lines.push(`-A ${masq.name} ${words(r)}`);
  for (const { chain } of pods) for (const r of chain.entryRules) lines.push(`-A ${top.name} ${words([...r, '-j', chain.name])}`);
  for (const { chain } of pods) for (const r of chain.rules) lines.push(`-A ${chain.name} ${words(r)}`);
  for (const c of gone) lines.push(`-X ${c}`);
  lines.push('COMMIT', '');
  return lines.join('\n');
}

/** The host interfaces portmap sets route_localnet on (so 127.0.0.1:hostPort can be DNATed to a pod). */
export function portmapLocalnetInterfaces(model: Model, nodeName: string): string[] {
  return [...new Set(nodePortMaps(model, nodeName).pods.map((p) => p.hostInterface))];
}
