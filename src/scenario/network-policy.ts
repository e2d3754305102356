// A NetworkPolicy's typed form (networking.k8s.io/v1, and extensions/v1beta1 which has the same
// shape) with the API server's defaulting, its checks alone and against the cluster, and the
// selection semantics the policy renderer needs (which pods a policy applies to, which pods a peer
// names). Problems carry a path inside the object; the caller places them (FILE:LINE:COL) with
// originAt(object.origin, ...path).
import type { Model, Pod } from '../cluster/types.js';
import { formatCidr, ipToInt, isIPv4, mask, type Cidr } from '../util/ip.js';
import ipaddr from 'ipaddr.js';
import { matchesSelector, type KubeObject, type Labels, type LabelSelector, type Protocol } from './objects.js';
import { formatPath, show, type Problems } from './problems.js';
import type { ProblemCode } from './problem-codes.js';
import { isMap, ObjectReader, placeObjectProblems, type ObjectProblem, type Raw } from './object-reader.js';
import type { Path } from './source.js';
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

export type NetworkPolicyProblem = ObjectProblem;

// IANA_SVC_NAME (validation.IsValidPortName): at most 15, a-z 0-9 -, a letter, no -- and no edge -.
const portNameRe = /^(?=.{1,15}$)(?=.*[a-z])[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

/** An IP block as Kubernetes reads it (net.ParseCIDR: host bits are dropped), or a reason. */
export function parseIpBlock(
  s: string,
): { family: 4; cidr: Cidr; text: string; hostBits: boolean } | { family: 6; text: string; addr: ipaddr.IPv6; bits: number; hostBits: boolean } | undefined {
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
    return inner.cidr.bits > outer.cidr.bits && (inner.cidr.base & mask(outer.cidr.bits)) >>> 0 === outer.cidr.base;
  }
  if (inner.family === 6 && outer.family === 6) return inner.bits > outer.bits && inner.addr.match(outer.addr, outer.bits);
  return false;
}

/** Reads a NetworkPolicy object into its typed form; `policy` is undefined when it has errors. */
export function readNetworkPolicy(o: NetworkPolicyObject): { policy?: NetworkPolicy; problems: NetworkPolicyProblem[] } {
  const r = new ObjectReader(`NetworkPolicy ${o.meta.namespace}/${o.meta.name}`);
  const spec: Raw = isMap(o.spec) ? o.spec : {};
  r.keys(spec, ['spec'], ['podSelector', 'policyTypes', 'ingress', 'egress']);
  const podSelector = readPodSelector(r, spec, o.meta.namespace);
  const written = readPolicyTypes(r, spec.policyTypes);
  const ingress = readRules(r, spec, 'ingress');
  const egress = readRules(r, spec, 'egress');
  const policyTypes = defaultPolicyTypes(r, spec, written);
  if (r.hasErrors() || !podSelector) return { problems: r.problems };
  return { policy: { namespace: o.meta.namespace, name: o.meta.name, podSelector, policyTypes, ingress, egress }, problems: r.problems };
}

function readPodSelector(r: ObjectReader, spec: Raw, namespace: string): LabelSelector | undefined {
  if (spec.podSelector === undefined) {
    r.warn(
      'implied-value',
      ['spec'],
      `\`spec.podSelector\` of ${r.what} is missing: Kubernetes reads that as \`podSelector: {}\`, every pod of namespace ${namespace} (write it out to say so)`,
    );
    return { matchLabels: {}, matchExpressions: [] };
  }
  return readSelector(r, spec.podSelector, ['spec', 'podSelector']);
}

/** spec.policyTypes as written; undefined when absent or empty. */
function readPolicyTypes(r: ObjectReader, raw: unknown): PolicyType[] | undefined {
  if (raw === undefined || raw === null) return undefined;
  const seen = new Set<string>();
  const types: PolicyType[] = [];
  r.list(raw, ['spec', 'policyTypes']).forEach((t, i) => {
    const at: Path = ['spec', 'policyTypes', i];
    if (typeof t !== 'string' || !(policyTypeNames as readonly string[]).includes(t)) {
      r.err('unknown-value', at, `Expected ${r.field(at)} of ${r.what} to be Ingress or Egress, got ${show(t)}${typeof t === 'string' ? suggestion(t, policyTypeNames) : ''}`);
    } else if (seen.has(t)) r.err('duplicate-entry', at, `${r.field(at)} of ${r.what}: ${t} is listed twice`);
    else {
      seen.add(t);
      types.push(t as PolicyType);
    }
  });
  return Array.isArray(raw) && raw.length > 0 ? types : undefined;
}

/**
 * The API server's defaulting (pkg/apis/networking/v1 SetDefaults_NetworkPolicy): Ingress always,
 * Egress when the policy has egress rules (`egress: []` does not count); rules of an unlisted type are ignored.
 */
function defaultPolicyTypes(r: ObjectReader, spec: Raw, written: PolicyType[] | undefined): PolicyType[] {
  const egressListed = Array.isArray(spec.egress) && spec.egress.length > 0;
  if (!written) return egressListed ? ['Ingress', 'Egress'] : ['Ingress'];
  const ingressListed = Array.isArray(spec.ingress) && spec.ingress.length > 0;
  if (ingressListed && !written.includes('Ingress'))
    r.warn('ignored-field', ['spec', 'ingress'], `\`spec.ingress\` of ${r.what} is ignored: \`spec.policyTypes\` does not list Ingress`);
  if (egressListed && !written.includes('Egress'))
    r.warn('ignored-field', ['spec', 'egress'], `\`spec.egress\` of ${r.what} is ignored: \`spec.policyTypes\` does not list Egress`);
  return written;
}

function readRules(r: ObjectReader, spec: Raw, direction: 'ingress' | 'egress'): PolicyRule[] {
  const peerKey = direction === 'ingress' ? 'from' : 'to';
  const out: PolicyRule[] = [];
  r.list(spec[direction], ['spec', direction]).forEach((raw, i) => {
    const at: Path = ['spec', direction, i];
    if (raw === null) {
      out.push({ peers: [], ports: [], at }); // `- ` alone: an empty rule, which allows everything
      return;
    }
    if (!isMap(raw)) {
      r.err('wrong-type', at, `Expected ${r.field(at)} of ${r.what} to be a mapping with \`${peerKey}\` and \`ports\` ({} allows everything), got ${show(raw)}`);
      return;
    }
    r.keys(raw, at, [peerKey, 'ports']);
    const peers = r.list(raw[peerKey], [...at, peerKey]).map((p, j) => readPeer(r, p, [...at, peerKey, j]));
    const ports = r.list(raw.ports, [...at, 'ports']).map((p, j) => readPolicyPort(r, p, [...at, 'ports', j]));
    if (peers.includes(undefined) || ports.includes(undefined)) return;
    out.push({ peers: peers as PolicyPeer[], ports: ports as PolicyPort[], at });
  });
  return out;
}

function readSelector(r: ObjectReader, v: unknown, at: Path): LabelSelector | undefined {
  // `podSelector:` with nothing after it is null, which the API server reads as {}.
  if (v === null) return { matchLabels: {}, matchExpressions: [] };
  if (!isMap(v)) {
    r.err('wrong-type', at, `Expected ${r.field(at)} of ${r.what} to be a label selector such as {matchLabels: {app: web}} ({} for every pod), got ${show(v)}`);
    return undefined;
  }
  r.keys(v, at, ['matchLabels', 'matchExpressions']);
  const before = r.mark();
  const matchLabels = readMatchLabels(r, v.matchLabels, [...at, 'matchLabels']);
  const matchExpressions: LabelSelector['matchExpressions'] = [];
  r.list(v.matchExpressions, [...at, 'matchExpressions']).forEach((e, i) => {
    const expression = readMatchExpression(r, e, [...at, 'matchExpressions', i]);
    if (expression) matchExpressions.push(expression);
  });
  if (r.hasErrors(before)) return undefined;
  return { matchLabels, matchExpressions };
}

function readMatchLabels(r: ObjectReader, v: unknown, at: Path): Record<string, string> {
  const out: Record<string, string> = {};
  if (v === undefined || v === null) return out;
  if (!isMap(v)) {
    r.err('wrong-type', at, `Expected ${r.field(at)} of ${r.what} to be a mapping of labels, got ${show(v)}`);
    return out;
  }
  for (const [k, val] of Object.entries(v)) {
    const kAt = [...at, k];
    const bad = qualifiedNameProblem(k);
    if (bad) r.keyProblem('error', 'bad-key', kAt, `Label key \`${k}\` in ${r.field(at)} of ${r.what} is not valid: ${bad}`);
    if (typeof val !== 'string') r.err('wrong-type', kAt, `Expected label \`${k}\` in ${r.field(at)} of ${r.what} to be a string (quote it), got ${show(val)}`);
    else if (!labelValueOk(val))
      r.err(
        'bad-label-value',
        kAt,
        `Label value \`${val}\` of \`${k}\` in ${r.field(at)} of ${r.what} is not valid: at most 63 characters, letters, digits, -, _ and ., starting and ending with a letter or digit`,
      );
    else out[k] = val;
  }
  return out;
}

const selectorOperators = ['In', 'NotIn', 'Exists', 'DoesNotExist'] as const;

function readMatchExpression(r: ObjectReader, e: unknown, at: Path): LabelSelector['matchExpressions'][number] | undefined {
  if (!isMap(e)) {
    r.err('wrong-type', at, `Expected ${r.field(at)} of ${r.what} to be a mapping such as {key: tier, operator: In, values: [db]}, got ${show(e)}`);
    return undefined;
  }
  r.keys(e, at, ['key', 'operator', 'values']);
  if (typeof e.key !== 'string' || e.key === '') {
    r.err(
      e.key === undefined ? 'missing-key' : 'wrong-type',
      e.key === undefined ? at : [...at, 'key'],
      e.key === undefined
        ? `Missing required key \`key\` in ${r.field(at)} of ${r.what}`
        : `Expected ${r.field([...at, 'key'])} of ${r.what} to be a label key, got ${show(e.key)}`,
    );
  } else {
    const bad = qualifiedNameProblem(e.key);
    if (bad) r.err('bad-key', [...at, 'key'], `Label key \`${e.key}\` in ${r.field(at)} of ${r.what} is not valid: ${bad}`);
  }
  let op: (typeof selectorOperators)[number] | undefined;
  if (e.operator === undefined) r.err('missing-key', at, `Missing required key \`operator\` in ${r.field(at)} of ${r.what} (In, NotIn, Exists or DoesNotExist)`);
  else if (typeof e.operator === 'string' && (selectorOperators as readonly string[]).includes(e.operator)) op = e.operator as (typeof selectorOperators)[number];
  else
    r.err(
      'unknown-value',
      [...at, 'operator'],
      `Expected ${r.field([...at, 'operator'])} of ${r.what} to be In, NotIn, Exists or DoesNotExist, got ${show(e.operator)}${typeof e.operator === 'string' ? suggestion(e.operator, selectorOperators) : ''}`,
    );
  const values = r.list(e.values, [...at, 'values']);
  values.forEach((x, j) => {
    if (typeof x !== 'string') r.err('wrong-type', [...at, 'values', j], `Expected ${r.field([...at, 'values', j])} of ${r.what} to be a string (quote it), got ${show(x)}`);
  });
  if ((op === 'In' || op === 'NotIn') && values.length === 0)
    r.err('missing-key', e.values === undefined ? at : [...at, 'values'], `${r.field(at)} of ${r.what} needs \`values\` with operator ${op}`);
  if ((op === 'Exists' || op === 'DoesNotExist') && values.length > 0)
    r.err('conflicting-fields', [...at, 'values'], `${r.field(at)} of ${r.what} may not have \`values\` with operator ${op}`);
  if (!op || typeof e.key !== 'string') return undefined;
  return { key: e.key, operator: op, values: values.filter((x): x is string => typeof x === 'string') };
}

function readIpBlock(r: ObjectReader, v: unknown, at: Path): IpBlockPeer | undefined {
  if (!isMap(v)) {
    r.err('wrong-type', at, `Expected ${r.field(at)} of ${r.what} to be a mapping such as {cidr: 10.0.0.0/16, except: [10.0.5.0/24]}, got ${show(v)}`);
    return undefined;
  }
  r.keys(v, at, ['cidr', 'except']);
  if (v.cidr === undefined || v.cidr === null || v.cidr === '') {
    r.err('missing-key', at, `Missing required key \`cidr\` in ${r.field(at)} of ${r.what}`);
    return undefined;
  }
  const block = typeof v.cidr === 'string' ? parseIpBlock(v.cidr) : undefined;
  if (!block) {
    r.err('bad-address', [...at, 'cidr'], `Expected ${r.field([...at, 'cidr'])} of ${r.what} to be a CIDR such as 10.0.0.0/16, got ${show(v.cidr)}`);
    return undefined;
  }
  if (block.hostBits)
    r.warn('host-bits-set', [...at, 'cidr'], `${r.field([...at, 'cidr'])} of ${r.what} has host bits set: Kubernetes reads \`${String(v.cidr)}\` as \`${block.text}\``);
  if (block.family === 6) r.warn('ipv4-only', [...at, 'cidr'], `${r.field([...at, 'cidr'])} of ${r.what} is an IPv6 block: knetlab's cluster is IPv4 only, so it matches nothing`);
  const except: string[] = [];
  let ok = true;
  r.list(v.except, [...at, 'except']).forEach((x, i) => {
    const xAt = [...at, 'except', i];
    const ex = typeof x === 'string' ? parseIpBlock(x) : undefined;
    if (!ex) {
      r.err('bad-address', xAt, `Expected ${r.field(xAt)} of ${r.what} to be a CIDR such as 10.0.5.0/24, got ${show(x)}`);
      ok = false;
      return;
    }
    if (!strictlyInside(ex, block)) {
      r.err('outside-range', xAt, `${r.field(xAt)} of ${r.what} (\`${String(x)}\`) must be inside \`cidr\` ${block.text} and smaller than it`);
      ok = false;
      return;
    }
    if (ex.hostBits) r.warn('host-bits-set', xAt, `${r.field(xAt)} of ${r.what} has host bits set: Kubernetes reads \`${String(x)}\` as \`${ex.text}\``);
    except.push(ex.text);
  });
  return ok ? { kind: 'ipBlock', cidr: block.text, except, family: block.family, at } : undefined;
}

function readPeer(r: ObjectReader, v: unknown, at: Path): PolicyPeer | undefined {
  if (!isMap(v)) {
    r.err('wrong-type', at, `Expected ${r.field(at)} of ${r.what} to be a mapping with podSelector, namespaceSelector or ipBlock, got ${show(v)}`);
    return undefined;
  }
  const known = ['podSelector', 'namespaceSelector', 'ipBlock'];
  r.keys(v, at, known);
  // The peer's fields are pointers: null is the same as absent (unlike spec.podSelector).
  const has = (k: string) => v[k] !== undefined && v[k] !== null;
  if (has('ipBlock')) {
    if (has('podSelector') || has('namespaceSelector')) {
      r.err('conflicting-fields', at, `${r.field(at)} of ${r.what} may have \`ipBlock\` or pod and namespace selectors, not both (write them as two peers)`);
      return undefined;
    }
    return readIpBlock(r, v.ipBlock, [...at, 'ipBlock']);
  }
  if (!has('podSelector') && !has('namespaceSelector')) {
    if (Object.keys(v).every((k) => known.includes(k))) r.err('missing-key', at, `${r.field(at)} of ${r.what} must name a peer: podSelector, namespaceSelector or ipBlock`);
    return undefined;
  }
  const ps = has('podSelector') ? readSelector(r, v.podSelector, [...at, 'podSelector']) : undefined;
  const ns = has('namespaceSelector') ? readSelector(r, v.namespaceSelector, [...at, 'namespaceSelector']) : undefined;
  if ((has('podSelector') && !ps) || (has('namespaceSelector') && !ns)) return undefined;
  return { kind: 'selector', ...(ps ? { podSelector: ps } : {}), ...(ns ? { namespaceSelector: ns } : {}), at };
}

function readPolicyPort(r: ObjectReader, v: unknown, at: Path): PolicyPort | undefined {
  if (!isMap(v)) {
    r.err('wrong-type', at, `Expected ${r.field(at)} of ${r.what} to be a mapping such as {protocol: TCP, port: 80}, got ${show(v)}`);
    return undefined;
  }
  r.keys(v, at, ['protocol', 'port', 'endPort']);
  const before = r.mark();
  const protocol = readPolicyProtocol(r, v.protocol, [...at, 'protocol']);
  const port = readPortOrName(r, v.port, [...at, 'port']);
  const endPort = readEndPort(r, v, port, [...at, 'endPort']);
  if (r.hasErrors(before)) return undefined;
  return { protocol, ...(port !== undefined ? { port } : {}), ...(endPort !== undefined && endPort !== port ? { endPort } : {}), at };
}

function readPolicyProtocol(r: ObjectReader, v: unknown, at: Path): Protocol {
  if (v === undefined || v === null) return 'TCP';
  if (typeof v === 'string' && (protocols as readonly string[]).includes(v)) return v as Protocol;
  r.err('unknown-value', at, `Expected ${r.field(at)} of ${r.what} to be TCP, UDP or SCTP, got ${show(v)}${typeof v === 'string' ? suggestion(v, protocols) : ''}`);
  return 'TCP';
}

function readPortOrName(r: ObjectReader, v: unknown, at: Path): number | string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'number') {
    if (Number.isInteger(v) && v >= 1 && v <= 65535) return v;
    r.err('out-of-range', at, `Expected ${r.field(at)} of ${r.what} to be a port number (1-65535) or a container port name, got ${show(v)}`);
    return undefined;
  }
  if (typeof v === 'string' && portNameRe.test(v)) return v;
  const hint = typeof v === 'string' && /^\d+$/.test(v) ? ` (a quoted number is read as a port name: write ${v} without quotes)` : '';
  r.err(
    'bad-name',
    at,
    `Expected ${r.field(at)} of ${r.what} to be a port number (1-65535) or a container port name (lower-case a-z, 0-9 and -, at most 15, with a letter), got ${show(v)}${hint}`,
  );
  return undefined;
}

function readEndPort(r: ObjectReader, v: Raw, port: number | string | undefined, at: Path): number | undefined {
  const e = v.endPort;
  if (e === undefined || e === null) return undefined;
  if (typeof e !== 'number' || !Number.isInteger(e) || e < 1 || e > 65535)
    r.err('out-of-range', at, `Expected ${r.field(at)} of ${r.what} to be a port number (1-65535), got ${show(e)}`);
  else if (v.port === undefined || v.port === null) r.err('missing-key', at, `${r.field(at)} of ${r.what} needs a numeric \`port\` to start the range`);
  else if (typeof port === 'string') r.err('conflicting-fields', at, `${r.field(at)} of ${r.what} may not be used with a named port (\`${port}\`)`);
  else if (typeof port === 'number' && e < port) r.err('out-of-range', at, `${r.field(at)} of ${r.what} (${e}) must be at least \`port\` (${port})`);
  else return e;
  return undefined;
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
      if ((p.base & mask(bits)) >>> 0 !== (ex.base & mask(bits)) >>> 0) return [p]; // disjoint
      if (ex.bits <= p.bits) return []; // ex covers p
      const out: Cidr[] = [];
      let cur = p;
      while (cur.bits < ex.bits) {
        const half = cur.bits + 1;
        const lo = { base: cur.base, bits: half };
        const hi = { base: (cur.base + 2 ** (32 - half)) >>> 0, bits: half };
        const exInLo = (ex.base & mask(half)) >>> 0 === lo.base;
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
  const warn = (code: ProblemCode, path: Path, message: string) => problems.push({ code, severity: 'warning', message, path });
  const selected = podsSelectedBy(model, policy);
  if (selected.length === 0) {
    const hostNet = model.pods.filter((p) => p.namespace === policy.namespace && p.hostNetwork && matchesSelector(policy.podSelector, p.labels));
    warn(
      'selects-nothing',
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
          const nsHint =
            peer.namespaceSelector && ![...namespaces.values()].some((l) => matchesSelector(peer.namespaceSelector!, l))
              ? ' (no namespace has its labels; every namespace has the label kubernetes.io/metadata.name: NAME)'
              : '';
          warn('selects-nothing', peer.at, `${formatPath(peer.at)} of ${what} selects no pod${nsHint}, so this ${peerKey} peer allows nothing yet`);
        }
      }
      // A named port is looked up on the destination: the selected pods (ingress), the peer pods (egress).
      const destinations =
        dir === 'ingress' ? selected : rule.peers.length > 0 && rule.peers.every((p) => p.kind === 'selector') ? peerPods : model.pods.filter((p) => !p.hostNetwork);
      for (const port of rule.ports) {
        if (typeof port.port !== 'string' || destinations.length === 0) continue;
        if (!destinations.some((p) => namedPort(p, port.port as string, port.protocol) !== undefined)) {
          const names = [
            ...new Set(destinations.flatMap((p) => p.containers.flatMap((c) => c.ports.flatMap((cp) => (cp.name && cp.protocol === port.protocol ? [cp.name] : []))))),
          ];
          warn(
            'unknown-port',
            [...port.at, 'port'],
            `No ${dir === 'ingress' ? 'selected' : 'destination'} pod of ${what} has a ${port.protocol} container port named \`${port.port}\`, so this port allows nothing${suggestion(port.port, names)}`,
          );
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
  for (const { object, problems: list } of checkNetworkPolicies(model, only)) placeObjectProblems(object, list, problems);
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
