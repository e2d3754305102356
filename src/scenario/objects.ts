import type { z } from 'zod';
import { daemonSetSchema, deploymentSchema, endpointSliceSchema, endpointsSchema, genericSchema, namespaceSchema, podSchema, serviceSchema, subdomainName } from './kube-schema.js';
import { type Problems, shape, show } from './problems.js';
import { originAt, type Origin } from './source.js';
import { suggestion } from './suggest.js';
import { reportZodIssues } from './zod-problems.js';

export type Protocol = 'TCP' | 'UDP' | 'SCTP';
export type Labels = Readonly<Record<string, string>>;

export interface Meta {
  name: string;
  namespace: string;
  labels: Labels;
  annotations: Labels;
  /** metadata.deletionTimestamp was set: the object is being deleted. */
  terminating: boolean;
}

export interface LabelSelector {
  matchLabels: Labels;
  matchExpressions: { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values: string[] }[];
}

export interface ContainerPort {
  name?: string;
  containerPort: number;
  protocol: Protocol;
  /** The node port the CNI's portmap plugin forwards to containerPort (not for hostNetwork pods). */
  hostPort?: number;
  /** The node address hostPort is bound to (unset or 0.0.0.0: every address). */
  hostIP?: string;
}

export interface Container {
  name: string;
  ports: ContainerPort[];
  command?: string[];
  args?: string[];
}

export interface PodSpec {
  containers: Container[];
  nodeName?: string;
  nodeSelector: Labels;
  hostNetwork: boolean;
}

export interface PodTemplate {
  labels: Labels;
  annotations: Labels;
  spec: PodSpec;
}

interface Base<K extends string> {
  kind: K;
  apiVersion: string;
  meta: Meta;
  /** Where the object was written, for messages about it. */
  origin: Origin;
  /** The object as written, for patches. */
  raw: Record<string, unknown>;
}

export interface PodObject extends Base<'Pod'> {
  spec: PodSpec;
  ready: boolean;
}

export interface DeploymentObject extends Base<'Deployment'> {
  replicas: number;
  selector: LabelSelector;
  template: PodTemplate;
}

export interface DaemonSetObject extends Base<'DaemonSet'> {
  selector: LabelSelector;
  template: PodTemplate;
}

export type ServiceType = 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'ExternalName';
export type TrafficPolicy = 'Cluster' | 'Local';

export interface ServicePortSpec {
  /** '' when unnamed. */
  name: string;
  port: number;
  targetPort: number | string;
  nodePort?: number;
  protocol: Protocol;
  appProtocol?: string;
}

export interface ServiceSpec {
  type: ServiceType;
  /** An address, 'None' for headless, or undefined to be allocated. */
  clusterIP?: string;
  /** undefined: selector-less, endpoints come from hand-written objects. */
  selector?: Labels;
  ports: ServicePortSpec[];
  externalTrafficPolicy: TrafficPolicy;
  internalTrafficPolicy: TrafficPolicy;
  sessionAffinity: 'None' | 'ClientIP';
  sessionAffinityTimeout: number;
  externalIPs: string[];
  loadBalancerIP?: string;
  loadBalancerSourceRanges: string[];
  externalName?: string;
  healthCheckNodePort?: number;
  publishNotReadyAddresses: boolean;
  /** PreferClose: the EndpointSlice controller hints each ready endpoint for its own zone (from 1.31). */
  trafficDistribution?: 'PreferClose';
}

export interface ServiceObject extends Base<'Service'> {
  spec: ServiceSpec;
  /** status.loadBalancer.ingress[].ip as pasted. */
  ingressIPs: string[];
}

export interface EndpointAddress {
  ip: string;
  nodeName?: string;
  targetRef?: { kind?: string; name?: string; namespace?: string };
}

export interface EndpointsObject extends Base<'Endpoints'> {
  subsets: { addresses: EndpointAddress[]; notReadyAddresses: EndpointAddress[]; ports: { name: string; port: number; protocol: Protocol }[] }[];
}

export interface SliceEndpoint {
  addresses: string[];
  ready: boolean;
  serving: boolean;
  terminating: boolean;
  nodeName?: string;
  zone?: string;
  /** hints.forZones[].name. */
  zoneHints?: string[];
  targetRef?: { kind?: string; name?: string; namespace?: string };
}

export interface EndpointSliceObject extends Base<'EndpointSlice'> {
  serviceName?: string;
  addressType: 'IPv4' | 'IPv6' | 'FQDN';
  ports: { name: string; port?: number; protocol: Protocol }[];
  endpoints: SliceEndpoint[];
}

export interface GenericObject<K extends 'Ingress' | 'NetworkPolicy' | 'Namespace'> extends Base<K> {
  spec: Record<string, unknown>;
}

export type KubeObject =
  | PodObject
  | DeploymentObject
  | DaemonSetObject
  | ServiceObject
  | EndpointsObject
  | EndpointSliceObject
  | GenericObject<'Ingress'>
  | GenericObject<'NetworkPolicy'>
  | GenericObject<'Namespace'>;

export type KubeKind = KubeObject['kind'];

export const apiVersions: Record<KubeKind, readonly string[]> = {
  Pod: ['v1'],
  Service: ['v1'],
  Endpoints: ['v1'],
  Namespace: ['v1'],
  Deployment: ['apps/v1', 'apps/v1beta2', 'apps/v1beta1', 'extensions/v1beta1'],
  DaemonSet: ['apps/v1', 'apps/v1beta2', 'extensions/v1beta1'],
  EndpointSlice: ['discovery.k8s.io/v1', 'discovery.k8s.io/v1beta1'],
  Ingress: ['networking.k8s.io/v1', 'networking.k8s.io/v1beta1', 'extensions/v1beta1'],
  NetworkPolicy: ['networking.k8s.io/v1', 'extensions/v1beta1'],
};
export const kubeKinds = Object.keys(apiVersions) as KubeKind[];

/** The schema each kind is checked with (readKubeObject; also `knetlab schema`). */
export const kindSchemas = {
  Pod: podSchema,
  Deployment: deploymentSchema,
  DaemonSet: daemonSetSchema,
  Service: serviceSchema,
  Endpoints: endpointsSchema,
  EndpointSlice: endpointSliceSchema,
  Namespace: namespaceSchema,
  Ingress: genericSchema,
  NetworkPolicy: genericSchema,
} satisfies Record<KubeKind, z.ZodType>;

/** `Service default/nginx` */
export function describe(o: { kind: string; meta: { namespace: string; name: string } }): string {
  return o.kind === 'Namespace' ? `Namespace ${o.meta.name}` : `${o.kind} ${o.meta.namespace}/${o.meta.name}`;
}

function check<T extends z.ZodType>(schema: T, value: unknown, origin: Origin, what: string, problems: Problems): z.infer<T> | undefined {
  const res = schema.safeParse(value);
  if (res.success) return res.data;
  reportZodIssues(schema, res.error, { origin, value, suffix: ` of ${what}` }, problems);
  return undefined;
}

function meta(m: z.infer<typeof podSchema>['metadata']): Meta {
  return {
    name: m.name,
    namespace: m.namespace ?? 'default',
    labels: m.labels ?? {},
    annotations: m.annotations ?? {},
    terminating: m.deletionTimestamp != null,
  };
}

function podSpec(s: z.infer<typeof podSchema>['spec']): PodSpec {
  return {
    containers: s.containers.map((c) => ({
      name: c.name,
      ports: (c.ports ?? []).map((p) => ({
        ...(p.name ? { name: p.name } : {}),
        containerPort: p.containerPort,
        protocol: p.protocol ?? 'TCP',
        ...(p.hostPort ? { hostPort: p.hostPort } : {}),
        ...(p.hostIP ? { hostIP: p.hostIP } : {}),
      })),
      ...(c.command ? { command: c.command } : {}),
      ...(c.args ? { args: c.args } : {}),
    })),
    ...(s.nodeName ? { nodeName: s.nodeName } : {}),
    nodeSelector: s.nodeSelector ?? {},
    hostNetwork: s.hostNetwork ?? false,
  };
}

function selector(s: z.infer<typeof deploymentSchema>['spec']['selector']): LabelSelector {
  return {
    matchLabels: s?.matchLabels ?? {},
    matchExpressions: (s?.matchExpressions ?? []).map((e) => ({ key: e.key, operator: e.operator, values: e.values ?? [] })),
  };
}

export function matchesSelector(sel: LabelSelector, labels: Labels): boolean {
  for (const [k, v] of Object.entries(sel.matchLabels)) if (labels[k] !== v) return false;
  for (const e of sel.matchExpressions) {
    const has = Object.hasOwn(labels, e.key);
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
    if (e.operator === 'In' && !(has && e.values.includes(labels[e.key]!))) return false;
    if (e.operator === 'NotIn' && has && e.values.includes(labels[e.key]!)) return false;
  }
  return true;
}

/** A Service's (or nodeSelector's) plain map selector. */
export function matchesLabels(sel: Labels, labels: Labels): boolean {
  return Object.entries(sel).every(([k, v]) => labels[k] === v);
}

function isReady(raw: Record<string, unknown>, annotations: Labels): boolean {
  if (annotations['knetlab.io/ready'] !== undefined) return annotations['knetlab.io/ready'] !== 'false';
  const conditions = (raw.status as { conditions?: { type?: string; status?: string }[] } | undefined)?.conditions;
  const ready = Array.isArray(conditions) ? conditions.find((c) => c?.type === 'Ready') : undefined;
  return ready ? ready.status !== 'False' : true;
}

/**
 * Checks one Kubernetes object and turns it into its typed form. Returns undefined (with the
 * reasons in problems) when it is invalid, or when its kind is not understood (a warning).
 */
export function readKubeObject(value: unknown, origin: Origin, problems: Problems): KubeObject | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    // Its shape only: an item of a List read from a file may be anything, a secret too.
    problems.error('not-a-kubernetes-object', origin, `Expected a Kubernetes object (a mapping with apiVersion, kind and metadata), got ${shape(value)}`);
    return undefined;
  }
  const raw = value as Record<string, unknown>;
  const kind = raw.kind;
  const apiVersion = raw.apiVersion;
  let bad = false;
  if (typeof kind !== 'string') {
    problems.error(
      kind === undefined ? 'missing-key' : 'wrong-type',
      origin,
      kind === undefined ? 'Missing required key `kind` in Kubernetes object' : `Expected \`kind\` to be a string, got ${show(kind)}`,
    );
    bad = true;
  }
  if (typeof apiVersion !== 'string') {
    problems.error(
      apiVersion === undefined ? 'missing-key' : 'wrong-type',
      origin,
      apiVersion === undefined ? 'Missing required key `apiVersion` in Kubernetes object' : `Expected \`apiVersion\` to be a string, got ${show(apiVersion)}`,
    );
    bad = true;
  }
  if (bad) return undefined;
  if ((apiVersion as string).startsWith('knetlab/')) {
    problems.error('not-a-kubernetes-object', originAt(origin, 'apiVersion'), 'A knetlab scenario is not a Kubernetes object; list files of Kubernetes objects under `manifests:`');
    return undefined;
  }
  const k = kind as string;
  if (!(kubeKinds as string[]).includes(k)) {
    const near = suggestion(k, kubeKinds);
    if (near) problems.error('unknown-kind', originAt(origin, 'kind'), `Unknown kind \`${k}\`${near}`);
    else problems.warn('unsupported-kind', originAt(origin, 'kind'), `kind ${k} is not understood by knetlab and is skipped`);
    return undefined;
  }
  const kk = k as KubeKind;
  if (!apiVersions[kk].includes(apiVersion as string)) {
    problems.error('wrong-api-version', originAt(origin, 'apiVersion'), `Expected \`apiVersion\` of ${kk} to be ${apiVersions[kk].join(' or ')}, got \`${String(apiVersion)}\``);
    return undefined;
  }
  const name = (raw.metadata as { name?: unknown } | undefined)?.name;
  const ns = (raw.metadata as { namespace?: unknown } | undefined)?.namespace ?? 'default';
  const what = typeof name === 'string' ? (kk === 'Namespace' ? `Namespace ${name}` : `${kk} ${String(ns)}/${name}`) : kk;
  const before = problems.errorCount;
  if (kk !== 'Service' && kk !== 'Namespace' && typeof name === 'string') {
    const res = subdomainName.safeParse(name);
    if (!res.success)
      reportZodIssues(subdomainName, res.error, { origin: originAt(origin, 'metadata', 'name'), value: name, prefix: ['metadata', 'name'], suffix: ` of ${what}` }, problems);
  }
  const api = apiVersion as string;
  const base = { apiVersion: api, origin, raw };
  switch (kk) {
    case 'Pod': {
      const o = check(kindSchemas.Pod, raw, origin, what, problems);
      if (!o || problems.errorCount > before) return undefined;
      const m = meta(o.metadata);
      return { ...base, kind: 'Pod', meta: m, spec: podSpec(o.spec), ready: isReady(raw, m.annotations) };
    }
    case 'Deployment':
    case 'DaemonSet': {
      const schema = kindSchemas[kk];
      const o = check(schema, raw, origin, what, problems) as z.infer<typeof deploymentSchema> | undefined;
      if (!o || problems.errorCount > before) return undefined;
      const tmeta = o.spec.template.metadata;
      const template: PodTemplate = { labels: tmeta?.labels ?? {}, annotations: tmeta?.annotations ?? {}, spec: podSpec(o.spec.template.spec) };
      let sel: LabelSelector;
      if (o.spec.selector) sel = selector(o.spec.selector);
      else if (api === 'apps/v1') {
        problems.error('missing-key', originAt(origin, 'spec'), `Missing required key \`selector\` in \`spec\` of ${what} (apps/v1 requires it)`);
        return undefined;
      } else sel = { matchLabels: template.labels, matchExpressions: [] }; // older APIs default it from the template
      if (!matchesSelector(sel, template.labels)) {
        problems.error('selector-mismatch', originAt(origin, 'spec', 'selector'), `\`spec.selector\` of ${what} does not match its template's labels`);
        return undefined;
      }
      const m = meta(o.metadata);
      if (kk === 'Deployment') return { ...base, kind: 'Deployment', meta: m, replicas: o.spec.replicas ?? 1, selector: sel, template };
      return { ...base, kind: 'DaemonSet', meta: m, selector: sel, template };
    }
    case 'Service':
      return readService(raw, base, origin, what, problems, before);
    case 'Endpoints': {
      const o = check(kindSchemas.Endpoints, raw, origin, what, problems);
      if (!o || problems.errorCount > before) return undefined;
      const address = (a: { ip: string; nodeName?: string; targetRef?: EndpointAddress['targetRef'] }): EndpointAddress => ({
        ip: a.ip,
        ...(a.nodeName ? { nodeName: a.nodeName } : {}),
        ...(a.targetRef ? { targetRef: a.targetRef } : {}),
      });
      const subsets = (o.subsets ?? []).map((s) => ({
        addresses: (s.addresses ?? []).map(address),
        notReadyAddresses: (s.notReadyAddresses ?? []).map(address),
        ports: (s.ports ?? []).map((p) => ({ name: p.name ?? '', port: p.port, protocol: p.protocol ?? 'TCP' })),
      }));
      return { ...base, kind: 'Endpoints', meta: meta(o.metadata), subsets };
    }
    case 'EndpointSlice': {
      const o = check(kindSchemas.EndpointSlice, raw, origin, what, problems);
      if (!o || problems.errorCount > before) return undefined;
      const m = meta(o.metadata);
      const v1beta1 = api.endsWith('v1beta1');
      const endpoints: SliceEndpoint[] = (o.endpoints ?? []).map((e, i) => {
        const ready = e.conditions?.ready ?? true; // nil ready means ready (API docs)
        const nodeName = e.nodeName ?? (v1beta1 ? e.topology?.['kubernetes.io/hostname'] : undefined);
        const zone = e.zone ?? (v1beta1 ? e.topology?.['topology.kubernetes.io/zone'] : undefined);
        if (o.addressType === 'IPv4') {
          e.addresses.forEach((a, j) => {
            if (!/^\d+\.\d+\.\d+\.\d+$/.test(a))
              problems.error(
                'bad-address',
                originAt(origin, 'endpoints', i, 'addresses', j),
                `Expected \`endpoints[${i}].addresses[${j}]\` of ${what} to be an IPv4 address, got \`${a}\``,
              );
          });
        }
        return {
          addresses: e.addresses,
          ready,
          serving: e.conditions?.serving ?? ready,
          terminating: e.conditions?.terminating ?? false,
          ...(nodeName ? { nodeName } : {}),
          ...(zone ? { zone } : {}),
          ...(e.hints?.forZones?.length ? { zoneHints: e.hints.forZones.map((z) => z.name) } : {}),
          ...(e.targetRef ? { targetRef: e.targetRef } : {}),
        };
      });
      if (problems.errorCount > before) return undefined;
      const serviceName = m.labels['kubernetes.io/service-name'];
      return {
        ...base,
        kind: 'EndpointSlice',
        meta: m,
        ...(serviceName ? { serviceName } : {}),
        addressType: o.addressType,
        ports: (o.ports ?? []).map((p) => ({ name: p.name ?? '', ...(p.port != null ? { port: p.port } : {}), protocol: p.protocol ?? 'TCP' })),
        endpoints,
      };
    }
    case 'Namespace': {
      const o = check(kindSchemas.Namespace, raw, origin, what, problems);
      if (!o || problems.errorCount > before) return undefined;
      return { ...base, kind: 'Namespace', meta: { ...meta(o.metadata), namespace: '' }, spec: {} };
    }
    case 'Ingress':
    case 'NetworkPolicy': {
      const o = check(kindSchemas[kk], raw, origin, what, problems);
      if (!o || problems.errorCount > before) return undefined;
      return { ...base, kind: kk, meta: meta(o.metadata), spec: o.spec ?? {} };
    }
  }
}

function readService(
  raw: Record<string, unknown>,
  base: { apiVersion: string; origin: Origin; raw: Record<string, unknown> },
  origin: Origin,
  what: string,
  problems: Problems,
  before: number,
): ServiceObject | undefined {
  const o = check(kindSchemas.Service, raw, origin, what, problems);
  const at = (...p: (string | number)[]): Origin => originAt(origin, 'spec', ...p);
  // Checked on the object as written, so it is reported even when other fields are wrong.
  const rawPorts = (raw.spec as { ports?: unknown } | undefined)?.ports;
  if (Array.isArray(rawPorts) && rawPorts.length > 1) {
    rawPorts.forEach((p: unknown, i) => {
      if (p !== null && typeof p === 'object' && !(p as { name?: unknown }).name)
        problems.error('unnamed-port', at('ports', i), `\`spec.ports[${i}]\` of ${what} needs a name: a Service with more than one port must name every port`);
    });
  }
  if (!o) return undefined;
  const s = o.spec;
  const type = s.type ?? 'ClusterIP';
  const ports = s.ports ?? [];
  const seenNames = new Map<string, number>();
  const seenPorts = new Map<string, number>();
  ports.forEach((p, i) => {
    if (p.name) {
      if (seenNames.has(p.name))
        problems.error('duplicate-port', at('ports', i, 'name'), `Port name \`${p.name}\` of ${what} is used twice (first at spec.ports[${seenNames.get(p.name)}])`);
      else seenNames.set(p.name, i);
    }
    const key = `${p.port}/${p.protocol ?? 'TCP'}`;
    if (seenPorts.has(key)) problems.error('duplicate-port', at('ports', i, 'port'), `Port ${key} of ${what} is declared twice (first at spec.ports[${seenPorts.get(key)}])`);
    else seenPorts.set(key, i);
    if (p.nodePort !== undefined && type !== 'NodePort' && type !== 'LoadBalancer') {
      problems.error('conflicting-fields', at('ports', i, 'nodePort'), `\`spec.ports[${i}].nodePort\` of ${what} may not be used when type is ${type}`);
    }
  });
  if (type === 'ExternalName') {
    if (!s.externalName) problems.error('missing-key', at(), `Missing required key \`externalName\` in \`spec\` of ${what} (type ExternalName)`);
    else if (!/^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\.?$/i.test(s.externalName)) {
      problems.error('bad-dns-name', at('externalName'), `Expected \`spec.externalName\` of ${what} to be a DNS name such as my.database.example.com, got \`${s.externalName}\``);
    }
  } else if (ports.length === 0 && s.clusterIP !== 'None') {
    problems.error('list-size', at(), `\`spec.ports\` of ${what} must have at least one port`);
  }
  if (s.clusterIP === 'None' && (type === 'NodePort' || type === 'LoadBalancer')) {
    problems.error('conflicting-fields', at('clusterIP'), `A headless Service (clusterIP None) cannot be of type ${type} (${what})`);
  }
  // The API server's ExternallyAccessible: NodePort, LoadBalancer, or any Service with externalIPs.
  if (s.externalTrafficPolicy === 'Local' && type !== 'NodePort' && type !== 'LoadBalancer' && (s.externalIPs ?? []).length === 0) {
    problems.error(
      'conflicting-fields',
      at('externalTrafficPolicy'),
      `\`spec.externalTrafficPolicy\` of ${what} may only be Local for NodePort and LoadBalancer Services, or Services with externalIPs`,
    );
  }
  if (problems.errorCount > before) return undefined;
  const m = meta(o.metadata);
  const selectorMap = s.selector && Object.keys(s.selector).length > 0 ? s.selector : undefined;
  const spec: ServiceSpec = {
    type,
    ...(s.clusterIP ? { clusterIP: s.clusterIP } : {}),
    ...(selectorMap ? { selector: selectorMap } : {}),
    ports: ports.map((p) => ({
      name: p.name ?? '',
      port: p.port,
      targetPort: p.targetPort === undefined ? p.port : typeof p.targetPort === 'string' && /^\d+$/.test(p.targetPort) ? Number(p.targetPort) : p.targetPort,
      ...(p.nodePort !== undefined && p.nodePort !== 0 ? { nodePort: p.nodePort } : {}),
      protocol: p.protocol ?? 'TCP',
      ...(p.appProtocol ? { appProtocol: p.appProtocol } : {}),
    })),
    externalTrafficPolicy: s.externalTrafficPolicy === 'Local' ? 'Local' : 'Cluster',
    internalTrafficPolicy: s.internalTrafficPolicy ?? 'Cluster',
    sessionAffinity: s.sessionAffinity ?? 'None',
    sessionAffinityTimeout: s.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? 10800,
    externalIPs: s.externalIPs ?? [],
    ...(s.loadBalancerIP ? { loadBalancerIP: s.loadBalancerIP } : {}),
    loadBalancerSourceRanges: s.loadBalancerSourceRanges ?? [],
    ...(s.externalName ? { externalName: s.externalName } : {}),
    ...(s.healthCheckNodePort ? { healthCheckNodePort: s.healthCheckNodePort } : {}),
    publishNotReadyAddresses: s.publishNotReadyAddresses ?? false,
    ...(s.trafficDistribution ? { trafficDistribution: s.trafficDistribution } : {}),
  };
  const ingressIPs = (o.status?.loadBalancer?.ingress ?? []).flatMap((i) => (i.ip ? [i.ip] : []));
  return { ...base, kind: 'Service', meta: m, spec, ingressIPs };
}
