// Cluster DNS: the dns listeners of the echo-server process (src/workloads/dns.py), driven by the
// zone of src/dataplane/dns-records.ts, and the dig probe and judge of src/steps/dns-probe.ts.
// Without root: dns.py's resolve() against lookupDns(), the control protocol, dig's output and the
// judge. As root: real namespaces in a private sandbox (dns-sandbox.mjs) and real dig.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { dashedIp, lookupDns, renderDnsZone, reverseName, type DnsZone } from '../../src/dataplane/dns-records.js';
import { podResolvConf } from '../../src/dataplane/topology.js';
import { RecordingRunner } from '../../src/kernel/exec.js';
import { dnsProbe, isNxdomain, judgeDns, parseDig, type DnsResult } from '../../src/steps/dns-probe.js';
import { modelOf } from '../helpers.js';

const helper = 'test/workloads/dns-sandbox.mjs';
const compiled = ['dist/workloads/echo.js', 'dist/workloads/echo-server.py', 'dist/workloads/dns.py', 'dist/steps/dns-probe.js', 'dist/kernel/exec.js'];
const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const notRoot = process.getuid?.() !== 0;
const hasDig = spawnSync('dig', ['-v'], { encoding: 'utf8' }).status === 0;
const hasDnspython = spawnSync(python, ['-c', 'import dns.message'], { encoding: 'utf8' }).status === 0;

const deployment = (name: string, replicas: number, ports: string, ns = 'default') =>
  `  - {apiVersion: apps/v1, kind: Deployment, metadata: {name: ${name}, namespace: ${ns}}, spec: {replicas: ${replicas}, selector: {matchLabels: {app: ${name}}}, template: {metadata: {labels: {app: ${name}}}, spec: {containers: [{name: c, image: x, ports: ${ports}}]}}}}\n`;
const service = (name: string, spec: string, ns = 'default') => `  - {apiVersion: v1, kind: Service, metadata: {name: ${name}, namespace: ${ns}}, spec: {${spec}}}\n`;

function scenario(opts: { webIP: string; dbReplicas: number; ext: boolean }): string {
  return `apiVersion: knetlab/v1
kind: Scenario
metadata: {name: dns}
nodes: [{name: node-1}, {name: node-2}]
manifests:
${deployment('web', 2, '[{name: http, containerPort: 80}]')}${service('web', `selector: {app: web}, clusterIP: ${opts.webIP}, ports: [{name: http, port: 80}]`)}${deployment('db', opts.dbReplicas, '[{name: pg, containerPort: 5432}]', 'data')}${service('db', 'clusterIP: None, selector: {app: db}, ports: [{name: pg, port: 5432}]', 'data')}${opts.ext ? service('ext', 'type: ExternalName, externalName: my.database.example.com') : ''}${deployment('big', 40, '[{containerPort: 80}]')}${service('big', 'clusterIP: None, selector: {app: big}, ports: [{port: 80}]')}`;
}

/** Runs dns.py's resolve() over the questions, in the python the runner uses. */
function pythonResolve(
  zone: DnsZone,
  questions: [string, string][],
  script = 'src/workloads/dns.py',
): { rcode: string; answer: unknown[]; authority: unknown[]; additional: unknown[] }[] {
  const dir = mkdtempSync(join(tmpdir(), 'knetlab-dns-'));
  try {
    const file = join(dir, 'in.json');
    writeFileSync(file, JSON.stringify({ zone, questions }));
    const code = [
      'import importlib.util, json, sys',
      'spec = importlib.util.spec_from_file_location("knetlab_dns", sys.argv[1])',
      'm = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)',
      'data = json.load(open(sys.argv[2]))',
      'm.set_zone(data["zone"])',
      'out = []',
      'for name, qtype in data["questions"]:',
      '    rcode, answer, authority, additional = m.resolve(m.zone, name, qtype)',
      '    out.append({"rcode": rcode, "answer": answer, "authority": authority, "additional": additional})',
      'print(json.dumps(out))',
    ].join('\n');
    const r = spawnSync(python, ['-c', code, script, file], { encoding: 'utf8', timeout: 30_000, maxBuffer: 64 * 1024 * 1024 });
    if (r.status !== 0) throw new Error(`python: ${r.stderr}`);
    return JSON.parse(r.stdout);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

t.test('dns.py answers exactly what lookupDns() says', async (t) => {
  const zone = renderDnsZone(await modelOf(scenario({ webIP: '10.96.0.80', dbReplicas: 2, ext: true })));
  const names = [
    ...Object.keys(zone.names),
    'WEB.default.svc.cluster.local.',
    'nope.default.svc.cluster.local',
    'web.nowhere.svc.cluster.local',
    '1-2-3-4.default.pod.cluster.local',
    '1-2-3-4.nowhere.pod.cluster.local',
    '1-2-3-256.default.pod.cluster.local',
    '001-2-3-4.default.pod.cluster.local',
    '9.9.9.9.in-addr.arpa',
    '1.0.0.0.ip6.arpa',
    'example.com',
    'local',
    'xcluster.local',
    '',
    '.',
  ];
  const types = ['A', 'AAAA', 'CNAME', 'SRV', 'PTR', 'TXT', 'NS', 'SOA', 'MX', 'ANY'];
  const questions = names.flatMap((n) => types.map((ty) => [n, ty] as [string, string]));
  const got = pythonResolve(zone, questions);
  let differ = 0;
  questions.forEach(([n, ty], i) => {
    const want = lookupDns(zone, n, ty);
    if (JSON.stringify(got[i]) !== JSON.stringify(want)) {
      differ++;
      if (differ <= 5) t.same(got[i], want, `${n} ${ty}`);
    }
  });
  t.equal(differ, 0, `all ${questions.length} questions agree`);
  // And the verified pod mode, which lists pods instead of taking any address.
  const verified = renderDnsZone(await modelOf(scenario({ webIP: '10.96.0.80', dbReplicas: 2, ext: true })), { pods: 'verified' });
  const q2: [string, string][] = [
    ['1-2-3-4.default.pod.cluster.local', 'A'],
    [Object.keys(verified.names).find((n) => n.endsWith('.pod.cluster.local') && /^\d/.test(n))!, 'A'],
  ];
  t.same(
    pythonResolve(verified, q2),
    q2.map(([n, ty]) => lookupDns(verified, n, ty)),
  );
});

t.test('control protocol: zone op, kind checks, and a clear error without dnspython', async (t) => {
  const zone = renderDnsZone(await modelOf(scenario({ webIP: '10.96.0.80', dbReplicas: 1, ext: false })));
  const dnsListen = { netns: 'x', port: 53, protocol: 'UDP', kind: 'dns', identity: { server: 's' } };
  const input = [
    JSON.stringify({ id: 1, op: 'zone', zone }),
    JSON.stringify({ id: 2, op: 'zone', zone: { domain: 'x' } }),
    JSON.stringify({ id: 3, op: 'zone' }),
    JSON.stringify({ id: 4, op: 'listen', listeners: [{ ...dnsListen, kind: 'gopher' }] }),
    JSON.stringify({ id: 5, op: 'listen', listeners: [dnsListen] }),
    '',
  ].join('\n');
  // -S: without site-packages, dnspython (Debian's dist-packages) cannot be imported. No listener is made.
  const r = spawnSync(python, ['-S', 'src/workloads/echo-server.py'], { input, encoding: 'utf8', timeout: 10_000 });
  t.equal(r.status, 0, r.stderr);
  const replies = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  t.same(replies[0], { id: 1, ok: true, names: Object.keys(zone.names).length });
  t.same(replies[1], { id: 2, ok: false, error: 'bad zone: zone.ttl must be a number' });
  t.match(replies[2], { id: 3, ok: false, error: 'bad zone: zone must be an object' });
  t.match(replies[3], { id: 4, ok: false, errors: [{ error: "bad kind 'gopher'" }] });
  t.match(replies[4], { id: 5, ok: false, errors: [{ error: /cluster DNS needs dnspython.*apt-get install -y python3-dnspython/ }] });
});

t.test("dnspython is importable from the runner's python", { skip: !hasDnspython && `${python} cannot import dns.message: apt-get install -y python3-dnspython` }, async (t) => {
  const r = spawnSync(python, ['-c', 'import dns.version; print(dns.version.version)'], { encoding: 'utf8' });
  t.equal(r.status, 0);
  t.comment(`${python}: dnspython ${r.stdout.trim()}`);
});

// dig's output, as dig 9.18 prints it with +showsearch +nocmd +nostats (recorded in a sandbox).
const digSearch = `;; Got answer:
;; ->>HEADER<<- opcode: QUERY, status: NXDOMAIN, id: 9005
;; flags: qr aa rd; QUERY: 1, ANSWER: 0, AUTHORITY: 1, ADDITIONAL: 1
;; WARNING: recursion requested but not available

;; QUESTION SECTION:
;nope.default.svc.cluster.local.	IN	A

;; AUTHORITY SECTION:
cluster.local.		5	IN	SOA	ns.dns.cluster.local. hostmaster.cluster.local. 1985183496 7200 1800 86400 5

;; Got answer:
;; ->>HEADER<<- opcode: QUERY, status: NXDOMAIN, id: 52871
;; QUESTION SECTION:
;nope.svc.cluster.local.		IN	A

;; Got answer:
;; ->>HEADER<<- opcode: QUERY, status: NXDOMAIN, id: 60950
;; QUESTION SECTION:
;nope.cluster.local.		IN	A

;; Got answer:
;; ->>HEADER<<- opcode: QUERY, status: REFUSED, id: 9396
;; flags: qr aa rd; QUERY: 1, ANSWER: 0, AUTHORITY: 0, ADDITIONAL: 1

;; OPT PSEUDOSECTION:
; EDNS: version: 0, flags:; udp: 1232
;; QUESTION SECTION:
;nope.				IN	A

`;
const digAnswer = `;; Got answer:
;; WARNING: .local is reserved for Multicast DNS
;; ->>HEADER<<- opcode: QUERY, status: NXDOMAIN, id: 1
;; QUESTION SECTION:
;ext.default.default.svc.cluster.local. IN A

;; Got answer:
;; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: 29762
;; flags: qr aa rd; QUERY: 1, ANSWER: 2, AUTHORITY: 0, ADDITIONAL: 1

;; OPT PSEUDOSECTION:
; EDNS: version: 0, flags:; udp: 1232
;; QUESTION SECTION:
;ext.default.svc.cluster.local.	IN	A

;; ANSWER SECTION:
ext.default.svc.cluster.local. 5 IN	CNAME	Web.default.svc.cluster.local.
web.default.svc.cluster.local. 5 IN	A	10.96.0.80

;; ADDITIONAL SECTION:
web.default.svc.cluster.local. 5 IN	A	10.96.0.99

`;

t.test('dig output', async (t) => {
  const r = parseDig(0, digAnswer, '');
  t.same(r, {
    status: 'NOERROR',
    answers: [
      { name: 'ext.default.svc.cluster.local', type: 'CNAME', data: 'Web.default.svc.cluster.local' },
      { name: 'web.default.svc.cluster.local', type: 'A', data: '10.96.0.80' },
    ],
    question: 'ext.default.svc.cluster.local',
    tried: [
      { name: 'ext.default.default.svc.cluster.local', status: 'NXDOMAIN', id: 1 },
      { name: 'ext.default.svc.cluster.local', status: 'NOERROR', id: 29762 },
    ],
  });
  const nx = parseDig(0, digSearch, '');
  t.match(nx, { status: 'REFUSED', answers: [], question: 'nope' });
  t.equal(nx.tried?.length, 4);
  t.ok(isNxdomain(nx), 'NXDOMAIN in every search domain, then REFUSED outside: NXDOMAIN');
  t.notOk(isNxdomain({ status: 'REFUSED', answers: [], tried: [{ name: 'example.com', status: 'REFUSED' }] }), 'refused at once is not NXDOMAIN');
  t.same(parseDig(9, ';; communications error to 10.96.0.10#53: timed out\n;; no servers could be reached\n', ''), {
    status: 'timeout',
    answers: [],
    detail: ';; communications error to 10.96.0.10#53: timed out\n;; no servers could be reached',
  });
  t.match(parseDig(9, ';; Connection to 10.53.0.1#54(10.53.0.1) for web failed: connection refused.\n;; no servers could be reached\n', ''), {
    status: 'error',
    detail: /connection refused/,
  });
  t.match(parseDig(0, ';; ->>HEADER<<- opcode: QUERY, status: FORMERR, id: 1\n', ''), { status: 'error', detail: 'status FORMERR' });
});

t.test("dnsProbe runs dig in the namespace with its resolv.conf's search list and ndots", async (t) => {
  const runner = new RecordingRunner(() => ({ stdout: digAnswer }));
  const r = await dnsProbe(runner, 'client-0.default', 'ext', 'A', 1500, { tcp: true });
  t.same(runner.calls[0]!.argv, ['ip', 'netns', 'exec', 'client-0.default', 'dig', '+search', '+time=2', '+tries=1', '+tcp', '+showsearch', '+nocmd', '+nostats', 'ext', 'A']);
  t.equal(r.status, 'NOERROR');
  const missing = new RecordingRunner(() => ({ exitCode: 127, stderr: 'exec of "dig" failed: No such file or directory' }));
  t.match(await dnsProbe(missing, 'x', 'web', 'A', 1000), { status: 'error', detail: /No such file/ });
});

t.test('judgeDns', async (t) => {
  const ok: DnsResult = parseDig(0, digAnswer, '');
  const svc = { ip: '10.96.0.80', shown: 'service/web' };
  t.match(judgeDns(ok, { addresses: [svc] }), { passed: true, expected: 'the address 10.96.0.80 (service/web)' });
  t.match(judgeDns(ok, { cname: 'web.default.svc.cluster.local.' }), { passed: true, expected: 'a CNAME to web.default.svc.cluster.local' });
  t.match(judgeDns(ok, {}), { passed: true, expected: 'an answer (NOERROR with at least one record)' });
  t.match(judgeDns(ok, { addresses: [{ ip: '10.96.0.81', shown: '10.96.0.81' }] }), {
    passed: false,
    seen: /^missing 10\.96\.0\.81; also 10\.96\.0\.80\. NOERROR for ext\.default\.svc\.cluster\.local: CNAME/,
  });
  t.match(judgeDns(ok, { addresses: [svc, { ip: '10.244.0.2', shown: 'pod/db-0' }] }), { passed: false, expected: /exactly the addresses/, seen: /missing 10\.244\.0\.2/ });
  const name = (ip: string) => (ip === '10.96.0.80' ? `${ip} (service/web)` : ip);
  t.match(
    judgeDns(ok, { addresses: [{ ip: '10.96.0.81', shown: '10.96.0.81' }] }, name),
    { seen: /^missing 10\.96\.0\.81; also 10\.96\.0\.80 \(service\/web\)\. NOERROR .*: CNAME .*, A 10\.96\.0\.80 \(service\/web\);/ },
    'with the address book, the addresses seen are named',
  );
  t.match(judgeDns(ok, { cname: 'other.example.com' }), { passed: false, seen: /^CNAME to web\.default\.svc\.cluster\.local instead/ });
  t.match(judgeDns(ok, { nxdomain: true }), { passed: false, seen: /status NOERROR, not NXDOMAIN/ });
  t.match(judgeDns(ok, { nxdomain: false }), { passed: true });
  const nx = parseDig(0, digSearch, '');
  t.match(judgeDns(nx, { nxdomain: true }), { passed: true, seen: /tried nope\.default\.svc\.cluster\.local NXDOMAIN, .*nope REFUSED; the cluster DNS has no upstream/ });
  t.match(judgeDns(nx, { addresses: [svc] }), { passed: false, seen: /^status REFUSED\./ });
  const timeout: DnsResult = { status: 'timeout', answers: [], detail: 'no servers could be reached' };
  t.match(judgeDns(timeout, {}), { passed: false, seen: 'status timeout. timeout: no servers could be reached' });
  t.match(judgeDns({ status: 'NOERROR', answers: [], question: 'web.default.svc.cluster.local' }, {}), { passed: false, seen: /^no records\./ });
});

t.test(
  'cluster DNS in real network namespaces, asked by real dig',
  {
    skip:
      (notRoot && 'needs root: it creates network namespaces (in a private sandbox)') ||
      (!hasDig && 'dig is missing: apt-get install bind9-dnsutils') ||
      (!hasDnspython && `${python} cannot import dnspython: apt-get install -y python3-dnspython`),
  },
  async (t) => {
    for (const file of compiled) {
      if (!existsSync(file)) throw new Error(`${file} is missing: run \`npm run build\` first`);
    }
    const model = await modelOf(scenario({ webIP: '10.96.0.80', dbReplicas: 2, ext: true }));
    const changedModel = await modelOf(scenario({ webIP: '10.96.0.81', dbReplicas: 3, ext: false }));
    const zone = renderDnsZone(model);
    const changedZone = renderDnsZone(changedModel);
    const client = model.pods.find((p) => p.name === 'web-0')!;
    const dbPod = model.pods.find((p) => p.name === 'db-0')!;
    const dir = mkdtempSync(join(tmpdir(), 'knetlab-dns-'));
    const inputFile = join(dir, 'input.json');
    // kubelet's resolv.conf for a pod in `default`, pointed at the first DNS pod instead of kube-dns's ClusterIP.
    const resolvConf = podResolvConf(model, client).replace(`nameserver ${model.config.dnsIP}`, 'nameserver 10.53.0.1');
    writeFileSync(
      inputFile,
      JSON.stringify({
        zone,
        changedZone,
        resolvConf,
        ptrService: reverseName('10.96.0.80'),
        ptrPod: reverseName(dbPod.ip!),
        podName: `${dashedIp(dbPod.ip!)}.data.pod.cluster.local`,
      }),
    );
    const env = { ...process.env };
    delete env.NODE_OPTIONS; // the helper is plain JavaScript: no TypeScript loader
    const hostNetns = () => spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
    const before = hostNetns();
    const run = spawnSync('unshare', ['--net', '--mount', '--pid', '--fork', '--mount-proc', '--', process.execPath, helper, inputFile], {
      encoding: 'utf8',
      env,
      timeout: 240_000,
    });
    rmSync(dir, { recursive: true, force: true });
    t.equal(run.status, 0, `sandbox helper exit status; stderr: ${run.stderr}`);
    t.equal(hostNetns(), before, '`ip netns list` on the host is unchanged');
    if (run.status !== 0) return;
    const out = JSON.parse(run.stdout);
    type Query = DnsResult & { label: string; name: string; type: string; tcp: boolean };
    const queries = out.queries as Query[];
    const get = (label: string, tcp = false) => queries.find((q) => q.label === label && q.tcp === tcp)!;
    const data = (r: DnsResult, type?: string) =>
      r.answers
        .filter((a) => !type || a.type === type)
        .map((a) => a.data)
        .sort();

    t.test("setup: one process, both DNS pods, the namespace's resolv.conf", async (t) => {
      t.equal(out.listeners, 4, 'UDP and TCP 53 in each DNS pod');
      t.equal(out.idempotent, 4, 'listening twice is a no-op');
      t.match(out.kindClash, { thrown: true, message: /already serves dns/ });
      t.equal(out.inNamespace, resolvConf, 'ip netns exec shows /etc/netns/client/resolv.conf as /etc/resolv.conf');
      t.equal(out.pythons, 1, 'one python process for every DNS pod');
      t.equal(out.pythonsAfterStop, 0);
      t.equal(out.otherPod, '10.96.0.80', 'the second DNS pod answers too');
    });

    t.test('before any zone: SERVFAIL', async (t) => {
      t.match(get('before-zone'), { status: 'SERVFAIL', question: 'web.default.svc.cluster.local' });
    });

    for (const tcp of [false, true]) {
      t.test(`over ${tcp ? 'TCP' : 'UDP'}: what dig saw is what the zone says`, async (t) => {
        for (const q of queries.filter((x) => x.tcp === tcp && !x.label.startsWith('changed') && x.label !== 'before-zone' && x.label !== 'after-bad-zone')) {
          // The question dig asked last (after the search list) must get lookupDns()'s answer.
          const want = lookupDns(zone, q.question ?? q.name, q.type);
          t.equal(q.status, want.rcode, `${q.label}: ${q.name} ${q.type} -> ${q.question} ${q.status}`);
          t.same(
            q.answers.map((a) => `${a.name} ${a.type} ${a.data.toLowerCase()}`).sort(),
            want.answer.map((r) => `${r.name} ${r.type} ${r.data}`).sort(),
            `${q.label}: the answer section`,
          );
        }
        t.same(data(get('short', tcp)), ['10.96.0.80'], 'a short name through the search path');
        t.equal(get('short', tcp).question, 'web.default.svc.cluster.local');
        t.same(
          get('name.namespace', tcp).tried?.map(({ name, status }) => ({ name, status })),
          [
            { name: 'web.default.default.svc.cluster.local', status: 'NXDOMAIN' },
            { name: 'web.default.svc.cluster.local', status: 'NOERROR' },
          ],
          'name.namespace: the first search domain misses, the second answers',
        );
        t.equal(get('full', tcp).tried?.length, 4, 'a full name with 4 dots (< ndots 5) still tries the 3 search domains first');
        t.equal(get('fqdn', tcp).tried?.length, 1, 'a final dot: asked as is');
        t.same(
          data(get('headless', tcp)),
          model.pods
            .filter((p) => p.owner?.name === 'db')
            .map((p) => p.ip)
            .sort(),
          'headless: every ready endpoint',
        );
        t.same(data(get('srv', tcp)), ['0 100 80 web.default.svc.cluster.local']);
        t.equal(get('headless-srv', tcp).answers.length, 2);
        t.same(data(get('externalname', tcp), 'CNAME'), ['my.database.example.com']);
        t.same(data(get('externalname-cname', tcp)), ['my.database.example.com']);
        t.same(data(get('ptr-service', tcp)), ['web.default.svc.cluster.local']);
        t.same(data(get('ptr-pod', tcp)), [`${dashedIp(dbPod.ip!)}.db.data.svc.cluster.local`]);
        t.same(data(get('pod', tcp)), [dbPod.ip]);
        t.ok(isNxdomain(get('nxdomain-short', tcp)), 'nope: NXDOMAIN in every search domain');
        t.equal(get('nxdomain-fqdn', tcp).status, 'NXDOMAIN');
        t.equal(get('refused', tcp).status, 'REFUSED', 'outside the cluster domain: no upstream');
        t.match(get('nodata', tcp), { status: 'NOERROR', answers: [] }, 'AAAA of a ClusterIP: no data');
        t.match(judgeDns(get('headless', tcp), { addresses: get('headless', tcp).answers.map((a) => ({ ip: a.data, shown: a.data })) }), { passed: true });
        t.match(judgeDns(get('externalname', tcp), { cname: 'my.database.example.com' }), { passed: true });
        t.match(judgeDns(get('nxdomain-short', tcp), { nxdomain: true }), { passed: true });
      });
    }

    t.test('a datagram too big: truncated, then dig retries over TCP', async (t) => {
      t.match(out.truncatedFlags, /\btc\b/, `flags: ${out.truncatedFlags}`);
      t.equal(out.retriedOverTcp, 40);
    });

    t.test('a new zone changes the answers at once; a bad one is refused and the old kept', async (t) => {
      t.same(data(get('changed-short')), ['10.96.0.81']);
      t.equal(get('changed-headless', true).answers.length, 3);
      t.ok(isNxdomain(get('changed-gone')), 'a deleted Service is gone');
      t.match(out.badZone, { thrown: true, message: /could not take the DNS zone: bad zone/ });
      t.same(data(get('after-bad-zone')), ['10.96.0.81']);
      t.same(
        changedZone.names['web.default.svc.cluster.local']?.A?.answer.map((r) => r.data),
        ['10.96.0.81'],
      );
    });

    t.test('every query is logged with name, type, rcode and client', async (t) => {
      const log = out.dnsLog as {
        name: string;
        type: string;
        rcode: string;
        clientIP: string;
        protocol: string;
        netns: string;
        server: string;
        serverIP: string;
        answers: number;
      }[];
      t.equal(out.echoLog, 0, 'readLog() keeps to echo answers');
      t.ok(log.length >= queries.length, `${log.length} log lines for ${queries.length} lookups (search candidates included)`);
      t.match(log[0], {
        kind: 'dns',
        name: 'web.default.svc.cluster.local',
        type: 'A',
        rcode: 'SERVFAIL',
        clientIP: '10.53.0.2',
        protocol: 'UDP',
        netns: 'coredns-0',
        server: 'pod/coredns-0.kube-system',
        serverIP: '10.53.0.1',
        serverPort: 53,
      });
      t.ok(
        log.some((e) => e.protocol === 'TCP' && e.rcode === 'NOERROR' && e.answers === 1),
        'TCP queries too',
      );
      t.ok(
        log.some((e) => e.rcode === 'REFUSED' && e.name === 'example.com'),
        'REFUSED',
      );
      t.ok(
        log.some((e) => e.netns === 'coredns-1' && e.clientIP === '10.53.1.2'),
        'the other DNS pod',
      );
    });
  },
);
