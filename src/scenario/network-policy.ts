// A NetworkPolicy's typed form (networking.k8s.io/v1, and extensions/v1beta1 which has the same
// shape) with the API server's defaulting, its checks alone and against the cluster, and the
// selection semantics the policy renderer needs (which pods a policy applies to, which pods a peer
// names). Problems carry a path inside the object; the caller places them (FILE:LINE:COL) with
// originAt(object.origin, ...path).
import type { Model, Pod } from '../cluster/types.js';
import { formatCidr, ipToInt, isIPv4, mask, type Cidr } from '../util/ip.js';
import ipaddr from 'ipaddr.js';
import { matchesSelector, type KubeObject, type Labels, type LabelSelector, type Protocol } from './objects.js';
import { formatPath, type Problems } from './problems.js';
import { originAt, type Path } from './source.js';
import { suggestion } from './suggest.js';
import { labelValueOk, qualifiedNameProblem } from './k8s-names.js';

export type NetworkPolicyObject = Extract<KubeObject, { kind: 'NetworkPolicy' }>;
export type PolicyType = 'Ingress' | 'Egress';
export const policyTypeNames: readonly PolicyType[] = ['Ingress', 'Egress'];
export const protocols: readonly Protocol[] = ['TCP', 'UDP', 'SCTP'];
/** The label the API server puts on every namespace (1.21+), so namespaceSelector can name one. */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

export interface PolicyPort {
  protocol: Protocol;
  /** undefined: every port of the protocol. A string is a container port name, resolved against the destination pod. */
  port?: number | string;
  /** With a numeric port: the range port..endPort. */
  endPort?: number;
  at: Path;
}

/** Pods by label: in the policy's namespace (no namespaceSelector), or in the namespaces namespaceSelector picks. */
export interface SelectorPeer {
  kind: 'selector';
  /** undefined: every pod (of the namespaces chosen). */
  podSelector?: LabelSelector;
  /** undefined: the policy's own namespace only; `{}`: every namespace. */
  namespaceSelector?: LabelSelector;
  at: Path;
}

export interface IpBlockPeer {
  kind: 'ipBlock';
  /** As Kubernetes reads it: host bits cleared (`10.0.0.1/8` is 10.0.0.0/8). */
  cidr: string;
  except: string[];
  family: 4 | 6;
  at: Path;
}

export type PolicyPeer = SelectorPeer | IpBlockPeer;

export interface PolicyRule {
  /** `from` (ingress) or `to` (egress); empty: every source or destination. */
  peers: PolicyPeer[];
  /** Empty: every port and protocol. */
  ports: PolicyPort[];
  at: Path;
}

export interface NetworkPolicy {
  namespace: string;
  name: string;
  podSelector: LabelSelector;
  /** As written, or defaulted as the API server does: Ingress always, Egress when there are egress rules. */
  policyTypes: PolicyType[];
  /** Meaningful only when policyTypes has Ingress; empty then means: deny every incoming connection. */
  ingress: PolicyRule[];
  /** Meaningful only when policyTypes has Egress; empty then means: deny every outgoing connection. */
  egress: PolicyRule[];
}

export interface NetworkPolicyProblem {
  severity: 'error' | 'warning';
  message: string;
  /** Inside the object, e.g. ['spec', 'ingress', 0, 'from', 1, 'ipBlock', 'cidr']. */
  path: Path;
  /** Point at the key of the last path segment, not its value (an unknown key). */
  key?: boolean;
}

type Raw = Record<string, unknown>;

const isMap = (v: unknown): v is Raw => v !== null && typeof v === 'object' && !Array.isArray(v);
const shown = (v: unknown): string => (v === null || v === undefined ? 'nothing' : Array.isArray(v) ? 'a list' : typeof v === 'object' ? 'a mapping' : v === '' ? 'an empty string' : `\`${String(v)}\``);

// IANA_SVC_NAME (validation.IsValidPortName): at most 15, a-z 0-9 -, a letter, no -- and no edge -.
const portNameRe = /^(?=.{1,15}$)(?=.*[a-z])[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
const labelKeyProblem = qualifiedNameProblem;

/** An IP block as Kubernetes reads it (net.ParseCIDR: host bits are dropped), or a reason. */
export function parseIpBlock(s: string): { family: 4; cidr: Cidr; text: string; hostBits: boolean } | { family: 6; text: string; addr: ipaddr.IPv6; bits: number; hostBits: boolean } | undefined {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(s);
  if (!m) return undefined;
  const bits = Number(m[2]);
  if (isIPv4(m[1]!)) {
    if (bits > 32) return undefined;
    const addr = ipToInt(m[1]!);
    const base = (addr & mask(bits)) >>> 0;
    const cidr = { base, bits };
    return { family: 4, cidr, text: formatCidr(cidr), hostBits: base !== addr };
  }
  if (m[1]!.includes(':') && ipaddr.IPv6.isValid(m[1]!) && bits <= 128) {
    const addr = ipaddr.IPv6.parse(m[1]!);
    const net = ipaddr.IPv6.networkAddressFromCIDR(`${m[1]}/${bits}`);
    const hostBits = net.toNormalizedString() !== addr.toNormalizedString();
    return { family: 6, text: `${net.toString()}/${bits}`, addr: net, bits, hostBits };
  }
  return undefined;
}

/** Whether `inner` is a strict subset of `outer` (the API server's rule for `except`). */
function strictlyInside(inner: NonNullable<ReturnType<typeof parseIpBlock>>, outer: NonNullable<ReturnType<typeof parseIpBlock>>): boolean {
  if (inner.family === 4 && outer.family === 4) {
    return inner.cidr.bits > outer.cidr.bits && ((inner.cidr.base & mask(outer.cidr.bits)) >>> 0) === outer.cidr.base;
  }
  if (inner.family === 6 && outer.family === 6) return inner.bits > outer.bits && inner.addr.match(outer.addr, outer.bits);
  return false;
}

/** Reads a NetworkPolicy object into its typed form; `policy` is undefined when it has errors. */
export function readNetworkPolicy(o: NetworkPolicyObject): { policy?: NetworkPolicy; problems: NetworkPolicyProblem[] } {
  const problems: NetworkPolicyProblem[] = [];
  const what = `NetworkPolicy ${o.meta.namespace}/${o.meta.name}`;
  const err = (path: Path, message: string) => problems.push({ severity: 'error', message, path });
  const warn = (path: Path, message: string) => problems.push({ severity: 'warning', message, path });
  const spec: Raw = isMap(o.spec) ? o.spec : {};
  const f = (at: Path) => `\`${formatPath(at)}\``;

  const keys = (obj: Raw, at: Path, allowed: readonly string[]) => {
    for (const k of Object.keys(obj)) {
      if (allowed.includes(k)) continue;
      problems.push({ severity: 'error', path: [...at, k], key: true, message: `Unknown key \`${k}\` in ${f(at)} of ${what}${suggestion(k, allowed)}` });
    }
  };

  /** A list field: null or absent is an empty list. */
  const list = (v: unknown, at: Path): unknown[] => {
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) {
      err(at, `Expected ${f(at)} of ${what} to be a list, got ${shown(v)}`);
      return [];
    }
    return v;
  };

  const selector = (v: unknown, at: Path): LabelSelector | undefined => {
    // `podSelector:` with nothing after it is null, which the API server reads as {}.
    if (v === null) return { matchLabels: {}, matchExpressions: [] };
    if (!isMap(v)) {
      err(at, `Expected ${f(at)} of ${what} to be a label selector such as {matchLabels: {app: web}} ({} for every pod), got ${shown(v)}`);
      return undefined;
    }
    keys(v, at, ['matchLabels', 'matchExpressions']);
    const before = problems.length;
    const matchLabels: Record<string, string> = {};
    if (v.matchLabels !== undefined && v.matchLabels !== null) {
      if (!isMap(v.matchLabels)) err([...at, 'matchLabels'], `Expected ${f([...at, 'matchLabels'])} of ${what} to be a mapping of labels, got ${shown(v.matchLabels)}`);
      else {
        for (const [k, val] of Object.entries(v.matchLabels)) {
          const kAt = [...at, 'matchLabels', k];
          const bad = labelKeyProblem(k);
          if (bad) problems.push({ severity: 'error', path: kAt, key: true, message: `Label key \`${k}\` in ${f([...at, 'matchLabels'])} of ${what} is not valid: ${bad}` });
          if (typeof val !== 'string') err(kAt, `Expected label \`${k}\` in ${f([...at, 'matchLabels'])} of ${what} to be a string (quote it), got ${shown(val)}`);
          else if (!labelValueOk(val)) err(kAt, `Label value \`${val}\` of \`${k}\` in ${f([...at, 'matchLabels'])} of ${what} is not valid: at most 63 characters, letters, digits, -, _ and ., starting and ending with a letter or digit`);
          else matchLabels[k] = val;
        }
      }
    }
    const matchExpressions: LabelSelector['matchExpressions'] = [];
    list(v.matchExpressions, [...at, 'matchExpressions']).forEach((e, i) => {
      const eAt = [...at, 'matchExpressions', i];
      if (!isMap(e)) {
        err(eAt, `Expected ${f(eAt)} of ${what} to be a mapping such as {key: tier, operator: In, values: [db]}, got ${shown(e)}`);
        return;
      }
      keys(e, eAt, ['key', 'operator', 'values']);
      const ops = ['In', 'NotIn', 'Exists', 'DoesNotExist'] as const;
      if (typeof e.key !== 'string' || e.key === '') {
        err(e.key === undefined ? eAt : [...eAt, 'key'], e.key === undefined ? `Missing required key \`key\` in ${f(eAt)} of ${what}` : `Expected ${f([...eAt, 'key'])} of ${what} to be a label key, got ${shown(e.key)}`);
      } else {
        const bad = labelKeyProblem(e.key);
        if (bad) err([...eAt, 'key'], `Label key \`${e.key}\` in ${f(eAt)} of ${what} is not valid: ${bad}`);
      }
      let op: (typeof ops)[number] | undefined;
      if (e.operator === undefined) err(eAt, `Missing required key \`operator\` in ${f(eAt)} of ${what} (In, NotIn, Exists or DoesNotExist)`);
      else if (typeof e.operator === 'string' && (ops as readonly string[]).includes(e.operator)) op = e.operator as (typeof ops)[number];
      else err([...eAt, 'operator'], `Expected ${f([...eAt, 'operator'])} of ${what} to be In, NotIn, Exists or DoesNotExist, got ${shown(e.operator)}${typeof e.operator === 'string' ? suggestion(e.operator, ops) : ''}`);
      const values = list(e.values, [...eAt, 'values']);
      values.forEach((x, j) => {
        if (typeof x !== 'string') err([...eAt, 'values', j], `Expected ${f([...eAt, 'values', j])} of ${what} to be a string (quote it), got ${shown(x)}`);
      });
      if ((op === 'In' || op === 'NotIn') && values.length === 0) err(e.values === undefined ? eAt : [...eAt, 'values'], `${f(eAt)} of ${what} needs \`values\` with operator ${op}`);
      if ((op === 'Exists' || op === 'DoesNotExist') && values.length > 0) err([...eAt, 'values'], `${f(eAt)} of ${what} may not have \`values\` with operator ${op}`);
      if (op && typeof e.key === 'string') matchExpressions.push({ key: e.key, operator: op, values: values.filter((x): x is string => typeof x === 'string') });
    });
    if (problems.slice(before).some((p) => p.severity === 'error')) return undefined;
    return { matchLabels, matchExpressions };
  };

  const ipBlock = (v: unknown, at: Path): IpBlockPeer | undefined => {
    if (!isMap(v)) {
      err(at, `Expected ${f(at)} of ${what} to be a mapping such as {cidr: 10.0.0.0/16, except: [10.0.5.0/24]}, got ${shown(v)}`);
      return undefined;
    }
    keys(v, at, ['cidr', 'except']);
    if (v.cidr === undefined || v.cidr === null || v.cidr === '') {
      err(at, `Missing required key \`cidr\` in ${f(at)} of ${what}`);
      return undefined;
    }
    const block = typeof v.cidr === 'string' ? parseIpBlock(v.cidr) : undefined;
    if (!block) {
      err([...at, 'cidr'], `Expected ${f([...at, 'cidr'])} of ${what} to be a CIDR such as 10.0.0.0/16, got ${shown(v.cidr)}`);
      return undefined;
    }
    if (block.hostBits) warn([...at, 'cidr'], `${f([...at, 'cidr'])} of ${what} has host bits set: Kubernetes reads \`${String(v.cidr)}\` as \`${block.text}\``);
    if (block.family === 6) warn([...at, 'cidr'], `${f([...at, 'cidr'])} of ${what} is an IPv6 block: knetlab's cluster is IPv4 only, so it matches nothing`);
    const except: string[] = [];
    let ok = true;
    list(v.except, [...at, 'except']).forEach((x, i) => {
      const xAt = [...at, 'except', i];
      const ex = typeof x === 'string' ? parseIpBlock(x) : undefined;
      if (!ex) {
        err(xAt, `Expected ${f(xAt)} of ${what} to be a CIDR such as 10.0.5.0/24, got ${shown(x)}`);
        ok = false;
        return;
      }
      if (!strictlyInside(ex, block)) {
        err(xAt, `${f(xAt)} of ${what} (\`${String(x)}\`) must be inside \`cidr\` ${block.text} and smaller than it`);
        ok = false;
        return;
      }
      if (ex.hostBits) warn(xAt, `${f(xAt)} of ${what} has host bits set: Kubernetes reads \`${String(x)}\` as \`${ex.text}\``);
      except.push(ex.text);
    });
    return ok ? { kind: 'ipBlock', cidr: block.text, except, family: block.family, at } : undefined;
  };

  const peer = (v: unknown, at: Path): PolicyPeer | undefined => {
    if (!isMap(v)) {
      err(at, `Expected ${f(at)} of ${what} to be a mapping with podSelector, namespaceSelector or ipBlock, got ${shown(v)}`);
      return undefined;
    }
    keys(v, at, ['podSelector', 'namespaceSelector', 'ipBlock']);
    // The peer's fields are pointers: null is the same as absent (unlike spec.podSelector).
    const has = (k: string) => v[k] !== undefined && v[k] !== null;
    if (has('ipBlock')) {
      if (has('podSelector') || has('namespaceSelector')) {
        err(at, `${f(at)} of ${what} may have \`ipBlock\` or pod and namespace selectors, not both (write them as two peers)`);
        return undefined;
      }
      return ipBlock(v.ipBlock, [...at, 'ipBlock']);
    }
    if (!has('podSelector') && !has('namespaceSelector')) {
      const known = ['podSelector', 'namespaceSelector', 'ipBlock'];
      if (Object.keys(v).every((k) => known.includes(k))) err(at, `${f(at)} of ${what} must name a peer: podSelector, namespaceSelector or ipBlock`);
      return undefined;
    }
    const ps = has('podSelector') ? selector(v.podSelector, [...at, 'podSelector']) : undefined;
    const ns = has('namespaceSelector') ? selector(v.namespaceSelector, [...at, 'namespaceSelector']) : undefined;
    if ((has('podSelector') && !ps) || (has('namespaceSelector') && !ns)) return undefined;
    return { kind: 'selector', ...(ps ? { podSelector: ps } : {}), ...(ns ? { namespaceSelector: ns } : {}), at };
  };

  const port = (v: unknown, at: Path): PolicyPort | undefined => {
    if (!isMap(v)) {
      err(at, `Expected ${f(at)} of ${what} to be a mapping such as {protocol: TCP, port: 80}, got ${shown(v)}`);
      return undefined;
    }
    keys(v, at, ['protocol', 'port', 'endPort']);
    let ok = true;
    let protocol: Protocol = 'TCP';
    if (v.protocol !== undefined && v.protocol !== null) {
      if (typeof v.protocol === 'string' && (protocols as readonly string[]).includes(v.protocol)) protocol = v.protocol as Protocol;
      else {
        err([...at, 'protocol'], `Expected ${f([...at, 'protocol'])} of ${what} to be TCP, UDP or SCTP, got ${shown(v.protocol)}${typeof v.protocol === 'string' ? suggestion(v.protocol, protocols) : ''}`);
        ok = false;
      }
    }
    let p: number | string | undefined;
    if (v.port !== undefined && v.port !== null) {
      if (typeof v.port === 'number') {
        if (Number.isInteger(v.port) && v.port >= 1 && v.port <= 65535) p = v.port;
        else {
          err([...at, 'port'], `Expected ${f([...at, 'port'])} of ${what} to be a port number (1-65535) or a container port name, got ${shown(v.port)}`);
          ok = false;
        }
      } else if (typeof v.port === 'string' && portNameRe.test(v.port)) p = v.port;
      else {
        const hint = typeof v.port === 'string' && /^\d+$/.test(v.port) ? ` (a quoted number is read as a port name: write ${v.port} without quotes)` : '';
        err([...at, 'port'], `Expected ${f([...at, 'port'])} of ${what} to be a port number (1-65535) or a container port name (lower-case a-z, 0-9 and -, at most 15, with a letter), got ${shown(v.port)}${hint}`);
        ok = false;
      }
    }
    let endPort: number | undefined;
    if (v.endPort !== undefined && v.endPort !== null) {
      const e = v.endPort;
      if (typeof e !== 'number' || !Number.isInteger(e) || e < 1 || e > 65535) err([...at, 'endPort'], `Expected ${f([...at, 'endPort'])} of ${what} to be a port number (1-65535), got ${shown(e)}`);
      else if (v.port === undefined || v.port === null) err([...at, 'endPort'], `${f([...at, 'endPort'])} of ${what} needs a numeric \`port\` to start the range`);
      else if (typeof p === 'string') err([...at, 'endPort'], `${f([...at, 'endPort'])} of ${what} may not be used with a named port (\`${p}\`)`);
      else if (typeof p === 'number' && e < p) err([...at, 'endPort'], `${f([...at, 'endPort'])} of ${what} (${e}) must be at least \`port\` (${p})`);
      else endPort = e;
      if (endPort === undefined) ok = false;
    }
    if (!ok) return undefined;
    return { protocol, ...(p !== undefined ? { port: p } : {}), ...(endPort !== undefined && endPort !== p ? { endPort } : {}), at };
  };

  const rules = (direction: 'ingress' | 'egress'): PolicyRule[] => {
    const peerKey = direction === 'ingress' ? 'from' : 'to';
    const out: PolicyRule[] = [];
    list(spec[direction], ['spec', direction]).forEach((r, i) => {
      const at: Path = ['spec', direction, i];
      if (r === null) {
        out.push({ peers: [], ports: [], at }); // `- ` alone: an empty rule, which allows everything
        return;
      }
      if (!isMap(r)) {
        err(at, `Expected ${f(at)} of ${what} to be a mapping with \`${peerKey}\` and \`ports\` ({} allows everything), got ${shown(r)}`);
        return;
      }
      keys(r, at, [peerKey, 'ports']);
      const peers = list(r[peerKey], [...at, peerKey]).map((p, j) => peer(p, [...at, peerKey, j]));
      const ports = list(r.ports, [...at, 'ports']).map((p, j) => port(p, [...at, 'ports', j]));
      if (peers.includes(undefined) || ports.includes(undefined)) return;
      out.push({ peers: peers as PolicyPeer[], ports: ports as PolicyPort[], at });
    });
    return out;
  };

  keys(spec, ['spec'], ['podSelector', 'policyTypes', 'ingress', 'egress']);
  let podSelector: LabelSelector | undefined = { matchLabels: {}, matchExpressions: [] };
  if (spec.podSelector === undefined) {
    warn(['spec'], `\`spec.podSelector\` of ${what} is missing: Kubernetes reads that as \`podSelector: {}\`, every pod of namespace ${o.meta.namespace} (write it out to say so)`);
  } else podSelector = selector(spec.podSelector, ['spec', 'podSelector']);

  let policyTypes: PolicyType[] | undefined;
  if (spec.policyTypes !== undefined && spec.policyTypes !== null) {
    const seen = new Set<string>();
    const types: PolicyType[] = [];
    list(spec.policyTypes, ['spec', 'policyTypes']).forEach((t, i) => {
      const at: Path = ['spec', 'policyTypes', i];
      if (typeof t !== 'string' || !(policyTypeNames as readonly string[]).includes(t)) {
        err(at, `Expected ${f(at)} of ${what} to be Ingress or Egress, got ${shown(t)}${typeof t === 'string' ? suggestion(t, policyTypeNames) : ''}`);
      } else if (seen.has(t)) err(at, `${f(at)} of ${what}: ${t} is listed twice`);
      else {
        seen.add(t);
        types.push(t as PolicyType);
      }
    });
    if (Array.isArray(spec.policyTypes) && spec.policyTypes.length > 0) policyTypes = types;
  }
  const ingress = rules('ingress');
  const egress = rules('egress');
  // The API server's defaulting (pkg/apis/networking/v1 SetDefaults_NetworkPolicy): Ingress always,
  // Egress when the policy has egress rules (`egress: []` does not count).
  const egressListed = Array.isArray(spec.egress) && spec.egress.length > 0;
  if (!policyTypes) policyTypes = egressListed ? ['Ingress', 'Egress'] : ['Ingress'];
  else {
    const ingressListed = Array.isArray(spec.ingress) && spec.ingress.length > 0;
    if (ingressListed && !policyTypes.includes('Ingress')) warn(['spec', 'ingress'], `\`spec.ingress\` of ${what} is ignored: \`spec.policyTypes\` does not list Ingress`);
    if (egressListed && !policyTypes.includes('Egress')) warn(['spec', 'egress'], `\`spec.egress\` of ${what} is ignored: \`spec.policyTypes\` does not list Egress`);
  }
  if (problems.some((p) => p.severity === 'error') || !podSelector) return { problems };
  return { policy: { namespace: o.meta.namespace, name: o.meta.name, podSelector, policyTypes, ingress, egress }, problems };
}

// ---------------------------------------------------------------------------------------------
// Selection, as policy engines read it

/** Every namespace of the cluster with its labels: those applied as objects, and those pods live in (kubectl create ns). */
export function namespaceLabels(model: Model): Map<string, Labels> {
  const out = new Map<string, Labels>();
  const add = (name: string, labels: Labels = {}) => out.set(name, { ...labels, [NAMESPACE_NAME_LABEL]: name });
  for (const p of model.pods) add(p.namespace);
  for (const o of model.objects) if (o.kind !== 'Namespace' && !out.has(o.meta.namespace)) add(o.meta.namespace);
  // The API server sets kubernetes.io/metadata.name itself, whatever the object says.
  for (const o of model.objects) if (o.kind === 'Namespace') add(o.meta.name, o.meta.labels);
  return out;
}

/** A pod policies can apply to and name: it has its own address (placed, not hostNetwork). */
export function hasPodNetwork(pod: Pod): boolean {
  return !pod.hostNetwork && pod.ip !== undefined;
}

/** Every NetworkPolicy of the model that reads without errors and is not being deleted, in apply order. */
export function activeNetworkPolicies(model: Model): NetworkPolicy[] {
  const out: NetworkPolicy[] = [];
  for (const o of model.objects) {
    if (o.kind !== 'NetworkPolicy' || o.meta.terminating) continue;
    const { policy } = readNetworkPolicy(o);
    if (policy) out.push(policy);
  }
  return out;
}

/** Whether a policy applies to a pod (for any direction). hostNetwork pods are never selected. */
export function policySelects(policy: NetworkPolicy, pod: Pod): boolean {
  return pod.namespace === policy.namespace && !pod.hostNetwork && matchesSelector(policy.podSelector, pod.labels);
}

/** The pods a policy applies to, placed or not. */
export function podsSelectedBy(model: Model, policy: NetworkPolicy): Pod[] {
  return model.pods.filter((p) => policySelects(policy, p));
}

/** The pods a selector peer names (with an address or not): its namespaces, then its pods. */
export function podsOfPeer(model: Model, policy: NetworkPolicy, peer: SelectorPeer, namespaces: Map<string, Labels> = namespaceLabels(model)): Pod[] {
  const nsOk = (ns: string) => (peer.namespaceSelector ? matchesSelector(peer.namespaceSelector, namespaces.get(ns) ?? { [NAMESPACE_NAME_LABEL]: ns }) : ns === policy.namespace);
  return model.pods.filter((p) => !p.hostNetwork && nsOk(p.namespace) && (!peer.podSelector || matchesSelector(peer.podSelector, p.labels)));
}

/** The container port a named policy port means on one pod (same name and protocol), if it has one. */
export function namedPort(pod: Pod, name: string, protocol: Protocol): number | undefined {
  for (const c of pod.containers) for (const p of c.ports) if (p.name === name && p.protocol === protocol) return p.containerPort;
  return undefined;
}

/** `cidr` without the blocks of `except` (IPv4), as the fewest CIDRs, in address order. */
export function subtractCidrs(cidr: Cidr, except: readonly Cidr[]): Cidr[] {
  let parts = [cidr];
  for (const ex of except) {
    parts = parts.flatMap((p) => {
      const bits = Math.min(p.bits, ex.bits);
      if (((p.base & mask(bits)) >>> 0) !== ((ex.base & mask(bits)) >>> 0)) return [p]; // disjoint
      if (ex.bits <= p.bits) return []; // ex covers p
      const out: Cidr[] = [];
      let cur = p;
      while (cur.bits < ex.bits) {
        const half = cur.bits + 1;
        const lo = { base: cur.base, bits: half };
        const hi = { base: (cur.base + 2 ** (32 - half)) >>> 0, bits: half };
        const exInLo = ((ex.base & mask(half)) >>> 0) === lo.base;
        out.push(exInLo ? hi : lo);
        cur = exInLo ? lo : hi;
      }
      return out;
    });
  }
  return parts.sort((a, b) => a.base - b.base || a.bits - b.bits);
}

// ---------------------------------------------------------------------------------------------
// Checks against the cluster

/** What the cluster has to say about a policy that reads without errors: pods it selects, peers and named ports that match nothing. */
export function checkNetworkPolicyAgainstModel(policy: NetworkPolicy, model: Model): NetworkPolicyProblem[] {
  const problems: NetworkPolicyProblem[] = [];
  const what = `NetworkPolicy ${policy.namespace}/${policy.name}`;
  const warn = (path: Path, message: string) => problems.push({ severity: 'warning', message, path });
  const selected = podsSelectedBy(model, policy);
  if (selected.length === 0) {
    const hostNet = model.pods.filter((p) => p.namespace === policy.namespace && p.hostNetwork && matchesSelector(policy.podSelector, p.labels));
    warn(
      ['spec', 'podSelector'],
      hostNet.length
        ? `${what} selects no pod: it matches only hostNetwork pods (${hostNet.map((p) => p.name).join(', ')}), which NetworkPolicy does not apply to`
        : `${what} selects no pod in namespace ${policy.namespace}, so it changes nothing`,
    );
  }
  const namespaces = namespaceLabels(model);
  const directions: ['ingress' | 'egress', 'from' | 'to', PolicyType][] = [
    ['ingress', 'from', 'Ingress'],
    ['egress', 'to', 'Egress'],
  ];
  for (const [dir, peerKey, type] of directions) {
    if (!policy.policyTypes.includes(type)) continue;
    for (const rule of policy[dir]) {
      const peerPods: Pod[] = [];
      for (const peer of rule.peers) {
        if (peer.kind !== 'selector') continue;
        const pods = podsOfPeer(model, policy, peer, namespaces);
        peerPods.push(...pods);
        if (pods.length === 0) {
          const nsHint = peer.namespaceSelector && ![...namespaces.values()].some((l) => matchesSelector(peer.namespaceSelector!, l)) ? ' (no namespace has its labels; every namespace has the label kubernetes.io/metadata.name: NAME)' : '';
          warn(peer.at, `${formatPath(peer.at)} of ${what} selects no pod${nsHint}, so this ${peerKey} peer allows nothing yet`);
        }
      }
      // A named port is looked up on the destination: the selected pods (ingress), the peer pods (egress).
      const destinations = dir === 'ingress' ? selected : rule.peers.length > 0 && rule.peers.every((p) => p.kind === 'selector') ? peerPods : model.pods.filter((p) => !p.hostNetwork);
      for (const port of rule.ports) {
        if (typeof port.port !== 'string' || destinations.length === 0) continue;
        if (!destinations.some((p) => namedPort(p, port.port as string, port.protocol) !== undefined)) {
          const names = [...new Set(destinations.flatMap((p) => p.containers.flatMap((c) => c.ports.flatMap((cp) => (cp.name && cp.protocol === port.protocol ? [cp.name] : [])))))];
          warn([...port.at, 'port'], `No ${dir === 'ingress' ? 'selected' : 'destination'} pod of ${what} has a ${port.protocol} container port named \`${port.port}\`, so this port allows nothing${suggestion(port.port, names)}`);
        }
      }
    }
  }
  return problems;
}

/** Every problem of one NetworkPolicy object: its shape, then (when it reads) what the cluster says. */
export function checkNetworkPolicy(o: NetworkPolicyObject, model: Model): NetworkPolicyProblem[] {
  const { policy, problems } = readNetworkPolicy(o);
  return policy ? [...problems, ...checkNetworkPolicyAgainstModel(policy, model)] : problems;
}

/** Every problem of every NetworkPolicy of the model (or of `only`). */
export function checkNetworkPolicies(model: Model, only?: readonly NetworkPolicyObject[]): { object: NetworkPolicyObject; problems: NetworkPolicyProblem[] }[] {
  const out: { object: NetworkPolicyObject; problems: NetworkPolicyProblem[] }[] = [];
  for (const o of model.objects) {
    if (o.kind !== 'NetworkPolicy' || o.meta.terminating) continue;
    if (only && !only.includes(o)) continue;
    out.push({ object: o, problems: checkNetworkPolicy(o, model) });
  }
  return out;
}

/** Adds every NetworkPolicy problem (of `only`, or of all policies) to a validation, each at its FILE:LINE:COL. */
export function reportNetworkPolicyProblems(model: Model, problems: Problems, only?: readonly NetworkPolicyObject[]): void {
  for (const { object, problems: list } of checkNetworkPolicies(model, only)) {
    for (const p of list) problems.add(p.severity, originAt(object.origin, ...p.path), p.message, p.key ? { key: true } : {});
  }
}

/** `10.0.0.0/8 except 10.1.0.0/16, 10.2.0.0/16` */
export function describeIpBlock(b: Pick<IpBlockPeer, 'cidr' | 'except'>): string {
  return b.except.length ? `${b.cidr} except ${b.except.join(', ')}` : b.cidr;
}

/** An IPv4 block's CIDR (for the renderer); undefined for IPv6. */
export function ipv4Block(text: string): Cidr | undefined {
  const b = parseIpBlock(text);
  return b && b.family === 4 ? b.cidr : undefined;
}
