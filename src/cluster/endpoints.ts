import type { EndpointSliceObject, EndpointsObject, KubeObject, Protocol } from '../scenario/objects.js';
import { describe, matchesLabels } from '../scenario/objects.js';
import type { Problems } from '../scenario/problems.js';
import { originAt } from '../scenario/source.js';
import { suggestion } from '../scenario/suggest.js';
import { shortHash } from '../util/hash.js';
import { MAX_ENDPOINTS } from '../scenario/limits.js';
import { kubeProxyFeatures, NEWEST_KUBERNETES_VERSION, type KubernetesVersion } from '../dataplane/versions.js';
import type { EndpointSlice, Node, Pod, Service, ServicePort, SliceEndpoint } from './types.js';

/** The container port a Service port's targetPort means on one pod, as the endpoints controller finds it. */
export function resolveTargetPort(sp: ServicePort, pod: Pod): number | undefined {
  if (typeof sp.targetPort === 'number') return sp.targetPort;
  for (const c of pod.containers) {
    for (const p of c.ports) if (p.name === sp.targetPort && p.protocol === sp.protocol) return p.containerPort;
  }
  return undefined;
}

function endpointOf(pod: Pod, nodes: ReadonlyMap<string, Node>, publishNotReady: boolean): SliceEndpoint {
  const node = pod.node === undefined ? undefined : nodes.get(pod.node);
  const zone = node?.labels['topology.kubernetes.io/zone'];
  const ready = publishNotReady || (pod.ready && !pod.terminating);
  return {
    ip: pod.ip!,
    ready,
    serving: publishNotReady || pod.ready,
    terminating: pod.terminating,
    ...(pod.node ? { nodeName: pod.node } : {}),
    ...(zone ? { zone } : {}),
    pod: { namespace: pod.namespace, name: pod.name },
  };
}

/**
 * The EndpointSlice controller's hintsEnabled (topologycache): topology-aware-hints, or else
 * topology-mode, set to Auto (or auto). Then its topology cache allocates hints, which knetlab
 * does not model (fields.ts warns), and trafficDistribution is not looked at.
 */
export function topologyModeAuto(annotations: Readonly<Record<string, string>> | undefined): boolean {
  const a = annotations ?? {};
  const v = a['service.kubernetes.io/topology-aware-hints'] ?? a['service.kubernetes.io/topology-mode'];
  return v === 'Auto' || v === 'auto';
}

/** Whether the controller hints this Service's endpoints as trafficDistribution PreferClose asks (trafficdist's preferCloseHeuristic). */
export function prefersClose(svc: Service, version: KubernetesVersion): boolean {
  const stage = kubeProxyFeatures(version).trafficDistribution;
  return svc.spec.trafficDistribution === 'PreferClose' && (stage === 'beta' || stage === 'ga') && !topologyModeAuto(svc.annotations);
}

/** preferCloseHeuristic.update: a ready endpoint with a zone is hinted for that zone; the others get none. */
function hintedForOwnZone(e: SliceEndpoint): SliceEndpoint {
  return e.ready && e.zone ? { ...e, zoneHints: [e.zone] } : e;
}

const labelKey = (namespace: string, k: string, v: string): string => JSON.stringify([namespace, k, v]);

/** Pods by each of their labels (with their namespace): a selector looks at the pods it may select, not at all of them. */
function podsByLabel(pods: readonly Pod[]): Map<string, Pod[]> {
  const index = new Map<string, Pod[]>();
  for (const p of pods) {
    for (const [k, v] of Object.entries(p.labels)) {
      const key = labelKey(p.namespace, k, v);
      const list = index.get(key);
      if (list) list.push(p);
      else index.set(key, [p]);
    }
  }
  return index;
}

/**
 * The EndpointSlice controllers: slices computed from selectors (pods grouped by the ports their
 * targetPorts resolve to, as upstream does), mirrored from hand-written Endpoints of selector-less
 * Services, and hand-written EndpointSlices taken as they are.
 */
export function computeEndpointSlices(
  services: readonly Service[],
  pods: readonly Pod[],
  objects: readonly KubeObject[],
  nodes: readonly Node[],
  problems: Problems,
  version: KubernetesVersion = NEWEST_KUBERNETES_VERSION,
): EndpointSlice[] {
  const slices: EndpointSlice[] = [];
  const svcByKey = new Map(services.map((s) => [`${s.namespace}/${s.name}`, s]));
  const nodeByName = new Map(nodes.map((n) => [n.name, n]));
  const candidates = podsByLabel(pods);
  // Every Service selecting every pod would make Services x pods endpoints: bounded, and said where it overflows.
  let total = 0;
  for (const svc of services) {
    const sel = svc.spec.selector;
    if (!sel || svc.spec.type === 'ExternalName') continue;
    // The pods with one of the selector's labels, in pod order; every label is checked after.
    const first = Object.entries(sel)[0];
    const selected = first
      ? (candidates.get(labelKey(svc.namespace, ...first)) ?? []).filter((p) => matchesLabels(sel, p.labels))
      : pods.filter((p) => p.namespace === svc.namespace);
    total += selected.length;
    if (total > MAX_ENDPOINTS) {
      problems.error(
        'over-capacity',
        originAt(svc.origin, 'spec', 'selector'),
        `Service ${svc.namespace}/${svc.name} selects ${selected.length} pods, which makes the scenario's endpoints more than ${MAX_ENDPOINTS}, more than knetlab runs on one machine; use fewer pods or Services, or narrower selectors`,
      );
      break;
    }
    checkNamedTargetPorts(svc, selected, problems);
    const groups = new Map<string, { ports: EndpointSlice['ports']; endpoints: SliceEndpoint[] }>();
    for (const pod of selected) {
      if (pod.phase !== 'Running' || !pod.ip) continue;
      const ports = svc.ports.flatMap((sp) => {
        const port = resolveTargetPort(sp, pod);
        return port === undefined ? [] : [{ name: sp.name, port, protocol: sp.protocol }];
      });
      if (ports.length === 0 && svc.ports.length > 0) continue;
      const key = JSON.stringify(ports);
      const g = groups.get(key) ?? { ports, endpoints: [] };
      g.endpoints.push(endpointOf(pod, nodeByName, svc.spec.publishNotReadyAddresses));
      groups.set(key, g);
    }
    const close = prefersClose(svc, version);
    for (const [key, g] of groups) {
      if (close) g.endpoints = g.endpoints.map(hintedForOwnZone);
      slices.push({
        namespace: svc.namespace,
        name: `${svc.name}-${shortHash(`${svc.namespace}/${svc.name}/${key}`)}`,
        service: svc.name,
        managedBy: 'endpointslice-controller.k8s.io',
        ...g,
      });
    }
  }
  for (const o of objects) {
    if (o.kind === 'Endpoints') slices.push(...mirror(o, svcByKey, problems));
    else if (o.kind === 'EndpointSlice') slices.push(...userSlice(o, svcByKey, problems));
  }
  return slices;
}

/** Endpoints and EndpointSlices being applied must belong to a Service that exists. */
export function checkEndpointOwners(applied: readonly KubeObject[], services: readonly Service[], problems: Problems): void {
  for (const o of applied) {
    let name: string | undefined;
    let at;
    if (o.kind === 'Endpoints') {
      name = o.meta.name;
      at = originAt(o.origin, 'metadata', 'name');
    } else if (o.kind === 'EndpointSlice' && o.serviceName) {
      name = o.serviceName;
      at = originAt(o.origin, 'metadata', 'labels', 'kubernetes.io/service-name');
    }
    if (name === undefined || services.some((s) => s.namespace === o.meta.namespace && s.name === name)) continue;
    const names = services.filter((s) => s.namespace === o.meta.namespace).map((s) => s.name);
    problems.error('unknown-service', at, `${describe(o)} is for Service ${o.meta.namespace}/${name}, which does not exist${suggestion(name, names)}`);
  }
}

function mirror(o: EndpointsObject, svcByKey: Map<string, Service>, problems: Problems): EndpointSlice[] {
  const svc = svcByKey.get(`${o.meta.namespace}/${o.meta.name}`);
  if (!svc) return []; // an orphan, as after its Service was deleted; checkEndpointOwners reports new ones
  if (svc.spec.selector) {
    problems.warn(
      'ignored-field',
      originAt(o.origin, 'metadata', 'name'),
      `${describe(o)} is ignored: Service ${o.meta.namespace}/${o.meta.name} has a selector, so the endpoints controller owns its Endpoints`,
    );
    return [];
  }
  return o.subsets.map((s, i) => {
    const ep =
      (ready: boolean) =>
      (a: (typeof s.addresses)[number]): SliceEndpoint => ({
        ip: a.ip,
        ready,
        serving: ready,
        terminating: false,
        ...(a.nodeName ? { nodeName: a.nodeName } : {}),
        ...(a.targetRef?.kind === 'Pod' && a.targetRef.name ? { pod: { namespace: a.targetRef.namespace ?? o.meta.namespace, name: a.targetRef.name } } : {}),
      });
    return {
      namespace: o.meta.namespace,
      name: `${o.meta.name}-${shortHash(`${o.meta.namespace}/${o.meta.name}/mirror/${i}`)}`,
      service: o.meta.name,
      managedBy: 'endpointslicemirroring-controller.k8s.io' as const,
      ports: s.ports.map((p) => ({ name: p.name, port: p.port, protocol: p.protocol })),
      endpoints: [...s.addresses.map(ep(true)), ...s.notReadyAddresses.map(ep(false))],
    };
  });
}

function userSlice(o: EndpointSliceObject, svcByKey: Map<string, Service>, problems: Problems): EndpointSlice[] {
  if (!o.serviceName) {
    problems.warn('ignored-field', originAt(o.origin, 'metadata'), `${describe(o)} has no \`kubernetes.io/service-name\` label, so kube-proxy ignores it`);
    return [];
  }
  if (!svcByKey.has(`${o.meta.namespace}/${o.serviceName}`)) return [];
  if (o.addressType !== 'IPv4') {
    problems.warn('ipv4-only', originAt(o.origin, 'addressType'), `${describe(o)} has addressType ${o.addressType}; knetlab models IPv4 only and skips it`);
    return [];
  }
  return [
    {
      namespace: o.meta.namespace,
      name: o.meta.name,
      service: o.serviceName,
      managedBy: 'user',
      ports: o.ports.flatMap((p) => (p.port === undefined ? [] : [{ name: p.name, port: p.port, protocol: p.protocol as Protocol }])),
      endpoints: o.endpoints.flatMap((e) =>
        e.addresses.map((ip) => ({
          ip,
          ready: e.ready,
          serving: e.serving,
          terminating: e.terminating,
          ...(e.nodeName ? { nodeName: e.nodeName } : {}),
          ...(e.zone ? { zone: e.zone } : {}),
          ...(e.zoneHints ? { zoneHints: e.zoneHints } : {}),
          ...(e.targetRef?.kind === 'Pod' && e.targetRef.name ? { pod: { namespace: e.targetRef.namespace ?? o.meta.namespace, name: e.targetRef.name } } : {}),
        })),
      ),
    },
  ];
}

/** A named targetPort that none of the selected pods declares can never get an endpoint. */
function checkNamedTargetPorts(svc: Service, selected: readonly Pod[], problems: Problems): void {
  if (selected.length === 0) return;
  svc.ports.forEach((sp, i) => {
    if (typeof sp.targetPort !== 'string') return;
    if (selected.some((p) => resolveTargetPort(sp, p) !== undefined)) return;
    const declared = [...new Set(selected.flatMap((p) => p.containers.flatMap((c) => c.ports.filter((cp) => cp.name && cp.protocol === sp.protocol).map((cp) => cp.name!))))];
    problems.error(
      'unknown-port',
      originAt(svc.origin, 'spec', 'ports', i, 'targetPort'),
      `\`spec.ports[${i}].targetPort\` \`${sp.targetPort}\` of Service ${svc.namespace}/${svc.name} names a port no container of its ${selected.length} selected pod${selected.length === 1 ? '' : 's'} declares (${declared.length ? `declared: ${declared.join(', ')}` : `no named ${sp.protocol} ports`})${suggestion(sp.targetPort, declared)}`,
    );
  });
}
