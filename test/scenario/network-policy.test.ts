import { dirname } from 'node:path';
import fc from 'fast-check';
import t from 'tap';
import type { Model } from '../../src/cluster/types.js';
import { formatProblem } from '../../src/errors.js';
import {
  activeNetworkPolicies,
  checkNetworkPolicies,
  checkNetworkPolicy,
  namedPort,
  namespaceLabels,
  podsOfPeer,
  podsSelectedBy,
  readNetworkPolicy,
  reportNetworkPolicyProblems,
  subtractCidrs,
  type NetworkPolicyObject,
  type SelectorPeer,
} from '../../src/scenario/network-policy.js';
import { readKubeObject } from '../../src/scenario/objects.js';
import { Problems } from '../../src/scenario/problems.js';
import { parseYaml } from '../../src/scenario/source.js';
import { cidrContains, formatCidr, type Cidr } from '../../src/util/ip.js';
import { validateScenario } from '../../src/validate.js';
import { modelOf, writeScenario } from '../helpers.js';

/** One NetworkPolicy read from YAML the way a manifest is. */
function netpol(text: string): NetworkPolicyObject {
  const { docs } = parseYaml('np.yaml', text);
  const problems = new Problems();
  const o = readKubeObject(docs[0]!.value(), { doc: docs[0]!, path: [] }, problems);
  if (o?.kind !== 'NetworkPolicy') throw new Error(`not a NetworkPolicy: ${problems.list.map((p) => p.message).join('; ')}`);
  return o;
}

/** `LINE:COL: [warning: ]message` of every problem of one policy (alone, or against a model). */
function shape(text: string, model?: Model): string[] {
  const o = netpol(text);
  const problems = new Problems();
  const list = model ? checkNetworkPolicy(o, model) : readNetworkPolicy(o).problems;
  for (const p of list) problems.add(p.severity, p.code, { doc: o.origin.doc, path: [...o.origin.path, ...p.path] }, p.message, { key: p.key ?? false });
  return problems.list
    .sort((a, b) => a.location!.line - b.location!.line || a.location!.col - b.location!.col)
    .map((p) => `${p.location?.line}:${p.location?.col}: ${p.severity === 'warning' ? 'warning: ' : ''}${p.message}`);
}

const head = (spec: string, meta = '{name: np}', api = 'networking.k8s.io/v1') => `apiVersion: ${api}
kind: NetworkPolicy
metadata: ${meta}
spec:
${spec}`;

t.test("the seed's policy: podSelector, Ingress from pods by label on TCP 3306", async (t) => {
  const { policy, problems } = readNetworkPolicy(
    netpol(
      head(`  podSelector:
    matchLabels:
      app: mysql
  policyTypes:
  - Ingress
  ingress:
  - from:
    - podSelector:
        matchLabels:
          layer: data
    ports:
    - protocol: TCP
      port: 3306
`),
    ),
  );
  t.same(problems, []);
  t.same(policy, {
    namespace: 'default',
    name: 'np',
    podSelector: { matchLabels: { app: 'mysql' }, matchExpressions: [] },
    policyTypes: ['Ingress'],
    ingress: [
      {
        peers: [{ kind: 'selector', podSelector: { matchLabels: { layer: 'data' }, matchExpressions: [] }, at: ['spec', 'ingress', 0, 'from', 0] }],
        ports: [{ protocol: 'TCP', port: 3306, at: ['spec', 'ingress', 0, 'ports', 0] }],
        at: ['spec', 'ingress', 0],
      },
    ],
    egress: [],
  });
});

t.test('every kind of peer and port, both directions', async (t) => {
  const { policy, problems } = readNetworkPolicy(
    netpol(
      head(
        `  podSelector: {matchExpressions: [{key: tier, operator: In, values: [db, cache]}, {key: canary, operator: DoesNotExist}]}
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {team: ops}}
    - namespaceSelector: {}
      podSelector: {matchLabels: {app: prometheus}}
    - ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16]}
    ports:
    - port: http
    - {protocol: UDP, port: 5000, endPort: 5010}
    - protocol: SCTP
  - {}
  egress:
  - to:
    - ipBlock: {cidr: 0.0.0.0/0}
`,
        '{name: np, namespace: shop}',
      ),
    ),
  );
  t.same(problems, []);
  t.match(policy, {
    namespace: 'shop',
    podSelector: {
      matchLabels: {},
      matchExpressions: [
        { key: 'tier', operator: 'In', values: ['db', 'cache'] },
        { key: 'canary', operator: 'DoesNotExist', values: [] },
      ],
    },
    policyTypes: ['Ingress', 'Egress'],
    ingress: [
      {
        peers: [
          { kind: 'selector', namespaceSelector: { matchLabels: { team: 'ops' } } },
          { kind: 'selector', namespaceSelector: { matchLabels: {} }, podSelector: { matchLabels: { app: 'prometheus' } } },
          { kind: 'ipBlock', cidr: '10.0.0.0/8', except: ['10.1.0.0/16'], family: 4 },
        ],
        ports: [{ protocol: 'TCP', port: 'http' }, { protocol: 'UDP', port: 5000, endPort: 5010 }, { protocol: 'SCTP' }],
      },
      { peers: [], ports: [] },
    ],
    egress: [{ peers: [{ kind: 'ipBlock', cidr: '0.0.0.0/0', except: [] }], ports: [] }],
  });
  t.notOk('podSelector' in policy!.ingress[0]!.peers[0]!, 'a namespaceSelector alone has no podSelector: every pod of those namespaces');
  t.notOk('port' in policy!.ingress[0]!.ports[2]!, 'a protocol alone: every port');
});

t.test('policyTypes defaulted as the API server does', async (t) => {
  const types = (spec: string, api?: string) => readNetworkPolicy(netpol(head(spec, undefined, api))).policy?.policyTypes;
  t.same(types('  podSelector: {}\n'), ['Ingress'], 'nothing: Ingress (deny all incoming)');
  t.same(types('  podSelector: {}\n  ingress: [{}]\n'), ['Ingress']);
  t.same(types('  podSelector: {}\n  egress: [{}]\n'), ['Ingress', 'Egress'], 'egress rules: Egress too, and Ingress still');
  t.same(types('  podSelector: {}\n  egress: []\n'), ['Ingress'], 'an empty egress list does not count');
  t.same(types('  podSelector: {}\n  policyTypes: [Egress]\n'), ['Egress'], 'as written: deny all outgoing');
  t.same(types('  podSelector: {}\n  policyTypes: [Egress, Ingress]\n'), ['Egress', 'Ingress']);
  t.same(types('  podSelector: {}\n  egress: [{}]\n', 'extensions/v1beta1'), ['Ingress', 'Egress'], 'extensions/v1beta1 reads the same');
  t.same(readNetworkPolicy(netpol(head('  podSelector:\n'))).policy?.podSelector, { matchLabels: {}, matchExpressions: [] }, '`podSelector:` with nothing is {}');
  t.same(
    readNetworkPolicy(netpol(head('  podSelector: {}\n  ingress:\n  -\n'))).policy?.ingress,
    [{ peers: [], ports: [], at: ['spec', 'ingress', 0] }],
    'an empty rule allows everything',
  );
});

t.test('problems, each at its line and column', async (t) => {
  t.same(
    shape(
      head(`  podSelecter: {matchLabels: {app: web}}
  policyTypes: [ingress, Egress, Egress]
  ingress:
  - form:
    - podSelector: {matchLabels: {app: api}}
  - from:
    - ipBlock: {cidr: 10.0.0/8}
    - ipBlock: {cidr: 10.0.0.0/8, except: [192.168.0.0/16, 10.0.0.0/8, banana]}
    - ipBlock: {cidr: 10.0.0.0/8}
      podSelector: {}
    - {}
    - ipblock: {cidr: 10.0.0.0/8}
    - ipBlock: {cidr: 10.0.0.0/8, exept: [10.1.0.0/16]}
  - ports:
    - {protocol: tcp, port: 80}
    - {protocol: ICMP}
    - {port: 0}
    - {port: 70000}
    - {port: "80"}
    - {port: HTTP_port}
    - {endPort: 90}
    - {port: 100, endPort: 90}
    - {port: http, endPort: 90}
    - {protcol: TCP, port: 80}
  egress:
  - to:
    - podSelector: {matchExpressions: [{key: app, operator: in, values: [a]}, {key: tier, operator: In}, {key: x, operator: Exists, values: [y]}]}
    - namespaceSelector: {matchLabels: {team: 7}}
`),
    ),
    [
      '5:3: Unknown key `podSelecter` in `spec` of NetworkPolicy default/np; did you mean `podSelector`?',
      '5:3: warning: `spec.podSelector` of NetworkPolicy default/np is missing: Kubernetes reads that as `podSelector: {}`, every pod of namespace default (write it out to say so)',
      '6:17: Expected `spec.policyTypes[0]` of NetworkPolicy default/np to be Ingress or Egress, got `ingress`; did you mean `Ingress`?',
      '6:34: `spec.policyTypes[2]` of NetworkPolicy default/np: Egress is listed twice',
      '8:3: warning: `spec.ingress` of NetworkPolicy default/np is ignored: `spec.policyTypes` does not list Ingress',
      '8:5: Unknown key `form` in `spec.ingress[0]` of NetworkPolicy default/np; did you mean `from`?',
      '11:23: Expected `spec.ingress[1].from[0].ipBlock.cidr` of NetworkPolicy default/np to be a CIDR such as 10.0.0.0/16, got `10.0.0/8`',
      '12:44: `spec.ingress[1].from[1].ipBlock.except[0]` of NetworkPolicy default/np (`192.168.0.0/16`) must be inside `cidr` 10.0.0.0/8 and smaller than it',
      '12:60: `spec.ingress[1].from[1].ipBlock.except[1]` of NetworkPolicy default/np (`10.0.0.0/8`) must be inside `cidr` 10.0.0.0/8 and smaller than it',
      '12:72: Expected `spec.ingress[1].from[1].ipBlock.except[2]` of NetworkPolicy default/np to be a CIDR such as 10.0.5.0/24, got `banana`',
      '13:7: `spec.ingress[1].from[2]` of NetworkPolicy default/np may have `ipBlock` or pod and namespace selectors, not both (write them as two peers)',
      '15:7: `spec.ingress[1].from[3]` of NetworkPolicy default/np must name a peer: podSelector, namespaceSelector or ipBlock',
      '16:7: Unknown key `ipblock` in `spec.ingress[1].from[4]` of NetworkPolicy default/np; did you mean `ipBlock`?',
      '17:35: Unknown key `exept` in `spec.ingress[1].from[5].ipBlock` of NetworkPolicy default/np; did you mean `except`?',
      '19:18: Expected `spec.ingress[2].ports[0].protocol` of NetworkPolicy default/np to be TCP, UDP or SCTP, got `tcp`; did you mean `TCP`?',
      '20:18: Expected `spec.ingress[2].ports[1].protocol` of NetworkPolicy default/np to be TCP, UDP or SCTP, got `ICMP`',
      '21:14: Expected `spec.ingress[2].ports[2].port` of NetworkPolicy default/np to be a port number (1-65535) or a container port name, got `0`',
      '22:14: Expected `spec.ingress[2].ports[3].port` of NetworkPolicy default/np to be a port number (1-65535) or a container port name, got `70000`',
      '23:14: Expected `spec.ingress[2].ports[4].port` of NetworkPolicy default/np to be a port number (1-65535) or a container port name (lower-case a-z, 0-9 and -, at most 15, with a letter), got `80` (a quoted number is read as a port name: write 80 without quotes)',
      '24:14: Expected `spec.ingress[2].ports[5].port` of NetworkPolicy default/np to be a port number (1-65535) or a container port name (lower-case a-z, 0-9 and -, at most 15, with a letter), got `HTTP_port`',
      '25:17: `spec.ingress[2].ports[6].endPort` of NetworkPolicy default/np needs a numeric `port` to start the range',
      '26:28: `spec.ingress[2].ports[7].endPort` of NetworkPolicy default/np (90) must be at least `port` (100)',
      '27:29: `spec.ingress[2].ports[8].endPort` of NetworkPolicy default/np may not be used with a named port (`http`)',
      '28:8: Unknown key `protcol` in `spec.ingress[2].ports[9]` of NetworkPolicy default/np; did you mean `protocol`?',
      '31:61: Expected `spec.egress[0].to[0].podSelector.matchExpressions[0].operator` of NetworkPolicy default/np to be In, NotIn, Exists or DoesNotExist, got `in`; did you mean `In`?',
      '31:79: `spec.egress[0].to[0].podSelector.matchExpressions[1]` of NetworkPolicy default/np needs `values` with operator In',
      '31:141: `spec.egress[0].to[0].podSelector.matchExpressions[2]` of NetworkPolicy default/np may not have `values` with operator Exists',
      '32:47: Expected label `team` in `spec.egress[0].to[1].namespaceSelector.matchLabels` of NetworkPolicy default/np to be a string (quote it), got `7`',
    ],
  );
});

t.test('warnings: host bits, IPv6 blocks, rules the policy types leave out', async (t) => {
  t.same(
    shape(
      head(`  podSelector: {}
  policyTypes: [Ingress]
  ingress:
  - from:
    - ipBlock: {cidr: 10.1.2.3/8, except: [10.1.2.3/16]}
    - ipBlock: {cidr: "2001:db8::/32"}
  egress:
  - {}
`),
    ),
    [
      '9:23: warning: `spec.ingress[0].from[0].ipBlock.cidr` of NetworkPolicy default/np has host bits set: Kubernetes reads `10.1.2.3/8` as `10.0.0.0/8`',
      '9:44: warning: `spec.ingress[0].from[0].ipBlock.except[0]` of NetworkPolicy default/np has host bits set: Kubernetes reads `10.1.2.3/16` as `10.1.0.0/16`',
      "10:23: warning: `spec.ingress[0].from[1].ipBlock.cidr` of NetworkPolicy default/np is an IPv6 block: knetlab's cluster is IPv4 only, so it matches nothing",
      '12:3: warning: `spec.egress` of NetworkPolicy default/np is ignored: `spec.policyTypes` does not list Egress',
    ],
  );
  const { policy } = readNetworkPolicy(netpol(head('  podSelector: {}\n  ingress:\n  - from:\n    - ipBlock: {cidr: 10.1.2.3/8, except: [10.1.2.3/16]}\n')));
  t.match(policy!.ingress[0]!.peers[0], { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] }, 'read as Kubernetes reads them');
});

// ---------------------------------------------------------------------------------------------
// Against the cluster

const cluster = (manifests: string) => `apiVersion: knetlab/v1
kind: Scenario
metadata: {name: t}
cluster: {dns: false}
nodes:
  - name: node-1
  - name: node-2
manifests:
  - {apiVersion: v1, kind: Namespace, metadata: {name: ops, labels: {team: ops, kubernetes.io/metadata.name: wrong}}}
  - {apiVersion: v1, kind: Pod, metadata: {name: web, labels: {app: web}}, spec: {containers: [{name: c, ports: [{name: http, containerPort: 8080}]}]}}
  - {apiVersion: v1, kind: Pod, metadata: {name: api, labels: {app: api}}, spec: {containers: [{name: c, ports: [{name: grpc, containerPort: 9000, protocol: UDP}]}]}}
  - {apiVersion: v1, kind: Pod, metadata: {name: tool, namespace: ops, labels: {app: tool}}, spec: {containers: [{name: c}]}}
  - {apiVersion: v1, kind: Pod, metadata: {name: agent, labels: {app: agent}}, spec: {hostNetwork: true, containers: [{name: c}]}}
${manifests}`;

t.test('namespaces: their labels, plus kubernetes.io/metadata.name, which the API server sets', async (t) => {
  const m = await modelOf(cluster(''));
  const ns = namespaceLabels(m);
  t.same(ns.get('ops'), { team: 'ops', 'kubernetes.io/metadata.name': 'ops' });
  t.same(ns.get('default'), { 'kubernetes.io/metadata.name': 'default' }, 'a namespace no object declares still has its name label');
});

t.test("selection: pods of the policy's namespace; peers by namespace and pod; hostNetwork pods never", async (t) => {
  const m = await modelOf(
    cluster(`  - apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata: {name: all}
    spec:
      podSelector: {}
      ingress:
      - from:
        - namespaceSelector: {matchLabels: {team: ops}}
        - podSelector: {matchLabels: {app: api}}
        - namespaceSelector: {}
          podSelector: {matchLabels: {app: tool}}
        - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: default}}
`),
  );
  const [p] = activeNetworkPolicies(m);
  t.same(
    podsSelectedBy(m, p!).map((x) => x.name),
    ['web', 'api'],
    'not the hostNetwork agent, not the ops pod',
  );
  const peers = p!.ingress[0]!.peers as SelectorPeer[];
  t.same(
    podsOfPeer(m, p!, peers[0]!).map((x) => `${x.namespace}/${x.name}`),
    ['ops/tool'],
  );
  t.same(
    podsOfPeer(m, p!, peers[1]!).map((x) => `${x.namespace}/${x.name}`),
    ['default/api'],
    "a podSelector alone: the policy's namespace",
  );
  t.same(
    podsOfPeer(m, p!, peers[2]!).map((x) => `${x.namespace}/${x.name}`),
    ['ops/tool'],
    'both: those pods of those namespaces',
  );
  t.same(
    podsOfPeer(m, p!, peers[3]!).map((x) => `${x.namespace}/${x.name}`),
    ['default/web', 'default/api'],
  );
  const web = m.pods.find((x) => x.name === 'web')!;
  t.equal(namedPort(web, 'http', 'TCP'), 8080);
  t.equal(namedPort(web, 'http', 'UDP'), undefined, 'a named port has a protocol too');
});

t.test('against the cluster: selects no pod, a peer selects no pod, a named port no pod has', async (t) => {
  const m = await modelOf(cluster(''));
  t.same(
    shape(
      head(`  podSelector: {matchLabels: {app: wbe}}
  ingress:
  - from:
    - podSelector: {matchLabels: {app: nobody}}
    - namespaceSelector: {matchLabels: {team: nobody}}
`),
      m,
    ),
    [
      '5:16: warning: NetworkPolicy default/np selects no pod in namespace default, so it changes nothing',
      '8:7: warning: spec.ingress[0].from[0] of NetworkPolicy default/np selects no pod, so this from peer allows nothing yet',
      '9:7: warning: spec.ingress[0].from[1] of NetworkPolicy default/np selects no pod (no namespace has its labels; every namespace has the label kubernetes.io/metadata.name: NAME), so this from peer allows nothing yet',
    ],
  );
  t.same(shape(head('  podSelector: {matchLabels: {app: agent}}\n'), m), [
    '5:16: warning: NetworkPolicy default/np selects no pod: it matches only hostNetwork pods (agent), which NetworkPolicy does not apply to',
  ]);
  t.same(
    shape(
      head(`  podSelector: {}
  ingress:
  - ports: [{port: htp}, {port: grpc}, {port: grpc, protocol: UDP}]
  egress:
  - to:
    - podSelector: {matchLabels: {app: api}}
    ports: [{port: http}]
`),
      m,
    ),
    [
      '7:20: warning: No selected pod of NetworkPolicy default/np has a TCP container port named `htp`, so this port allows nothing; did you mean `http`?',
      '7:33: warning: No selected pod of NetworkPolicy default/np has a TCP container port named `grpc`, so this port allows nothing',
      '11:20: warning: No destination pod of NetworkPolicy default/np has a TCP container port named `http`, so this port allows nothing',
    ],
  );
  t.same(shape(head('  podSelector: {}\n  ingress: [{ports: [{port: http}]}]\n'), m), [], 'a policy that reads and matches: nothing to say');
});

t.test('reportNetworkPolicyProblems: FILE:LINE:COL in the manifest file, terminating policies left out', async (t) => {
  const file = writeScenario(cluster('  - ./np.yaml\n'), {
    'np.yaml': `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress:
  - from:
    - ipBlock: {cidr: 10.0.0.0/16, except: [10.1.0.0/24]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: gone, deletionTimestamp: "2024-01-01T00:00:00Z"}
spec:
  podSelector: {matchLabels: {app: nothing}}
`,
  });
  const v = await validateScenario(file);
  t.ok(v.model, 'the scenario builds (the policy checks are not wired into validation here)');
  const problems = new Problems();
  reportNetworkPolicyProblems(v.model!, problems);
  t.same(
    problems.list.map((p) => formatProblem(p).replace(`${dirname(file)}/`, '')),
    // An invalid policy is not checked against the cluster (it would not be enforced as written).
    ['np.yaml:8:45: `spec.ingress[0].from[0].ipBlock.except[0]` of NetworkPolicy default/db (`10.1.0.0/24`) must be inside `cidr` 10.0.0.0/16 and smaller than it'],
  );
  t.equal(checkNetworkPolicies(v.model!).length, 1, 'the terminating policy is not checked');
  t.equal(activeNetworkPolicies(v.model!).length, 0, 'an invalid policy is not enforced');
});

// ---------------------------------------------------------------------------------------------
// ipBlock except

t.test('subtractCidrs: the block without its exceptions, as few CIDRs as it takes', async (t) => {
  const c = (s: string): Cidr => {
    const [ip, bits] = s.split('/') as [string, string];
    const parts = ip.split('.').map(Number);
    return { base: ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0, bits: Number(bits) };
  };
  t.same(subtractCidrs(c('10.0.0.0/8'), []).map(formatCidr), ['10.0.0.0/8']);
  t.same(subtractCidrs(c('10.0.0.0/8'), [c('10.0.0.0/8')]).map(formatCidr), []);
  t.same(subtractCidrs(c('10.0.0.0/24'), [c('10.0.0.128/25')]).map(formatCidr), ['10.0.0.0/25']);
  t.same(subtractCidrs(c('10.0.0.0/24'), [c('10.0.0.5/32')]).map(formatCidr), [
    '10.0.0.0/30',
    '10.0.0.4/32',
    '10.0.0.6/31',
    '10.0.0.8/29',
    '10.0.0.16/28',
    '10.0.0.32/27',
    '10.0.0.64/26',
    '10.0.0.128/25',
  ]);
  t.same(subtractCidrs(c('10.0.0.0/24'), [c('192.168.0.0/16')]).map(formatCidr), ['10.0.0.0/24'], 'an exception outside changes nothing');
  t.same(subtractCidrs(c('0.0.0.0/0'), [c('128.0.0.0/1')]).map(formatCidr), ['0.0.0.0/1']);
  const cidr = fc
    .record({ base: fc.integer({ min: 0, max: 0xffffffff }), bits: fc.integer({ min: 0, max: 32 }) })
    .map(({ base, bits }) => ({ base: bits === 0 ? 0 : ((base >>> (32 - bits)) << (32 - bits)) >>> 0, bits }));
  fc.assert(
    fc.property(cidr, fc.array(cidr, { maxLength: 4 }), fc.array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: 1, maxLength: 20 }), (block, except, probes) => {
      const parts = subtractCidrs(block, except);
      for (const ip of probes) {
        // Probe addresses inside the block too, not only anywhere.
        const a = block.bits === 0 ? ip : (block.base | (ip & (2 ** (32 - block.bits) - 1))) >>> 0;
        const want = cidrContains(block, a) && !except.some((e) => cidrContains(e, a));
        const got = parts.filter((p) => cidrContains(p, a)).length;
        if (got !== (want ? 1 : 0)) return false; // in exactly one part, or in none
      }
      return true;
    }),
  );
});
