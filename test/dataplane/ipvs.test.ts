// kube-proxy's IPVS mode. Golden files (test/golden/ipvs/NAME.txt; `UPDATE_GOLDEN=1 npx tap
// test/dataplane/ipvs.test.ts` rewrites them: review the diff) hold the four parts renderIpvs
// gives, one section each. Where the kernel has ip_vs (the VM: `scripts/vm run -- npx tap
// test/dataplane/ipvs.test.ts`) and we are root, the richest golden is also applied for real in a
// throwaway network namespace and read back with `ipvsadm -Sn`, `ipset list` and `iptables-save`.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import t from 'tap';
import { jumpArgv } from '../../src/dataplane/iptables.js';
import { IPSETS, ipvsJumps, nodePortAddresses, renderIpvs, type IpvsOptions, type IpvsRender } from '../../src/dataplane/ipvs.js';
import { kubeProxyFeatures, kubeProxyVersions, NEWEST_KUBERNETES_VERSION, type KubernetesVersion } from '../../src/dataplane/versions.js';
import { matchGolden, matchGoldenDir, readGolden } from '../match-golden.js';
import { cachedModel, deployment, fixture, fixtureModel, type NodeCase, scenario, service } from './fixtures.js';

// ---------------------------------------------------------------------------------------------
// Scenarios: the shared fixtures in IPVS mode, and two load balancers of their own

const IPVS = { cluster: 'proxyMode: ipvs' };

const loadBalancer = (name: string, spec: string, ingress: string) =>
  scenario(
    name,
    deployment('web', 2) +
      `  - apiVersion: v1
    kind: Service
    metadata: {name: web}
    spec: {type: LoadBalancer, selector: {app: web}, ${spec}}
    status: {loadBalancer: {ingress: [{ip: ${ingress}}]}}
`,
    'dns: false, proxyMode: ipvs',
  );

interface Case extends NodeCase {
  options?: IpvsOptions;
}

const cases: Record<string, Case> = {
  // One virtual server, both endpoints (one per node), the ClusterIP on kube-ipvs0.
  'clusterip-two-endpoints': { text: fixture('clusterip-two-endpoints', IPVS), node: 'node-1' },
  // A NodePort virtual server on eth0's, cni0's and flannel.1's address, masqueraded (KUBE-NODE-PORT-TCP).
  'nodeport-cluster': { text: fixture('nodeport', { ...IPVS, policy: 'Cluster' }), node: 'node-1' },
  // Local: the NodePort's servers are the local endpoint; no masquerade (KUBE-NODE-PORT-LOCAL-TCP).
  'nodeport-local-node-1': { text: fixture('nodeport', { ...IPVS, policy: 'Local' }), node: 'node-1' },
  // Local on the node without an endpoint: upstream falls back to the Cluster endpoints.
  'nodeport-local-node-2': { text: fixture('nodeport', { ...IPVS, policy: 'Local' }), node: 'node-2' },
  // Cluster policy, an external IP, a source range without the node: KUBE-IPVS-OUT-FILTER drops the node's own access.
  'loadbalancer-cluster': {
    text: loadBalancer(
      'lb-cluster',
      'clusterIP: 10.96.0.90, externalIPs: [80.11.12.10], loadBalancerSourceRanges: [203.0.113.0/25], ports: [{name: http, port: 80, nodePort: 30090}]',
      '192.168.8.240',
    ),
    node: 'node-1',
  },
  // Local policy, health check node port, source ranges holding the LAN: the LB IP as a source is allowed.
  'loadbalancer-local': {
    text: loadBalancer(
      'lb-local',
      'clusterIP: 10.96.0.91, externalTrafficPolicy: Local, healthCheckNodePort: 32000, loadBalancerSourceRanges: [192.168.8.0/24, 203.0.113.0/25], ports: [{name: http, port: 80, nodePort: 30091}]',
      '192.168.8.241',
    ),
    node: 'node-1',
  },
  // ClientIP affinity: persistent virtual servers with the Service's timeout.
  'session-affinity': { text: fixture('session-affinity', { ...IPVS, nodePort: 30102 }), node: 'node-2' },
  // UDP and TCP on one port number, a UDP NodePort (KUBE-NODE-PORT-UDP).
  udp: {
    text: scenario(
      'udp',
      deployment('dns', 2, '[{name: dns, containerPort: 53, protocol: UDP}, {name: dns-tcp, containerPort: 53, protocol: TCP}]') +
        service(
          'dns',
          'type: NodePort, selector: {app: dns}, clusterIP: 10.96.0.53, ports: [{name: dns, port: 53, protocol: UDP, nodePort: 30053}, {name: dns-tcp, port: 53, protocol: TCP, nodePort: 30054}]',
        ),
      'dns: false, proxyMode: ipvs',
    ),
    node: 'node-1',
  },
  // No endpoints: the virtual servers exist without real servers (IPVS mode has no REJECT).
  'no-endpoints': { text: fixture('no-endpoints', IPVS), node: 'node-1' },
  // trafficDistribution PreferClose: node-1's virtual server has zone-a's two real servers only.
  'topology-hints': { text: fixture('topology-hints', IPVS), node: 'node-1' },
  // kube-proxy 1.25: no KUBE-IPVS-FILTER nor its set KUBE-IPVS-IPS (kubernetes#108460 came in 1.26), so the ClusterIP answers ping.
  'clusterip-two-endpoints-1.25': { text: fixture('clusterip-two-endpoints', { cluster: 'proxyMode: ipvs, kubernetesVersion: "1.25"' }), node: 'node-1' },
};

async function render(name: string): Promise<IpvsRender> {
  const c = cases[name]!;
  return renderIpvs(await cachedModel(c.text), c.node, c.options ?? {});
}

// ---------------------------------------------------------------------------------------------
// The golden dump: one section a part

const SECTIONS = ['kube-ipvs0 addresses', 'ipvsadm-restore', 'ipset restore -exist', 'iptables-restore --noflush'] as const;

function dump(r: IpvsRender): string {
  const parts = [r.dummyAddresses.map((a) => `${a}\n`).join(''), r.ipvsadm, r.ipset, r.iptables];
  return SECTIONS.map((s, i) => `### ${s}\n${parts[i]}`).join('\n');
}

function sectionsOf(text: string): Record<(typeof SECTIONS)[number], string> {
  const out: Record<string, string> = {};
  for (const chunk of text.split(/^### /m).slice(1)) {
    const nl = chunk.indexOf('\n');
    out[chunk.slice(0, nl)] = chunk.slice(nl + 1).replace(/\n\n$/, '\n');
  }
  return out as Record<(typeof SECTIONS)[number], string>;
}

const linesOf = (text: string, re: RegExp) => text.split('\n').filter((l) => re.test(l));

for (const name of Object.keys(cases)) {
  t.test(`golden ${name}`, async (t) => {
    const r = await render(name);
    const text = dump(r);
    matchGolden(t, `ipvs/${name}.txt`, text);
    t.same(sectionsOf(text)['iptables-restore --noflush'], r.iptables, 'the dump splits back into its parts');
    // Every real server follows its virtual server; every bound address is in KUBE-IPVS-IPS.
    let vs = '';
    for (const line of r.ipvsadm.trimEnd().split('\n')) {
      if (line.startsWith('-A ')) vs = line.split(' ').slice(1, 3).join(' ');
      else t.match(line, new RegExp(`^-a ${vs.replace(/\./g, '\\.')} -r \\S+ -m -w 1$`), `real server of ${vs}`);
    }
    if (r.ipset.includes('\ncreate KUBE-IPVS-IPS '))
      t.same(
        linesOf(r.ipset, /^add KUBE-IPVS-IPS /)
          .map((l) => l.split(' ')[2])
          .sort(),
        [...r.dummyAddresses].sort(),
      );
    // Every set a rule matches is created; every chain a rule is in is declared.
    for (const set of r.iptables.matchAll(/--match-set (\S+)/g)) t.match(r.ipset, `\ncreate ${set[1]} `, `set ${set[1]} exists`);
    for (const line of linesOf(r.iptables, /^-A /)) t.match(r.iptables, `\n:${line.split(' ')[1]} - [0:0]\n`, `chain of ${line}`);
  });
}

t.test('kube-proxy releases: before 1.26 no KUBE-IPVS-FILTER, from 1.26 the newest rules but for its RETURN of KUBE-EXTERNAL-IP-LOCAL', async (t) => {
  const versions = Object.keys(kubeProxyVersions) as KubernetesVersion[];
  // topology-hints' slices were hinted by the newest controller; older releases' kube-proxies ignore hints without the annotation.
  for (const name of Object.keys(cases).filter((n) => !n.endsWith('-1.25') && n !== 'topology-hints')) {
    const c = cases[name]!;
    const base = await cachedModel(c.text);
    const at = (v: KubernetesVersion) => dump(renderIpvs({ ...base, config: { ...base.config, kubernetesVersion: v } }, c.node, c.options ?? {}));
    const newest = at(NEWEST_KUBERNETES_VERSION);
    for (const v of versions) {
      if (kubeProxyFeatures(v).ipvsFilterExternalIPLocal) t.equal(at(v), newest, `${name}: ${v} as the newest`);
      else if (kubeProxyFeatures(v).ipvsFilter) {
        const withoutReturn = newest
          .split('\n')
          .filter((l) => l !== '-A KUBE-IPVS-FILTER -m set --match-set KUBE-EXTERNAL-IP-LOCAL dst,dst -j RETURN')
          .join('\n');
        t.equal(at(v), withoutReturn, `${name}: ${v} does not RETURN KUBE-EXTERNAL-IP-LOCAL`);
      } else {
        // The same text less the filter chain, its jump target, its rules and its set.
        const withoutFilter = newest
          .split('\n')
          .filter((l) => !/KUBE-IPVS-FILTER|KUBE-IPVS-IPS/.test(l))
          .join('\n');
        t.equal(at(v), withoutFilter, `${name}: ${v} has no KUBE-IPVS-FILTER`);
      }
    }
  }
  t.same(
    ipvsJumps('1.25').map((j) => j.target),
    ipvsJumps()
      .map((j) => j.target)
      .filter((c) => c !== 'KUBE-IPVS-FILTER'),
    '1.25 jumps to everything but KUBE-IPVS-FILTER',
  );
  t.ok(
    ipvsJumps('1.26').some((j) => j.chain === 'INPUT' && j.target === 'KUBE-IPVS-FILTER'),
    '1.26 jumps from INPUT to KUBE-IPVS-FILTER',
  );
});

// The 1.28 line's writeIptablesRules (sanposhiho/kubernetes@059ce4e8a1d958959595b970acaf846259348518
// pkg/proxy/ipvs/proxier.go, docs/versions.md) writes these KUBE-IPVS-FILTER rules, in this order.
t.test("1.28: KUBE-IPVS-FILTER as the 1.28 line's proxier writes it, a Local Service's external IP rejected", async (t) => {
  const text = (version: string) =>
    scenario(
      'external-ip-local',
      deployment('web', 1) +
        service(
          'web',
          'type: NodePort, externalTrafficPolicy: Local, selector: {app: web}, clusterIP: 10.96.0.120, externalIPs: [80.11.12.20], ports: [{port: 80, nodePort: 30120}]',
        ),
      `dns: false, proxyMode: ipvs, kubernetesVersion: "${version}"`,
    );
  const r = renderIpvs(await cachedModel(text('1.28')), 'node-1', {});
  // The external IP is on kube-ipvs0 (so in KUBE-IPVS-IPS) and only in the Local set...
  t.match(r.ipset, '\nadd KUBE-EXTERNAL-IP-LOCAL 80.11.12.20,tcp:80\n');
  t.match(r.ipset, '\nadd KUBE-IPVS-IPS 80.11.12.20\n');
  t.notMatch(r.ipset, '\nadd KUBE-EXTERNAL-IP 80.11.12.20');
  // ...which no rule RETURNs: a new connection to it is REJECTed before IPVS sees it.
  t.same(linesOf(r.iptables, /^-A KUBE-IPVS-FILTER /), [
    '-A KUBE-IPVS-FILTER -m set --match-set KUBE-LOAD-BALANCER dst,dst -j RETURN',
    '-A KUBE-IPVS-FILTER -m set --match-set KUBE-CLUSTER-IP dst,dst -j RETURN',
    '-A KUBE-IPVS-FILTER -m set --match-set KUBE-EXTERNAL-IP dst,dst -j RETURN',
    '-A KUBE-IPVS-FILTER -m set --match-set KUBE-HEALTH-CHECK-NODE-PORT dst -j RETURN',
    '-A KUBE-IPVS-FILTER -m conntrack --ctstate NEW -m set --match-set KUBE-IPVS-IPS dst -j REJECT',
  ]);
  const newest = renderIpvs(await cachedModel(text('1.33')), 'node-1', {});
  t.match(newest.iptables, '\n-A KUBE-IPVS-FILTER -m set --match-set KUBE-EXTERNAL-IP-LOCAL dst,dst -j RETURN\n', 'the newest lets it through');
});

t.test('every golden file belongs to a case', async (t) =>
  matchGoldenDir(
    t,
    'ipvs',
    Object.keys(cases).map((n) => `${n}.txt`),
  ),
);

// ---------------------------------------------------------------------------------------------
// Behaviour

const vsLines = (r: IpvsRender) => linesOf(r.ipvsadm, /^-A /);
const realServersOf = (r: IpvsRender, vs: string) => linesOf(r.ipvsadm, new RegExp(`^-a ${vs.replace(/\./g, '\\.')} `)).map((l) => l.split(' ')[4]);

t.test('NodePorts: a virtual server on each node address but lo (eth0, cni0, flannel.1), as a node shows in ipvsadm -Ln', async (t) => {
  const m = await cachedModel(cases['nodeport-cluster']!.text);
  const node = m.nodes.find((n) => n.name === 'node-1')!;
  t.same(nodePortAddresses(m, 'node-1'), [
    { device: 'eth0', ip: node.ip },
    { device: 'cni0', ip: node.addresses.cni0 },
    { device: 'flannel.1', ip: node.addresses['flannel.1'] },
  ]);
  const r = renderIpvs(m, 'node-1', {});
  t.same(vsLines(r), ['-A -t 10.96.0.80:80 -s rr', `-A -t ${node.ip}:30080 -s rr`, `-A -t ${node.addresses.cni0}:30080 -s rr`, `-A -t ${node.addresses['flannel.1']}:30080 -s rr`]);
  t.notMatch(r.ipvsadm, '127.0.0.1', 'isValidForSet leaves loopback out');
  t.same(r.dummyAddresses, ['10.96.0.80'], 'node addresses are not bound to kube-ipvs0');
  t.match(r.ipset, '\nadd KUBE-NODE-PORT-TCP 30080\n');
  t.match(
    r.iptables,
    '-A KUBE-NODE-PORT -p tcp -m comment --comment "Kubernetes nodeport TCP port for masquerade purpose" -m set --match-set KUBE-NODE-PORT-TCP dst -j KUBE-MARK-MASQ',
  );
  // host-gw has no flannel.1.
  const hostGw = await fixtureModel('nodeport', { policy: 'Cluster', cluster: 'proxyMode: ipvs, network: host-gw' });
  t.same(
    nodePortAddresses(hostGw, 'node-1').map((a) => a.device),
    ['eth0', 'cni0'],
  );
});

t.test('externalTrafficPolicy Local: local endpoints for the ways in from outside, all for the ClusterIP', async (t) => {
  const one = await render('nodeport-local-node-1');
  const two = await render('nodeport-local-node-2');
  const m = await cachedModel(cases['nodeport-local-node-1']!.text);
  const [n1, n2] = m.nodes;
  const pod = m.pods.find((p) => p.name.startsWith('web'))!;
  t.equal(pod.node, 'node-1');
  t.same(realServersOf(one, `-t ${n1!.ip}:30080`), [`${pod.ip}:80`]);
  t.match(one.ipset, '\nadd KUBE-NODE-PORT-LOCAL-TCP 30080\n');
  t.match(one.ipset, `\nadd KUBE-LOOP-BACK ${pod.ip},tcp:80,${pod.ip}\n`, 'hairpin for the local endpoint');
  t.match(
    one.iptables,
    '-A KUBE-NODE-PORT -p tcp -m comment --comment "Kubernetes nodeport TCP port with externalTrafficPolicy=local" -m set --match-set KUBE-NODE-PORT-LOCAL-TCP dst -j RETURN',
  );
  // node-2 has no local endpoint: kubernetes#97081 keeps the Cluster ones (pods on node-2 still get there).
  t.same(realServersOf(two, `-t ${n2!.ip}:30080`), [`${pod.ip}:80`]);
  t.notMatch(two.ipset, 'add KUBE-LOOP-BACK', 'no local endpoint, no hairpin entry');
});

t.test("Local policy with two endpoints: only the local one behind the node's ways in", async (t) => {
  const r = await render('loadbalancer-local');
  const m = await cachedModel(cases['loadbalancer-local']!.text);
  const local = m.pods.find((p) => p.name.startsWith('web') && p.node === 'node-1')!;
  t.equal(m.pods.filter((p) => p.name.startsWith('web')).length, 2);
  t.equal(realServersOf(r, '-t 10.96.0.91:80').length, 2, 'the ClusterIP keeps both');
  t.same(realServersOf(r, '-t 192.168.8.241:80'), [`${local.ip}:80`]);
  t.same(realServersOf(r, `-t ${m.nodes[0]!.ip}:30091`), [`${local.ip}:80`]);
  t.match(r.ipset, '\nadd KUBE-HEALTH-CHECK-NODE-PORT 32000\n');
  t.match(r.ipset, '\nadd KUBE-LOAD-BALANCER-LOCAL 192.168.8.241,tcp:80\n');
  t.match(r.ipset, '\nadd KUBE-LOAD-BALANCER-SOURCE-IP 192.168.8.241,tcp:80,192.168.8.241\n', 'the LAN range holds the node');
  t.notMatch(r.iptables, 'KUBE-IPVS-OUT-FILTER -s');
});

t.test('loadBalancerSourceRanges without the node: the LB IP is dropped for the node itself', async (t) => {
  const r = await render('loadbalancer-cluster');
  t.same(linesOf(r.iptables, /^-A KUBE-IPVS-OUT-FILTER/), ['-A KUBE-IPVS-OUT-FILTER -s 192.168.8.240 -m ipvs --vaddr 192.168.8.240 --vproto tcp --vport 80 -j DROP']);
  t.same(linesOf(r.ipset, /^add KUBE-LOAD-BALANCER-SOURCE-CIDR/), ['add KUBE-LOAD-BALANCER-SOURCE-CIDR 192.168.8.240,tcp:80,203.0.113.0/25']);
  t.match(r.ipset, '\nadd KUBE-EXTERNAL-IP 80.11.12.10,tcp:80\n');
  t.same(r.dummyAddresses, ['10.96.0.90', '80.11.12.10', '192.168.8.240']);
  t.match(r.iptables, '-m set --match-set KUBE-EXTERNAL-IP dst,dst -m physdev ! --physdev-is-in -m addrtype ! --src-type LOCAL -j ACCEPT');
});

t.test('an external IP that is a node address is served, not bound to kube-ipvs0', async (t) => {
  const text = scenario(
    'extip-node',
    deployment('web', 1) + service('web', 'selector: {app: web}, clusterIP: 10.96.0.104, externalIPs: [192.168.8.11], ports: [{port: 80}]'),
    'dns: false, proxyMode: ipvs',
  );
  const m = await cachedModel(text);
  t.equal(m.nodes[0]!.ip, '192.168.8.11', 'the scenario gives node-1 that address');
  const r = renderIpvs(m, 'node-1', {});
  t.match(r.ipvsadm, '-A -t 192.168.8.11:80 -s rr\n');
  t.same(r.dummyAddresses, ['10.96.0.104']);
});

t.test('session affinity: persistent virtual servers with the timeout', async (t) => {
  const r = await render('session-affinity');
  const lines = vsLines(r);
  t.equal(lines.length, 1 + 3);
  for (const l of lines) t.match(l, / -s rr -p 600$/);
  t.equal(realServersOf(r, '-t 10.96.0.102:80').length, 3);
});

t.test('schedulers: --ipvs-scheduler, mh with its source-port hashing flag', async (t) => {
  const m = await cachedModel(cases['clusterip-two-endpoints']!.text);
  t.same(vsLines(renderIpvs(m, 'node-1', { scheduler: 'wrr' })), ['-A -t 10.96.0.100:80 -s wrr']);
  t.same(vsLines(renderIpvs(m, 'node-1', { scheduler: 'mh' })), ['-A -t 10.96.0.100:80 -s mh -b mh-port']);
  t.same(vsLines(renderIpvs(m, 'node-1', { scheduler: '' })), ['-A -t 10.96.0.100:80 -s rr'], 'empty is the default, rr');
  t.throws(() => renderIpvs(m, 'node-1', { scheduler: 'r r' }), /Expected `scheduler` to be an IPVS scheduler/);
  t.throws(() => renderIpvs(m, 'node-9', {}), /Expected `nodeName` to be a node of the model, got `node-9`/);
});

t.test('UDP: -u virtual servers, the NodePort in KUBE-NODE-PORT-UDP', async (t) => {
  const r = await render('udp');
  t.match(r.ipvsadm, '-A -u 10.96.0.53:53 -s rr\n');
  t.match(r.ipvsadm, '-A -t 10.96.0.53:53 -s rr\n');
  t.match(r.ipset, '\nadd KUBE-NODE-PORT-UDP 30053\n');
  t.match(r.ipset, '\nadd KUBE-NODE-PORT-TCP 30054\n');
  t.match(
    r.iptables,
    '-A KUBE-NODE-PORT -p udp -m comment --comment "Kubernetes nodeport UDP port for masquerade purpose" -m set --match-set KUBE-NODE-PORT-UDP dst -j KUBE-MARK-MASQ',
  );
});

t.test('no endpoints: virtual servers without real servers', async (t) => {
  const r = await render('no-endpoints');
  t.notMatch(r.ipvsadm, /^-a /m);
  t.equal(vsLines(r).length, 2 + 3);
  t.notMatch(r.iptables, 'REJECT\n-A KUBE-IPVS-FILTER -m conntrack', 'no per-Service REJECT');
});

t.test('masqueradeAll marks every ClusterIP packet; otherwise only those from outside the pod network', async (t) => {
  const plain = await render('clusterip-two-endpoints');
  t.match(plain.iptables, '-m set --match-set KUBE-CLUSTER-IP dst,dst ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ');
  const m = await fixtureModel('masquerade-all', IPVS);
  const r = renderIpvs(m, 'node-1', { randomFully: false });
  t.match(r.iptables, '-m set --match-set KUBE-CLUSTER-IP dst,dst -j KUBE-MARK-MASQ\n');
  t.match(r.iptables, '-j MASQUERADE\n', 'no --random-fully');
});

t.test("every set is created, flushed and filled, in upstream's order, with its comment", async (t) => {
  const r = await render('clusterip-two-endpoints');
  t.same(
    linesOf(r.ipset, /^create /).map((l) => l.split(' ')[1]),
    IPSETS.map((s) => s.name),
  );
  t.match(
    r.ipset,
    '# KUBE-CLUSTER-IP: Kubernetes service cluster ip + port for masquerade purpose\ncreate KUBE-CLUSTER-IP hash:ip,port family inet hashsize 1024 maxelem 65536\nflush KUBE-CLUSTER-IP\nadd KUBE-CLUSTER-IP 10.96.0.100,tcp:80\n',
  );
  t.match(r.ipset, 'create KUBE-NODE-PORT-TCP bitmap:port range 0-65535\n');
});

t.test("ipvsJumps: upstream's iptablesJumpChain, in its order", async (t) => {
  const jumps = ipvsJumps();
  t.same(
    jumps.map((j) => `${j.table} ${j.chain} -> ${j.target}`),
    [
      'nat OUTPUT -> KUBE-SERVICES',
      'nat PREROUTING -> KUBE-SERVICES',
      'nat POSTROUTING -> KUBE-POSTROUTING',
      'filter FORWARD -> KUBE-FORWARD',
      'filter INPUT -> KUBE-NODE-PORT',
      'filter INPUT -> KUBE-PROXY-FIREWALL',
      'filter FORWARD -> KUBE-PROXY-FIREWALL',
      'filter INPUT -> KUBE-IPVS-FILTER',
      'filter OUTPUT -> KUBE-IPVS-OUT-FILTER',
    ],
  );
  t.same(jumpArgv(jumps[0]!, '-C'), ['-t', 'nat', '-C', 'OUTPUT', '-m', 'comment', '--comment', 'kubernetes service portals', '-j', 'KUBE-SERVICES']);
});

// ---------------------------------------------------------------------------------------------
// The kernel (in the VM): a golden applied for real in a throwaway netns, then read back.

const shq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
const root = process.getuid?.() === 0;
const tools = ['unshare', 'ip', 'ipvsadm', 'ipvsadm-restore', 'ipset', 'iptables-restore', 'iptables-save'].every((c) => spawnSync('sh', ['-c', `command -v ${c}`]).status === 0);
const skipKernel = !existsSync('/proc/net/ip_vs')
  ? 'this kernel has no ip_vs'
  : !root
    ? 'needs root (unshare --net, ipvsadm, ipset, iptables)'
    : !tools
      ? 'needs unshare, ip, ipvsadm, ipvsadm-restore, ipset, iptables-restore and iptables-save'
      : false;

/** `ipset list` read back: each set's type and members. */
function ipsetList(text: string): Map<string, { type: string; members: string[] }> {
  const out = new Map<string, { type: string; members: string[] }>();
  for (const block of text.split(/^Name: /m).slice(1)) {
    const name = block.slice(0, block.indexOf('\n'));
    const type = /^Type: (\S+)/m.exec(block)![1]!;
    const members = block
      .split(/^Members:\n/m)[1]!
      .split('\n')
      .filter(Boolean);
    out.set(name, { type, members });
  }
  return out;
}

/**
 * The golden applied for real: the richest one (an external IP with its physdev match, LB source
 * ranges with KUBE-IPVS-OUT-FILTER's ipvs match, NodePorts on three addresses). One only: under
 * software emulation each apply takes seconds.
 */
const KERNEL_GOLDEN = 'loadbalancer-cluster';

t.test(`the kernel takes golden ${KERNEL_GOLDEN}: kube-ipvs0, ipset restore, ipvsadm-restore, iptables-restore, read back`, { skip: skipKernel }, async (t) => {
  const jumps = ipvsJumps()
    .map((j) => `iptables ${jumpArgv(j, '-C').map(shq).join(' ')} 2>/dev/null || iptables ${jumpArgv(j, '-I').map(shq).join(' ')}`)
    .join('\n');
  const name = KERNEL_GOLDEN;
  const parts = sectionsOf(readGolden(`ipvs/${name}.txt`));
  const addresses = parts['kube-ipvs0 addresses'].split('\n').filter(Boolean);
  const apply = `
    ip link add kube-ipvs0 type dummy
    ${addresses.map((a) => `ip addr add ${a}/32 dev kube-ipvs0`).join('\n')}
    ipset restore -exist <<'EOF'
${parts['ipset restore -exist']}EOF
    ipvsadm-restore <<'EOF'
${parts['ipvsadm-restore']}EOF
    iptables-restore --noflush --counters <<'EOF'
${parts['iptables-restore --noflush']}EOF
    ${jumps}`;
  // Applied twice, as a re-sync does (ipvsadm -C first): the same state.
  const script = `set -e\n${apply}\nipvsadm -C\n${apply.replace('ip link add kube-ipvs0 type dummy', '').replace(/ip addr add/g, 'ip addr replace')}
    echo '### ipvsadm'; ipvsadm -Sn
    echo '### ipset'; ipset list
    echo '### addr'; ip -o -4 addr show dev kube-ipvs0
    echo '### iptables'; iptables-save`;
  const r = spawnSync('unshare', ['--net', 'bash', '-c', script], { encoding: 'utf8' });
  t.equal(r.status, 0, `${name}: applied: ${r.stderr}`);
  if (r.status !== 0) return;
  const out = Object.fromEntries(
    r.stdout
      .split(/^### /m)
      .slice(1)
      .map((c) => [c.slice(0, c.indexOf('\n')), c.slice(c.indexOf('\n') + 1)]),
  );
  const sorted = (s: string) => s.split('\n').filter(Boolean).sort();
  t.same(sorted(out.ipvsadm!), sorted(parts['ipvsadm-restore']), `${name}: ipvsadm -Sn gives back the virtual and real servers`);
  const sets = ipsetList(out.ipset!);
  for (const s of IPSETS) {
    const want = linesOf(parts['ipset restore -exist'], new RegExp(`^add ${s.name} `)).map((l) => l.split(' ')[2]!);
    t.same(sets.get(s.name)?.type, s.type, `${name}: ${s.name} is a ${s.type}`);
    t.same(sets.get(s.name)?.members.sort(), want.sort(), `${name}: ${s.name} members`);
  }
  t.same([...out.addr!.matchAll(/inet (\S+)\/32/g)].map((m) => m[1]).sort(), [...addresses].sort(), `${name}: kube-ipvs0's addresses`);
  // Every rule is in, once (iptables-save's own spelling differs: count per chain).
  const count = (text: string, table: string) => {
    const section = text.split(`*${table}\n`)[1]!.split('COMMIT')[0]!;
    const n = new Map<string, number>();
    for (const l of section.split('\n')) if (l.startsWith('-A ')) n.set(l.split(' ')[1]!, (n.get(l.split(' ')[1]!) ?? 0) + 1);
    return n;
  };
  for (const table of ['nat', 'filter']) {
    const saved = count(out.iptables!, table);
    for (const [chain, n] of count(parts['iptables-restore --noflush'], table)) t.equal(saved.get(chain), n, `${name}: ${table} ${chain} has its ${n} rules`);
  }
  t.equal(count(out.iptables!, 'nat').get('OUTPUT'), 1, `${name}: one jump from OUTPUT after two syncs`);
});
