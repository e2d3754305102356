// The scenarios the dataplane tests share, built once here by name with small overrides: the
// Services kube-proxy's three modes are golden-tested on (test/golden/{iptables,nftables,ipvs}/), the
// NetworkPolicy pods and policies, and the builders of manifest lines. A test that needs something
// unusual builds it inline with the same builders.
import type { Model } from '../../src/cluster/types.js';
import { modelOf } from '../helpers.js';

// ---------------------------------------------------------------------------------------------
// Builders

/** A scenario of two nodes, node-1 and node-2 (the LAN gives them 192.168.8.11 and .12), and its manifests. */
export function scenario(name: string, manifests: string, cluster = 'dns: false'): string {
  return `apiVersion: knetlab/v1
kind: Scenario
metadata: {name: ${name}}
cluster: {${cluster}}
nodes:
  - name: node-1
  - name: node-2
manifests:
${manifests}`;
}

/** A Deployment of `replicas` pods labelled app: NAME, one container with `ports`; `extra` opens the pod spec. */
export const deployment = (name: string, replicas: number, ports = '[{containerPort: 80}]', extra = '') =>
  `  - {apiVersion: apps/v1, kind: Deployment, metadata: {name: ${name}}, spec: {replicas: ${replicas}, selector: {matchLabels: {app: ${name}}}, template: {metadata: {labels: {app: ${name}}}, spec: {${extra}containers: [{name: c, image: nginx, ports: ${ports}}]}}}}\n`;

/** A Service of the default namespace with the given spec (flow style, without braces). */
export const service = (name: string, spec: string) => `  - {apiVersion: v1, kind: Service, metadata: {name: ${name}}, spec: {${spec}}}\n`;

/** A bare pod on a node, with labels and container ports (`[{name: http, containerPort: 8080}]`). */
export const pod = (name: string, node: string, labels: string, ports = '[{name: http, containerPort: 8080}]', ns = 'default') =>
  `  - {apiVersion: v1, kind: Pod, metadata: {name: ${name}, namespace: ${ns}, labels: {${labels}}}, spec: {nodeName: ${node}, containers: [{name: c, ports: ${ports}}]}}\n`;

/** A NetworkPolicy; `spec` is block YAML, indented here. */
export const policy = (name: string, spec: string, ns = 'default') => `  - apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata: {name: ${name}, namespace: ${ns}}
    spec:
${spec
  .split('\n')
  .map((l) => `      ${l}`)
  .join('\n')}
`;

export const namespace = (name: string, labels: string) => `  - {apiVersion: v1, kind: Namespace, metadata: {name: ${name}, labels: {${labels}}}}\n`;

// ---------------------------------------------------------------------------------------------
// kube-proxy's Services

/** What a fixture may change: `cluster` adds fields to the cluster (e.g. `proxyMode: ipvs`). */
interface Common {
  cluster?: string;
}

const clusterOf = (base: string, o: Common) => (o.cluster ? `${base}, ${o.cluster}` : base);

// upstream's TestOverallIPTablesRules / TestOverallNFTablesRules (pkg/proxy/{iptables,nftables}/proxier_test.go,
// 1.31): svc4 is a ClusterIP Service with an external IP here, since upstream's NodePort without a nodePort
// is one knetlab would allocate.
const upstreamServices = [
  '  - {apiVersion: v1, kind: Service, metadata: {name: svc1, namespace: ns1}, spec: {clusterIP: 172.30.0.41, ports: [{name: p80, port: 80, protocol: TCP}]}}',
  `  - apiVersion: v1
    kind: Service
    metadata: {name: svc2, namespace: ns2}
    spec: {type: LoadBalancer, externalTrafficPolicy: Local, clusterIP: 172.30.0.42, ports: [{name: p80, port: 80, protocol: TCP, nodePort: 3001}], externalIPs: [192.168.99.22], healthCheckNodePort: 30000}
    status: {loadBalancer: {ingress: [{ip: 1.2.3.4}]}}`,
  '  - {apiVersion: v1, kind: Service, metadata: {name: svc3, namespace: ns3}, spec: {type: NodePort, clusterIP: 172.30.0.43, ports: [{name: p80, port: 80, protocol: TCP, nodePort: 3003}]}}',
  '  - {apiVersion: v1, kind: Service, metadata: {name: svc4, namespace: ns4}, spec: {clusterIP: 172.30.0.44, externalIPs: [192.168.99.33], ports: [{name: p80, port: 80, protocol: TCP, targetPort: 80}]}}',
  `  - apiVersion: v1
    kind: Service
    metadata: {name: svc5, namespace: ns5}
    spec:
      type: LoadBalancer
      externalTrafficPolicy: Cluster
      clusterIP: 172.30.0.45
      ports: [{name: p80, port: 80, protocol: TCP, nodePort: 3002}]
      loadBalancerSourceRanges: [203.0.113.0/25]
      sessionAffinity: ClientIP
      sessionAffinityConfig: {clientIP: {timeoutSeconds: 10800}}
    status: {loadBalancer: {ingress: [{ip: 5.6.7.8}]}}`,
  '  - {apiVersion: v1, kind: Service, metadata: {name: svc6, namespace: ns6}, spec: {clusterIP: 172.30.0.46, ports: [{name: p80, port: 80, protocol: TCP, targetPort: 80}]}}',
];
const upstreamSlices = [
  ['ns1', 'svc1', '[{addresses: [10.180.0.1]}]'],
  ['ns2', 'svc2', '[{addresses: [10.180.0.2]}]'],
  ['ns3', 'svc3', '[{addresses: [10.180.0.3]}]'],
  ['ns4', 'svc4', '[{addresses: [10.180.0.4]}, {addresses: [10.180.0.5], nodeName: test-node}]'],
  ['ns5', 'svc5', '[{addresses: [10.180.0.3]}]'],
].map(
  ([ns, svc, eps]) =>
    `  - {apiVersion: discovery.k8s.io/v1, kind: EndpointSlice, metadata: {name: ${svc}-1, namespace: ${ns}, labels: {kubernetes.io/service-name: ${svc}}}, addressType: IPv4, endpoints: ${eps}, ports: [{name: p80, port: 80, protocol: TCP}]}`,
);

const fixtures = {
  /** web: `replicas` pods (2: one per node), ClusterIP 10.96.0.100:80. */
  'clusterip-two-endpoints': (o: Common & { replicas?: number } = {}) =>
    scenario('clusterip', deployment('web', o.replicas ?? 2) + service('web', 'selector: {app: web}, clusterIP: 10.96.0.100, ports: [{port: 80}]'), clusterOf('dns: false', o)),
  /** web: one pod (on node-1), NodePort 30080 (ClusterIP 10.96.0.80) with the given externalTrafficPolicy. */
  nodeport: (o: Common & { policy: 'Cluster' | 'Local' }) =>
    scenario(
      `nodeport-${o.policy.toLowerCase()}`,
      deployment('web', 1) +
        service('web', `type: NodePort, selector: {app: web}, clusterIP: 10.96.0.80, externalTrafficPolicy: ${o.policy}, ports: [{port: 80, nodePort: 30080}]`),
      clusterOf('dns: false', o),
    ),
  /** web: one pod, a LoadBalancer 192.168.8.240 (port http 80, nodePort 30081; health check 32000 if Local) with source ranges holding the LAN. */
  loadbalancer: (o: Common & { policy: 'Cluster' | 'Local' }) =>
    scenario(
      `loadbalancer-${o.policy.toLowerCase()}`,
      deployment('web', 1) +
        `  - apiVersion: v1
    kind: Service
    metadata: {name: web}
    spec:
      type: LoadBalancer
      selector: {app: web}
      clusterIP: 10.96.0.81
      externalTrafficPolicy: ${o.policy}
${o.policy === 'Local' ? '      healthCheckNodePort: 32000\n' : ''}      loadBalancerSourceRanges: [192.168.8.0/24, 203.0.113.0/25]
      ports: [{name: http, port: 80, nodePort: 30081}]
    status: {loadBalancer: {ingress: [{ip: 192.168.8.240}]}}
`,
      clusterOf('dns: false', o),
    ),
  /** web: one pod, ClusterIP 10.96.0.82 with internalTrafficPolicy Local. */
  'internal-local': (o: Common = {}) =>
    scenario(
      'internal-local',
      deployment('web', 1) + service('web', 'selector: {app: web}, clusterIP: 10.96.0.82, internalTrafficPolicy: Local, ports: [{port: 80}]'),
      clusterOf('dns: false', o),
    ),
  /** legacy: a Local NodePort 30083 whose hand-written slice has node-1's endpoints terminating (one serving, one not) and node-2's Ready. */
  terminating: (o: Common = {}) =>
    scenario(
      'terminating',
      service('legacy', 'type: NodePort, clusterIP: 10.96.0.83, externalTrafficPolicy: Local, ports: [{name: http, port: 80, targetPort: 8080, nodePort: 30083}]') +
        `  - apiVersion: discovery.k8s.io/v1
    kind: EndpointSlice
    metadata: {name: legacy-1, labels: {kubernetes.io/service-name: legacy}}
    addressType: IPv4
    ports: [{name: http, port: 8080, protocol: TCP}]
    endpoints:
      - {addresses: [10.244.0.50], nodeName: node-1, conditions: {ready: false, serving: true, terminating: true}}
      - {addresses: [10.244.0.51], nodeName: node-1, conditions: {ready: false, serving: false, terminating: true}}
      - {addresses: [10.244.1.50], nodeName: node-2, conditions: {ready: true, serving: true, terminating: false}}
`,
      clusterOf('dns: false', o),
    ),
  /** dns: `replicas` pods (3), ClusterIP 10.96.0.53 and external IP 80.11.12.53 with named UDP, TCP and SCTP ports (metrics by target port name). */
  'multiport-udp': (o: Common & { replicas?: number } = {}) =>
    scenario(
      'multiport-udp',
      deployment(
        'dns',
        o.replicas ?? 3,
        '[{name: dns, containerPort: 53, protocol: UDP}, {name: dns-tcp, containerPort: 53, protocol: TCP}, {name: metrics, containerPort: 9153}, {name: diameter, containerPort: 3868, protocol: SCTP}]',
      ) +
        service(
          'dns',
          'selector: {app: dns}, clusterIP: 10.96.0.53, externalIPs: [80.11.12.53], ports: [{name: dns, port: 53, protocol: UDP}, {name: dns-tcp, port: 53, protocol: TCP}, {name: metrics, port: 9153, targetPort: metrics}, {name: diameter, port: 3868, protocol: SCTP}]',
        ),
      clusterOf('dns: false', o),
    ),
  /** web: two pods, ClusterIP 10.96.0.101 and external IPs 80.11.12.10 and .11, port 8080 to 80. */
  externalips: (o: Common = {}) =>
    scenario(
      'externalips',
      deployment('web', 2) + service('web', 'selector: {app: web}, clusterIP: 10.96.0.101, externalIPs: [80.11.12.10, 80.11.12.11], ports: [{port: 8080, targetPort: 80}]'),
      clusterOf('dns: false', o),
    ),
  /** web: `replicas` pods (3), ClusterIP 10.96.0.102 with ClientIP affinity for `timeout` seconds (600); a NodePort too if `nodePort` is given. */
  'session-affinity': (o: Common & { replicas?: number; timeout?: number; nodePort?: number } = {}) =>
    scenario(
      'affinity',
      deployment('web', o.replicas ?? 3) +
        service(
          'web',
          `${o.nodePort ? 'type: NodePort, ' : ''}selector: {app: web}, clusterIP: 10.96.0.102, sessionAffinity: ClientIP, sessionAffinityConfig: {clientIP: {timeoutSeconds: ${o.timeout ?? 600}}}, ports: [{port: 80${o.nodePort ? `, nodePort: ${o.nodePort}` : ''}}]`,
        ),
      clusterOf('dns: false', o),
    ),
  /** nothing: a NodePort 30103 (ClusterIP 10.96.0.103, external IP 80.11.12.12) whose selector matches no pod (web's one pod runs beside it). */
  'no-endpoints': (o: Common = {}) =>
    scenario(
      'no-endpoints',
      deployment('web', 1) +
        service('nothing', 'type: NodePort, selector: {app: nothing}, clusterIP: 10.96.0.103, externalIPs: [80.11.12.12], ports: [{port: 80, nodePort: 30103}]'),
      clusterOf('dns: false', o),
    ),
  /** mysvc: a Service without a selector (ClusterIP 10.96.0.104) and a hand-written Endpoints to two LAN addresses on 9999. */
  'selectorless-endpoints': (o: Common = {}) =>
    scenario(
      'selectorless',
      service('mysvc', 'clusterIP: 10.96.0.104, ports: [{port: 80, targetPort: 9999}]') +
        '  - {apiVersion: v1, kind: Endpoints, metadata: {name: mysvc}, subsets: [{addresses: [{ip: 192.168.8.12}, {ip: 192.168.8.100}], ports: [{port: 9999}]}]}\n',
      clusterOf('dns: false', o),
    ),
  /** web: one pod, ClusterIP 10.96.0.105, in a cluster with masqueradeAll. */
  'masquerade-all': (o: Common = {}) =>
    scenario(
      'masquerade-all',
      deployment('web', 1) + service('web', 'selector: {app: web}, clusterIP: 10.96.0.105, ports: [{port: 80}]'),
      clusterOf('dns: false, masqueradeAll: true', o),
    ),
  /** web: three pods (web-0 and web-2 on node-1 in zone-a, web-1 on node-2 in zone-b), ClusterIP 10.96.0.106 with trafficDistribution PreferClose. */
  'topology-hints': (o: Common = {}) =>
    scenario(
      'topology-hints',
      deployment('web', 3) + service('web', 'selector: {app: web}, clusterIP: 10.96.0.106, trafficDistribution: PreferClose, ports: [{port: 80}]'),
      clusterOf('dns: false', o),
    )
      .replace('  - name: node-1\n', '  - {name: node-1, labels: {topology.kubernetes.io/zone: zone-a}}\n')
      .replace('  - name: node-2\n', '  - {name: node-2, labels: {topology.kubernetes.io/zone: zone-b}}\n'),
  /** Nothing but the cluster's own kube-dns (53/UDP, 53/TCP, 9153/TCP) and its two CoreDNS pods. */
  'cluster-dns': (o: Common = {}) => scenario('cluster-dns', '', clusterOf('dns: true', o)).replace('manifests:\n', ''),
  /**
   * upstream's overall test: one node, test-node at 192.168.0.2, Services svc1..svc6 of ns1..ns6; `without` leaves those Services and their slices out;
   * `affinity: false` leaves out svc5's ClientIP affinity, which upstream's test of the 1.28 line did not set yet.
   */
  'upstream-overall': (o: Common & { without?: string[]; affinity?: boolean } = {}) => `apiVersion: knetlab/v1
kind: Scenario
metadata: {name: upstream-overall}
cluster: {${clusterOf('podCIDR: 10.0.0.0/8, serviceCIDR: 172.30.0.0/16, lanCIDR: 192.168.0.0/24, nodePortRange: 3000-32767, dns: false', o)}}
nodes:
  - {name: test-node, ip: 192.168.0.2}
manifests:
${[...upstreamServices, ...upstreamSlices]
  .filter((m) => !(o.without ?? []).some((s) => m.includes(`name: ${s},`) || m.includes(`name: ${s}-1,`) || m.includes(`name: ${s}}`)))
  .map((m) => (o.affinity === false ? m.replace(/\n +sessionAffinity: ClientIP\n +sessionAffinityConfig: .*/, '') : m))
  .join('\n')}
`,
};

export type ServiceFixture = keyof typeof fixtures;
type OptionsOf<K extends ServiceFixture> = Parameters<(typeof fixtures)[K]>[0];

/** The scenario text of a shared fixture, with its overrides. */
export function fixture<K extends ServiceFixture>(name: K, ...options: undefined extends OptionsOf<K> ? [OptionsOf<K>?] : [OptionsOf<K>]): string {
  return (fixtures[name] as (o?: OptionsOf<K>) => string)(options[0]);
}

// ---------------------------------------------------------------------------------------------
// NetworkPolicy

/** web-0 on node-1, web-1 on node-2 (app: web), api-0 on node-1 (app: api): each a named port http 8080. */
export const threePods = pod('web-0', 'node-1', 'app: web') + pod('web-1', 'node-2', 'app: web') + pod('api-0', 'node-1', 'app: api');

/** api-lockdown: the api pods take connections only from web pods, and open them only to web pods' 8080. */
export const apiLockdown = policy(
  'api-lockdown',
  `podSelector: {matchLabels: {app: api}}
policyTypes: [Ingress, Egress]
ingress:
- from:
  - podSelector: {matchLabels: {app: web}}
egress:
- to:
  - podSelector: {matchLabels: {app: web}}
  ports: [{port: 8080}]`,
);

// ---------------------------------------------------------------------------------------------
// Models

const models = new Map<string, Promise<Model>>();

/** The model of a valid scenario text, computed once per test process. */
export function cachedModel(text: string): Promise<Model> {
  let m = models.get(text);
  if (!m) {
    m = modelOf(text);
    models.set(text, m);
  }
  return m;
}

/** The model of a shared fixture, computed once per test process. */
export function fixtureModel<K extends ServiceFixture>(name: K, ...options: undefined extends OptionsOf<K> ? [OptionsOf<K>?] : [OptionsOf<K>]): Promise<Model> {
  return cachedModel(fixture(name, ...options));
}

/** A golden case of a kube-proxy renderer: the scenario and the node it renders for. */
export interface NodeCase {
  text: string;
  node: string;
}

/** The cases test/golden/iptables/ and test/golden/nftables/ both hold, by golden name. */
export const kubeProxyCases: Record<string, NodeCase> = {
  // Two endpoints, one per node: 1/2 then the rest.
  'clusterip-two-endpoints': { text: fixture('clusterip-two-endpoints'), node: 'node-1' },
  'nodeport-cluster-node-1': { text: fixture('nodeport', { policy: 'Cluster' }), node: 'node-1' },
  'nodeport-cluster-node-2': { text: fixture('nodeport', { policy: 'Cluster' }), node: 'node-2' },
  // Local: the node's own endpoint; on node-2 outside traffic is dropped.
  'nodeport-local-node-1': { text: fixture('nodeport', { policy: 'Local' }), node: 'node-1' },
  'nodeport-local-node-2': { text: fixture('nodeport', { policy: 'Local' }), node: 'node-2' },
  // loadBalancerSourceRanges (the LAN range holds the node, so the VIP as a source is allowed too).
  'loadbalancer-local-node-1': { text: fixture('loadbalancer', { policy: 'Local' }), node: 'node-1' },
  'loadbalancer-local-node-2': { text: fixture('loadbalancer', { policy: 'Local' }), node: 'node-2' },
  externalips: { text: fixture('externalips'), node: 'node-1' },
  'session-affinity': { text: fixture('session-affinity'), node: 'node-2' },
  // No endpoints: the ClusterIP, the external IP and the NodePort are rejected.
  'no-endpoints': { text: fixture('no-endpoints'), node: 'node-1' },
  'selectorless-endpoints': { text: fixture('selectorless-endpoints'), node: 'node-1' },
  // Named ports, UDP and SCTP, three endpoints, an external IP.
  'multiport-udp': { text: fixture('multiport-udp'), node: 'node-1' },
  'internal-local-node-1': { text: fixture('internal-local'), node: 'node-1' },
  'internal-local-node-2': { text: fixture('internal-local'), node: 'node-2' },
  // No Ready local endpoint on node-1: Local falls back to its serving-terminating one, Cluster keeps the Ready one.
  'terminating-local-node-1': { text: fixture('terminating'), node: 'node-1' },
  'masquerade-all': { text: fixture('masquerade-all'), node: 'node-1' },
  // trafficDistribution PreferClose: each node keeps to its zone's endpoints (two on node-1, one on node-2).
  'topology-hints-node-1': { text: fixture('topology-hints'), node: 'node-1' },
  'topology-hints-node-2': { text: fixture('topology-hints'), node: 'node-2' },
  // The cluster's own kube-dns (53/UDP, 53/TCP, 9153/TCP) with its two CoreDNS pods.
  'cluster-dns': { text: fixture('cluster-dns'), node: 'node-2' },
  'upstream-overall': { text: fixture('upstream-overall'), node: 'test-node' },
};
