import type { DaemonSetObject, DeploymentObject, KubeObject, Labels, PodObject } from '../scenario/objects.js';
import { describe, matchesLabels } from '../scenario/objects.js';
import type { Problems } from '../scenario/problems.js';
import { originAt, type Origin } from '../scenario/source.js';
import { sha256 } from '../util/hash.js';
import { intToIp, ipToInt } from '../util/ip.js';
import { podAddressRange } from './capacity.js';
import type { Model, Node, Pod, Workload } from './types.js';
import { podKey } from './types.js';
import { MAX_PODS } from '../scenario/limits.js';

export const WORKLOAD_ANNOTATION = 'knetlab.io/workload';
const workloads: readonly Workload[] = ['echo', 'command', 'ingress-nginx', 'dns'];
const userWorkloads = ['echo', 'command', 'ingress-nginx'];

/** JSON with sorted keys, so the same template always hashes the same. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/** Like pod-template-hash: any change to the written template (an image too) means new pods. */
function templateHash(owner: DeploymentObject | DaemonSetObject): string {
  const raw = (owner.raw.spec as { template?: unknown } | undefined)?.template ?? owner.template;
  return sha256(canonical(raw)).toString('hex').slice(0, 10);
}

function workloadOf(annotations: Labels, origin: Origin, annotationPath: (string | number)[], problems: Problems): Workload {
  const w = annotations[WORKLOAD_ANNOTATION];
  if (w === undefined) return 'echo';
  if (!(workloads as readonly string[]).includes(w)) {
    problems.error(
      'unknown-value',
      originAt(origin, ...annotationPath, WORKLOAD_ANNOTATION),
      `Expected annotation \`${WORKLOAD_ANNOTATION}\` to be one of ${userWorkloads.join(', ')}, got \`${w}\``,
    );
    return 'echo';
  }
  return w as Workload;
}

function podFromTemplate(owner: DeploymentObject | DaemonSetObject, name: string, problems: Problems, nodeName?: string): Pod {
  const t = owner.template;
  return {
    namespace: owner.meta.namespace,
    name,
    labels: t.labels,
    annotations: t.annotations,
    hostNetwork: t.spec.hostNetwork,
    phase: 'Pending',
    ready: t.annotations['knetlab.io/ready'] !== 'false',
    terminating: false,
    owner: { kind: owner.kind, name: owner.meta.name },
    templateHash: templateHash(owner),
    containers: t.spec.containers,
    workload: workloadOf(t.annotations, owner.origin, ['spec', 'template', 'metadata', 'annotations'], problems),
    origin: owner.origin,
    ...(nodeName ? { node: nodeName } : {}),
  };
}

function podFromObject(o: PodObject, problems: Problems): Pod {
  return {
    namespace: o.meta.namespace,
    name: o.meta.name,
    labels: o.meta.labels,
    annotations: o.meta.annotations,
    hostNetwork: o.spec.hostNetwork,
    phase: 'Pending',
    ready: o.ready,
    terminating: o.meta.terminating,
    containers: o.spec.containers,
    workload: workloadOf(o.meta.annotations, o.origin, ['metadata', 'annotations'], problems),
    origin: o.origin,
  };
}

interface Placement {
  nodeName?: string;
  nodeSelector: Labels;
}

function eligibleNodes(nodes: readonly Node[], p: Placement): Node[] {
  return nodes.filter((n) => (p.nodeName === undefined || n.name === p.nodeName) && matchesLabels(p.nodeSelector, n.labels));
}

/** Warnings for a placement that can never be met, at the field that causes it. */
function checkPlacement(nodes: readonly Node[], p: Placement, origin: Origin, specPath: string[], what: string, problems: Problems): void {
  const pending = what.startsWith('Pod ') ? 'it stays Pending' : 'its pods stay Pending';
  if (p.nodeName !== undefined && !nodes.some((n) => n.name === p.nodeName)) {
    problems.warn('unschedulable-pod', originAt(origin, ...specPath, 'nodeName'), `\`nodeName\` ${p.nodeName} of ${what} is not a node of this scenario; ${pending}`);
  } else if (Object.keys(p.nodeSelector).length > 0 && eligibleNodes(nodes, p).length === 0) {
    const sel = Object.entries(p.nodeSelector)
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    problems.warn('unschedulable-pod', originAt(origin, ...specPath, 'nodeSelector'), `\`nodeSelector\` ${sel} of ${what} matches no node; ${pending}`);
  }
}

/**
 * The pods placed so far in one pass, with what placing the next one asks of them kept as they
 * come (pods of an owner per node, addresses in use per node): a placement costs the same at the
 * 5000th pod as at the first.
 */
interface HostPortUse {
  port: number;
  protocol: string;
  ip: string;
}

/** A pod's host ports as the scheduler counts them: a hostNetwork pod's container ports are its host ports (the API defaults hostPort to containerPort). */
function hostPortsOf(pod: Pod): HostPortUse[] {
  return pod.containers.flatMap((c) =>
    c.ports.flatMap((p) => {
      const port = p.hostPort ?? (pod.hostNetwork ? p.containerPort : undefined);
      return port ? [{ port, protocol: p.protocol, ip: p.hostIP || '0.0.0.0' }] : [];
    }),
  );
}

class PlacedPods {
  readonly list: Pod[] = [];
  readonly #perOwnerNode = new Map<string, number>();
  readonly #perNode = new Map<string, number>();
  readonly #ips = new Map<string, Set<string>>();
  readonly #hostPorts = new Map<string, HostPortUse[]>();

  add(p: Pod): void {
    this.list.push(p);
    if (p.node === undefined) return;
    if (p.phase === 'Running') this.#hostPorts.set(p.node, [...(this.#hostPorts.get(p.node) ?? []), ...hostPortsOf(p)]);
    this.#perNode.set(p.node, (this.#perNode.get(p.node) ?? 0) + 1);
    if (p.owner) {
      const key = `${ownerKey(p)}|${p.node}`;
      this.#perOwnerNode.set(key, (this.#perOwnerNode.get(key) ?? 0) + 1);
    }
    if (p.ip && !p.hostNetwork) this.usedIPs(p.node).add(p.ip);
  }

  /** The scheduler's NodePorts filter: a host port (protocol, port, overlapping hostIP) already taken on the node. */
  hostPortTaken(pod: Pod, node: string): HostPortUse | undefined {
    const used = this.#hostPorts.get(node) ?? [];
    for (const want of hostPortsOf(pod)) {
      const clash = used.find((u) => u.port === want.port && u.protocol === want.protocol && (u.ip === '0.0.0.0' || want.ip === '0.0.0.0' || u.ip === want.ip));
      if (clash) return clash;
    }
    return undefined;
  }

  /** Pods of the same owner on a node (of any owner, for a bare Pod): what the scheduler spreads. */
  count(pod: Pod, node: string): number {
    return (pod.owner ? this.#perOwnerNode.get(`${ownerKey(pod)}|${node}`) : this.#perNode.get(node)) ?? 0;
  }

  usedIPs(node: string): Set<string> {
    let ips = this.#ips.get(node);
    if (!ips) {
      ips = new Set();
      this.#ips.set(node, ips);
    }
    return ips;
  }
}

const ownerKey = (p: Pod): string => `${p.owner!.kind}/${p.namespace}/${p.owner!.name}`;

/** host-local IPAM: the next free address after the last one handed out, wrapping, in the CNI's range of the node's subnet (flannel: from .2 on). */
function allocatePodIP(model: Model, node: Node, used: ReadonlySet<string>): string | undefined {
  const range = podAddressRange(node, model.config.network);
  const first = ipToInt(range.first);
  const size = range.size;
  // hasOwn: a node may be named `constructor`, which a plain object already answers.
  const last = Object.hasOwn(model.ipamLast, node.name) ? model.ipamLast[node.name] : undefined;
  const start = last === undefined ? 0 : last + 1 - first;
  for (let k = 0; k < size; k++) {
    const n = first + ((start + k) % size);
    const ip = intToIp(n);
    if (!used.has(ip)) {
      model.ipamLast[node.name] = n;
      return ip;
    }
  }
  return undefined;
}

function place(model: Model, pod: Pod, p: Placement, placed: PlacedPods): Pod {
  let node: Node | undefined;
  if (pod.node) node = model.nodes.find((n) => n.name === pod.node);
  else {
    const selected = eligibleNodes(model.nodes, p);
    if (selected.length === 0) {
      return { ...pod, phase: 'Pending', pendingReason: p.nodeName !== undefined ? `node ${p.nodeName} does not exist` : 'no node matches its nodeSelector' };
    }
    const eligible = selected.filter((n) => !placed.hostPortTaken(pod, n.name));
    if (eligible.length === 0) {
      const clash = placed.hostPortTaken(pod, selected[0]!.name)!;
      // kube-scheduler's NodePorts filter, in its words.
      const reason = `${selected.length} node(s) didn't have free ports for the requested pod ports (hostPort ${clash.port}/${clash.protocol})`;
      return { ...pod, phase: 'Pending', pendingReason: reason };
    }
    // Spread: the eligible node with the fewest pods of the same owner (of any, for a bare Pod), ties in file order.
    const count = (n: Node) => placed.count(pod, n.name);
    node = eligible.reduce((best, n) => (count(n) < count(best) ? n : best));
  }
  if (!node) return { ...pod, phase: 'Pending', pendingReason: `node ${pod.node} does not exist` };
  if (pod.hostNetwork) return { ...pod, node: node.name, ip: node.ip, phase: 'Running' };
  const ip = allocatePodIP(model, node, placed.usedIPs(node.name));
  if (!ip) return { ...pod, node: node.name, phase: 'Pending', pendingReason: `no free pod address left in ${node.podCIDR}` };
  const { pendingReason: _unused, ...rest } = pod;
  return { ...rest, node: node.name, ip, phase: 'Running' };
}

/**
 * The kubelet, scheduler and workload controllers in one pass: every Pod object has its pod, every
 * Deployment its replicas, every DaemonSet a pod per eligible node; new pods are placed and get
 * addresses in the order their objects were applied. Existing pods keep their node and address.
 */
export function reconcilePods(model: Model, objects: readonly KubeObject[], problems: Problems): Pod[] {
  const byKey = new Map(model.pods.map((p) => [podKey(p), p]));
  const byOwner = new Map<string, Pod[]>();
  for (const p of model.pods) {
    if (!p.owner) continue;
    const list = byOwner.get(ownerKey(p));
    if (list) list.push(p);
    else byOwner.set(ownerKey(p), [p]);
  }
  const placed = new PlacedPods();
  const out = placed.list;
  const taken = new Set<string>();
  const overLimit = new Set<Origin>();
  const add = (p: Pod, placement: Placement) => {
    // Every pod runs on this one machine, and placing one looks at every other: a bound keeps both finite.
    if (out.length >= MAX_PODS) {
      if (!overLimit.has(p.origin))
        problems.error(
          'over-capacity',
          originAt(p.origin, 'metadata', 'name'),
          `${p.owner ? `${p.owner.kind} ${p.namespace}/${p.owner.name}` : `Pod ${p.namespace}/${p.name}`} would make the scenario's pods more than ${MAX_PODS}, more than knetlab runs on one machine; use fewer replicas`,
        );
      overLimit.add(p.origin);
      return;
    }
    const pod = p.phase === 'Running' ? p : place(model, p, placement, placed);
    placed.add(pod);
    taken.add(podKey(pod));
  };
  const userPodKeys = new Set(objects.filter((o) => o.kind === 'Pod').map((o) => `${o.meta.namespace}/${o.meta.name}`));
  for (const o of objects) {
    if (o.kind === 'Pod') {
      const key = podKey(o.meta);
      const prev = byKey.get(key);
      const fresh = podFromObject(o, problems);
      const placement = { ...(o.spec.nodeName ? { nodeName: o.spec.nodeName } : {}), nodeSelector: o.spec.nodeSelector };
      if (!prev) checkPlacement(model.nodes, placement, o.origin, ['spec'], describe(o), problems);
      // A pod's labels and readiness may change in place; its node and address do not.
      add(
        prev && !prev.owner
          ? {
              ...fresh,
              ...(prev.node ? { node: prev.node } : {}),
              ...(prev.ip ? { ip: prev.ip } : {}),
              phase: prev.phase,
              ...(prev.pendingReason ? { pendingReason: prev.pendingReason } : {}),
            }
          : fresh,
        placement,
      );
    } else if (o.kind === 'Deployment') {
      const placement = { ...(o.template.spec.nodeName ? { nodeName: o.template.spec.nodeName } : {}), nodeSelector: o.template.spec.nodeSelector };
      checkPlacement(model.nodes, placement, o.origin, ['spec', 'template', 'spec'], describe(o), problems);
      const hash = templateHash(o);
      const ownerKey = `Deployment/${o.meta.namespace}/${o.meta.name}`;
      const current = (byOwner.get(`Deployment/${o.meta.namespace}/${o.meta.name}`) ?? []).filter((p) => p.templateHash === hash);
      // Scaling down removes the newest pods first.
      const keep = current.slice(0, o.replicas);
      for (const p of keep) add(p, placement);
      for (let i = keep.length; i < o.replicas; i++) {
        let index = model.nextPodIndex[ownerKey] ?? 0;
        while (
          taken.has(`${o.meta.namespace}/${o.meta.name}-${index}`) ||
          userPodKeys.has(`${o.meta.namespace}/${o.meta.name}-${index}`) ||
          byKey.has(`${o.meta.namespace}/${o.meta.name}-${index}`)
        )
          index++;
        model.nextPodIndex[ownerKey] = index + 1;
        add(podFromTemplate(o, `${o.meta.name}-${index}`, problems), placement);
      }
    } else if (o.kind === 'DaemonSet') {
      const hash = templateHash(o);
      const placement = { nodeSelector: o.template.spec.nodeSelector };
      checkPlacement(model.nodes, placement, o.origin, ['spec', 'template', 'spec'], describe(o), problems);
      for (const n of eligibleNodes(model.nodes, placement)) {
        const name = `${o.meta.name}-${n.name}`;
        const prev = byKey.get(`${o.meta.namespace}/${name}`);
        if (prev && prev.owner?.kind === 'DaemonSet' && prev.templateHash === hash) add(prev, placement);
        else add(podFromTemplate(o, name, problems, n.name), placement);
      }
    }
  }
  return out;
}
