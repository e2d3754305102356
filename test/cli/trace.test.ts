// knetlab trace on a held scenario, and a failed step that explains itself, on the real kernel:
// where the probe was NATed or dropped and by which rule, in iptables and nftables mode; nothing left.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { testedProxyModes } from '../helpers.js';
import { xmlProblem } from '../report/xml-check.js';

const notRoot = process.getuid?.() !== 0 ? 'knetlab up and trace build namespaces: needs root' : false;
// tap's NODE_OPTIONS loads its TypeScript loader into every child; the built CLI needs none of it.
const { NODE_OPTIONS: _loader, ...plainEnv } = process.env;

/** A NodePort with policy Local: node-1 has the pod, node-2 none (kube-proxy drops there). */
const scenario = (mode: string) => `apiVersion: knetlab/v1
kind: Scenario
metadata: {name: trace-${mode}}
cluster: {proxyMode: ${mode}, dns: false}
nodes: [{name: node-1}, {name: node-2}]
hosts: [{name: client}]
manifests:
  - {apiVersion: v1, kind: Pod, metadata: {name: web, labels: {app: web}}, spec: {nodeName: node-1, containers: [{name: web, ports: [{containerPort: 80}]}]}}
  - {apiVersion: v1, kind: Service, metadata: {name: web}, spec: {type: NodePort, externalTrafficPolicy: Local, selector: {app: web}, ports: [{port: 80, nodePort: 30080}]}}
  - {apiVersion: v1, kind: Service, metadata: {name: web-cluster}, spec: {type: NodePort, selector: {app: web}, ports: [{port: 80, nodePort: 30081}]}}
steps:
  - name: through the pod's own node, traced on request
    http: {from: host/client, to: nodeport/web@node-1}
    trace: true
  - name: a pod to the Service's ClusterIP
    tcp: {from: pod/web, to: service/web-cluster}
  - name: through node-2, which has no pod
    http: {from: host/client, to: nodeport/web@node-2, timeout: 1s}
`;

const monitors = () => spawnSync('pgrep', ['-f', 'xtables-monitor --trace|nft -a monitor trace'], { encoding: 'utf8' }).stdout.trim();

async function until(cond: () => boolean, ms = 20_000): Promise<boolean> {
  for (let waited = 0; waited < ms; waited += 50) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return cond();
}

for (const mode of testedProxyModes().filter((m) => m !== 'ipvs'))
  t.test(`${mode} mode: knetlab trace on a held scenario, and a failed step's traced try`, { skip: notRoot }, async (t) => {
    if (!existsSync('dist/cli/main.js')) throw new Error('dist/cli/main.js is missing: run `npm run build` first (npm test does)');
    const dir = mkdtempSync(join(tmpdir(), 'knetlab-test-trace-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const env = { ...plainEnv, KNETLAB_STATE_DIR: join(dir, 'state') };
    const file = join(dir, 'trace.yaml');
    writeFileSync(file, scenario(mode));
    const cli = (...args: string[]) => spawnSync(process.execPath, ['dist/cli/main.js', ...args], { encoding: 'utf8', env, timeout: 60_000 });
    const dropRule =
      mode === 'iptables' ? /by filter KUBE-EXTERNAL-SERVICES "default\/web has no local endpoints"/ : /by kube-proxy nodeport-endpoints-check: .*@no-endpoint-nodeports/;

    const up = spawn(process.execPath, ['dist/cli/main.js', 'up', '--diagnostics', join(dir, 'diag'), '--artifacts', join(dir, 'art'), file], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env,
    });
    let upErr = '';
    up.stderr.on('data', (d: Buffer) => (upErr += String(d)));
    const upEnded = new Promise<number | null>((r) => up.on('exit', (code) => r(code)));
    t.teardown(() => up.kill('SIGKILL'));
    t.ok(await until(() => / is up: /.test(upErr)), `up holds the scenario (${upErr.trim().split('\n').at(-1)})`);

    const through2 = cli('trace', 'host/client', 'nodeport/web-cluster@node-2');
    t.equal(through2.status, 0, through2.stderr);
    t.match(through2.stdout, /^answered: HTTP 200 from pod\/web\.default$/m, 'the probe was answered');
    t.match(through2.stdout, /^path: host\/client > node\/node-2 > node\/node-1 > pod\/web$/m, 'across node-2 to the pod on node-1');
    t.match(through2.stdout, /^DNAT in node\/node-2: 192\.168\.8\.\d+:30081 \(node\/node-2\) -> 10\.244\.0\.\d+:80 \(pod\/web\)/m, 'DNATed on node-2 to the pod');
    t.match(through2.stdout, /^SNAT in node\/node-2: 192\.168\.8\.200:\d+ \(host\/client\) -> 10\.244\.1\.0:\d+ \(node\/node-2@flannel\.1\)/m, "masqueraded to node-2's flannel.1");
    t.match(
      through2.stdout,
      /^VXLAN from node\/node-2 by flannel\.1: 192\.168\.8\.\d+ \(node\/node-2\) -> 192\.168\.8\.\d+ \(node\/node-1\), UDP 8472, VNI 1 \(from the kernel: /m,
      "the VXLAN hop: node-2's LAN address to node-1's, from flannel.1's fdb",
    );
    t.match(
      through2.stdout,
      /^ {4}route: 10\.244\.0\.\d+ \(pod\/web\) via 10\.244\.0\.0 \(node\/node-1@flannel\.1\) dev flannel\.1$/m,
      "node-2's routing decision for the DNATed packet: to node-1's flannel.1, from ip route get",
    );

    const svg = join(dir, 'dropped.svg');
    const dropped = cli('trace', 'host/client', 'nodeport/web@node-2', '--timeout', '1', '-o', 'json', '--svg', svg);
    t.equal(dropped.status, 0, dropped.stderr);
    // --svg: the path drawn on the topology, the drop marked with its chain.
    const drawn = readFileSync(svg, 'utf8');
    t.equal(xmlProblem(drawn), undefined, 'the trace picture is well-formed XML');
    t.equal(drawn.match(/class="hop"/g)?.length, 2, 'two hops drawn: host/client, node/node-2');
    t.match(drawn, mode === 'iptables' ? />DROP filter KUBE-EXTERNAL-SERVICES</ : />DROP kube-proxy nodeport-endpoints-check</, 'the drop marked');
    const graph = cli('graph', '-o', 'mermaid');
    t.equal(graph.status, 0, graph.stderr);
    t.match(graph.stdout, /subgraph n1\["node\/node-2 /, 'graph without FILE draws the held scenario');
    const json = JSON.parse(dropped.stdout) as {
      answered: boolean;
      result: { path: string[]; dropped?: { netns: string; chain: string; verdict: string; element?: { comment?: string } } };
    };
    t.equal(json.answered, false, 'Local policy through node-2: no answer');
    t.same(json.result.path, ['client', 'node-2'], 'it got as far as node-2');
    t.match(
      json.result.dropped,
      { netns: 'node-2', verdict: 'drop', chain: mode === 'iptables' ? 'KUBE-EXTERNAL-SERVICES' : 'nodeport-endpoints-check' },
      "kube-proxy's rule dropped it",
    );
    if (mode === 'nftables')
      t.match(json.result.dropped, { element: { map: 'no-endpoint-nodeports', key: 'tcp . 30080', comment: 'default/web' } }, "the vmap's element names the Service");

    const ping = cli('trace', 'pod/web', 'node/node-2', '--kind', 'ping');
    t.equal(ping.status, 0, ping.stderr);
    t.match(ping.stdout, /^answered: echo reply$/m, 'a ping is traced by its echo id');

    const bad = cli('trace', 'host/nope', 'service/web');
    t.equal(bad.status, 2, 'an unknown place is a usage error');
    t.equal(monitors(), '', 'no trace monitor is left running');
    const tables = cli('exec', 'node/node-2', '--', 'nft', 'list', 'tables');
    t.notMatch(tables.stdout, /knetlab-trace/, "knetlab's tracing table is gone from the node");
    t.equal(cli('down').status, 0);
    t.equal(await upEnded, 0);

    // The same drop as a step: it fails, and its report says where and by which rule.
    t.equal(cli('run', '--trace', '9', file).status, 2, '--trace of a step that is not there is a usage error');
    t.equal(cli('run', '--trace', '1', file, file).status, 2, '--trace with more than one scenario is a usage error');
    const run = cli('run', '-r', 'tap', '--trace', "a pod to the Service's ClusterIP", '--diagnostics', join(dir, 'diag'), '--artifacts', join(dir, 'art'), file);
    t.equal(run.status, 1, 'the step fails');
    t.match(
      run.stdout,
      /ok 1 - through the pod's own node, traced on request\n\s+---\n\s+trace:\n\s+- "a traced try: answered: HTTP 200 from pod\/web.default"/,
      'a step with trace: true shows its traced try, though it passed',
    );
    t.match(
      run.stdout,
      /ok 2 - a pod to the Service's ClusterIP\n\s+---\n\s+trace:\n\s+- "a traced try: answered: connected"\n(\s+- .*\n)*?\s+- ['"]DNAT in node\/node-1: 10\.\d+\.\d+\.\d+:80 \(service\/web-cluster\) -> 10\.244\.0\.\d+:80 \(pod\/web\)/,
      '--trace STEP traces a passing step too: a pod reaching itself through its Service, DNATed on its node',
    );
    t.match(run.stdout, /trace:\n\s+- .*a traced try: dropped in node\/node-2 /, 'its report says it was dropped in node-2');
    t.match(run.stdout, dropRule, 'by which rule');
    const runDir = readdirSync(join(dir, 'diag'))[0]!;
    const trace = readFileSync(join(dir, 'diag', runDir, 'step-03', 'trace.txt'), 'utf8');
    t.match(trace, /^node\/node-2$/m, "the diagnostics keep the whole trace, node-2's part too");
    t.equal(monitors(), '', 'no trace monitor is left running after the run');
  });
