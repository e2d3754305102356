// The one list of the Kubernetes fields that change networking in a cluster: those knetlab honours,
// and those it does not model, which `knetlab validate` warns about (code not-modelled) at their
// line:col. docs/fields.md lists both; test/scenario/fields.test.ts keeps the page and this list equal.
// Fields that do not change networking (resources, probes' timings, volumes, env, ...) are in neither.
import type { KubeObject } from './objects.js';
import type { Problems } from './problems.js';
import { originAt, type Path } from './source.js';

/** The kinds the page has a section for; `Pod spec` is shared by Pods, Deployments and DaemonSets. */
export type FieldGroup = 'Pod' | 'Pod spec' | 'Deployment' | 'DaemonSet' | 'Service' | 'Endpoints' | 'EndpointSlice' | 'Ingress' | 'NetworkPolicy' | 'Namespace';

export interface FieldEntry {
  group: FieldGroup;
  /**
   * Dotted, `[]` for every item of a list, `*` for every key of a mapping, `["k"]` for one key (an
   * annotation), `["prefix*"]` for every key with that prefix.
   */
  path: string;
  status: 'honoured' | 'warned';
  /** What knetlab does with it (honoured), or what a cluster would do that knetlab does not (warned). */
  note: string;
  /** warned: values knetlab behaves as anyway (a default, IPv4 single stack), which are not warned about. */
  modelledWhen?: (value: unknown) => boolean;
  /** warned by the kind's own reader (with its own code), not by warnNotModelled. */
  warnedByReader?: boolean;
}

const is =
  (...values: unknown[]) =>
  (v: unknown): boolean =>
    values.includes(v);
const onlyIPv4 = (v: unknown): boolean =>
  Array.isArray(v) && v.length <= 1 && v.every((x) => x === 'IPv4' || x === 'None' || (typeof x === 'string' && /^\d+\.\d+\.\d+\.\d+$/.test(x)));
const empty = (v: unknown): boolean => (Array.isArray(v) ? v.length === 0 : v !== null && typeof v === 'object' && Object.keys(v).length === 0);

/** The EndpointSlice controller's topology cache (topology-mode Auto) is not modelled: why, and the values that do not ask for it. */
const AUTO_HINTS =
  "Auto's hints (zones' shares of allocatable CPU, with the controller's guardrails) are not made: a selector's endpoints get none; before 1.31 kube-proxy uses a hand-written slice's hints only under it";
const notAuto = (v: unknown): boolean => v !== 'Auto' && v !== 'auto';

const h = (group: FieldGroup, path: string, note: string): FieldEntry => ({ group, path, status: 'honoured', note });
const w = (group: FieldGroup, path: string, note: string, modelledWhen?: FieldEntry['modelledWhen']): FieldEntry => ({
  group,
  path,
  status: 'warned',
  note,
  ...(modelledWhen ? { modelledWhen } : {}),
});

export const fieldList: readonly FieldEntry[] = [
  // Pod: its own metadata and status (a Deployment's or DaemonSet's pods take their template's)
  h('Pod', 'metadata.namespace', 'the pod network namespace NAME.NAMESPACE; default `default`'),
  h('Pod', 'metadata.labels', 'what Service selectors, workload selectors and NetworkPolicy podSelectors match'),
  h('Pod', 'metadata.annotations["knetlab.io/workload"]', 'what runs in the pod: echo, command or ingress-nginx'),
  h('Pod', 'metadata.annotations["knetlab.io/ready"]', '"false" makes the pod a not-ready endpoint'),
  h('Pod', 'metadata.deletionTimestamp', 'the pod is terminating: a serving, terminating endpoint'),
  h('Pod', 'status.conditions', 'Ready "False" makes the pod a not-ready endpoint'),
  // Pod spec: a Pod's spec, a Deployment's or DaemonSet's spec.template.spec
  h('Pod spec', 'nodeName', 'the node the pod runs on'),
  h('Pod spec', 'nodeSelector', "the nodes it may run on (the scenario's node labels)"),
  h('Pod spec', 'hostNetwork', "the pod shares its node's network namespace and address"),
  h('Pod spec', 'containers[].ports[].name', 'named targetPorts of Services and NetworkPolicy ports'),
  h('Pod spec', 'containers[].ports[].containerPort', 'where the echo server listens'),
  h('Pod spec', 'containers[].ports[].protocol', 'TCP, UDP or SCTP'),
  h('Pod spec', 'containers[].ports[].hostPort', "the CNI portmap plugin's DNAT from the node's addresses (not for hostNetwork pods); the scheduler's NodePorts filter"),
  h('Pod spec', 'containers[].ports[].hostIP', 'the node address a hostPort is bound to'),
  h('Pod spec', 'containers[].command', 'run in the pod with the `command` workload'),
  h('Pod spec', 'containers[].args', 'run in the pod with the `command` workload'),
  w('Pod spec', 'dnsPolicy', "pods resolve through the cluster DNS with the search path and ndots:5 of ClusterFirst; hostNetwork pods use the node's resolver", is('ClusterFirst')),
  w('Pod spec', 'dnsConfig', "pods' resolv.conf is ClusterFirst's: nameservers, searches and options are not applied"),
  w('Pod spec', 'hostAliases', 'no /etc/hosts entries are added to the pod'),
  w('Pod spec', 'hostname', 'no DNS record hostname.subdomain is made for the pod'),
  w('Pod spec', 'subdomain', 'no DNS record hostname.subdomain is made for the pod'),
  w('Pod spec', 'readinessGates', 'readiness comes from status.conditions or knetlab.io/ready only'),
  w('Pod spec', 'containers[].readinessProbe', 'the probe is not run: readiness comes from status.conditions or knetlab.io/ready'),
  w('Pod spec', 'affinity', 'placement is nodeName, nodeSelector, then round-robin over the eligible nodes'),
  w('Pod spec', 'topologySpreadConstraints', 'placement is nodeName, nodeSelector, then round-robin over the eligible nodes'),
  w('Pod spec', 'securityContext.sysctls', "no sysctl is set in the pod's network namespace", empty),
  w('Pod spec', 'initContainers[].ports', 'init containers do not run'),
  // Deployment, DaemonSet
  h('Deployment', 'spec.replicas', 'pods NAME-0, NAME-1, ... spread round-robin over the eligible nodes'),
  h('Deployment', 'spec.selector', 'checked against the template labels'),
  h('Deployment', 'spec.template.metadata.labels', "the pods' labels"),
  h('Deployment', 'spec.template.metadata.annotations', "the pods' annotations (knetlab.io/workload, knetlab.io/ready)"),
  h('DaemonSet', 'spec.selector', 'checked against the template labels'),
  h('DaemonSet', 'spec.template.metadata.labels', "the pods' labels (one pod NAME-NODE on each eligible node)"),
  h('DaemonSet', 'spec.template.metadata.annotations', "the pods' annotations"),
  // Service
  h('Service', 'metadata.namespace', 'the DNS name NAME.NAMESPACE.svc and kube-proxy chain names'),
  h('Service', 'spec.type', 'ClusterIP, NodePort, LoadBalancer or ExternalName'),
  h('Service', 'spec.clusterIP', 'given or allocated; None for a headless Service'),
  h('Service', 'spec.selector', 'the pods behind it; none: endpoints come from Endpoints or EndpointSlices'),
  h('Service', 'spec.ports[].name', 'port names (chain names, named targets)'),
  h('Service', 'spec.ports[].port', 'the ClusterIP port'),
  h('Service', 'spec.ports[].targetPort', 'by number or container port name'),
  h('Service', 'spec.ports[].nodePort', 'given or allocated from nodePortRange'),
  h('Service', 'spec.ports[].protocol', 'TCP, UDP or SCTP'),
  h('Service', 'spec.externalTrafficPolicy', 'Cluster or Local, as kube-proxy renders them'),
  h('Service', 'spec.internalTrafficPolicy', 'Cluster or Local'),
  h('Service', 'spec.sessionAffinity', 'ClientIP affinity in every kube-proxy mode'),
  h('Service', 'spec.sessionAffinityConfig.clientIP.timeoutSeconds', "the affinity's timeout"),
  h('Service', 'spec.externalIPs', "kube-proxy's external IP rules"),
  h('Service', 'spec.loadBalancerIP', "the LoadBalancer's address"),
  h('Service', 'spec.loadBalancerSourceRanges', "kube-proxy's load balancer firewall (KUBE-FW- / firewall chains)"),
  h('Service', 'spec.healthCheckNodePort', "kube-proxy's health check server for Local LoadBalancer Services"),
  h('Service', 'spec.publishNotReadyAddresses', 'not-ready pods are published (DNS, endpoints)'),
  h('Service', 'spec.externalName', 'a CNAME in the cluster DNS'),
  h(
    'Service',
    'spec.trafficDistribution',
    "PreferClose (from 1.31): the EndpointSlice controller hints each ready endpoint for its node's zone (`topology.kubernetes.io/zone`), and kube-proxy keeps to its own zone's endpoints",
  ),
  h('Service', 'status.loadBalancer.ingress[].ip', "the LoadBalancer's address (the LAN gateway plays the cloud load balancer)"),
  w('Service', 'spec.clusterIPs', 'no second (IPv6) ClusterIP: knetlab is IPv4 only', onlyIPv4),
  w('Service', 'spec.ipFamilies', 'knetlab is IPv4 only (no dual stack)', onlyIPv4),
  w('Service', 'spec.ipFamilyPolicy', 'knetlab is IPv4 only (no dual stack)', is('SingleStack')),
  w('Service', 'spec.allocateLoadBalancerNodePorts', 'nodePorts are allocated for every LoadBalancer Service', is(true)),
  w('Service', 'spec.loadBalancerClass', 'the LAN gateway serves every LoadBalancer Service, whatever its class'),
  w('Service', 'spec.topologyKeys', 'every endpoint is used (topologyKeys were removed in 1.22)'),
  w('Service', 'status.loadBalancer.ingress[].hostname', 'a load balancer hostname is not resolved or routed'),
  w('Service', 'status.loadBalancer.ingress[].ipMode', 'kube-proxy programs the address as with ipMode VIP (with Proxy it leaves it to the load balancer)', is('VIP')),
  w('Service', 'metadata.annotations["service.kubernetes.io/topology-mode"]', AUTO_HINTS, notAuto),
  w('Service', 'metadata.annotations["service.kubernetes.io/topology-aware-hints"]', AUTO_HINTS, notAuto),
  w('Service', 'metadata.annotations["service.kubernetes.io/service-proxy-name"]', 'kube-proxy would ignore this Service; knetlab programs it'),
  w('Service', 'metadata.annotations["service.beta.kubernetes.io/*"]', "the LAN gateway plays a plain load balancer, without a cloud's settings"),
  // Endpoints, EndpointSlice (hand-written, for selector-less Services)
  h('Endpoints', 'subsets[].addresses[].ip', 'ready endpoints'),
  h('Endpoints', 'subsets[].addresses[].nodeName', "the endpoint's node (Local policies)"),
  h('Endpoints', 'subsets[].addresses[].targetRef', 'the pod that answers'),
  h('Endpoints', 'subsets[].notReadyAddresses[].ip', 'not-ready endpoints'),
  h('Endpoints', 'subsets[].ports[].name', "matched to the Service's port names"),
  h('Endpoints', 'subsets[].ports[].port', 'the endpoint port'),
  h('Endpoints', 'subsets[].ports[].protocol', 'TCP, UDP or SCTP'),
  w('Endpoints', 'subsets[].addresses[].hostname', 'no DNS record is made for the endpoint hostname'),
  h('EndpointSlice', 'metadata.labels["kubernetes.io/service-name"]', 'the Service the slice belongs to'),
  h('EndpointSlice', 'addressType', 'IPv4 (IPv6 and FQDN slices are skipped with a warning)'),
  h('EndpointSlice', 'ports[].name', "matched to the Service's port names"),
  h('EndpointSlice', 'ports[].port', 'the endpoint port'),
  h('EndpointSlice', 'ports[].protocol', 'TCP, UDP or SCTP'),
  h('EndpointSlice', 'endpoints[].addresses', 'the endpoint addresses'),
  h('EndpointSlice', 'endpoints[].conditions.ready', "kube-proxy's ready endpoints"),
  h('EndpointSlice', 'endpoints[].conditions.serving', "serving endpoints (kube-proxy's fallback to serving terminating endpoints)"),
  h('EndpointSlice', 'endpoints[].conditions.terminating', 'terminating endpoints'),
  h('EndpointSlice', 'endpoints[].nodeName', "the endpoint's node (Local policies)"),
  h('EndpointSlice', 'endpoints[].topology', 'v1beta1: kubernetes.io/hostname as nodeName'),
  h('EndpointSlice', 'endpoints[].targetRef', 'the pod that answers'),
  h(
    'EndpointSlice',
    'endpoints[].hints.forZones',
    "kube-proxy keeps to the endpoints hinted for its node's zone when every ready endpoint has a zone hint and one is for its zone",
  ),
  w('EndpointSlice', 'endpoints[].hints.forNodes', "node hints (PreferSameNode) need 1.33's alpha feature gate PreferSameTrafficDistribution, off: kube-proxy ignores them"),
  w('EndpointSlice', 'endpoints[].hostname', 'no DNS record is made for the endpoint hostname'),
  // Ingress (served by the ingress-nginx workload)
  h('Ingress', 'spec.ingressClassName', 'the class (nginx) its controller serves'),
  h('Ingress', 'metadata.annotations["kubernetes.io/ingress.class"]', 'the class, before spec.ingressClassName'),
  h('Ingress', 'spec.rules[].host', "nginx's server names, wildcards too"),
  h('Ingress', 'spec.rules[].http.paths[].path', 'locations'),
  h('Ingress', 'spec.rules[].http.paths[].pathType', 'Exact, Prefix or ImplementationSpecific'),
  h('Ingress', 'spec.rules[].http.paths[].backend', 'service name and port (number or name); v1beta1 serviceName and servicePort'),
  h('Ingress', 'spec.defaultBackend', 'the default backend (v1beta1: spec.backend)'),
  {
    ...w('Ingress', 'metadata.annotations["nginx.ingress.kubernetes.io/*"]', "knetlab's ingress-nginx reads none of them (warned as ignored-field)"),
    warnedByReader: true,
  },
  w('Ingress', 'spec.tls', 'TLS is not served: the controller answers plain HTTP only'),
  // NetworkPolicy (enforced on every node, as a policy-enforcing CNI does)
  h('NetworkPolicy', 'spec.podSelector', 'the pods it isolates'),
  h('NetworkPolicy', 'spec.policyTypes', 'Ingress, Egress or both'),
  h('NetworkPolicy', 'spec.ingress[].from[]', 'podSelector, namespaceSelector (both together too) and ipBlock (cidr, except)'),
  h('NetworkPolicy', 'spec.ingress[].ports[]', 'protocol, port (number or name) and endPort'),
  h('NetworkPolicy', 'spec.egress[].to[]', 'podSelector, namespaceSelector and ipBlock'),
  h('NetworkPolicy', 'spec.egress[].ports[]', 'protocol, port and endPort'),
  // Namespace
  h('Namespace', 'metadata.labels', 'what NetworkPolicy namespaceSelectors match (with kubernetes.io/metadata.name, set as the API server does)'),
];

/** Where each group's fields sit in an object of each kind. */
const mounts: Record<KubeObject['kind'], { group: FieldGroup; at: string }[]> = {
  Pod: [
    { group: 'Pod', at: '' },
    { group: 'Pod spec', at: 'spec' },
  ],
  Deployment: [
    { group: 'Deployment', at: '' },
    { group: 'Pod spec', at: 'spec.template.spec' },
  ],
  DaemonSet: [
    { group: 'DaemonSet', at: '' },
    { group: 'Pod spec', at: 'spec.template.spec' },
  ],
  Service: [{ group: 'Service', at: '' }],
  Endpoints: [{ group: 'Endpoints', at: '' }],
  EndpointSlice: [{ group: 'EndpointSlice', at: '' }],
  Ingress: [{ group: 'Ingress', at: '' }],
  NetworkPolicy: [{ group: 'NetworkPolicy', at: '' }],
  Namespace: [{ group: 'Namespace', at: '' }],
};

/** `a.b[].c["k.x/y"]` -> ['a', 'b', '[]', 'c', '["k.x/y"]'] */
export function pathSegments(path: string): string[] {
  return [...path.matchAll(/\["[^"]*"\]|\[\]|[^.[\]]+/g)].map((m) => m[0]);
}

/** Every value at a path in a raw object, with its concrete path. */
function valuesAt(value: unknown, segs: readonly string[], at: Path = []): { value: unknown; path: Path }[] {
  if (value === undefined || value === null) return [];
  if (segs.length === 0) return [{ value, path: at }];
  const [seg, ...rest] = segs as [string, ...string[]];
  if (seg === '[]') return Array.isArray(value) ? value.flatMap((v, i) => valuesAt(v, rest, [...at, i])) : [];
  if (typeof value !== 'object' || Array.isArray(value)) return [];
  const map = value as Record<string, unknown>;
  if (seg.startsWith('["')) {
    const key = seg.slice(2, -2);
    if (!key.endsWith('*')) return Object.hasOwn(map, key) ? valuesAt(map[key], rest, [...at, key]) : [];
    return Object.keys(map)
      .filter((k) => k.startsWith(key.slice(0, -1)))
      .flatMap((k) => valuesAt(map[k], rest, [...at, k]));
  }
  return Object.hasOwn(map, seg) ? valuesAt(map[seg], rest, [...at, seg]) : [];
}

/** `spec.ipFamilies`, `spec.template.spec.containers[0].readinessProbe` */
function shownPath(path: Path): string {
  let out = '';
  for (const seg of path) out += typeof seg === 'number' ? `[${seg}]` : /^[\w-]+$/.test(seg) ? (out ? `.${seg}` : seg) : `["${seg}"]`;
  return out;
}

/** Warns, at its place, about every field of the object that changes networking in a cluster but that knetlab does not model. */
export function warnNotModelled(o: KubeObject, problems: Problems): void {
  const what = o.kind === 'Namespace' ? `Namespace ${o.meta.name}` : `${o.kind} ${o.meta.namespace}/${o.meta.name}`;
  for (const { group, at } of mounts[o.kind]) {
    for (const f of fieldList) {
      if (f.group !== group || f.status !== 'warned' || f.warnedByReader) continue;
      for (const { value, path } of valuesAt(o.raw, [...pathSegments(at), ...pathSegments(f.path)])) {
        if (f.modelledWhen?.(value)) continue;
        const annotation = path.length === 3 && path[1] === 'annotations';
        problems.warn(
          'not-modelled',
          originAt(o.origin, ...path),
          `\`${shownPath(path)}\` of ${what} changes networking in a cluster but is not modelled: ${f.note}`,
          annotation ? { key: true } : {},
        );
      }
    }
  }
}
