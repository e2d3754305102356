import type { Protocol } from '../scenario/objects.js';
import type { AddressRef, PortRef, SourceRef, TargetRef } from '../scenario/refs.js';
import { suggestion } from '../scenario/suggest.js';
import type { Model, Pod, Service, ServicePort } from './types.js';

// Step names resolved against the model at the moment the step runs.

export type Resolved<T> = { ok: true; value: T } | { ok: false; reason: string };
const ok = <T>(value: T): Resolved<T> => ({ ok: true, value });
const no = <T>(reason: string): Resolved<T> => ({ ok: false, reason });

/** A place a probe runs from, or a command runs in. */
export type Place = { kind: 'node' | 'host'; name: string; ip: string } | { kind: 'pod'; name: string; namespace: string; ip: string; node: string; hostNetwork: boolean };

export interface Destination {
  ip: string;
  port?: number;
  protocol?: Protocol;
  /** A host name to resolve inside the source (URLs), instead of ip. */
  hostname?: string;
  /** What the address is, for reports: `ClusterIP of service/nginx`. */
  meaning: string;
}

interface NameIndex<T> {
  byName: Map<string, T[]>;
  namesIn: Map<string, string[]>;
}
// The model's lists are never changed once made (a step makes new ones): each is indexed once, so a
// scenario's thousands of steps do not each walk its thousands of pods.
const indexes = new WeakMap<readonly unknown[], NameIndex<unknown>>();

function indexOf<T extends { name: string; namespace: string }>(items: readonly T[]): NameIndex<T> {
  let index = indexes.get(items) as NameIndex<T> | undefined;
  if (!index) {
    index = { byName: new Map(), namesIn: new Map() };
    for (const x of items) {
      const same = index.byName.get(x.name);
      if (same) same.push(x);
      else index.byName.set(x.name, [x]);
      const names = index.namesIn.get(x.namespace);
      if (names) names.push(x.name);
      else index.namesIn.set(x.namespace, [x.name]);
    }
    indexes.set(items, index as NameIndex<unknown>);
  }
  return index;
}

function findNamespaced<T extends { name: string; namespace: string }>(items: readonly T[], kind: string, name: string, namespace: string | undefined): Resolved<T> {
  const ns = namespace ?? 'default';
  const index = indexOf(items);
  const named = index.byName.get(name) ?? [];
  const hit = named.find((x) => x.namespace === ns);
  if (hit) return ok(hit);
  if (namespace === undefined) {
    const elsewhere = named;
    if (elsewhere.length === 1) return no(`there is no ${kind}/${name} in namespace default; did you mean \`${kind}/${name}.${elsewhere[0]!.namespace}\`?`);
  }
  return no(
    `there is no ${kind}/${name}${namespace ? ` in namespace ${ns}` : ''}${suggestion(name, index.namesIn.get(ns) ?? []).replace(/`([^`]+)`/, `\`${kind}/$1${namespace ? `.${ns}` : ''}\``)}`,
  );
}

function findMachine(model: Model, kind: 'node' | 'host', name: string): Resolved<{ name: string; ip: string }> {
  const list = kind === 'node' ? model.nodes : model.hosts;
  const hit = list.find((m) => m.name === name);
  if (hit) return ok(hit);
  const other = (kind === 'node' ? model.hosts : model.nodes).find((m) => m.name === name);
  if (other) return no(`${name} is a ${kind === 'node' ? 'host' : 'node'}: write \`${kind === 'node' ? 'host' : 'node'}/${name}\``);
  return no(
    `there is no ${kind} ${name}${suggestion(
      name,
      list.map((m) => m.name),
    )}`,
  );
}

function runningPod(model: Model, name: string, namespace: string | undefined): Resolved<Pod & { node: string; ip: string }> {
  const found = findNamespaced(model.pods, 'pod', name, namespace);
  if (!found.ok) return found;
  const p = found.value;
  if (p.phase !== 'Running' || !p.node || !p.ip) return no(`pod/${name} is Pending (${p.pendingReason ?? 'not placed'})`);
  return ok(p as Pod & { node: string; ip: string });
}

export function resolveSource(model: Model, ref: SourceRef): Resolved<Place> {
  if (ref.kind === 'node' || ref.kind === 'host') {
    const m = findMachine(model, ref.kind, ref.name);
    return m.ok ? ok({ kind: ref.kind, name: m.value.name, ip: m.value.ip }) : m;
  }
  let pod: Resolved<Pod & { node: string; ip: string }>;
  if (ref.kind === 'deployment') {
    const dep = findNamespaced(
      model.objects.filter((o) => o.kind === 'Deployment').map((o) => ({ name: o.meta.name, namespace: o.meta.namespace })),
      'deployment',
      ref.name,
      ref.namespace,
    );
    if (!dep.ok) return dep;
    const first = model.pods.find((p) => p.owner?.kind === 'Deployment' && p.owner.name === dep.value.name && p.namespace === dep.value.namespace && p.phase === 'Running');
    if (!first) return no(`deployment/${ref.name} has no running pod`);
    pod = runningPod(model, first.name, first.namespace);
  } else pod = runningPod(model, ref.name, (ref as { namespace?: string }).namespace);
  if (!pod.ok) return pod;
  const p = pod.value;
  return ok({ kind: 'pod', name: p.name, namespace: p.namespace, ip: p.ip, node: p.node, hostNetwork: p.hostNetwork });
}

function servicePort(svc: Service, port: PortRef | undefined, protocol: Protocol | undefined): Resolved<ServicePort> {
  const shown = `service/${svc.name}${svc.namespace === 'default' ? '' : `.${svc.namespace}`}`;
  if (svc.ports.length === 0) return no(`${shown} has no ports`);
  const fits = (p: ServicePort) => protocol === undefined || p.protocol === protocol;
  let hit: ServicePort | undefined;
  if (port === undefined) hit = svc.ports.find(fits);
  else if (typeof port === 'number') hit = svc.ports.find((p) => p.port === port && fits(p)) ?? svc.ports.find((p) => p.port === port);
  else hit = svc.ports.find((p) => p.name === port);
  if (!hit) {
    const list = svc.ports.map((p) => `${p.name ? `${p.name}=` : ''}${p.port}/${p.protocol}`).join(', ');
    return no(`${shown} has no ${port === undefined ? `${protocol} ` : ''}port${port === undefined ? '' : ` ${port}`} (it has ${list})`);
  }
  if (!fits(hit)) return no(`port ${port ?? hit.port} of ${shown} is ${hit.protocol}, not ${protocol}`);
  return ok(hit);
}

/** Where a probe goes; protocol is what the probe sends (undefined for ping, which needs no port). */
export function resolveTarget(model: Model, ref: TargetRef, protocol: Protocol | undefined): Resolved<Destination> {
  const needPort = protocol !== undefined;
  switch (ref.kind) {
    case 'url':
      // A URL always names its port: the scheme's when it writes none.
      return ok({ ip: '', hostname: ref.host, port: ref.port ?? (ref.scheme === 'https' ? 443 : 80), protocol: protocol ?? 'TCP', meaning: `${ref.host}, resolved in the source` });
    case 'name':
      if (needPort && ref.port === undefined) return no(`${ref.host} needs a port: ${ref.host}:PORT (or a URL, http://${ref.host}/)`);
      return ok({ ip: '', hostname: ref.host, ...(ref.port ? { port: ref.port } : {}), ...(protocol ? { protocol } : {}), meaning: `${ref.host}, resolved in the source` });
    case 'ip':
      if (needPort && ref.port === undefined) return no(`${ref.ip} needs a port: ${ref.ip}:PORT`);
      return ok({ ip: ref.ip, ...(ref.port ? { port: ref.port } : {}), ...(protocol ? { protocol } : {}), meaning: 'a literal address' });
    case 'node':
    case 'host': {
      const m = findMachine(model, ref.kind, ref.name);
      if (!m.ok) return m;
      if (needPort && ref.port === undefined) return no(`${ref.kind}/${ref.name} needs a port: ${ref.kind}/${ref.name}:PORT`);
      return ok({ ip: m.value.ip, ...(ref.port ? { port: ref.port } : {}), ...(protocol ? { protocol } : {}), meaning: `${ref.kind}/${ref.name}` });
    }
    case 'pod': {
      const p = runningPod(model, ref.name, ref.namespace);
      if (!p.ok) return p;
      let port: number | undefined;
      if (typeof ref.port === 'number') port = ref.port;
      else if (typeof ref.port === 'string') {
        const cp = p.value.containers.flatMap((c) => c.ports).find((x) => x.name === ref.port);
        if (!cp) return no(`pod/${ref.name} declares no port named ${ref.port}`);
        port = cp.containerPort;
      } else if (needPort) return no(`pod/${ref.name} needs a port: pod/${ref.name}:PORT`);
      return ok({ ip: p.value.ip, ...(port ? { port } : {}), ...(protocol ? { protocol } : {}), meaning: `pod/${p.value.name}` });
    }
    default: {
      const found = findNamespaced(model.services, 'service', ref.name, ref.namespace);
      if (!found.ok) return found;
      const svc = found.value;
      const sp = servicePort(svc, ref.port, protocol);
      if (!sp.ok) return sp;
      const port = sp.value;
      const shown = `service/${svc.name}${svc.namespace === 'default' ? '' : `.${svc.namespace}`}`;
      const base = { protocol: port.protocol };
      if (ref.kind === 'service') {
        if (!svc.clusterIP) return no(`${shown} has no ClusterIP (${svc.spec.type === 'ExternalName' ? 'ExternalName' : 'headless'})`);
        return ok({ ...base, ip: svc.clusterIP, port: port.port, meaning: `ClusterIP of ${shown}` });
      }
      if (ref.kind === 'nodeport') {
        const node = findMachine(model, 'node', ref.node);
        if (!node.ok) return node;
        if (port.nodePort === undefined) return no(`${shown} is of type ${svc.spec.type} and has no nodePort`);
        return ok({ ...base, ip: node.value.ip, port: port.nodePort, meaning: `nodePort of ${shown} on node ${ref.node}` });
      }
      if (ref.kind === 'externalip') {
        const ip = svc.spec.externalIPs[0];
        if (!ip) return no(`${shown} has no externalIPs`);
        return ok({ ...base, ip, port: port.port, meaning: `externalIP of ${shown}` });
      }
      const ip = svc.loadBalancerIPs[0];
      if (!ip) return no(svc.spec.type === 'LoadBalancer' ? `${shown} has no LoadBalancer address yet (<pending>)` : `${shown} is of type ${svc.spec.type}, not LoadBalancer`);
      return ok({ ...base, ip, port: port.port, meaning: `LoadBalancer address of ${shown}` });
    }
  }
}

/**
 * The Service a host name means to a pod of `namespace`, as cluster DNS with the pod's search path
 * answers it: `svc`, `svc.ns`, `svc.ns.svc`, `svc.ns.svc.DOMAIN` (with or without the final dot).
 */
export function serviceForName(model: Model, host: string, namespace: string): Service | undefined {
  const domain = model.config.clusterDomain;
  const name = host.replace(/\.$/, '');
  const full = name.endsWith(`.svc.${domain}`) ? name.slice(0, -`.svc.${domain}`.length) : name.endsWith('.svc') ? name.slice(0, -'.svc'.length) : name;
  const parts = full.split('.');
  if (parts.length > 2) return undefined;
  const [svc, ns = namespace] = parts as [string, string?];
  return model.services.find((s) => s.name === svc && s.namespace === ns);
}

/** Every device a `node/NAME@DEVICE` may name on some network, for suggestions. */
const knownDevices = ['eth0', 'cni0', 'flannel.1', 'vxlan.calico', 'tunl0'];

/** An address named in an expectation. */
export function resolveAddress(model: Model, ref: AddressRef): Resolved<{ ip: string; meaning: string }> {
  switch (ref.kind) {
    case 'ip':
      return ok({ ip: ref.ip, meaning: ref.ip });
    case 'host': {
      const m = findMachine(model, 'host', ref.name);
      return m.ok ? ok({ ip: m.value.ip, meaning: `host/${ref.name}` }) : m;
    }
    case 'node': {
      const found = findMachine(model, 'node', ref.name);
      if (!found.ok) return found;
      const node = model.nodes.find((n) => n.name === ref.name)!;
      if (ref.device === undefined || ref.device === 'eth0') return ok({ ip: node.ip, meaning: `node/${ref.name}${ref.device ? '@eth0' : ''}` });
      // The CNI's devices with an address (cni0, flannel.1, vxlan.calico, tunl0): what the node really has.
      if (Object.hasOwn(node.addresses, ref.device)) return ok({ ip: node.addresses[ref.device]!, meaning: `node/${ref.name}@${ref.device}` });
      const has = ['eth0', ...Object.keys(node.addresses)];
      if (knownDevices.includes(ref.device)) return no(`node/${ref.name} has no ${ref.device} on a ${model.config.network} network (it has ${has.join(', ')})`);
      return no(`node/${ref.name} has no device ${ref.device} (it has ${has.join(', ')})${suggestion(ref.device, has)}`);
    }
    case 'pod': {
      const p = runningPod(model, ref.name, ref.namespace);
      return p.ok ? ok({ ip: p.value.ip, meaning: `pod/${p.value.name}` }) : p;
    }
    case 'service': {
      const s = findNamespaced(model.services, 'service', ref.name, ref.namespace);
      if (!s.ok) return s;
      if (!s.value.clusterIP) return no(`service/${ref.name} has no ClusterIP`);
      return ok({ ip: s.value.clusterIP, meaning: `ClusterIP of service/${ref.name}` });
    }
  }
}
