// cluster.upstreamDNS: its validation (FILE:LINE:COL), the zone the LAN gateway's resolver answers
// from (renderUpstreamZone, lookupUpstream, and dns.py's resolve_upstream agreeing with it), the
// resolv.conf of nodes, hosts and CoreDNS pods, and the dns step's `rcode:` and `queries:`.
// Without root; scenarios/dns-upstream.yaml runs it all on the kernel.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { lookupUpstream, renderDnsZone, type UpstreamZone } from '../../src/dataplane/dns-records.js';
import { podResolvConf, renderHost, renderNode } from '../../src/dataplane/topology.js';
import { echoListeners } from '../../src/run/scenario.js';
import { isNxdomain, judgeDns, parseDig, serverQueries, type DnsResult } from '../../src/steps/dns-probe.js';
import type { DnsLogEntry } from '../../src/workloads/echo.js';
import { head, modelOf, validateText } from '../helpers.js';

const python = process.env.KNETLAB_PYTHON ?? '/usr/bin/python3';

const UPSTREAM = `  upstreamDNS:
    records:
      api.example.com: 203.0.113.10
      WWW.example.com.: api.example.com
      loop.example.com: loop.example.com
      mirror.example.org: [198.51.100.1, 198.51.100.2]
    refuse: [corp.internal]`;

const withPod = (cluster: string) => `${head(2, cluster)}hosts: [{name: laptop}]
manifests:
  - {apiVersion: v1, kind: Pod, metadata: {name: client}, spec: {containers: [{name: c}]}}
`;

t.test('validation: names, bounds and conflicts at FILE:LINE:COL', async (t) => {
  const ok = await validateText(withPod(UPSTREAM));
  t.same(ok.lines, []);
  // The shape first: a key that is no DNS name, a value that is no address (nothing else is checked then).
  const shape = await validateText(
    withPod(`  upstreamDNS:
    records:
      "bad name!": 10.0.0.3
      x.example.com: [not-an-ip]`),
  );
  t.match(shape.lines, [
    /^scenario\.yaml:7:7: Expected key `bad name!` in `cluster\.upstreamDNS\.records` to be a DNS name/,
    /^scenario\.yaml:8:23: Expected `cluster\.upstreamDNS\.records\.x\.example\.com\[0\]` to be an IPv4 address/,
  ]);
  t.same(
    shape.problems.map((p) => p.code),
    ['bad-key', 'bad-address'],
  );
  const bad = await validateText(
    withPod(`  upstreamDNS:
    records:
      web.default.svc.cluster.local: 10.0.0.1
      db.corp.internal: 10.0.0.2
    refuse: [svc.cluster.local, corp.internal]`),
  );
  t.same(bad.lines, [
    'scenario.yaml:7:7: `cluster.upstreamDNS.records` web.default.svc.cluster.local is in the cluster domain cluster.local, which the cluster DNS answers itself and never forwards',
    'scenario.yaml:8:7: `cluster.upstreamDNS.records` db.corp.internal is under the refused zone corp.internal: it would never be answered',
    'scenario.yaml:9:14: `cluster.upstreamDNS.refuse` svc.cluster.local overlaps the cluster domain cluster.local, which the cluster DNS answers itself and never forwards',
  ]);
  t.same(
    bad.problems.map((p) => p.code),
    ['conflicting-fields', 'conflicting-fields', 'conflicting-fields'],
  );
  const many = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`h${i}.example.com`, '10.0.0.1']));
  const tooMany = await validateText(withPod(`  upstreamDNS: {records: ${JSON.stringify(many)}}`));
  t.match(tooMany.lines.join('\n'), /scenario\.yaml:5:26: `cluster\.upstreamDNS\.records` has 65 names; at most 64/);
  t.equal(tooMany.problems[0]?.code, 'list-size');
});

t.test('the model: the LAN gateway serves it, names lower case', async (t) => {
  const m = await modelOf(withPod(UPSTREAM));
  t.same(m.config.upstreamDNS, {
    server: '192.168.8.1',
    records: {
      'api.example.com': { addresses: ['203.0.113.10'] },
      'www.example.com': { cname: 'api.example.com' },
      'loop.example.com': { cname: 'loop.example.com' },
      'mirror.example.org': { addresses: ['198.51.100.1', '198.51.100.2'] },
    },
    refuse: ['corp.internal'],
  });
  const plain = await modelOf(withPod(''));
  t.equal(plain.config.upstreamDNS, undefined);
  t.notOk('forward' in renderDnsZone(plain) || 'upstream' in renderDnsZone(plain), 'without it the zone is as before: names outside are REFUSED');
});

t.test("resolv.conf: nodes and hosts name the gateway, CoreDNS its node's, other pods the cluster DNS", async (t) => {
  const m = await modelOf(withPod(UPSTREAM));
  const gw = 'nameserver 192.168.8.1\n';
  t.match(renderNode(m, m.nodes[0]!).etc['resolv.conf'], gw);
  t.match(renderHost(m, m.hosts[0]!).etc['resolv.conf'], gw);
  t.match(podResolvConf(m, m.pods.find((p) => p.workload === 'dns')!), gw);
  t.equal(podResolvConf(m, m.pods.find((p) => p.name === 'client')!), 'nameserver 10.96.0.10\nsearch default.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n');
  const plain = await modelOf(withPod(''));
  t.notMatch(renderNode(plain, plain.nodes[0]!).etc['resolv.conf'], /^nameserver/m);
  t.notMatch(podResolvConf(plain, plain.pods.find((p) => p.workload === 'dns')!), /^nameserver/m);
  const listeners = echoListeners(m).filter((l) => l.netns === 'lan');
  t.same(
    listeners.map((l) => `${l.protocol} ${l.port} ${l.kind} ${l.identity.dns}`),
    ['UDP 53 dns upstream', 'TCP 53 dns upstream'],
  );
  t.same(
    echoListeners(plain).filter((l) => l.netns === 'lan'),
    [],
  );
});

const questions: [string, string][] = [
  ['api.example.com', 'A'],
  ['API.Example.COM.', 'A'],
  ['api.example.com', 'AAAA'],
  ['www.example.com', 'A'],
  ['www.example.com', 'CNAME'],
  ['loop.example.com', 'A'],
  ['mirror.example.org', 'A'],
  ['db.corp.internal', 'A'],
  ['corp.internal', 'SOA'],
  ['xcorp.internal', 'A'],
  ['nope.example.com', 'A'],
  ['example.com', 'A'],
];

t.test('the upstream answers: records, CNAMEs followed, refused zones, NXDOMAIN', async (t) => {
  const zone = renderDnsZone(await modelOf(withPod(UPSTREAM)));
  t.same(zone.forward, ['192.168.8.1']);
  const up = zone.upstream!;
  const rc = (n: string, ty = 'A') => lookupUpstream(up, n, ty);
  t.match(rc('api.example.com'), { rcode: 'NOERROR', answer: [{ name: 'api.example.com', type: 'A', data: '203.0.113.10' }] });
  t.match(rc('www.example.com'), {
    rcode: 'NOERROR',
    answer: [
      { name: 'www.example.com', type: 'CNAME', data: 'api.example.com' },
      { name: 'api.example.com', type: 'A', data: '203.0.113.10' },
    ],
  });
  t.match(rc('www.example.com', 'CNAME'), { rcode: 'NOERROR', answer: [{ type: 'CNAME' }] });
  t.equal(rc('loop.example.com').answer.length, 1, 'a CNAME to itself is not followed');
  t.same(rc('api.example.com', 'AAAA'), { rcode: 'NOERROR', answer: [], authority: [], additional: [] });
  t.equal(rc('db.corp.internal').rcode, 'REFUSED');
  t.equal(rc('corp.internal', 'SOA').rcode, 'REFUSED');
  t.equal(rc('xcorp.internal').rcode, 'NXDOMAIN', 'a zone is refused by its labels, not by a suffix of text');
  t.equal(rc('nope.example.com').rcode, 'NXDOMAIN');
});

/** dns.py's resolve_upstream() over the questions. */
function pythonUpstream(up: UpstreamZone, qs: [string, string][]): unknown[] {
  const dir = mkdtempSync(join(tmpdir(), 'knetlab-dns-up-'));
  try {
    const file = join(dir, 'in.json');
    writeFileSync(file, JSON.stringify({ up, qs }));
    const code = [
      'import importlib.util, json, sys',
      'spec = importlib.util.spec_from_file_location("knetlab_dns", sys.argv[1])',
      'm = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)',
      'd = json.load(open(sys.argv[2]))',
      'out = []',
      'for n, ty in d["qs"]:',
      '    rcode, answer, authority, additional = m.resolve_upstream(d["up"], n, ty)',
      '    out.append({"rcode": rcode, "answer": answer, "authority": authority, "additional": additional})',
      'print(json.dumps(out))',
    ].join('\n');
    const r = spawnSync(python, ['-c', code, 'src/workloads/dns.py', file], { encoding: 'utf8', timeout: 30_000 });
    if (r.status !== 0) throw new Error(`python: ${r.stderr}`);
    return JSON.parse(r.stdout);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

t.test("dns.py's resolve_upstream() answers what lookupUpstream() says", async (t) => {
  const up = renderDnsZone(await modelOf(withPod(UPSTREAM))).upstream!;
  t.same(
    pythonUpstream(up, questions),
    questions.map(([n, ty]) => lookupUpstream(up, n, ty)),
  );
});

t.test('dns.py takes a zone with forward and upstream, and refuses a bad forward', async (t) => {
  const zone = renderDnsZone(await modelOf(withPod(UPSTREAM)));
  const code = [
    'import importlib.util, json, sys',
    'spec = importlib.util.spec_from_file_location("knetlab_dns", sys.argv[1])',
    'm = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)',
    'z = json.loads(sys.argv[2])',
    'm.set_zone(z)',
    'z["forward"] = ["not-an-ip"]',
    'try:',
    '    m.set_zone(z); print("accepted")',
    'except ValueError as e:',
    '    print(e)',
  ].join('\n');
  const r = spawnSync(python, ['-c', code, 'src/workloads/dns.py', JSON.stringify(zone)], { encoding: 'utf8', timeout: 30_000 });
  t.equal(r.status, 0, r.stderr);
  t.equal(r.stdout.trim(), 'zone.forward must be a list of IPv4 addresses');
});

const entry = (name: string, id: number, role: 'cluster' | 'upstream', time: string, extra: Partial<DnsLogEntry> = {}): DnsLogEntry => ({
  kind: 'dns',
  server: role === 'cluster' ? 'pod/coredns-0.kube-system' : 'lan/gateway',
  pod: null,
  namespace: null,
  node: null,
  podIP: null,
  serverIP: '10.244.0.3',
  serverPort: 53,
  clientIP: '10.244.0.2',
  clientPort: 40000 + id,
  name,
  type: 'A',
  rcode: 'NXDOMAIN',
  answers: 0,
  id,
  role,
  time,
  protocol: 'UDP',
  netns: 'x',
  ...extra,
});

t.test("serverQueries: this lookup's queries from the first server's log", async (t) => {
  const tried = [
    { name: 'api.example.com.default.svc.cluster.local', status: 'NXDOMAIN', id: 11 },
    { name: 'api.example.com.svc.cluster.local', status: 'NXDOMAIN', id: 12 },
    { name: 'api.example.com', status: 'NOERROR', id: 13 },
  ];
  const since = Date.parse('2026-01-01T00:00:10.000Z');
  const log = [
    entry('api.example.com.default.svc.cluster.local', 11, 'cluster', '2026-01-01T00:00:05.000Z'), // an earlier step with the same id
    entry('other', 99, 'cluster', '2026-01-01T00:00:11.000Z'),
    entry('api.example.com.default.svc.cluster.local', 11, 'cluster', '2026-01-01T00:00:11.000Z'),
    entry('API.example.com.svc.cluster.local.', 12, 'cluster', '2026-01-01T00:00:11.100Z'),
    entry('api.example.com', 13, 'upstream', '2026-01-01T00:00:11.200Z'), // the forwarded one, logged first by the upstream
    entry('api.example.com', 13, 'cluster', '2026-01-01T00:00:11.210Z', { forwardedTo: '192.168.8.1', rcode: 'NOERROR' }),
  ];
  t.same(serverQueries(log, tried, since), ['api.example.com.default.svc.cluster.local', 'api.example.com.svc.cluster.local', 'api.example.com']);
  t.same(
    serverQueries(
      log.filter((e) => e.role === 'upstream'),
      tried,
      since,
    ),
    ['api.example.com'],
    'a node or host asks the upstream itself',
  );
  t.same(serverQueries(log, undefined, since), [], 'no answer from dig: no ids to find');
});

t.test('judgeDns: rcode and queries', async (t) => {
  const refused: DnsResult = {
    status: 'REFUSED',
    answers: [],
    question: 'db.corp.internal',
    tried: [
      { name: 'db.corp.internal.default.svc.cluster.local', status: 'NXDOMAIN', id: 1 },
      { name: 'db.corp.internal', status: 'REFUSED', id: 2 },
    ],
    queries: ['db.corp.internal.default.svc.cluster.local', 'db.corp.internal'],
  };
  t.match(judgeDns(refused, { rcode: 'REFUSED' }, undefined, { upstream: true }), { passed: true, expected: 'REFUSED' });
  t.match(judgeDns(refused, { rcode: 'NXDOMAIN' }, undefined, { upstream: true }), { passed: false, seen: /^status REFUSED, not NXDOMAIN\./ });
  t.notMatch(judgeDns(refused, { rcode: 'REFUSED' }, undefined, { upstream: true }).seen, /no upstream/, "the REFUSED is the upstream's");
  t.ok(isNxdomain(refused), 'without an upstream: NXDOMAIN everywhere, then REFUSED outside, is NXDOMAIN (as before)');
  t.notOk(isNxdomain(refused, { upstream: true }), 'with one, REFUSED is what the upstream said');
  t.match(judgeDns(refused, { nxdomain: true }, undefined, { upstream: true }), { passed: false });
  t.match(judgeDns(refused, { queries: ['db.corp.internal.default.svc.cluster.local', 'DB.corp.internal.'] }), { passed: true, expected: /^the queries/ });
  t.match(judgeDns(refused, { queries: ['db.corp.internal'] }), {
    passed: false,
    seen: /^other queries\. .*the DNS servers received db\.corp\.internal\.default\.svc\.cluster\.local, db\.corp\.internal/,
  });
  t.match(judgeDns({ ...refused, queries: [] }, { queries: ['db.corp.internal'] }), { passed: false, seen: /^no query in the DNS servers' log/ });
  const ok = parseDig(
    0,
    ';; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: 7\n;; QUESTION SECTION:\n;api.example.com.\t\tIN\tA\n\n;; ANSWER SECTION:\napi.example.com.\t300\tIN\tA\t203.0.113.10\n\n',
    '',
  );
  t.match(ok.tried, [{ name: 'api.example.com', status: 'NOERROR', id: 7 }]);
  t.match(judgeDns(ok, { rcode: 'NOERROR' }), { passed: true, expected: 'NOERROR' });
  t.match(judgeDns(ok, { rcode: 'SERVFAIL' }), { passed: false });
  t.match(judgeDns({ ...ok, answers: [] }, { rcode: 'NOERROR' }), { passed: true }, 'NOERROR with no data is NOERROR');
});

t.test('dns step: rcode and queries read, conflicts at FILE:LINE:COL', async (t) => {
  const steps = (expect: string) => `${withPod(UPSTREAM)}steps:
  - dns: {from: pod/client, name: api.example.com}
    expect: ${expect}
`;
  t.same((await validateText(steps('{rcode: REFUSED, queries: [a.example.com, b.]}'))).lines, []);
  t.match((await validateText(steps('{rcode: REFUSED, nxdomain: true}'))).lines, [/^scenario\.yaml:20:21: .*rcode or nxdomain, not both/]);
  t.match((await validateText(steps('{rcode: NXDOMAIN, address: 1.2.3.4}'))).lines, [
    /^scenario\.yaml:20:21: .*expects rcode NXDOMAIN, which has no answer to check address against/,
  ]);
  t.match((await validateText(steps('{rcode: NOERROR, address: 1.2.3.4}'))).lines, []);
  t.match((await validateText(steps('{rcode: BROKEN}'))).lines, [/^scenario\.yaml:20:\d+: .*rcode/]);
  t.match((await validateText(steps('{queries: []}'))).lines, [/^scenario\.yaml:20:\d+: .*queries/]);
  t.match((await validateText(steps('{queries: ["no spaces"]}'))).lines, [/^scenario\.yaml:20:\d+: .*DNS name/]);
});
