// NetworkPolicy enforcement on one node, rendered as the `iptables-restore --noflush` input a
// policy-enforcing CNI would write beside flannel (Canal's felix, kube-router): pure text. With
// Calico the same chains hook in by its routed cali interfaces (`-i`/`-o`), not bridge ports
// (simplified: felix's cali-FORWARD, cali-from/to-wl-dispatch and cali-fw-/cali-tw- chains are
// here KNP-FORWARD dispatching by interface to KNP-FROM-/KNP-TO-IFACE, which RETURN, not ACCEPT).
//
// Shape (filter table only, knetlab's own chains only, so that flannel's FLANNEL-FWD and
// kube-proxy's KUBE-* chains stay as they are):
//   FORWARD -> KNP-FORWARD, INPUT -> KNP-INPUT, OUTPUT -> KNP-OUTPUT   (networkPolicyJumps, rule 1)
//   KNP-FROM-<veth>  a pod's egress: what the pod may open      (like felix's cali-fw-<iface>)
//   KNP-TO-<veth>    a pod's ingress: what may open to the pod  (like felix's cali-tw-<iface>)
// A pod gets a chain for a direction only when some policy selects it for that direction (a pod
// no policy selects is open, as Kubernetes says). Each pod chain RETURNs what a policy allows and
// DROPs the rest: it never ACCEPTs, so a connection between two policed pods passes the source's
// egress chain and then the destination's ingress chain, and what is allowed goes on to the
// other FORWARD rules (kube-proxy's, flannel's) as if no policy existed.
//
// Where a pod's packets can be seen, and so the hooks (br_netfilter, bridge-nf-call-iptables=1, as
// on every node, makes bridged IPv4 traffic traverse iptables' FORWARD with its bridge ports known):
//   into a pod:  bridged through cni0 (a pod of the same node, directly or through a Service: the
//                bridge keeps a DNATed packet bridged when its new destination is on the same bridge)
//                -> FORWARD, --physdev-out VETH --physdev-is-bridged;
//                routed into cni0 (another node's pods and processes through flannel.1, or eth0
//                with host-gw; a LAN client's NodePort connection) -> FORWARD, -d POD_IP, not bridged;
//                from the node's own processes -> OUTPUT, -d POD_IP (never FORWARD).
//   out of a pod: everything enters the node through the pod's bridge port, and br_netfilter
//                remembers that port even when the packet is then routed (to another node, the
//                LAN): FORWARD --physdev-in VETH covers both; to the node itself -> INPUT, same match.
// Each path is exercised on a real kernel by test/dataplane/network-policy.test.ts. It needs
// xt_physdev (present wherever br_netfilter is; kube-router and Calico on a bridge need it too);
// without it the bridged hooks could only match by address, as kube-router's do.
// kube-proxy has already DNATed Service traffic in PREROUTING (or OUTPUT) before the filter
// table sees it, so policies see the endpoint pod's IP and port, as in a real cluster; masquerade
// happens after, in POSTROUTING, so they see the client's address, not the node's.
//
// Peers are resolved to the current addresses of the pods they select, one rule per address
// (no ipset): the whole state is this one text, applied atomically by one iptables-restore, and
// the golden files show every address. Felix and kube-router use ipsets to scale to thousands of
// pods; a knetlab cluster has tens. An ipBlock `except` is subtracted here: the block becomes the
// few CIDRs that cover it without the exceptions.
import type { Model, Pod } from '../cluster/types.js';
import {
  activeNetworkPolicies,
  describeIpBlock,
  hasPodNetwork,
  ipv4Block,
  namedPort,
  namespaceLabels,
  podsOfPeer,
  policySelects,
  subtractCidrs,
  type NetworkPolicy,
  type PolicyPort,
  type PolicyRule,
} from '../scenario/network-policy.js';
import type { Labels } from '../scenario/objects.js';
import { cidrContains, formatCidr, ipToInt, type Cidr } from '../util/ip.js';
import { declaredChains, type KubeProxyJump } from './iptables.js';
import { cniOf } from '../cni/index.js';
import { podVethName } from './names.js';
import { KnetlabError } from '../errors.js';

export const KNP_FORWARD = 'KNP-FORWARD';
export const KNP_INPUT = 'KNP-INPUT';
export const KNP_OUTPUT = 'KNP-OUTPUT';
const POD_CHAIN = /^KNP-(TO|FROM)-/;

/** A pod's ingress chain: `KNP-TO-` + its host-side veth (flannel's unless its CNI's is given). */
export function ingressChainName(pod: { namespace: string; name: string }, veth = podVethName(pod)): string {
  return `KNP-TO-${veth}`;
}

/** A pod's egress chain: `KNP-FROM-` + its host-side veth (flannel's unless its CNI's is given). */
export function egressChainName(pod: { namespace: string; name: string }, veth = podVethName(pod)): string {
  return `KNP-FROM-${veth}`;
}

export interface NetworkPolicyOptions {
  /**
   * Connections the node itself opens to its own pods. 'allow' (the default): always allowed, as
   * Kubernetes documents ("pods cannot block access from their resident node": kubelet's probes)
   * and kube-router and Calico do. 'policy': they are judged like any other source (the node's
   * addresses must then be allowed by an ipBlock).
   */
  nodeTraffic?: 'allow' | 'policy';
  /**
   * Chains now in the filter table (`declaredChains(previousText, 'filter')`): pod chains among
   * them that this render does not declare are flushed and deleted (`-X`), as kube-proxy does.
   */
  existingChains?: Iterable<string>;
}

type Direction = 'ingress' | 'egress';

/** An address a rule matches (undefined: any), with what it stands for. */
interface AddrMatch {
  addr?: string;
  pod?: Pod;
  what: string;
}

const q = (s: string) => `"${s.length > 250 ? `${s.slice(0, 247)}...` : s}"`;
const byKey = (a: Pod, b: Pod) => (a.namespace < b.namespace ? -1 : a.namespace > b.namespace ? 1 : a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
const podRef = (p: Pod) => `${p.namespace}/${p.name}`;

/** A rule as iptables-save prints it back (addresses, protocol, then matches in order, comment, target). */
function rule(chain: string, r: { src?: string; dst?: string; proto?: string; dport?: string; matches?: string[]; comment: string; target: string }): string {
  const out = ['-A', chain];
  // iptables-save leaves out a match of everything (0.0.0.0/0): so does this, to read the same.
  if (r.src && r.src !== '0.0.0.0/0') out.push('-s', r.src);
  if (r.dst && r.dst !== '0.0.0.0/0') out.push('-d', r.dst);
  if (r.proto) out.push('-p', r.proto);
  if (r.proto && r.dport) out.push('-m', r.proto, '--dport', r.dport);
  out.push(...(r.matches ?? []), '-m comment --comment', q(r.comment), '-j', r.target);
  return out.join(' ');
}

/** The addresses one rule's peers stand for, now. */
function peerMatches(model: Model, policy: NetworkPolicy, r: PolicyRule, dir: Direction, namespaces: Map<string, Labels>): AddrMatch[] {
  if (r.peers.length === 0) return [{ what: dir === 'ingress' ? 'from anywhere' : 'to anywhere' }];
  const word = dir === 'ingress' ? 'from' : 'to';
  const out: AddrMatch[] = [];
  for (const peer of r.peers) {
    if (peer.kind === 'selector') {
      for (const pod of podsOfPeer(model, policy, peer, namespaces).filter(hasPodNetwork).sort(byKey)) out.push({ addr: `${pod.ip}/32`, pod, what: `${word} ${podRef(pod)}` });
      continue;
    }
    const block = ipv4Block(peer.cidr);
    if (!block) continue; // an IPv6 block matches nothing in an IPv4 cluster (validation warns)
    const except = peer.except.map(ipv4Block).filter((c): c is Cidr => c !== undefined);
    for (const c of subtractCidrs(block, except)) out.push({ addr: formatCidr(c), what: `${word} ${describeIpBlock(peer)}` });
  }
  return out;
}

/**
 * The rules of one pod's chain for one direction: for every policy that selects it (in apply
 * order), every rule, every peer address and every port, a RETURN; then the DROP.
 */
function podChainRules(model: Model, pod: Pod, dir: Direction, policies: NetworkPolicy[], namespaces: Map<string, Labels>, opts: NetworkPolicyOptions): string[] {
  const veth = cniOf(model).podVethName(pod);
  const chain = dir === 'ingress' ? ingressChainName(pod, veth) : egressChainName(pod, veth);
  const lines: string[] = [];
  const seen = new Set<string>();
  const emit = (label: string, m: AddrMatch, proto: string | undefined, dport: string | undefined, extra = '') => {
    const key = `${m.addr ?? '*'} ${proto ?? '*'} ${dport ?? '*'}`;
    if (seen.has(key)) return; // an earlier rule allows the same already
    seen.add(key);
    const addr = dir === 'ingress' ? { src: m.addr } : { dst: m.addr };
    lines.push(rule(chain, { ...addr, proto, dport, comment: `${label}: ${m.what}${extra}`, target: 'RETURN' }));
  };
  if (dir === 'ingress' && (opts.nodeTraffic ?? 'allow') === 'allow') {
    // Only the node's own processes (OUTPUT) have a local source address.
    lines.push(rule(chain, { matches: ['-m addrtype --src-type LOCAL'], comment: `${podRef(pod)}: its own node may always connect (kubelet probes)`, target: 'RETURN' }));
  }
  const allPods = model.pods.filter(hasPodNetwork).sort(byKey);
  for (const policy of policies) {
    policy[dir].forEach((r, i) => {
      const label = `${policy.namespace}/${policy.name} ${dir}[${i}]`;
      const ports: (PolicyPort | undefined)[] = r.ports.length ? r.ports : [undefined];
      for (const m of peerMatches(model, policy, r, dir, namespaces)) {
        for (const port of ports) {
          if (!port) {
            emit(label, m, undefined, undefined);
            continue;
          }
          const proto = port.protocol.toLowerCase();
          if (port.port === undefined) emit(label, m, proto, undefined);
          else if (typeof port.port === 'number') emit(label, m, proto, port.endPort ? `${port.port}:${port.endPort}` : String(port.port));
          else {
            const name = port.port;
            // A named port is the destination pod's container port of that name and protocol:
            // this pod for ingress; for egress each peer pod, or every pod inside an ipBlock or anywhere.
            if (dir === 'ingress') {
              const n = namedPort(pod, name, port.protocol);
              if (n !== undefined) emit(label, m, proto, String(n), ` port ${name}`);
            } else if (m.pod) {
              const n = namedPort(m.pod, name, port.protocol);
              if (n !== undefined) emit(label, m, proto, String(n), ` port ${name}`);
            } else {
              const inside = m.addr ? parseAddr(m.addr) : undefined;
              for (const dest of allPods) {
                const n = namedPort(dest, name, port.protocol);
                if (n === undefined || (inside && !cidrContains(inside, dest.ip!))) continue;
                emit(label, { addr: `${dest.ip}/32`, pod: dest, what: `${m.what}: ${podRef(dest)}` }, proto, String(n), ` port ${name}`);
              }
            }
          }
        }
      }
    });
  }
  const names = policies.map((p) => `${p.namespace}/${p.name}`).join(', ');
  lines.push(rule(chain, { comment: `${podRef(pod)}: ${dir} not allowed by ${names}`, target: 'DROP' }));
  return lines;
}

function parseAddr(addr: string): Cidr {
  const [ip, bits] = addr.split('/') as [string, string];
  return { base: ipToInt(ip), bits: Number(bits) };
}

/**
 * The `iptables-restore --noflush` input that enforces every NetworkPolicy on the pods of
 * `nodeName`: the `*filter` table with knetlab's policy chains only.
 */
export function renderNetworkPolicyIptables(model: Model, nodeName: string, options: NetworkPolicyOptions = {}): string {
  if (!model.nodes.some((n) => n.name === nodeName)) throw new KnetlabError('EINTERNAL', `Expected \`nodeName\` to be a node of the model, got \`${nodeName}\``);
  const policies = activeNetworkPolicies(model);
  const namespaces = namespaceLabels(model);
  const local = model.pods.filter((p) => p.node === nodeName && hasPodNetwork(p)).sort(byKey);

  const chains: string[] = [KNP_FORWARD, KNP_INPUT, KNP_OUTPUT];
  const hooks = { [KNP_FORWARD]: [] as string[], [KNP_INPUT]: [] as string[], [KNP_OUTPUT]: [] as string[] };
  const podRules: string[] = [];

  const cni = cniOf(model);
  for (const pod of local) {
    const veth = cni.podVethName(pod);
    const hook = cni.policyHooks(pod);
    const ref = podRef(pod);
    const egress = policies.filter((p) => p.policyTypes.includes('Egress') && policySelects(p, pod));
    const ingress = policies.filter((p) => p.policyTypes.includes('Ingress') && policySelects(p, pod));
    if (egress.length) {
      const chain = egressChainName(pod, veth);
      chains.push(chain);
      // Out of the pod, forwarded: (flannel) bridged to a pod of this node, or routed off the bridge to
      // another node or the LAN; br_netfilter knows the bridge port it came in by either way.
      hooks[KNP_FORWARD].push(rule(KNP_FORWARD, { matches: hook.egressForward, comment: `${ref} egress`, target: chain }));
      // Out of the pod to the node itself (its addresses, a hostNetwork pod, a node's server).
      hooks[KNP_INPUT].push(rule(KNP_INPUT, { matches: hook.egressInput, comment: `${ref} egress to this node`, target: chain }));
      podRules.push(...podChainRules(model, pod, 'egress', egress, namespaces, options));
    }
    if (ingress.length) {
      const chain = ingressChainName(pod, veth);
      chains.push(chain);
      // Into the pod, forwarded: the CNI says how (flannel: bridged by physdev, routed by address; Calico: out of its cali device).
      for (const h of hook.ingressForward)
        hooks[KNP_FORWARD].push(rule(KNP_FORWARD, { ...(h.dst ? { dst: h.dst } : {}), matches: h.matches, comment: `${ref} ${h.label}`, target: chain }));
      // Into the pod from the node's own processes, which never pass FORWARD.
      hooks[KNP_OUTPUT].push(rule(KNP_OUTPUT, { dst: `${pod.ip}/32`, comment: `${ref} ingress from this node`, target: chain }));
      podRules.push(...podChainRules(model, pod, 'ingress', ingress, namespaces, options));
    }
  }

  const lines: string[] = [];
  for (const hook of [KNP_FORWARD, KNP_INPUT, KNP_OUTPUT] as const) {
    if (hooks[hook].length === 0) continue;
    // Policies judge the first packet of a connection: its replies (and ICMP errors about it) pass,
    // as with every policy engine. RETURN, not ACCEPT: the other chains of the hook still see them.
    lines.push(rule(hook, { matches: ['-m conntrack --ctstate RELATED,ESTABLISHED'], comment: 'replies of allowed connections', target: 'RETURN' }), ...hooks[hook]);
  }
  lines.push(...podRules);

  // Pod chains of an earlier render that are gone: a declaration flushes them, then -X deletes them
  // (the hooks that jumped to them are rewritten in the same transaction).
  const declared = new Set(chains);
  const stale = [...new Set(options.existingChains ?? [])].filter((c) => POD_CHAIN.test(c) && !declared.has(c)).sort();
  return ['*filter', ...[...chains, ...stale].map((c) => `:${c} - [0:0]`), ...lines, ...stale.map((c) => `-X ${c}`), 'COMMIT', ''].join('\n');
}

// ---------------------------------------------------------------------------------------------
// The jumps from the builtin chains

const JUMPS: [string, string, string][] = [
  // First in FORWARD: before kube-proxy's KUBE-FORWARD (which ACCEPTs NodePort traffic it marked for
  // masquerade) and flannel's FLANNEL-FWD (which ACCEPTs everything from and to the pod network).
  ['FORWARD', KNP_FORWARD, 'knetlab network policies: pod traffic, bridged and routed'],
  ['INPUT', KNP_INPUT, 'knetlab network policies: pods to this node'],
  ['OUTPUT', KNP_OUTPUT, 'knetlab network policies: this node to its pods'],
];

/**
 * The jumps to the policy chains, each to be the first rule of its builtin chain (`-I CHAIN 1`,
 * after kube-proxy has ensured its own jumps, which it only adds when `-C` finds them missing).
 * Same shape as kubeProxyJumps(), so jumpArgv() makes their `-C`/`-I` argv.
 */
export function networkPolicyJumps(): KubeProxyJump[] {
  return JUMPS.map(([chain, target, comment]) => ({ table: 'filter', chain, target, rule: ['-m', 'comment', '--comment', comment, '-j', target] }));
}
export { networkPolicyJumps as jumps };

/**
 * The text for one node's `iptables-restore --noflush`: the first sync also inserts the jumps at
 * the top of FORWARD, INPUT and OUTPUT (one each, so their order does not matter); later syncs
 * must not, or they would repeat. `previous` is the last text applied: its pod chains that are
 * gone are deleted (those it deleted already are not declared again).
 */
export function networkPolicyRestore(model: Model, nodeName: string, opts: { first: boolean; previous?: string; nodeTraffic?: 'allow' | 'policy' }): string {
  const previous = opts.previous;
  const existingChains = previous === undefined ? undefined : declaredChains(previous, 'filter').filter((c) => !previous.includes(`\n-X ${c}\n`));
  const text = renderNetworkPolicyIptables(model, nodeName, {
    ...(opts.nodeTraffic ? { nodeTraffic: opts.nodeTraffic } : {}),
    ...(existingChains ? { existingChains } : {}),
  });
  if (!opts.first) return text;
  const jumps = networkPolicyJumps().map((j) => `-I ${j.chain} 1 ${j.rule.map((w) => (/[\s"]/.test(w) ? `"${w}"` : w)).join(' ')}`);
  return text.replace(/^COMMIT$/m, `${jumps.join('\n')}\nCOMMIT`);
}
