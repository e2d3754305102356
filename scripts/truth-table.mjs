#!/usr/bin/env node
// The source-IP truth table: generates one scenario per network x externalTrafficPolicy, each cell a
// step whose expectation comes from the model (src/cluster/source-ip.ts), runs them on the kernel with
// the CLI, and compares what every server saw with the model.
//
//   node scripts/truth-table.mjs [--write] [--json FILE] [--out DIR] [--jobs N] [--proxy-mode MODE] [--network NAME,...]
//
// --proxy-mode runs the cells under kube-proxy's iptables (the default), nftables or ipvs mode,
// against the model's expectations for that mode. --network runs only those networks' cells.
// A network this kernel cannot build (calico-ipip without the ipip module) is reported as not run,
// with the reason; the others still run.
// --write writes docs/source-ip.md from this run; --json writes every cell's result (for the tests);
// --out keeps the generated scenarios in DIR. Exit 0 when every cell agrees, 1 when any disagrees,
// 2 when the run itself went wrong, 3 when the kernel lacks what the mode needs (every scenario was skipped). Needs `npm run build` first and root (or user namespaces).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { release, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist/cli/main.js');
const model = await import(join(root, 'dist/cluster/source-ip.js')).catch(() => {
  console.error('dist/cluster/source-ip.js is missing: run `npm run build` first');
  process.exit(2);
});
const { allCells, expectedSource, because, clientLocations, waysIn, networks, networksFor, policies } = model;

function option(name) {
  const i = process.argv.indexOf(name);
  return i === -1 ? undefined : process.argv[i + 1];
}
const write = process.argv.includes('--write');
const jsonOut = option('--json');
const outDir = resolve(option('--out') ?? mkdtempSync(join(tmpdir(), 'knetlab-truth-table-')));
// Without --out the scenarios are only this run's: nothing stays in /tmp.
if (!option('--out')) process.on('exit', () => rmSync(outDir, { recursive: true, force: true }));
const jobs = option('--jobs') ?? '2';
const proxyMode = option('--proxy-mode') ?? 'iptables';
if (write && proxyMode !== 'iptables') {
  console.error('--write writes docs/source-ip.md, which is the iptables-mode table; run it without --proxy-mode');
  process.exit(2);
}
const { proxyModes } = await import(join(root, 'dist/proxy/modes.js'));
if (!proxyModes.includes(proxyMode)) {
  console.error(`--proxy-mode must be one of ${proxyModes.join(', ')}, got ${proxyMode}`);
  process.exit(2);
}
const onlyNetworks = option('--network')?.split(',');
for (const n of onlyNetworks ?? [])
  if (!networksFor(proxyMode).includes(n)) {
    console.error(`--network must name networks of the table under ${proxyMode} mode (${networksFor(proxyMode).join(', ')}), got ${n}`);
    process.exit(2);
  }
mkdirSync(outDir, { recursive: true });

// ---------------------------------------------------------------------------------------------
// The scenario: node-1 holds the only endpoint (pod web) and client-1, node-2 holds client-2; the
// outside host routes one external IP via each node.

const EXTERNAL_IP = { endpoint: '80.11.12.10', other: '80.11.12.20' };
const nodeName = { endpoint: 'node-1', other: 'node-2' };
const fromRef = {
  'pod-on-endpoint-node': 'pod/client-1',
  'pod-on-other-node': 'pod/client-2',
  'endpoint-node': 'node/node-1',
  'other-node': 'node/node-2',
  'outside-host': 'host/outside',
};
const toRef = {
  'cluster-ip': 'service/web',
  'nodeport-endpoint-node': 'nodeport/web@node-1',
  'nodeport-other-node': 'nodeport/web@node-2',
  'external-ip-via-endpoint-node': `${EXTERNAL_IP.endpoint}:80`,
  'external-ip-via-other-node': `${EXTERNAL_IP.other}:80`,
  'load-balancer': 'loadbalancer/web',
};
const fromLabel = {
  'pod-on-endpoint-node': "pod on node-1 (the endpoint's node)",
  'pod-on-other-node': 'pod on node-2',
  'endpoint-node': 'node-1 itself',
  'other-node': 'node-2 itself',
  'outside-host': 'outside host',
};
const viaLabel = {
  'cluster-ip': 'ClusterIP',
  'nodeport-endpoint-node': 'NodePort via node-1',
  'nodeport-other-node': 'NodePort via node-2',
  'external-ip-via-endpoint-node': `externalIP ${EXTERNAL_IP.endpoint} (outside host's route via node-1)`,
  'external-ip-via-other-node': `externalIP ${EXTERNAL_IP.other} (outside host's route via node-2)`,
  'load-balancer': 'LoadBalancer',
};
const device = { 'node-cni0': 'cni0', 'node-flannel': 'flannel.1', 'node-ip': 'eth0' };
/** The device a node's address is on: Calico's tunnel is vxlan.calico or tunl0. */
const deviceOf = (network, source) => (source === 'node-tunnel' ? (network === 'calico-ipip' ? 'tunl0' : 'vxlan.calico') : device[source]);
const short = { 'flannel-vxlan': 'vxlan', 'host-gw': 'hostgw', 'calico-vxlan': 'calico-vxlan', 'calico-bgp': 'calico-bgp', 'calico-ipip': 'calico-ipip' };

function scenarioFor(network, policy, name) {
  return {
    apiVersion: 'knetlab/v1',
    kind: 'Scenario',
    metadata: {
      name,
      description: `Source-IP truth table, ${network}, externalTrafficPolicy ${policy}: every client location x way in, expectations from src/cluster/source-ip.ts (generated by scripts/truth-table.mjs).`,
    },
    // strictARP: in IPVS mode the LB IP is on every node's kube-ipvs0; MetalLB-style L2 needs them silent in ARP.
    cluster: { network, dns: false, proxyMode, ipvs: { strictARP: true } },
    nodes: [{ name: 'node-1' }, { name: 'node-2' }],
    hosts: [
      {
        name: 'outside',
        routes: [
          { to: `${EXTERNAL_IP.endpoint}/32`, via: 'node/node-1' },
          { to: `${EXTERNAL_IP.other}/32`, via: 'node/node-2' },
        ],
      },
    ],
    manifests: [
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'web', labels: { app: 'web' } },
        spec: { nodeName: 'node-1', containers: [{ name: 'web', image: 'registry.k8s.io/e2e-test-images/agnhost:2.39', ports: [{ containerPort: 8080 }] }] },
      },
      { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'client-1' }, spec: { nodeName: 'node-1', containers: [{ name: 'curl', image: 'curlimages/curl' }] } },
      { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'client-2' }, spec: { nodeName: 'node-2', containers: [{ name: 'curl', image: 'curlimages/curl' }] } },
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'web' },
        spec: {
          type: 'LoadBalancer',
          externalTrafficPolicy: policy,
          externalIPs: [EXTERNAL_IP.endpoint, EXTERNAL_IP.other],
          selector: { app: 'web' },
          ports: [{ port: 80, targetPort: 8080 }],
        },
      },
    ],
    steps: [],
  };
}

/** The expectation for an answer: the address the model names. */
function addressRef(addrs, cell, a) {
  if (a.source === 'client') return fromRef[cell.from];
  if (a.source === 'vip') return vipOf(addrs, cell);
  return `node/${nodeName[a.node]}@${deviceOf(cell.network, a.source)}`;
}

/** The Service address a cell connects to, where it is an external IP or the LB IP. */
function vipOf(addrs, cell) {
  const vip = { 'external-ip-via-endpoint-node': EXTERNAL_IP.endpoint, 'external-ip-via-other-node': EXTERNAL_IP.other, 'load-balancer': addrs.service.loadBalancer }[cell.via];
  if (!vip) throw new Error(`the model names the Service address as the source of ${cell.from} -> ${cell.via}, which connects to none`);
  return vip;
}

/** A cell as an http step whose expectation is the model's. */
function checkStep(cell, addrs) {
  const e = expectedSource(cell, proxyMode);
  const name = `${cell.from} -> ${cell.via}: ${modelText(e, cell.network)}`;
  const http = { from: fromRef[cell.from], to: toRef[cell.via] };
  switch (e.outcome) {
    case 'answered':
      return { name, http, expect: { status: 200, sourceIp: addressRef(addrs, cell, e) } };
    // Either node's address; the generator checks which (the step only rules out the client's own).
    case 'either':
      return { name, http, expect: { status: 200, sourceIpNot: fromRef[cell.from] } };
    case 'dropped':
      return { name, http: { ...http, timeout: '1s' }, expect: { fail: 'timeout' } };
    default:
      return { name, http: { ...http, timeout: '1s' }, expect: { fail: e.outcome } };
  }
}

/** A cell as curl in an `exec` step that asserts nothing: it always passes and shows what happened. */
function observeStep(cell, addrs) {
  const svc = addrs.service;
  const target = {
    'cluster-ip': `${svc.clusterIP}:80`,
    'nodeport-endpoint-node': `${addrs.nodes['node-1'].ip}:${svc.nodePort}`,
    'nodeport-other-node': `${addrs.nodes['node-2'].ip}:${svc.nodePort}`,
    'external-ip-via-endpoint-node': `${EXTERNAL_IP.endpoint}:80`,
    'external-ip-via-other-node': `${EXTERNAL_IP.other}:80`,
    'load-balancer': `${svc.loadBalancer}:80`,
  }[cell.via];
  // The step expects exit 0 by default: bash reports curl's own exit status in the output instead.
  // curl 7.8x says only "Couldn't connect to server" for both refused and unreachable; a connect
  // through /dev/tcp then prints the errno's text (given 3 s: a REJECT's first ICMP error is often
  // lost to the connecting socket, and the refusal comes with the SYN resent after 1 s).
  const [host, port] = target.split(':');
  const script =
    'curl --silent --show-error --max-time 1 "http://$1:$2/" 2>&1; e=$?; [ $e = 7 ] && timeout 3 bash -c \'exec 3<>/dev/tcp/$0/$1\' "$1" "$2" 2>&1; echo " curl-exit=$e"';
  return { name: `${cell.from} -> ${cell.via}: observe`, exec: { on: fromRef[cell.from], command: ['bash', '-c', script, 'observe', host, port], timeout: '8s' } };
}

/** What curl in an observing step saw: the echo server's clientIP, or the failure as knetlab names it. */
function parseCurl(seen) {
  const exit = Number(/curl-exit=(\d+)/.exec(seen)?.[1]);
  const ip = /"clientIP":\s*"([0-9.]+)"/.exec(seen)?.[1];
  if (exit === 0 && ip) return { kind: 'answered', ip };
  if (exit === 28) return { kind: 'dropped', detail: seen };
  if (exit === 7) return { kind: /refused/i.test(seen) ? 'refused' : /unreachable|no route/i.test(seen) ? 'unreachable' : 'error', detail: seen };
  return { kind: 'error', detail: seen };
}

function modelText(e, network) {
  if (e.outcome === 'answered') return e.source === 'client' ? 'client' : e.source === 'vip' ? 'the Service address' : `${e.node} node ${deviceOf(network, e.source)}`;
  if (e.outcome === 'either') return e.of.map((a) => modelText(a, network)).join(' or ');
  return e.outcome;
}

// ---------------------------------------------------------------------------------------------
// Running

function runCli(args) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw r.error;
  return r;
}

/** Addresses of the scenario, from `knetlab plan -o json`. */
function addressesOf(file) {
  const r = runCli(['plan', '-o', 'json', file]);
  if (r.status !== 0) throw new Error(`knetlab plan ${file} exited ${r.status}: ${r.stderr}`);
  const plan = JSON.parse(r.stdout);
  const node = (n) => plan.nodes.find((x) => x.name === n);
  const pod = (n) => plan.pods.find((x) => x.name === n);
  const svc = plan.services.find((s) => s.name === 'web');
  return {
    network: plan.cluster.network,
    nodes: Object.fromEntries(
      ['node-1', 'node-2'].map((n) => [n, { ip: node(n).ip, cni0: node(n).cni0, flannel: node(n).flannel, tunnel: node(n).addresses['vxlan.calico'] ?? node(n).addresses.tunl0 }]),
    ),
    client: {
      'pod-on-endpoint-node': pod('client-1').ip,
      'pod-on-other-node': pod('client-2').ip,
      'endpoint-node': node('node-1').ip,
      'other-node': node('node-2').ip,
      'outside-host': plan.hosts.find((h) => h.name === 'outside').ip,
    },
    web: pod('web').ip,
    service: { clusterIP: svc.clusterIP, nodePort: svc.ports[0].nodePort, loadBalancer: svc.loadBalancerIPs?.[0] ?? svc.status?.loadBalancer?.ingress?.[0]?.ip },
  };
}

/** The IP an answered expectation stands for. */
function ipOf(addrs, cell, a) {
  if (a.source === 'client') return addrs.client[cell.from];
  if (a.source === 'vip') return vipOf(addrs, cell);
  const n = addrs.nodes[nodeName[a.node]];
  return { 'node-cni0': n.cni0, 'node-flannel': n.flannel, 'node-tunnel': n.tunnel, 'node-ip': n.ip }[a.source];
}

/** What a step's first try saw (the report's `tries`): an answer with the source the server saw, or a failure. */
function parseSeen(step) {
  const t = step.tries?.[0];
  if (t && !t.ok && t.failure !== 'error') return { kind: t.failure === 'timeout' ? 'dropped' : t.failure, detail: step.seen };
  if (t?.ok && t.status !== undefined) return { kind: 'answered', ip: t.source };
  return { kind: 'error', detail: step.seen };
}

/** Does what the kernel did match the model? */
function agrees(addrs, cell, e, k) {
  if (e.outcome === 'answered') return k.kind === 'answered' && k.ip === ipOf(addrs, cell, e);
  if (e.outcome === 'either') return k.kind === 'answered' && e.of.some((a) => ipOf(addrs, cell, a) === k.ip);
  return k.kind === e.outcome;
}

const groups = networksFor(proxyMode)
  .filter((n) => !onlyNetworks || onlyNetworks.includes(n))
  .flatMap((network) => policies.map((policy) => ({ network, policy, cells: allCells().filter((c) => c.network === network && c.policy === policy) })));
const results = new Map(); // cell key -> { cell, expected, kernel, knetlab: the step's status }
const key = (c) => `${c.network}/${c.policy}/${c.from}/${c.via}`;
const addresses = {};
const diagnostics = join(outDir, 'diagnostics');
const started = Date.now();

function writeScenario(group, name, steps) {
  const file = join(outDir, `${name}.yaml`);
  const doc = scenarioFor(group.network, group.policy, name);
  doc.steps = steps;
  writeFileSync(file, `# Generated by scripts/truth-table.mjs from src/cluster/source-ip.ts; do not edit.\n${YAML.stringify(doc, { lineWidth: 0 })}`);
  addresses[group.network] ??= addressesOf(file);
  return file;
}

/** Groups this kernel could not build: { network, policy, cells, reason }. */
const notRun = [];
const skipReasons = new Map();
const skippedReason = (i) => skipReasons.get(round1[i]) ?? 'skipped';

/** Runs scenario files with the CLI; their results, in the same order (null for one that was skipped). */
function run(files) {
  const r = runCli(['run', '--reporter', 'json', '--jobs', jobs, '--proxy-mode', proxyMode, '--diagnostics', diagnostics, '--artifacts', join(outDir, 'artifacts'), ...files]);
  if (r.status !== 0 && r.status !== 1) fatal(`knetlab run exited ${r.status}:\n${r.stderr}`);
  const report = JSON.parse(r.stdout);
  return files.map((f) => {
    const s = report.scenarios.find((x) => x.file === f);
    if (!s) fatal(`the report has no result for ${f}`);
    if (s.status === 'skipped') {
      // Not an error of the table: this kernel cannot build the network or run the mode.
      console.error(`${s.name} was skipped: ${s.reason}`);
      skipReasons.set(f, s.reason);
      return null;
    }
    return s;
  });
}

function fatal(message) {
  console.error(message);
  process.exit(2);
}

// Round 1 checks every cell against the model. A failed step ends its scenario (the steps after it
// are skipped), so round 2, only when something failed, observes what those cells do (and what a
// failed cell's server saw when the check did not say) with plain curl in `exec` steps, which
// assert nothing and so cannot stop the scenario.
// The addresses first (a stepless scenario, planned): some expectations name them.
const round1 = groups.map((g) => {
  const name = `source-ip-${short[g.network]}-${g.policy.toLowerCase()}`;
  writeScenario(g, name, []);
  return writeScenario(
    g,
    name,
    g.cells.map((c) => checkStep(c, addresses[g.network])),
  );
});
const toObserve = [];
run(round1).forEach((s, i) => {
  const g = groups[i];
  if (!s) {
    notRun.push({ network: g.network, policy: g.policy, cells: g.cells.length, reason: skippedReason(i) });
    return;
  }
  if (s.steps.length !== g.cells.length) fatal(`${s.name}: ${s.steps.length} step results for ${g.cells.length} cells (${s.reason})`);
  const observe = [];
  g.cells.forEach((cell, j) => {
    const step = s.steps[j];
    const k = step.status === 'skipped' ? undefined : parseSeen(step);
    if (!k || (k.kind === 'answered' && k.ip === undefined)) observe.push(cell);
    results.set(key(cell), { cell, expected: expectedSource(cell, proxyMode), kernel: k, knetlab: step.status === 'skipped' ? 'not run' : step.status });
  });
  if (observe.length) toObserve.push({ ...g, cells: observe });
});
if (notRun.length === groups.length) {
  console.error('every scenario of the table was skipped: this kernel lacks what the mode needs');
  process.exit(3);
}
if (toObserve.length) {
  const files = toObserve.map((g) =>
    writeScenario(
      g,
      `source-ip-${short[g.network]}-${g.policy.toLowerCase()}-observe`,
      g.cells.map((c) => observeStep(c, addresses[g.network])),
    ),
  );
  run(files).forEach((s, i) => {
    toObserve[i].cells.forEach((cell, j) => {
      const step = s.steps[j];
      if (step?.status !== 'passed') fatal(`${s.name}: observing ${key(cell)} did not run: ${step?.seen ?? s.reason}`);
      results.get(key(cell)).kernel = parseCurl(`${step.tries?.[0]?.stdout ?? ''}\n${step.tries?.[0]?.stderr ?? ''}`);
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Results

function nameIp(addrs, cell, ip) {
  if (ip === undefined) return 'answered (source unknown)';
  if (ip === addrs.client[cell.from]) return `client (${ip})`;
  for (const [n, a] of Object.entries(addrs.nodes)) {
    if (a.cni0 && ip === a.cni0) return `${n} cni0 (${ip})`;
    if (ip === a.flannel && addrs.network === 'flannel-vxlan') return `${n} flannel.1 (${ip})`;
    if (a.tunnel && ip === a.tunnel) return `${n} ${deviceOf(addrs.network, 'node-tunnel')} (${ip})`;
    if (ip === a.ip) return `${n} eth0 (${ip})`;
  }
  const who = Object.entries(addrs.client).find(([, v]) => v === ip);
  return who ? `${fromLabel[who[0]]} (${ip})` : ip;
}

function expectedText(addrs, cell, e) {
  if (e.outcome === 'answered' && e.source === 'vip') return `the Service address (${vipOf(addrs, cell)})`;
  if (e.outcome === 'answered')
    return e.source === 'client' ? `client (${addrs.client[cell.from]})` : `${nodeName[e.node]} ${deviceOf(cell.network, e.source)} (${ipOf(addrs, cell, e)})`;
  if (e.outcome === 'either') return e.of.map((a) => expectedText(addrs, cell, a)).join(' or ');
  return e.outcome;
}

function kernelText(addrs, cell, k) {
  return k.kind === 'answered' ? nameIp(addrs, cell, k.ip) : k.kind === 'error' ? `error: ${k.detail}` : k.kind;
}

const rows = [...results.values()].map(({ cell, expected, kernel, knetlab }) => {
  const addrs = addresses[cell.network];
  const agree = agrees(addrs, cell, expected, kernel);
  let seen = kernelText(addrs, cell, kernel);
  // The model's words for what agreed (a masqueraded node IP may equal a node client's own address).
  if (agree && expected.outcome === 'answered') seen = expectedText(addrs, cell, expected);
  if (agree && expected.outcome === 'either') {
    const picked = expected.of.find((a) => ipOf(addrs, cell, a) === kernel.ip);
    const others = expected.of.filter((a) => a !== picked).map((a) => expectedText(addrs, cell, a));
    seen = `${expectedText(addrs, cell, picked)}: the load balancer picked ${nodeName[picked.node]} (via another node: ${others.join(', ')})`;
  }
  return {
    ...cell,
    expected: expectedText(addrs, cell, expected),
    seen,
    agree,
    // knetlab judged the step itself (unless it was skipped after an earlier failure, and observed):
    // its verdict and ours must match, or one of the two is wrong.
    knetlab,
    rules: expected.because.map((b) => Object.values(because).indexOf(b) + 1),
  };
});
const order = (r) => allCells(proxyMode).findIndex((c) => key(c) === key(r));
rows.sort((a, b) => order(a) - order(b));
const disagreements = rows.filter((r) => !r.agree);
const judgeMismatch = rows.filter((r) => r.knetlab !== 'not run' && r.agree !== (r.knetlab === 'passed'));
const seconds = ((Date.now() - started) / 1000).toFixed(1);

for (const r of rows) {
  if (!r.agree) console.log(`✗ ${r.network} ${r.policy}: ${fromLabel[r.from]} -> ${viaLabel[r.via]}: model ${r.expected}; kernel ${r.seen}`);
}
for (const r of judgeMismatch)
  console.log(`! ${r.network} ${r.policy}: ${r.from} -> ${r.via}: knetlab judged the step ${r.knetlab}, but the table ${r.agree ? 'agrees' : 'disagrees'}`);
const notRunCells = notRun.reduce((n, g) => n + g.cells, 0);
console.log(
  `${rows.length} cells, ${rows.length - disagreements.length} agree with the model, ${disagreements.length} disagree${notRunCells ? `, ${notRunCells} not run (this kernel cannot build ${[...new Set(notRun.map((g) => g.network))].join(', ')})` : ''} (${seconds} s; scenarios in ${outDir})`,
);

const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const git = spawnSync('git', ['-C', root, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' });
const dirty = spawnSync('git', ['-C', root, 'status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8' }).stdout?.trim();
const meta = {
  date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
  kernel: release(),
  knetlab: `${pkg.version}${git.status === 0 ? ` (commit ${git.stdout.trim()}${dirty ? ' with uncommitted changes' : ''})` : ''}`,
  seconds: Number(seconds),
};

if (jsonOut) writeFileSync(jsonOut, `${JSON.stringify({ meta, cells: rows, notRun }, null, 2)}\n`);
if (write) writeFileSync(join(root, 'docs/source-ip.md'), renderDoc());

process.exit(disagreements.length || judgeMismatch.length ? 1 : 0);

function renderDoc() {
  const a = addresses['flannel-vxlan'];
  const n1 = a.nodes['node-1'];
  const n2 = a.nodes['node-2'];
  const rules = Object.values(because);
  const out = [
    '# Which source address does the server see?',
    '',
    '<!-- Generated by `node scripts/truth-table.mjs --write` from a run on the kernel; do not edit by hand. -->',
    '',
    `Generated ${meta.date} on Linux ${meta.kernel}, knetlab ${meta.knetlab}, kube-proxy in iptables mode. ` +
      `${rows.length} cells, ${rows.length - disagreements.length} as the model said${disagreements.length ? `, **${disagreements.length} not**` : ''}` +
      `${notRunCells ? `; ${notRunCells} cells of ${[...new Set(notRun.map((g) => g.network))].join(', ')} show the model's expectation, as this kernel could not build that network (${notRun[0].reason.split(';')[0]}): CI checks them in a throwaway VM (\`scripts/vm\`)` : ''}.`,
    '',
    'Every cell is a real request on the kernel: namespaces, veth pairs, bridges, flannel devices and',
    "kube-proxy's rules, built by knetlab. The expectation comes from a small model of kube-proxy and",
    'flannel ([src/cluster/source-ip.ts](../src/cluster/source-ip.ts)); `npm test` checks every cell again',
    '(test/truth-table.test.ts), and `node scripts/truth-table.mjs --write` rewrites this page.',
    '',
    '## The setting',
    '',
    `- **node-1** (${n1.ip}; cni0 ${n1.cni0}, flannel.1 ${n1.flannel}) runs the Service's only endpoint, pod \`web\` (${a.web}), and a client pod (${a.client['pod-on-endpoint-node']}).`,
    `- **node-2** (${n2.ip}; cni0 ${n2.cni0}, flannel.1 ${n2.flannel}, none with host-gw) runs a client pod (${a.client['pod-on-other-node']}) and no endpoint.`,
    ...(addresses['calico-vxlan'] ? calicoSetting(addresses['calico-vxlan']) : []),
    `- **outside host** ${a.client['outside-host']} on the same LAN, with routes ${EXTERNAL_IP.endpoint}/32 via node-1 and ${EXTERNAL_IP.other}/32 via node-2.`,
    `- Service \`web\`, type LoadBalancer, so it has a ClusterIP (${a.service.clusterIP}), a NodePort (${a.service.nodePort}) and a load-balancer address (${a.service.loadBalancer}, which the LAN router sends to the nodes: all of them with policy Cluster, only node-1 with Local, as a cloud load balancer's health check would), plus externalIPs ${EXTERNAL_IP.endpoint} and ${EXTERNAL_IP.other}.`,
    "- flannel runs with `--ip-masq` (pods reaching addresses outside the pod network are masqueraded to their node's IP), as by default; Calico's pool has natOutgoing, which does the same.",
    '',
    '## How to read it',
    '',
    "Rows are where the client is and which address it calls; the columns are the Service's",
    '`externalTrafficPolicy`. A cell is the source address the server saw: `client (IP)` is the',
    "client's own address; `node-2 flannel.1 (10.244.1.0)` is that node's address on that device, after",
    'a MASQUERADE; `dropped` is no answer (a timeout); `unreachable` is an ICMP error. ✓ means the kernel',
    'did what the model said; ✗ shows both. Numbers name the rules below that produce the cell.',
    '',
    '- With policy Cluster the load balancer may send a flow to either node (ECMP hashes the source',
    '  and destination addresses: on one machine the same client keeps getting the same node): the cell',
    "  says which one this run's client got and what the other would give. Both are accepted; other",
    '  client addresses do reach node-2.',
    "- With host-gw, node-2's masquerade address is its own LAN address, so for node-2 itself a",
    '  masqueraded request and a kept one look alike; the cell names what the model says happened.',
    '- `node scripts/truth-table.mjs --out DIR` keeps the generated scenarios, to read, run or',
    '  `knetlab up` by hand.',
    '',
  ];
  for (const network of networks) {
    out.push(`## ${network}`, '', '| client | calls | Cluster | Local |', '|---|---|---|---|');
    for (const from of clientLocations) {
      waysIn.forEach((via, i) => {
        const cell = (policy) => {
          const r = rows.find((x) => x.network === network && x.policy === policy && x.from === from && x.via === via);
          if (!r) {
            const skipped = notRun.find((g) => g.network === network && g.policy === policy);
            if (!skipped || !addresses[network]) return '(not run)';
            const c = { network, policy, from, via };
            const e = expectedSource(c, proxyMode);
            return `${expectedText(addresses[network], c, e)} (model) <sup>${e.because.map((b) => Object.values(because).indexOf(b) + 1).join(',')}</sup>`;
          }
          const refs = `<sup>${r.rules.join(',')}</sup>`;
          return r.agree ? `${r.seen} ✓ ${refs}` : `✗ model: ${r.expected}; kernel: ${r.seen} ${refs}`;
        };
        out.push(`| ${i === 0 ? `**${fromLabel[from]}**` : ''} | ${viaLabel[via]} | ${cell('Cluster')} | ${cell('Local')} |`);
      });
    }
    out.push('');
  }
  out.push(...otherModes(rules));
  out.push('## The rules', '', ...rules.map((r, i) => `${i + 1}. ${r}`), '');
  if (disagreements.length) {
    out.push(
      '## Where the kernel disagreed',
      '',
      ...disagreements.map((r) => `- ${r.network}, ${r.policy}: ${fromLabel[r.from]} -> ${viaLabel[r.via]}: model ${r.expected}, kernel ${r.seen}`),
      '',
    );
  }
  return out.join('\n');
}

/** The cells whose expectation differs under kube-proxy's nftables and IPVS modes, from the model. */
function otherModes(rules) {
  const out = [
    "## Under kube-proxy's nftables and IPVS modes",
    '',
    "The same cells under the other modes are as above except where listed. These are the model's",
    'expectations; `npm test` checks every cell under nftables mode on the kernel (`--proxy-mode',
    'nftables`), and CI checks every cell under IPVS mode inside a throwaway VM (`scripts/vm`), as a',
    'kernel without ip_vs cannot.',
    '',
  ];
  for (const mode of proxyModes.filter((m) => m !== 'iptables')) {
    const diffs = allCells(mode)
      .map((cell) => ({ cell, base: expectedSource(cell, 'iptables'), other: expectedSource(cell, mode) }))
      .filter(({ cell, base, other }) => expectedText(addresses[cell.network], cell, base) !== expectedText(addresses[cell.network], cell, other));
    out.push(
      `### ${mode === 'ipvs' ? 'IPVS' : mode} (${diffs.length} of ${allCells(mode).length} cells differ${mode === 'ipvs' ? '; flannel only: Calico under IPVS mode is not modelled yet' : ''})`,
      '',
      `| network | policy | client | calls | iptables | ${mode} |`,
      '|---|---|---|---|---|---|',
    );
    for (const { cell, base, other } of diffs) {
      const a = addresses[cell.network];
      const refs = (e) => `<sup>${e.because.map((b) => rules.indexOf(b) + 1).join(',')}</sup>`;
      out.push(
        `| ${cell.network} | ${cell.policy} | ${fromLabel[cell.from]} | ${viaLabel[cell.via]} | ${expectedText(a, cell, base)} | ${expectedText(a, cell, other)} ${refs(other)} |`,
      );
    }
    out.push('');
  }
  return out;
}

/** The Calico columns' setting: the same machines on /26 blocks, pods on routed cali veths. */
function calicoSetting(c) {
  const [n1, n2] = [c.nodes['node-1'], c.nodes['node-2']];
  return [
    `- On **calico-vxlan** and **calico-bgp** the nodes own /26 blocks: node-1 vxlan.calico ${n1.tunnel} (web ${c.web}, client ${c.client['pod-on-endpoint-node']}), node-2 vxlan.calico ${n2.tunnel} (client ${c.client['pod-on-other-node']}); with calico-bgp there is no tunnel and each pod takes the address one lower. Pods sit on routed cali veths with no address on the node's side, so MASQUERADE toward a pod of the same node takes the node's LAN address.`,
  ];
}
