// NetworkPolicy enforcement rendered as iptables-restore text. Golden files
// (test/golden/network-policy/NAME.txt; `UPDATE_GOLDEN=1 npx tap test/dataplane/network-policy.test.ts`
// rewrites them: review the diff) hold whole restore inputs. As root, every golden is also restored
// in a throwaway network namespace and read back with iptables-save, and a real two-node cluster
// (knetlab's own topology: LAN, cni0, pods on veths, flannel VXLAN, flannel's and kube-proxy's rules)
// is built in `unshare --net --mount --pid --fork --mount-proc` to check which connections the
// rules let through, on the same node and across nodes.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { Model } from '../../src/cluster/types.js';
import { caliVethName } from '../../src/cni/calico.js';
import { jumpArgv } from '../../src/dataplane/iptables.js';
import { kubeProxyRestore } from '../../src/dataplane/kube-proxy-sync.js';
import { machineNetns, podNetns, podVethName } from '../../src/dataplane/names.js';
import {
  egressChainName,
  ingressChainName,
  jumps,
  KNP_FORWARD,
  networkPolicyJumps,
  networkPolicyRestore,
  renderNetworkPolicyIptables,
  type NetworkPolicyOptions,
} from '../../src/dataplane/network-policy.js';
import { renderTopology } from '../../src/dataplane/topology.js';
import { validateScenario } from '../../src/validate.js';
import { modelOf } from '../helpers.js';
import { matchGolden, matchGoldenDir } from '../match-golden.js';
import { apiLockdown, cachedModel, namespace, pod, policy, scenario, threePods } from './fixtures.js';

interface Case {
  /** Scenario text, or a scenario file to read. */
  text?: string;
  file?: string;
  node: string;
  options?: NetworkPolicyOptions;
}

const cases: Record<string, Case> = {
  // Every pod of the namespace is isolated for ingress, nothing is allowed: only the node's own
  // connections (and replies) pass. Pods in another namespace are not touched.
  'default-deny-ingress': {
    text: scenario(
      'default-deny',
      threePods + pod('other-0', 'node-1', 'app: web', '[{containerPort: 80}]', 'other') + policy('default-deny-ingress', 'podSelector: {}\npolicyTypes: [Ingress]'),
    ),
    node: 'node-1',
  },
  // Seed 003 (附B): the database reachable only from the data layer, as the scenario has it.
  'seed003-db-only-from-data-layer-node-1': { file: 'scenarios/networkpolicy.yaml', node: 'node-1' },
  'seed003-db-only-from-data-layer-node-2': { file: 'scenarios/networkpolicy.yaml', node: 'node-2' },
  // namespaceSelector alone (every pod of the prod namespaces), with a podSelector (monitoring
  // pods of any namespace), and by the automatic kubernetes.io/metadata.name label.
  'namespace-selector': {
    text: scenario(
      'ns-selector',
      namespace('db', 'team: data') +
        namespace('prod', 'env: prod') +
        namespace('dev', 'env: dev') +
        pod('postgres-0', 'node-1', 'app: postgres', '[{name: pg, containerPort: 5432}]', 'db') +
        pod('shop-0', 'node-1', 'app: shop', undefined, 'prod') +
        pod('shop-1', 'node-2', 'app: shop', undefined, 'prod') +
        pod('shop-dev-0', 'node-2', 'app: shop', undefined, 'dev') +
        pod('prometheus-0', 'node-2', 'app: prometheus', undefined, 'dev') +
        pod('backup-0', 'node-1', 'app: backup', undefined, 'db') +
        policy(
          'postgres',
          `podSelector: {matchLabels: {app: postgres}}
ingress:
- from:
  - namespaceSelector: {matchLabels: {env: prod}}
  ports: [{port: 5432}]
- from:
  - namespaceSelector: {}
    podSelector: {matchLabels: {app: prometheus}}
  - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: db}}
  ports: [{port: pg}]`,
          'db',
        ),
    ),
    node: 'node-1',
  },
  // ipBlock with except: the block minus its exceptions becomes the CIDRs that cover the rest.
  'ipblock-except': {
    text: scenario(
      'ipblock',
      threePods +
        policy(
          'web-from-networks',
          `podSelector: {matchLabels: {app: web}}
ingress:
- from:
  - ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16, 10.2.3.0/24]}
  - ipBlock: {cidr: 172.16.0.0/12}
  ports: [{protocol: TCP, port: 8080}]
- from:
  - ipBlock: {cidr: 0.0.0.0/0, except: [192.168.0.0/16]}
  ports: [{protocol: UDP, port: 53}]`,
        ),
    ),
    node: 'node-1',
  },
  // Egress only to a CIDR (a range of ports), to DNS anywhere (UDP and TCP), and to the api pods.
  'egress-to-cidr': {
    text: scenario(
      'egress',
      threePods +
        policy(
          'web-egress',
          `podSelector: {matchLabels: {app: web}}
policyTypes: [Egress]
egress:
- to:
  - ipBlock: {cidr: 192.168.8.0/24}
  ports: [{protocol: TCP, port: 30000, endPort: 32767}]
- ports: [{protocol: UDP, port: 53}, {protocol: TCP, port: 53}]
- to:
  - podSelector: {matchLabels: {app: api}}`,
        ),
    ),
    node: 'node-1',
  },
  // A named port means each destination pod's own container port of that name: 8080 on web-0, 80
  // on web-1's, 9000 on api-0 (egress); a pod without the name is not reachable by that rule.
  'named-port': {
    text: scenario(
      'named',
      pod('web-0', 'node-1', 'app: web', '[{name: http, containerPort: 8080}, {name: metrics, containerPort: 9100}]') +
        pod('web-1', 'node-1', 'app: web', '[{name: http, containerPort: 80}]') +
        pod('api-0', 'node-2', 'app: api', '[{name: http, containerPort: 9000}]') +
        pod('api-1', 'node-2', 'app: api', '[{name: grpc, containerPort: 9001}]') +
        pod('client-0', 'node-1', 'app: client', '[]') +
        policy(
          'web-http',
          `podSelector: {matchLabels: {app: web}}
ingress:
- from:
  - podSelector: {matchLabels: {app: client}}
  ports: [{port: http}, {port: metrics, protocol: UDP}]`,
        ) +
        policy(
          'client-egress',
          `podSelector: {matchLabels: {app: client}}
policyTypes: [Egress]
egress:
- to:
  - podSelector: {matchLabels: {app: api}}
  ports: [{port: http}]
- ports: [{port: metrics}]`,
        ),
    ),
    node: 'node-1',
  },
  // Both directions on one pod, and the node's own traffic judged like any other source.
  'both-directions-node-traffic-policy': { text: scenario('both', threePods + apiLockdown), node: 'node-1', options: { nodeTraffic: 'policy' } },
  // The same under Calico: the chains hook in by the pods' routed cali interfaces, no physdev.
  'calico-both-directions': { text: scenario('calico-both', threePods + apiLockdown, 'dns: false, network: calico-vxlan'), node: 'node-1' },
  'calico-seed003-db-only-from-data-layer-node-1': { file: 'scenarios/calico-networkpolicy.yaml', node: 'node-1' },
};

const models = new Map<string, Promise<Model>>();
async function modelFor(c: Case): Promise<Model> {
  const key = c.file ?? c.text!;
  if (!models.has(key)) {
    models.set(
      key,
      c.file
        ? validateScenario(c.file).then((v) => {
            if (!v.model) throw new Error(`${c.file} is invalid`);
            return v.model;
          })
        : cachedModel(c.text!),
    );
  }
  return models.get(key)!;
}

async function render(name: string): Promise<string> {
  const c = cases[name]!;
  return renderNetworkPolicyIptables(await modelFor(c), c.node, c.options);
}

for (const name of Object.keys(cases)) {
  t.test(`golden ${name}`, async (t) => matchGolden(t, `network-policy/${name}.txt`, await render(name)));
}

t.test('every golden file belongs to a case', async (t) =>
  matchGoldenDir(
    t,
    'network-policy',
    Object.keys(cases).map((n) => `${n}.txt`),
  ),
);

// ---------------------------------------------------------------------------------------------
// Structure

t.test('the seed: one ingress chain for the mysql pod, allowed from the data pods on 3306 only', async (t) => {
  const m = await modelFor(cases['seed003-db-only-from-data-layer-node-1']!);
  const mysql = m.pods.find((p) => p.name === 'mysql-0')!;
  const text = renderNetworkPolicyIptables(m, mysql.node!);
  const chain = ingressChainName(mysql);
  t.equal(chain, `KNP-TO-${podVethName(mysql)}`);
  t.ok(chain.length <= 28, 'a chain name iptables accepts');
  const data = m.pods.filter((p) => p.labels.layer === 'data');
  t.equal(data.length, 3);
  for (const p of data) t.match(text, `-A ${chain} -s ${p.ip}/32 -p tcp -m tcp --dport 3306 `, `${p.name} is allowed`);
  for (const p of m.pods.filter((p) => p.labels.layer === 'business')) t.notMatch(text, `-s ${p.ip}/32`, `${p.name} is not`);
  t.match(text, new RegExp(`-A ${chain} -m comment --comment "[^"]*" -j DROP\\nCOMMIT`), 'the chain ends with the DROP');
  t.notMatch(text, /KNP-FROM-/, 'no egress chain: the policy is Ingress only');
  t.notMatch(text, /-j ACCEPT/, 'nothing is ACCEPTed: allowed traffic goes on to kube-proxy and flannel');
});

t.test('a node without policed pods has only its empty hook chains', async (t) => {
  const text = await render('seed003-db-only-from-data-layer-node-2');
  t.equal(text, '*filter\n:KNP-FORWARD - [0:0]\n:KNP-INPUT - [0:0]\n:KNP-OUTPUT - [0:0]\nCOMMIT\n');
});

t.test('hooks: egress by the bridge port in, ingress by the bridge port out or the address', async (t) => {
  const m = await modelFor(cases['both-directions-node-traffic-policy']!);
  const api = m.pods.find((p) => p.name === 'api-0')!;
  const veth = podVethName(api);
  const text = renderNetworkPolicyIptables(m, 'node-1', { nodeTraffic: 'policy' });
  const lines = text.split('\n');
  const hook = (chain: string) => lines.filter((l) => l.startsWith(`-A ${chain} `));
  t.same(hook('KNP-FORWARD'), [
    '-A KNP-FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment "replies of allowed connections" -j RETURN',
    `-A KNP-FORWARD -m physdev --physdev-in ${veth} -m comment --comment "default/api-0 egress" -j ${egressChainName(api)}`,
    `-A KNP-FORWARD -m physdev --physdev-out ${veth} --physdev-is-bridged -m comment --comment "default/api-0 ingress, bridged" -j ${ingressChainName(api)}`,
    `-A KNP-FORWARD -d ${api.ip}/32 -m physdev ! --physdev-is-bridged -m comment --comment "default/api-0 ingress, routed" -j ${ingressChainName(api)}`,
  ]);
  t.same(hook('KNP-INPUT').slice(1), [`-A KNP-INPUT -m physdev --physdev-in ${veth} -m comment --comment "default/api-0 egress to this node" -j ${egressChainName(api)}`]);
  t.same(hook('KNP-OUTPUT').slice(1), [`-A KNP-OUTPUT -d ${api.ip}/32 -m comment --comment "default/api-0 ingress from this node" -j ${ingressChainName(api)}`]);
  t.notMatch(text, /--src-type LOCAL/, 'nodeTraffic policy: the node is judged like any other source');
  t.match(renderNetworkPolicyIptables(m, 'node-1'), `-A ${ingressChainName(api)} -m addrtype --src-type LOCAL `, 'by default the node may always connect');
});

t.test("Calico: a pod's chains hook in by its cali interface, in and out, with no physdev match", async (t) => {
  const m = await modelFor(cases['calico-both-directions']!);
  const api = m.pods.find((p) => p.name === 'api-0')!;
  const cali = caliVethName(api);
  const text = renderNetworkPolicyIptables(m, 'node-1');
  const lines = text.split('\n');
  const hook = (chain: string) => lines.filter((l) => l.startsWith(`-A ${chain} `));
  t.same(hook('KNP-FORWARD').slice(1), [
    `-A KNP-FORWARD -i ${cali} -m comment --comment "default/api-0 egress" -j KNP-FROM-${cali}`,
    `-A KNP-FORWARD -o ${cali} -m comment --comment "default/api-0 ingress" -j KNP-TO-${cali}`,
  ]);
  t.same(hook('KNP-INPUT').slice(1), [`-A KNP-INPUT -i ${cali} -m comment --comment "default/api-0 egress to this node" -j KNP-FROM-${cali}`]);
  t.same(hook('KNP-OUTPUT').slice(1), [`-A KNP-OUTPUT -d ${api.ip}/32 -m comment --comment "default/api-0 ingress from this node" -j KNP-TO-${cali}`]);
  t.notMatch(text, /physdev/);
});

t.test('hostNetwork and Pending pods get no chains; pods of other nodes are peers only', async (t) => {
  const m = await modelOf(
    scenario(
      'hostnet',
      `  - {apiVersion: v1, kind: Pod, metadata: {name: agent, labels: {app: web}}, spec: {nodeName: node-1, hostNetwork: true, containers: [{name: c}]}}\n` +
        `  - {apiVersion: v1, kind: Pod, metadata: {name: nowhere, labels: {app: web}}, spec: {nodeSelector: {none: none}, containers: [{name: c}]}}\n` +
        pod('web-1', 'node-2', 'app: web') +
        pod('client', 'node-1', 'app: client') +
        policy('web', 'podSelector: {matchLabels: {app: web}}\ningress:\n- from:\n  - podSelector: {}'),
    ),
  );
  const text = renderNetworkPolicyIptables(m, 'node-1');
  t.notMatch(text, /KNP-TO-/, 'no pod of node-1 is selected with an address of its own');
  const text2 = renderNetworkPolicyIptables(m, 'node-2');
  const web1 = m.pods.find((p) => p.name === 'web-1')!;
  const client = m.pods.find((p) => p.name === 'client')!;
  t.match(text2, `-A ${ingressChainName(web1)} -s ${client.ip}/32 `);
  const agent = m.pods.find((p) => p.name === 'agent')!;
  t.notMatch(text2, `-s ${agent.ip}/32`, "a hostNetwork pod is no peer (its address is its node's)");
});

t.test('a re-sync declares the chains of pods no longer policed and deletes them', async (t) => {
  const m = await modelFor(cases['seed003-db-only-from-data-layer-node-1']!);
  const first = networkPolicyRestore(m, 'node-1', { first: true });
  const withoutPolicies: Model = { ...m, objects: m.objects.filter((o) => o.kind !== 'NetworkPolicy') };
  const second = networkPolicyRestore(withoutPolicies, 'node-1', { first: false, previous: first });
  const mysql = m.pods.find((p) => p.name === 'mysql-0')!;
  const chain = ingressChainName(mysql);
  t.equal(second, `*filter\n:KNP-FORWARD - [0:0]\n:KNP-INPUT - [0:0]\n:KNP-OUTPUT - [0:0]\n:${chain} - [0:0]\n-X ${chain}\nCOMMIT\n`);
  t.notMatch(second, /^-I /m, 'later syncs insert no jumps');
  const third = networkPolicyRestore(withoutPolicies, 'node-1', { first: false, previous: second });
  t.equal(third, '*filter\n:KNP-FORWARD - [0:0]\n:KNP-INPUT - [0:0]\n:KNP-OUTPUT - [0:0]\nCOMMIT\n', 'a chain deleted once is not declared again');
  t.match(first, /^-I FORWARD 1 -m comment --comment "knetlab network policies: [^"]*" -j KNP-FORWARD\n-I INPUT 1 .* -j KNP-INPUT\n-I OUTPUT 1 .* -j KNP-OUTPUT\nCOMMIT\n$/m);
  // A terminating policy no longer counts.
  const terminating: Model = { ...m, objects: m.objects.map((o) => (o.kind === 'NetworkPolicy' ? { ...o, meta: { ...o.meta, terminating: true } } : o)) };
  t.notMatch(renderNetworkPolicyIptables(terminating, 'node-1'), /KNP-TO-/);
});

t.test("jumps: one per builtin chain, same shape as kube-proxy's", async (t) => {
  t.equal(jumps, networkPolicyJumps);
  const list = networkPolicyJumps();
  t.same(
    list.map((j) => [j.table, j.chain, j.target]),
    [
      ['filter', 'FORWARD', 'KNP-FORWARD'],
      ['filter', 'INPUT', 'KNP-INPUT'],
      ['filter', 'OUTPUT', 'KNP-OUTPUT'],
    ],
  );
  t.same(jumpArgv(list[0]!, '-I'), ['-t', 'filter', '-I', 'FORWARD', '-m', 'comment', '--comment', 'knetlab network policies: pod traffic, bridged and routed', '-j', KNP_FORWARD]);
});

t.test('an unknown node is an error', async (t) => {
  const m = await modelFor(cases['default-deny-ingress']!);
  t.throws(() => renderNetworkPolicyIptables(m, 'node-9'), /node-9/);
});

// ---------------------------------------------------------------------------------------------
// The kernel

const shq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
const root = process.getuid?.() === 0;
const tools = ['unshare', 'ip', 'bridge', 'iptables', 'iptables-restore', 'iptables-save', 'python3', 'timeout', 'sysctl'].filter(
  (c) => spawnSync('sh', ['-c', `command -v ${c}`]).status !== 0,
);
const skipKernel = !root ? 'needs root (unshare --net, iptables, veth and bridge devices)' : tools.length ? `needs ${tools.join(', ')}` : false;

/** Runs a bash script in a new network, mount and PID namespace (everything it starts dies with it). */
function inSandbox(script: string, timeoutMs = 60_000): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('unshare', ['--net', '--mount', '--pid', '--fork', '--mount-proc', 'bash', '-c', `set -e\n${script}`], { encoding: 'utf8', timeout: timeoutMs });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Rules of one table, per chain, from iptables-save output or a restore text. */
function rulesPerChain(text: string, table: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const section = text.split(`*${table}\n`)[1]?.split('COMMIT')[0] ?? '';
  for (const line of section.split('\n')) {
    if (line.startsWith(':')) out.set(line.slice(1).split(' ')[0]!, out.get(line.slice(1).split(' ')[0]!) ?? []);
    if (line.startsWith('-A ')) {
      const chain = line.split(' ')[1]!;
      out.set(chain, [...(out.get(chain) ?? []), line]);
    }
  }
  return out;
}

const heredoc = (cmd: string, body: string) => `${cmd} <<'KNETLAB_EOF'\n${body.replace(/\n?$/, '\n')}KNETLAB_EOF`;

const physdev = root && !skipKernel ? inSandbox('iptables -A FORWARD -m physdev --physdev-is-bridged -j RETURN') : undefined;
const skipPhysdev = skipKernel || (physdev && physdev.status !== 0 ? `the kernel has no xt_physdev: ${physdev.stderr.trim()}` : false);

t.test('the kernel accepts every golden, and iptables-save prints it back line for line', { skip: skipPhysdev }, async (t) => {
  for (const name of Object.keys(cases)) {
    const text = await render(name);
    const run = inSandbox(`${heredoc('iptables-restore --noflush', text)}\n${heredoc('iptables-restore --noflush', text)}\niptables-save -t filter`);
    t.equal(run.status, 0, `${name}: ${run.stderr}`);
    const mine = rulesPerChain(text, 'filter');
    const saved = rulesPerChain(run.stdout, 'filter');
    for (const [chain, rules] of mine) t.same(saved.get(chain), rules, `${name}: ${chain} reads back the same, once`);
  }
});

// A cluster for the kernel: two nodes, flannel VXLAN, a Service, three policies.
//   node-1: db (app=db: mysql 3306, http 8080), data-a (layer=data: http 8080, alt 9090),
//           biz-a (layer=business: http 8080), web-a (layer=web: http 8080)
//   node-2: data-b (layer=data), web-b (layer=web), ops-b (namespace ops, labelled team=ops)
//   db-allow-data   db: ingress from layer=data on TCP 3306 (the seed's policy)
//   biz-egress      business pods: egress only to layer=data pods' port named http
//   data-ingress    data pods: ingress from namespaces team=ops (any port), from business pods on
//                   port http, from node-1's pod subnet except web-a on 8080
function kernelScenario(withDbPolicy: boolean, webA: string): string {
  const np = (name: string, spec: string, ns = 'default') => policy(name, spec, ns);
  return `apiVersion: knetlab/v1
kind: Scenario
metadata: {name: np-kernel}
cluster: {dns: false, network: flannel-vxlan}
nodes:
  - name: node-1
  - name: node-2
manifests:
${namespace('ops', 'team: ops')}${pod('db', 'node-1', 'app: db', '[{name: mysql, containerPort: 3306}, {name: http, containerPort: 8080}]')}${pod('data-a', 'node-1', 'layer: data', '[{name: http, containerPort: 8080}, {name: alt, containerPort: 9090}]')}${pod('biz-a', 'node-1', 'layer: business')}${pod('web-a', 'node-1', 'layer: web')}${pod('data-b', 'node-2', 'layer: data', '[{name: http, containerPort: 8080}, {name: alt, containerPort: 9090}]')}${pod('web-b', 'node-2', 'layer: web')}${pod('ops-b', 'node-2', 'app: ops', undefined, 'ops')}  - {apiVersion: v1, kind: Service, metadata: {name: db}, spec: {selector: {app: db}, clusterIP: 10.96.0.33, ports: [{name: mysql, port: 3306, targetPort: mysql}]}}
${withDbPolicy ? np('db-allow-data', 'podSelector: {matchLabels: {app: db}}\npolicyTypes: [Ingress]\ningress:\n- from:\n  - podSelector: {matchLabels: {layer: data}}\n  ports: [{protocol: TCP, port: 3306}]') : ''}${np('biz-egress', 'podSelector: {matchLabels: {layer: business}}\npolicyTypes: [Egress]\negress:\n- to:\n  - podSelector: {matchLabels: {layer: data}}\n  ports: [{port: http}]')}${np(
  'data-ingress',
  `podSelector: {matchLabels: {layer: data}}
ingress:
- from:
  - namespaceSelector: {matchLabels: {team: ops}}
- from:
  - podSelector: {matchLabels: {layer: business}}
  ports: [{port: http}]
- from:
  - ipBlock: {cidr: 10.244.0.0/24, except: [${webA}/32]}
  ports: [{port: 8080}]`,
)}`;
}

/** The bash that builds a model's topology as knetlab does (namespaces, stages: sysctls, ip, bridge, iptables). */
function buildScript(m: Model): string {
  const plan = renderTopology(m);
  const out = ['mkdir -p /run/netns && mount -t tmpfs knetlab-netns /run/netns', ...plan.namespaces.map((n) => `ip netns add ${shq(n)}`)];
  for (const stage of plan.stages) {
    for (const ns of stage) {
      const sysctls = Object.entries(ns.sysctls).map(([k, v]) => `${k}=${v}`);
      if (sysctls.length) out.push(`ip netns exec ${shq(ns.name)} sysctl -q -w ${sysctls.map(shq).join(' ')}`);
      if (ns.ip.length) out.push(heredoc(`ip -n ${shq(ns.name)} -batch -`, ns.ip.join('\n')));
      if (ns.bridge.length) out.push(heredoc(`bridge -n ${shq(ns.name)} -batch -`, ns.bridge.join('\n')));
      if (ns.iptables) out.push(heredoc(`ip netns exec ${shq(ns.name)} iptables-restore`, ns.iptables));
    }
  }
  return out.join('\n');
}

/** Several HTTP servers in one process (python3's http.server), on every port given; writes DIR/NAME.ready once listening. */
const SERVER = `import http.server, os, sys, threading
name, ready, ports = sys.argv[1], sys.argv[2], [int(p) for p in sys.argv[3:]]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.end_headers(); self.wfile.write(name.encode())
    def log_message(self, *a): pass
servers = [http.server.ThreadingHTTPServer(('0.0.0.0', p), H) for p in ports]
for s in servers: threading.Thread(target=s.serve_forever, daemon=True).start()
open(ready, 'w').close()
threading.Event().wait()
`;

interface Probe {
  name: string;
  /** A pod's or a node's namespace. */
  from: string;
  ip: string;
  port: number;
  connect: boolean;
}

t.test('the kernel: policies let through what they allow and nothing else, same node and across nodes', { skip: skipPhysdev }, async (t) => {
  const draft = await modelOf(kernelScenario(true, '10.244.0.99'));
  const webAIp = draft.pods.find((p) => p.name === 'web-a')!.ip!;
  const m = await modelOf(kernelScenario(true, webAIp));
  const opened = await modelOf(kernelScenario(false, webAIp));
  const P = (name: string) => {
    const p = m.pods.find((x) => x.name === name);
    if (!p) throw new Error(`no pod ${name}`);
    return p;
  };
  const ns = (name: string) => podNetns(P(name));
  const ip = (name: string) => P(name).ip!;
  const node1 = m.nodes.find((n) => n.name === 'node-1')!;
  t.same(
    m.pods.map((p) => [p.name, p.node]),
    [
      ['db', 'node-1'],
      ['data-a', 'node-1'],
      ['biz-a', 'node-1'],
      ['web-a', 'node-1'],
      ['data-b', 'node-2'],
      ['web-b', 'node-2'],
      ['ops-b', 'node-2'],
    ],
    'the pods are where the probes expect them',
  );
  const n1 = machineNetns('node-1');
  const n2 = machineNetns('node-2');
  const svc = '10.96.0.33';
  const probes: Probe[] = [
    // Ingress to db (node-1): from layer=data on 3306 only.
    { name: 'data-a -> db:3306, bridged', from: ns('data-a'), ip: ip('db'), port: 3306, connect: true },
    { name: 'data-a -> Service db:3306, DNATed on the bridge', from: ns('data-a'), ip: svc, port: 3306, connect: true },
    { name: 'data-b -> db:3306, from node-2 through flannel.1', from: ns('data-b'), ip: ip('db'), port: 3306, connect: true },
    { name: 'data-b -> Service db:3306, DNATed on node-2', from: ns('data-b'), ip: svc, port: 3306, connect: true },
    { name: 'web-a -> db:3306, bridged: denied', from: ns('web-a'), ip: ip('db'), port: 3306, connect: false },
    { name: 'web-a -> Service db:3306: denied', from: ns('web-a'), ip: svc, port: 3306, connect: false },
    { name: 'web-b -> db:3306, routed: denied', from: ns('web-b'), ip: ip('db'), port: 3306, connect: false },
    { name: 'data-a -> db:8080, a port the policy does not list: denied', from: ns('data-a'), ip: ip('db'), port: 8080, connect: false },
    { name: 'node-1 -> db:3306, its own node (OUTPUT)', from: n1, ip: ip('db'), port: 3306, connect: true },
    { name: 'node-2 -> db:3306, another node: denied', from: n2, ip: ip('db'), port: 3306, connect: false },
    { name: 'ops-b -> db:3306: denied', from: ns('ops-b'), ip: ip('db'), port: 3306, connect: false },
    // Egress of biz-a: only to data pods, port http.
    { name: 'biz-a -> data-a:8080 (named port http), bridged', from: ns('biz-a'), ip: ip('data-a'), port: 8080, connect: true },
    { name: 'biz-a -> data-b:8080, routed to node-2', from: ns('biz-a'), ip: ip('data-b'), port: 8080, connect: true },
    { name: 'biz-a -> data-a:9090: denied by its egress', from: ns('biz-a'), ip: ip('data-a'), port: 9090, connect: false },
    { name: 'biz-a -> web-a:8080, bridged: denied by its egress', from: ns('biz-a'), ip: ip('web-a'), port: 8080, connect: false },
    { name: 'biz-a -> web-b:8080, routed: denied by its egress', from: ns('biz-a'), ip: ip('web-b'), port: 8080, connect: false },
    { name: 'biz-a -> node-1:9999 (INPUT): denied by its egress', from: ns('biz-a'), ip: node1.ip, port: 9999, connect: false },
    { name: 'web-a -> node-1:9999, no policy', from: ns('web-a'), ip: node1.ip, port: 9999, connect: true },
    // Ingress to the data pods: namespace ops, business on http, node-1's subnet but web-a on 8080.
    { name: 'ops-b -> data-a:9090, namespaceSelector, across nodes', from: ns('ops-b'), ip: ip('data-a'), port: 9090, connect: true },
    { name: 'db -> data-a:8080, inside the ipBlock', from: ns('db'), ip: ip('data-a'), port: 8080, connect: true },
    { name: 'db -> data-a:9090, the ipBlock rule is for 8080: denied', from: ns('db'), ip: ip('data-a'), port: 9090, connect: false },
    { name: "web-a -> data-a:8080, the ipBlock's except: denied", from: ns('web-a'), ip: ip('data-a'), port: 8080, connect: false },
    { name: 'web-b -> data-b:8080, bridged on node-2, outside the ipBlock: denied', from: ns('web-b'), ip: ip('data-b'), port: 8080, connect: false },
    { name: 'web-a -> web-b:8080, no policy on either', from: ns('web-a'), ip: ip('web-b'), port: 8080, connect: true },
  ];
  const after: Probe[] = [
    { name: 'after the db policy is deleted: web-a -> db:3306', from: ns('web-a'), ip: ip('db'), port: 3306, connect: true },
    { name: 'after the db policy is deleted: web-b -> Service db:3306', from: ns('web-b'), ip: svc, port: 3306, connect: true },
    { name: 'after the db policy is deleted: data-a -> web-a, no policy on either', from: ns('data-a'), ip: ip('web-a'), port: 8080, connect: true },
    { name: 'after the db policy is deleted: biz-a -> web-a still denied by its egress', from: ns('biz-a'), ip: ip('web-a'), port: 8080, connect: false },
  ];

  const dir = mkdtempSync(join(tmpdir(), 'knetlab-np-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'server.py'), SERVER);
  const servers: [string, string, number[]][] = [
    ...m.pods.map((p): [string, string, number[]] => [p.name, podNetns(p), p.containers.flatMap((c) => c.ports.map((cp) => cp.containerPort))]),
    ['node-1', n1, [9999]],
  ];
  // All at once (a denied one takes its whole second); `wait` for the probes only, not the servers.
  const probeLines = (list: Probe[], tag: string) =>
    [
      'probes=()',
      ...list.map(
        (p, i) =>
          `( if ip netns exec ${shq(p.from)} timeout 1 bash -c 'exec 3<>/dev/tcp/${p.ip}/${p.port}' 2>/dev/null; then echo "${tag}${i} yes"; else echo "${tag}${i} no"; fi ) > ${shq(join(dir, `${tag}${i}`))} & probes+=($!)`,
      ),
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a bash array expansion, not a template
      'wait "${probes[@]}"',
      `cat ${shq(dir)}/${tag}*`,
    ].join('\n');
  const applyPolicies = (model: Model, first: boolean, previous?: Model) =>
    m.nodes.map((n) =>
      heredoc(
        `ip netns exec ${shq(machineNetns(n.name))} iptables-restore --noflush`,
        networkPolicyRestore(model, n.name, { first, ...(previous ? { previous: networkPolicyRestore(previous, n.name, { first: false }) } : {}) }),
      ),
    );
  const script = [
    buildScript(m),
    // kube-proxy as knetlab runs it (its first sync prepends its jumps), then the policies, whose jumps go above.
    ...m.nodes.map((n) => heredoc(`ip netns exec ${shq(machineNetns(n.name))} iptables-restore --noflush --counters`, kubeProxyRestore(m, n.name, { first: true }))),
    ...applyPolicies(m, true),
    // The servers keep running until the sandbox's PID namespace ends with the script; their output goes to a file, not to the pipe the test reads.
    ...servers.map(
      ([name, netns, ports]) =>
        `ip netns exec ${shq(netns)} python3 ${shq(join(dir, 'server.py'))} ${shq(name)} ${shq(join(dir, `${name}.ready`))} ${ports.join(' ')} >> ${shq(join(dir, 'servers.log'))} 2>&1 &`,
    ),
    `for i in $(seq 100); do [ $(ls ${shq(dir)}/*.ready 2>/dev/null | wc -l) -ge ${servers.length} ] && break; sleep 0.1; done`,
    `echo "== ready $(ls ${shq(dir)}/*.ready | wc -l)"`,
    'echo "== forward"',
    `ip netns exec ${shq(n1)} iptables -S FORWARD`,
    'echo "== save"',
    `ip netns exec ${shq(n1)} iptables-save -t filter`,
    'echo "== probes"',
    probeLines(probes, 'p'),
    // The db policy is deleted: the next sync leaves db's chain out and deletes it.
    ...applyPolicies(opened, false, m),
    'echo "== after"',
    probeLines(after, 'q'),
    'echo "== chains"',
    `ip netns exec ${shq(n1)} iptables-save -t filter | grep '^:KNP-' || true`,
    'echo "== end"',
  ].join('\n');
  if (process.env.KNETLAB_NP_SCRIPT) writeFileSync(process.env.KNETLAB_NP_SCRIPT, script);
  const run = inSandbox(script, 120_000);
  t.equal(run.status, 0, `the sandbox ran: ${run.stderr}`);
  const part = (name: string) => run.stdout.split(`== ${name}\n`)[1]?.split('\n== ')[0] ?? '';
  t.match(run.stdout, `== ready ${servers.length}`, 'every server listens');
  const forward = part('forward').split('\n');
  t.equal(
    forward[1],
    `-A FORWARD -m comment --comment "knetlab network policies: pod traffic, bridged and routed" -j ${KNP_FORWARD}`,
    "the policy jump is FORWARD's first rule, above kube-proxy's and flannel's",
  );
  t.match(part('forward'), /-j KUBE-FORWARD/);
  t.match(part('forward'), /-j FLANNEL-FWD/);
  const saved = rulesPerChain(part('save'), 'filter');
  for (const [chain, rules] of rulesPerChain(renderNetworkPolicyIptables(m, 'node-1'), 'filter')) t.same(saved.get(chain), rules, `node-1 ${chain} as rendered`);
  const results = (text: string, tag: string) =>
    new Map(
      text
        .split('\n')
        .filter((l) => l.startsWith(tag))
        .map((l) => l.split(' ') as [string, string]),
    );
  const got = results(part('probes'), 'p');
  probes.forEach((p, i) => t.equal(got.get(`p${i}`), p.connect ? 'yes' : 'no', `${p.name}: ${p.connect ? 'connects' : 'does not connect'}`));
  const got2 = results(part('after'), 'q');
  after.forEach((p, i) => t.equal(got2.get(`q${i}`), p.connect ? 'yes' : 'no', `${p.name}: ${p.connect ? 'connects' : 'does not connect'}`));
  t.notMatch(part('chains'), ingressChainName(P('db')), "the db pod's chain is deleted");
  t.match(part('chains'), ingressChainName(P('data-a')), "the data pods' chains stay");
});
