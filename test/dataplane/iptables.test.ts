// kube-proxy's iptables mode. Golden files (test/golden/iptables/NAME.txt; `UPDATE_GOLDEN=1 npx tap
// test/dataplane/iptables.test.ts` rewrites them: review the diff) hold whole restore inputs, one
// per case of kubeProxyCases (fixtures.ts), which nftables.test.ts renders too.
// `upstream-overall` is upstream's TestOverallIPTablesRules (pkg/proxy/iptables/proxier_test.go,
// 1.31) rebuilt as a scenario; its golden was compared line by line with the `expected` text of that
// test and is byte-identical (with upstream's fake proxier's nfacct counters and no --random-fully).
// As root, every golden is also fed to the kernel in a throwaway network namespace.
import { spawnSync } from 'node:child_process';
import t from 'tap';
import type { Model } from '../../src/cluster/types.js';
import {
  declaredChains,
  endpointChainName,
  jumpArgv,
  kubeProxyJumps,
  probability,
  renderKubeProxyIptables,
  servicePortChainName,
  type KubeProxyOptions,
} from '../../src/dataplane/iptables.js';
import { base32, kubeHash16 } from '../../src/dataplane/kube-hash.js';
import { goldenPath, matchGolden, matchGoldenDir } from '../match-golden.js';
import { cachedModel, fixture, kubeProxyCases, type NodeCase } from './fixtures.js';

interface Case extends NodeCase {
  options?: KubeProxyOptions;
}

// upstream-overall: upstream's fake proxier has nfacct counters and no --random-fully.
// upstream-overall-1.28: the same test as kube-proxy 1.28 had it (TestOverallIPTablesRulesWithMultipleServices,
// svc5 without session affinity), rendered as release 1.28; its golden is that test's `expected` text
// verbatim (dedented), from sanposhiho/kubernetes@059ce4e8a1d958959595b970acaf846259348518
// pkg/proxy/iptables/proxier_test.go, a fork at a 1.28-line commit (docs/versions.md): no nfacct
// match although the fake kernel could count, as kube-proxy wrote none before 1.31.
const cases: Record<string, Case> = {
  ...kubeProxyCases,
  'upstream-overall': { ...kubeProxyCases['upstream-overall']!, options: { nfacct: true, randomFully: false } },
  'upstream-overall-1.28': {
    text: fixture('upstream-overall', { affinity: false, cluster: 'kubernetesVersion: "1.28"' }),
    node: 'test-node',
    options: { nfacct: true, randomFully: false },
  },
};

async function render(name: string): Promise<string> {
  const c = cases[name]!;
  return renderKubeProxyIptables(await cachedModel(c.text), c.node, c.options);
}

// ---------------------------------------------------------------------------------------------
// Names and numbers

t.test('chain names: first 16 characters of base32(sha256), the values upstream and DESIGN.md list', async (t) => {
  t.equal(base32(Buffer.from('foobar')), 'MZXW6YTBOI======', 'RFC 4648 test vector');
  t.equal(kubeHash16('ns1/svc1:p80tcp'), 'XPGD46QRK7WJZT7O');
  t.equal(servicePortChainName('KUBE-SVC-', 'ns1/svc1:p80', 'tcp'), 'KUBE-SVC-XPGD46QRK7WJZT7O');
  t.equal(servicePortChainName('KUBE-SVC-', 'ns1/svc1:p80', 'TCP'), 'KUBE-SVC-XPGD46QRK7WJZT7O', 'the protocol is lower-cased');
  t.equal(endpointChainName('ns1/svc1:p80', 'tcp', '10.180.0.1:80'), 'KUBE-SEP-SXIVWICOYRO3J4NJ');
  // Same hash, other prefixes (upstream fixtures: ns2/svc2:p80 is GNZBNJ2PO5MGZ6GT for every chain kind).
  for (const prefix of ['KUBE-SVC-', 'KUBE-SVL-', 'KUBE-EXT-', 'KUBE-FW-'] as const) t.equal(servicePortChainName(prefix, 'ns2/svc2:p80', 'tcp'), `${prefix}GNZBNJ2PO5MGZ6GT`);
  t.equal(endpointChainName('ns5/svc5:p80', 'tcp', '10.180.0.3:80'), 'KUBE-SEP-I77PXRDZVX7PMWMN');
  t.ok(servicePortChainName('KUBE-SVC-', 'a/b', 'udp').length <= 28, "within iptables' 28-character chain names");
});

t.test('probabilities: 1/(n-i) as Go prints %0.10f (round half to even)', async (t) => {
  t.same([2, 3, 4, 7, 1000].map(probability), ['0.5000000000', '0.3333333333', '0.2500000000', '0.1428571429', '0.0010000000']);
  t.equal(probability(2048), '0.0004882812', 'an exact tie rounds to even, unlike toFixed');
  t.equal(probability(1), '1.0000000000');
});

// ---------------------------------------------------------------------------------------------
// Golden files

for (const name of Object.keys(cases)) {
  t.test(`golden ${name}`, async (t) => {
    const text = await render(name);
    matchGolden(t, `iptables/${name}.txt`, text);
    // Every rule's chain is declared, every jump goes to a declared or builtin target.
    for (const table of ['filter', 'nat'] as const) {
      const chains = new Set(declaredChains(text, table));
      const section = text.split(`*${table}\n`)[1]!.split('COMMIT')[0]!;
      for (const line of section.split('\n').filter((l) => l.startsWith('-A '))) {
        t.ok(chains.has(line.split(' ')[1]!), `${table}: chain of ${line}`);
        const target = / -j (\S+)/.exec(line)?.[1];
        if (target?.startsWith('KUBE-')) t.ok(chains.has(target), `${table}: target of ${line}`);
      }
    }
  });
}

t.test('every golden file belongs to a case', async (t) =>
  matchGoldenDir(
    t,
    'iptables',
    Object.keys(cases).map((n) => `${n}.txt`),
  ),
);

// ---------------------------------------------------------------------------------------------
// Behaviour

const linesOf = (text: string, re: RegExp) => text.split('\n').filter((l) => re.test(l));

t.test('Local policy: KUBE-SVL on the endpoint\'s node, DROP "has no local endpoints" on the other', async (t) => {
  const one = await render('nodeport-local-node-1');
  const two = await render('nodeport-local-node-2');
  const svl = servicePortChainName('KUBE-SVL-', 'default/web', 'tcp');
  t.match(one, `-A KUBE-EXT-${svl.slice(9)} -j ${svl}`);
  t.notMatch(one, 'has no local endpoints');
  t.notMatch(two, `:${svl} `, 'no KUBE-SVL without local endpoints');
  t.same(linesOf(two, /KUBE-EXTERNAL-SERVICES .*DROP/), [
    '-A KUBE-EXTERNAL-SERVICES -m comment --comment "default/web has no local endpoints" -m addrtype --dst-type LOCAL -m tcp -p tcp --dport 30080 -j DROP',
  ]);
  // Pods and the node itself still reach it through the short circuits to KUBE-SVC.
  t.match(two, '-m comment --comment "pod traffic for default/web external destinations" -s 10.244.0.0/16 -j KUBE-SVC-');
  t.match(two, '-m addrtype --src-type LOCAL -j KUBE-MARK-MASQ');
});

t.test('internalTrafficPolicy Local: the ClusterIP goes to KUBE-SVL, or is dropped in the filter table', async (t) => {
  const one = await render('internal-local-node-1');
  const two = await render('internal-local-node-2');
  t.match(one, /-A KUBE-SERVICES -m comment --comment "default\/web cluster IP" .* -j KUBE-SVL-/);
  t.notMatch(one, ':KUBE-SVC-', 'no Cluster chain: nothing uses it');
  t.same(linesOf(two, /^-A KUBE-SERVICES .*DROP/), ['-A KUBE-SERVICES -m comment --comment "default/web has no local endpoints" -m tcp -p tcp -d 10.96.0.82 --dport 80 -j DROP']);
  t.notMatch(two, 'KUBE-SEP-');
});

t.test('terminating endpoints: serving-terminating ones are used only where no Ready one is', async (t) => {
  const text = await render('terminating-local-node-1');
  const sep = (ip: string) => endpointChainName('default/legacy:http', 'tcp', `${ip}:8080`);
  const svl = servicePortChainName('KUBE-SVL-', 'default/legacy:http', 'tcp');
  const svc = servicePortChainName('KUBE-SVC-', 'default/legacy:http', 'tcp');
  t.match(text, `-A ${svl} -m comment --comment "default/legacy:http -> 10.244.0.50:8080" -j ${sep('10.244.0.50')}`);
  t.match(text, `-A ${svc} -m comment --comment "default/legacy:http -> 10.244.1.50:8080" -j ${sep('10.244.1.50')}`);
  t.notMatch(text, '10.244.0.51', 'not serving: never used');
  t.match(text, `:${sep('10.244.0.50')} `);
  t.match(text, `:${sep('10.244.1.50')} `);
});

t.test('session affinity: recent --rcheck per endpoint before the random choice, --set in KUBE-SEP', async (t) => {
  const text = await render('session-affinity');
  const svc = servicePortChainName('KUBE-SVC-', 'default/web', 'tcp');
  const rules = linesOf(text, new RegExp(`^-A ${svc} `));
  t.equal(rules.length, 1 + 3 + 3);
  t.match(rules[1]!, /-m recent --name (KUBE-SEP-\w+) --rcheck --seconds 600 --reap -j \1$/);
  t.match(rules[4]!, '--probability 0.3333333333');
  t.match(rules[5]!, '--probability 0.5000000000');
  t.notMatch(rules[6]!, 'statistic', 'the last is unconditional');
  t.equal(linesOf(text, /-m recent --name KUBE-SEP-\w+ --set -m tcp -p tcp -j DNAT/).length, 3);
});

t.test('masqueradeAll marks every ClusterIP packet, not only those from outside the pod network', async (t) => {
  const text = await render('masquerade-all');
  t.match(text, /-A KUBE-SVC-\w+ -m comment --comment "default\/web cluster IP" -m tcp -p tcp -d 10\.96\.0\.105 --dport 80 -j KUBE-MARK-MASQ/);
  t.notMatch(text, '! -s 10.244.0.0/16');
});

t.test('options: localhost NodePorts off, be_liberal on, no --random-fully', async (t) => {
  const m = await cachedModel(cases['nodeport-cluster-node-1']!.text);
  const text = renderKubeProxyIptables(m, 'node-1', { localhostNodePorts: false, conntrackTCPLiberal: true, randomFully: false });
  t.match(text, '-m addrtype --dst-type LOCAL ! -d 127.0.0.0/8 -j KUBE-NODEPORTS');
  t.notMatch(text, 'KUBE-FIREWALL', 'kube-proxy writes the anti-martian chain only with localhost NodePorts');
  t.notMatch(text, 'INVALID');
  t.match(text, '-j MASQUERADE\n');
  t.throws(() => renderKubeProxyIptables(m, 'node-9'), /Expected `nodeName` to be a node of the model, got `node-9`/);
});

t.test('stale service chains from an earlier sync are flushed and deleted; other chains are not touched', async (t) => {
  const m = await cachedModel(cases['nodeport-cluster-node-1']!.text);
  const before = renderKubeProxyIptables(await cachedModel(cases['clusterip-two-endpoints']!.text), 'node-1');
  const existing = [...declaredChains(before, 'nat'), 'FLANNEL-POSTRTG', 'POSTROUTING'];
  const text = renderKubeProxyIptables(m, 'node-1', { existingNatChains: existing });
  const serviceChains = declaredChains(before, 'nat').filter((c) => /^KUBE-(SVC|SEP|SVL|EXT|FW)-/.test(c));
  // default/web keeps its KUBE-SVC and web-0's KUBE-SEP; web-1's KUBE-SEP is stale.
  const stale = serviceChains.filter((c) => !text.includes(`-A ${c} `));
  t.equal(stale.length, 1);
  for (const c of stale) {
    t.match(text, `\n:${c} - [0:0]\n`);
    t.match(text, `\n-X ${c}\n`);
  }
  for (const c of serviceChains.filter((c) => !stale.includes(c))) t.notMatch(text, `-X ${c}\n`);
  t.notMatch(text, 'FLANNEL');
  t.match(text, /-X KUBE-\S+\nCOMMIT\n$/, 'deletions come after every rule');
});

t.test('large clusters (more than 1000 endpoints) drop the per-endpoint comments', async (t) => {
  const base = await cachedModel(cases['clusterip-two-endpoints']!.text);
  const slice = base.endpointSlices.find((s) => s.service === 'web')!;
  const endpoints = Array.from({ length: 1001 }, (_, i) => ({ ip: `10.244.${2 + (i >> 8)}.${i & 255}`, ready: true, serving: true, terminating: false, nodeName: 'node-2' }));
  const big: Model = { ...base, endpointSlices: [{ ...slice, endpoints }] };
  const text = renderKubeProxyIptables(big, 'node-1');
  t.notMatch(text, /-A KUBE-SEP-\S+ -m comment/);
  t.notMatch(text, /-A KUBE-SVC-\S+ -m comment --comment "default\/web -> /);
  t.match(text, '-m comment --comment "default/web cluster IP"', 'the ClusterIP rules keep theirs');
  t.match(text, '--probability 0.0009990010 -j KUBE-SEP-');
});

t.test("kubeProxyJumps: upstream's jump rules, in its order, with its comments", async (t) => {
  const jumps = kubeProxyJumps();
  t.same(
    jumps.map((j) => `${j.table} ${j.chain} -> ${j.target}`),
    [
      'filter INPUT -> KUBE-EXTERNAL-SERVICES',
      'filter FORWARD -> KUBE-EXTERNAL-SERVICES',
      'filter INPUT -> KUBE-NODEPORTS',
      'filter FORWARD -> KUBE-SERVICES',
      'filter OUTPUT -> KUBE-SERVICES',
      'filter FORWARD -> KUBE-FORWARD',
      'filter INPUT -> KUBE-PROXY-FIREWALL',
      'filter OUTPUT -> KUBE-PROXY-FIREWALL',
      'filter FORWARD -> KUBE-PROXY-FIREWALL',
      'nat OUTPUT -> KUBE-SERVICES',
      'nat PREROUTING -> KUBE-SERVICES',
      'nat POSTROUTING -> KUBE-POSTROUTING',
      'filter INPUT -> KUBE-FIREWALL',
      'filter OUTPUT -> KUBE-FIREWALL',
    ],
  );
  t.same(jumpArgv(jumps[0]!, '-I'), [
    '-t',
    'filter',
    '-I',
    'INPUT',
    '-m',
    'conntrack',
    '--ctstate',
    'NEW',
    '-m',
    'comment',
    '--comment',
    'kubernetes externally-visible service portals',
    '-j',
    'KUBE-EXTERNAL-SERVICES',
  ]);
  t.same(jumpArgv(jumps[11]!, '-C'), ['-t', 'nat', '-C', 'POSTROUTING', '-m', 'comment', '--comment', 'kubernetes postrouting rules', '-j', 'KUBE-POSTROUTING']);
  t.same(jumps[12]!.rule, ['-j', 'KUBE-FIREWALL'], "kubelet's chain: no comment");
});

t.test('declaredChains reads restore and iptables-save texts', async (t) => {
  const save = '# Generated\n*nat\n:PREROUTING ACCEPT [0:0]\n:KUBE-SVC-X - [0:0]\n-A PREROUTING -j KUBE-SVC-X\nCOMMIT\n*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n';
  t.same(declaredChains(save, 'nat'), ['PREROUTING', 'KUBE-SVC-X']);
  t.same(declaredChains(save, 'filter'), ['INPUT']);
});

// ---------------------------------------------------------------------------------------------
// The kernel: every golden is accepted by iptables-restore, for real, next to flannel's chains.

const shq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
const root = process.getuid?.() === 0;
const tools = ['unshare', 'iptables', 'iptables-restore', 'iptables-save'].every((c) => spawnSync('sh', ['-c', `command -v ${c}`]).status === 0);
const skipKernel = !root ? 'needs root (unshare --net and iptables)' : !tools ? 'needs unshare, iptables, iptables-restore and iptables-save' : false;

/** Runs a bash script in a new network, mount and PID namespace; returns its output. */
function inSandbox(script: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('unshare', ['--net', '--mount', '--pid', '--fork', '--mount-proc', 'bash', '-c', `set -e\n${script}`], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Rules per chain of one table in iptables-save output (or a restore text). */
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

t.test('the kernel accepts every golden (iptables-restore --noflush in a throwaway netns)', { skip: skipKernel }, async (t) => {
  const jumps = kubeProxyJumps()
    .map((j) => `iptables ${jumpArgv(j, '-C').map(shq).join(' ')} 2>/dev/null || iptables ${jumpArgv(j, '-I').map(shq).join(' ')}`)
    .join('\n');
  for (const name of Object.keys(cases)) {
    const file = goldenPath(`iptables/${name}.txt`);
    const text = await render(name);
    const test = inSandbox(`iptables-restore --noflush --test < ${shq(file)}`);
    t.equal(test.status, 0, `${name}: iptables-restore --test: ${test.stderr}`);
    // xt_nfacct counters exist only where kube-proxy made them with nfnetlink: --test alone for those.
    if (cases[name]!.options?.nfacct) continue;
    const run = inSandbox(`
      iptables -t nat -N FLANNEL-POSTRTG
      iptables -t nat -A POSTROUTING -m comment --comment 'flanneld masq' -j FLANNEL-POSTRTG
      iptables -t nat -A FLANNEL-POSTRTG -s 10.244.0.0/16 ! -d 224.0.0.0/4 -m comment --comment 'flanneld masq' -j MASQUERADE --random-fully
      iptables-restore --noflush --counters < ${shq(file)}
      ${jumps}
      iptables-restore --noflush --counters < ${shq(file)}
      ${jumps}
      iptables-save`);
    t.equal(run.status, 0, `${name}: applied: ${run.stderr}`);
    for (const table of ['filter', 'nat'] as const) {
      const mine = rulesPerChain(text, table);
      const saved = rulesPerChain(run.stdout, table);
      for (const [chain, rules] of mine) t.equal(saved.get(chain)?.length, rules.length, `${name}: ${table} ${chain} has its ${rules.length} rules`);
    }
    // Applied twice: still one copy of everything, flannel's chain kept, jumps prepended in reverse.
    const nat = rulesPerChain(run.stdout, 'nat');
    t.same(nat.get('FLANNEL-POSTRTG')?.length, 1, `${name}: flannel's chain is left alone`);
    t.same(
      nat.get('POSTROUTING'),
      ['-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING', '-A POSTROUTING -m comment --comment "flanneld masq" -j FLANNEL-POSTRTG'],
      `${name}: POSTROUTING`,
    );
    t.same(
      rulesPerChain(run.stdout, 'filter').get('INPUT'),
      [
        '-A INPUT -j KUBE-FIREWALL',
        '-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL',
        '-A INPUT -m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS',
        '-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES',
      ],
      `${name}: INPUT`,
    );
  }
});

t.test('the kernel: a re-sync deletes the chains of a removed Service', { skip: skipKernel }, async (t) => {
  const first = await render('nodeport-cluster-node-1');
  const m = await cachedModel(cases['nodeport-cluster-node-1']!.text);
  const emptied: Model = { ...m, services: [], endpointSlices: [] };
  const second = renderKubeProxyIptables(emptied, 'node-1', { existingNatChains: declaredChains(first, 'nat') });
  const run = inSandbox(`
    iptables-restore --noflush --counters <<'EOF'
${first}EOF
    iptables-restore --noflush --counters <<'EOF'
${second}EOF
    iptables-save -t nat`);
  t.equal(run.status, 0, run.stderr);
  t.notMatch(run.stdout, /KUBE-(SVC|SEP|EXT)-/, 'service and endpoint chains are gone');
  t.match(run.stdout, ':KUBE-SERVICES - [0:0]');
});
