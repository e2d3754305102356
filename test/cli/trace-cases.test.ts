// The traces of the cases issue 15 names, on the real kernel, in iptables and nftables mode: one
// scenario run once, a step per case with `trace: true`, its json report's trace lines checked.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { TraceReport } from '../../src/trace/report.js';
import { testedProxyModes } from '../helpers.js';

const notRoot = process.getuid?.() !== 0 ? 'knetlab run builds namespaces: needs root' : false;
// tap's NODE_OPTIONS loads its TypeScript loader into every child; the built CLI needs none of it.
const { NODE_OPTIONS: _loader, ...plainEnv } = process.env;

/** web and db on node-1, caller on node-2; db behind a deny-all NetworkPolicy; empty has no endpoints. */
const scenario = (mode: string) => `apiVersion: knetlab/v1
kind: Scenario
metadata: {name: trace-cases-${mode}}
cluster: {proxyMode: ${mode}, dns: false}
nodes: [{name: node-1}, {name: node-2}]
hosts: [{name: client}]
manifests:
  - {apiVersion: v1, kind: Pod, metadata: {name: web, labels: {app: web}}, spec: {nodeName: node-1, containers: [{name: web, ports: [{containerPort: 80}]}]}}
  - {apiVersion: v1, kind: Pod, metadata: {name: db, labels: {app: db}}, spec: {nodeName: node-1, containers: [{name: db, ports: [{containerPort: 3306}]}]}}
  - {apiVersion: v1, kind: Pod, metadata: {name: caller}, spec: {nodeName: node-2, containers: [{name: caller}]}}
  - {apiVersion: v1, kind: Service, metadata: {name: web}, spec: {selector: {app: web}, ports: [{port: 80}]}}
  - {apiVersion: v1, kind: Service, metadata: {name: web-np}, spec: {type: NodePort, selector: {app: web}, ports: [{port: 80, nodePort: 30080}]}}
  - {apiVersion: v1, kind: Service, metadata: {name: web-local}, spec: {type: NodePort, externalTrafficPolicy: Local, selector: {app: web}, ports: [{port: 80, nodePort: 30081}]}}
  - {apiVersion: v1, kind: Service, metadata: {name: empty}, spec: {selector: {app: none}, ports: [{port: 80}]}}
  - {apiVersion: v1, kind: Service, metadata: {name: db}, spec: {selector: {app: db}, ports: [{port: 3306}]}}
  - {apiVersion: networking.k8s.io/v1, kind: NetworkPolicy, metadata: {name: db-deny}, spec: {podSelector: {matchLabels: {app: db}}, policyTypes: [Ingress]}}
steps:
  - name: ClusterIP from a pod on another node
    http: {from: pod/caller, to: service/web}
    expect: {status: 200, sourceIp: pod/caller}
    trace: true
  - name: NodePort through node-2, which has no endpoint
    http: {from: host/client, to: nodeport/web-np@node-2}
    trace: true
  - name: NodePort with policy Local through node-2
    http: {from: host/client, to: nodeport/web-local@node-2, timeout: 1s}
    expect: {fail: timeout}
    trace: true
  - name: a Service without endpoints
    tcp: {from: pod/caller, to: service/empty, timeout: 1s}
    expect: {connect: false}
    trace: true
  - name: a NetworkPolicy that admits nothing
    tcp: {from: pod/caller, to: service/db, timeout: 1s}
    expect: {connect: false}
    trace: true
  - name: hairpin, expecting the pod's own address (it fails, and explains itself)
    http: {from: pod/web, to: service/web}
    expect: {status: 200, sourceIp: pod/web}
`;

interface JsonStep {
  name: string;
  status: string;
  trace?: string[];
  diagnostics: string | null;
}

/** What each mode's rules are called where the trace names them. */
const rules = {
  iptables: {
    dnat: /, by nat KUBE-SEP-\w+ "default\/web"$/,
    localDrop: /^a traced try: dropped in node\/node-2 by filter KUBE-EXTERNAL-SERVICES "default\/web-local has no local endpoints"/,
    reject: /^a traced try: rejected in node\/node-2 by filter KUBE-SERVICES "default\/empty has no endpoints"/,
    hairpin: { chain: /^KUBE-SEP-/, rule: /-s 10\.244\.0\.\d+\/32 .*-j KUBE-MARK-MASQ/ },
  },
  nftables: {
    dnat: /, by kube-proxy endpoint-\w+-default\/web\/tcp\/__10\.244\.0\.\d+\/80$/,
    localDrop: /^a traced try: dropped in node\/node-2 by kube-proxy nodeport-endpoints-check: .*@no-endpoint-nodeports/,
    reject: /^a traced try: rejected in node\/node-2 by kube-proxy reject-chain: reject/,
    hairpin: { chain: /^endpoint-\w+-default\/web\/tcp\/__10\.244\.0\.\d+\/80$/, rule: /^ip saddr 10\.244\.0\.\d+ jump mark-for-masquerade$/ },
  },
} as const;

for (const mode of testedProxyModes().filter((m) => m !== 'ipvs') as ('iptables' | 'nftables')[])
  t.test(`${mode} mode: the traces of a ClusterIP, a NodePort through another node, a Local drop, a REJECT, a NetworkPolicy drop, a hairpin`, { skip: notRoot }, async (t) => {
    if (!existsSync('dist/cli/main.js')) throw new Error('dist/cli/main.js is missing: run `npm run build` first (npm test does)');
    const dir = mkdtempSync(join(tmpdir(), 'knetlab-test-trace-cases-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'cases.yaml');
    writeFileSync(file, scenario(mode));
    const run = spawnSync(process.execPath, ['dist/cli/main.js', 'run', '-r', 'json', '--diagnostics', join(dir, 'diag'), '--artifacts', join(dir, 'art'), file], {
      encoding: 'utf8',
      env: plainEnv,
      timeout: 120_000,
    });
    t.equal(run.status, 1, `only the hairpin step fails (${run.stderr.trim().split('\n').at(-1)})`);
    const steps = (JSON.parse(run.stdout) as { scenarios: { steps: JsonStep[] }[] }).scenarios[0]!.steps;
    t.same(
      steps.map((s) => s.status),
      ['passed', 'passed', 'passed', 'passed', 'passed', 'failed'],
    );
    const trace = (i: number) => steps[i]?.trace ?? [];
    const line = (i: number, start: string) => trace(i).find((l) => l.startsWith(start)) ?? `(no ${start} line in: ${trace(i).join(' | ')})`;
    const r = rules[mode];

    t.equal(trace(0)[0], 'a traced try: answered: HTTP 200 from pod/web.default', 'ClusterIP: answered by the pod');
    t.equal(line(0, 'path:'), 'path: pod/caller > node/node-2 > node/node-1 > pod/web', 'ClusterIP: from node-2 across to node-1');
    t.match(line(0, 'DNAT'), /^DNAT in node\/node-2: 10\.\d+\.\d+\.\d+:80 \(service\/web\) -> 10\.244\.0\.\d+:80 \(pod\/web\)/, "ClusterIP: DNATed on the caller's node");
    t.match(line(0, 'DNAT'), r.dnat, 'ClusterIP: by the endpoint rule');
    t.notOk(
      trace(0).some((l) => l.startsWith('SNAT')),
      'ClusterIP: no SNAT from a pod',
    );

    t.equal(line(1, 'path:'), 'path: host/client > node/node-2 > node/node-1 > pod/web', 'NodePort: through node-2, over the VXLAN hop to node-1');
    t.match(line(1, 'DNAT'), /^DNAT in node\/node-2: 192\.168\.8\.\d+:30080 \(node\/node-2\) -> 10\.244\.0\.\d+:80 \(pod\/web\)/, 'NodePort: DNATed on node-2');
    t.match(
      line(1, 'SNAT'),
      /^SNAT in node\/node-2: 192\.168\.8\.200:\d+ \(host\/client\) -> 10\.244\.1\.0:\d+ \(node\/node-2@flannel\.1\)/,
      "NodePort: masqueraded to node-2's flannel.1",
    );

    t.match(trace(2)[0], r.localDrop, 'Local: dropped on node-2 by the rule for a node without local endpoints');
    t.equal(line(2, 'path:'), 'path: host/client > node/node-2', 'Local: it went no further than node-2');

    t.match(trace(3)[0], r.reject, 'no endpoints: rejected on the caller node by the REJECT rule');
    t.ok(trace(3).includes('no NAT on the way'), 'no endpoints: never DNATed');

    t.match(trace(4)[0], /^a traced try: dropped in node\/node-1 by filter KNP-TO-veth\w+/, "NetworkPolicy: dropped on the pod's node by its policy chain");
    if (mode === 'iptables') t.match(trace(4)[0], /"default\/db: ingress not allowed by default\/db-deny"/, 'NetworkPolicy: the rule names the policy');
    t.match(line(4, 'DNAT'), /^DNAT in node\/node-2: .* -> 10\.244\.0\.\d+:3306 \(pod\/db\)/, 'NetworkPolicy: DNATed first, on the caller node');

    t.equal(trace(5)[0], 'a traced try: answered: HTTP 200 from pod/web.default', 'hairpin: the pod answered itself');
    t.match(line(5, 'DNAT'), /^DNAT in node\/node-1: 10\.\d+\.\d+\.\d+:80 \(service\/web\) -> 10\.244\.0\.\d+:80 \(pod\/web\)/, 'hairpin: DNATed back to the pod');
    t.match(line(5, 'SNAT'), /^SNAT in node\/node-1: 10\.244\.0\.\d+:\d+ \(pod\/web\) -> 10\.244\.0\.1:\d+ \(node\/node-1@cni0\)/, "hairpin: masqueraded to node-1's cni0");
    // The failed step's diagnostics keep the whole trace: the endpoint's hairpin rule marked it for masquerade.
    const diag = steps[5]?.diagnostics ?? '';
    t.ok(existsSync(join(diag, 'trace.txt')), 'the failed step keeps trace.txt');
    t.match(readFileSync(join(diag, 'trace.svg'), 'utf8'), /^<svg [\s\S]*class="hop"[\s\S]*<\/svg>\n?$/, 'and trace.svg, the path drawn on the topology');
    const whole = JSON.parse(readFileSync(join(diag, 'trace.json'), 'utf8')) as TraceReport;
    const node1 = whole.result.namespaces.find((n) => n.netns === 'node-1');
    const hits = node1?.passes.flatMap((p) => p.hooks.flatMap((h) => h.events)) ?? [];
    t.ok(
      hits.some((e) => r.hairpin.chain.test(e.chain) && r.hairpin.rule.test(e.rule ?? '') && e.verdict === 'jump'),
      "hairpin: the endpoint's own `source is the pod` rule marked it for masquerade",
    );
    t.equal(readdirSync(join(dir, 'diag')).length, 1, 'one diagnostics folder, for the one run');
  });
