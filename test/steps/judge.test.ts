import t from 'tap';
import { judgeConnect, judgeExec, judgePing, judgeResponses } from '../../src/steps/judge.js';
import type { EchoAnswer, Try } from '../../src/steps/probes.js';

const answer = (server: string, clientIP: string): EchoAnswer => ({
  pod: null,
  namespace: null,
  node: null,
  podIP: null,
  server,
  serverIP: '10.0.0.1',
  serverPort: 80,
  clientIP,
  clientPort: 40000,
  host: null,
  path: '/',
  time: '',
});
const ok = (server: string, clientIP = '192.168.8.100', status = 200): Try => ({ ok: true, status, answer: answer(server, clientIP) });
const fail = (failure: Try['failure']): Try => ({ ok: false, failure, error: `curl: ${failure}` });

t.test('status and source: every try must meet every rule', async (t) => {
  const client = { ip: '192.168.8.100', shown: 'host/client' };
  t.equal(judgeResponses([ok('pod/a.default'), ok('pod/b.default')], { status: 200, sourceIp: client }).passed, true);
  const snat = judgeResponses([ok('pod/a.default'), ok('pod/a.default', '10.244.1.0')], { status: 200, sourceIp: client });
  t.equal(snat.passed, false);
  t.match(snat.expected, 'source 192.168.8.100 (host/client)');
  t.match(snat.seen, '1 answers saw another source than 192.168.8.100');
  t.match(snat.seen, 'source 192.168.8.100, 10.244.1.0');
  t.equal(judgeResponses([ok('pod/a.default', '10.244.1.0')], { sourceIpNot: client }).passed, true);
  t.equal(judgeResponses([ok('pod/a.default')], { sourceIpNot: client }).passed, false);
  t.equal(judgeResponses([ok('pod/a.default', '1.1.1.1', 404)], { status: 200 }).passed, false);
});

t.test('the sources seen are named by the address book when the rules carry it', async (t) => {
  const client = { ip: '192.168.8.100', shown: 'host/client' };
  const names: Record<string, string> = { '192.168.8.100': 'host/client', '10.244.1.0': 'node/node-2@flannel.1' };
  const name = (ip: string) => (names[ip] ? `${ip} (${names[ip]})` : ip);
  const j = judgeResponses([ok('pod/a.default'), ok('pod/a.default', '10.244.1.0'), ok('pod/a.default', '10.9.9.9')], { status: 200, sourceIp: client, name });
  t.match(j.seen, '2 answers saw another source than 192.168.8.100 (host/client)');
  t.match(j.seen, 'source 192.168.8.100 (host/client), 10.244.1.0 (node/node-2@flannel.1), 10.9.9.9;');
  t.match(judgeResponses([ok('pod/a.default')], { sourceIpNot: client, name }).seen, '1 answers saw 192.168.8.100 (host/client)');
});

t.test('fail kinds', async (t) => {
  t.equal(judgeResponses([fail('timeout'), fail('timeout')], { fail: 'timeout' }).passed, true);
  t.equal(judgeResponses([fail('timeout'), fail('refused')], { fail: 'timeout' }).passed, false);
  t.equal(judgeResponses([fail('timeout'), fail('refused')], { fail: 'any' }).passed, true);
  t.equal(judgeResponses([fail('timeout'), ok('pod/a.default')], { fail: 'any' }).passed, false);
  t.equal(judgeResponses([fail('timeout')], { status: 200 }).passed, false);
});

t.test('backend, backends all and one, spread', async (t) => {
  const tries = [ok('pod/a.default'), ok('pod/b.default'), ok('pod/a.default'), ok('pod/b.default')];
  t.equal(judgeResponses(tries, { backend: 'pod/a.default' }).passed, false);
  t.equal(judgeResponses(tries.slice(0, 1), { backend: 'pod/a.default' }).passed, true);
  t.equal(judgeResponses(tries, { backends: 'all', endpoints: ['pod/a.default', 'pod/b.default'] }).passed, true);
  const missing = judgeResponses(tries, { backends: 'all', endpoints: ['pod/a.default', 'pod/b.default', 'pod/c.default'] });
  t.equal(missing.passed, false);
  t.match(missing.seen, 'never answered: pod/c.default');
  t.equal(judgeResponses(tries, { backends: 'all', endpoints: [] }).passed, false, 'no endpoints cannot all answer');
  t.equal(judgeResponses(tries, { backends: 'one' }).passed, false);
  t.equal(judgeResponses([ok('pod/a.default'), ok('pod/a.default')], { backends: 'one' }).passed, true);
  const skewed = [...Array(9).fill(ok('pod/a.default')), ok('pod/b.default')] as Try[];
  t.equal(judgeResponses(skewed, { spread: 0.5, endpoints: ['pod/a.default', 'pod/b.default'] }).passed, false, 'b got 1 of a fair 5');
  t.equal(judgeResponses(skewed, { spread: 0.2, endpoints: ['pod/a.default', 'pod/b.default'] }).passed, true, '1 >= 0.2 x 5');
});

t.test('sameBackendAs: every try answered by the one endpoint of the earlier step', async (t) => {
  const a = ok('pod/a.default');
  const same = judgeResponses([a, a], { sameBackendAs: { step: 'pinned', servers: ['pod/a.default'] } });
  t.equal(same.passed, true);
  t.match(same.expected, 'the endpoint that answered "pinned" (pod/a.default)');
  const moved = judgeResponses([a, ok('pod/b.default')], { sameBackendAs: { step: 'pinned', servers: ['pod/a.default'] } });
  t.equal(moved.passed, false);
  t.match(moved.seen, '1 answers came from another endpoint than pod/a.default');
  const spread = judgeResponses([a], { sameBackendAs: { step: 'spread', servers: ['pod/a.default', 'pod/b.default'] } });
  t.equal(spread.passed, false, 'an earlier step answered by two endpoints names none');
  t.match(spread.seen, '"spread" was answered by pod/a.default, pod/b.default, not by one endpoint');
  const notRun = judgeResponses([a], { sameBackendAs: { step: 'skipped', servers: undefined } });
  t.equal(notRun.passed, false);
  t.match(notRun.seen, '"skipped" did not run');
  t.same(judgeResponses([a, ok('pod/b.default'), a], {}).servers, ['pod/a.default', 'pod/b.default'], 'who answered, each once, for later steps');
});

t.test('backends: [..] exactly these, each at least once; backendsNot; differentBackendFrom', async (t) => {
  const a = ok('pod/a.default');
  const b = ok('pod/b.default');
  const c = ok('pod/c.default');
  t.equal(judgeResponses([a, b, a], { backendSet: ['pod/a.default', 'pod/b.default'] }).passed, true);
  const missing = judgeResponses([a, a], { backendSet: ['pod/a.default', 'pod/b.default'] });
  t.equal(missing.passed, false);
  t.match(missing.expected, 'answered by exactly pod/a.default, pod/b.default, each at least once');
  t.match(missing.seen, 'never answered: pod/b.default');
  const extra = judgeResponses([a, b, c], { backendSet: ['pod/a.default', 'pod/b.default'] });
  t.match(extra.seen, 'also answered by pod/c.default');
  t.equal(judgeResponses([a, b], { backendsNot: ['pod/c.default'] }).passed, true);
  const not = judgeResponses([a, c, c], { backendsNot: ['pod/c.default'] });
  t.equal(not.passed, false);
  t.match(not.seen, '2 answers came from pod/c.default');
  t.equal(judgeResponses([b, c], { differentBackendFrom: { step: 'first', servers: ['pod/a.default'] } }).passed, true);
  const same = judgeResponses([b, a], { differentBackendFrom: { step: 'first', servers: ['pod/a.default'] } });
  t.equal(same.passed, false);
  t.match(same.seen, '1 answers came from pod/a.default, which answered "first"');
  t.match(judgeResponses([b], { differentBackendFrom: { step: 'gone', servers: undefined } }).seen, '"gone" did not run');
  t.match(judgeResponses([b], { differentBackendFrom: { step: 'mute', servers: [] } }).seen, '"mute" was answered by no echo server');
});

t.test('backends: all with no endpoints says what the target stands for', async (t) => {
  const r = judgeResponses([ok('pod/a.default'), ok('pod/a.default')], {
    backends: 'all',
    endpoints: [],
    wayIn: 'service/web:80 via nodeport 30080 on node/node-2: endpoints none (no local endpoints: DROP)',
  });
  t.equal(r.passed, false);
  t.match(r.seen, 'kube-proxy gives the target no endpoints (service/web:80 via nodeport 30080 on node/node-2: endpoints none (no local endpoints: DROP))');
});

t.test('answers that are not the echo server cannot show a source', async (t) => {
  const r = judgeResponses([{ ok: true, status: 200, body: '<html>' }], { status: 200, sourceIp: { ip: '1.1.1.1', shown: '1.1.1.1' } });
  t.equal(r.passed, false);
  t.match(r.seen, 'not the echo server');
});

t.test('udp reply or none', async (t) => {
  t.equal(judgeResponses([{ ok: true, answer: answer('pod/dns.kube-system', '10.244.0.2') }], { reply: true }).passed, true);
  t.equal(judgeResponses([fail('timeout')], { reply: false }).passed, true);
  t.equal(judgeResponses([{ ok: true, answer: answer('pod/dns.kube-system', '10.244.0.2') }], { reply: false }).passed, false);
});

t.test('connect, ping, exec', async (t) => {
  t.equal(judgeConnect([{ ok: true }, { ok: true }], true).passed, true);
  t.equal(judgeConnect([{ ok: true }, fail('refused')], true).passed, false);
  t.equal(judgeConnect([fail('refused')], false).passed, true);
  t.equal(judgePing(3, 3, true).passed, true);
  t.equal(judgePing(3, 2, true).passed, false);
  t.equal(judgePing(3, 0, false).passed, true);
  t.equal(judgePing(3, 1, false).passed, false);
  const r = { exitCode: 0, stdout: 'KUBE-SVC-XPGD46QRK7WJZT7O\n', stderr: '', timedOut: false };
  t.equal(judgeExec(r, { exitCode: 0, stdoutMatches: 'KUBE-SVC-' }).passed, true);
  t.equal(judgeExec(r, { stdoutMatches: '^KUBE-SEP' }).passed, false);
  t.equal(judgeExec({ ...r, exitCode: 1 }, { exitCode: 0 }).passed, false);
});

t.test('backends rotate: the tries go round every endpoint in one fixed order', async (t) => {
  const eps = ['pod/a.default', 'pod/b.default', 'pod/c.default'];
  const seq = (...s: string[]) => s.map((x) => ok(`pod/${x}.default`));
  t.equal(judgeResponses(seq('b', 'c', 'a', 'b', 'c', 'a', 'b'), { backends: 'rotate', endpoints: eps }).passed, true, 'any starting point, any order, kept');
  const broken = judgeResponses(seq('a', 'b', 'c', 'a', 'c', 'b'), { backends: 'rotate', endpoints: eps });
  t.equal(broken.passed, false);
  t.match(broken.seen, 'try 5 was answered by pod/c.default, not pod/b.default');
  t.match(broken.seen, 'in order: pod/a.default, pod/b.default, pod/c.default, pod/a.default, pod/c.default, pod/b.default');
  const repeat = judgeResponses(seq('a', 'a', 'b', 'c'), { backends: 'rotate', endpoints: eps });
  t.equal(repeat.passed, false);
  t.match(repeat.seen, 'the first 3 answers were not each endpoint once');
  t.equal(judgeResponses(seq('a', 'b'), { backends: 'rotate', endpoints: eps }).passed, false, 'too few answers');
  t.equal(judgeResponses(seq('a', 'b', 'x'), { backends: 'rotate', endpoints: eps }).passed, false, 'an answer from outside the endpoints');
  t.equal(judgeResponses([], { backends: 'rotate', endpoints: [] }).passed, false, 'no endpoints');
});

t.test('what each try saw is kept as data: status, source, who answered, failure, exit code', async (t) => {
  const r = judgeResponses([ok('pod/a.default', '10.244.1.0'), fail('timeout'), { ok: true, status: 404, body: 'not found' }], { status: 200 });
  t.same(r.tries, [
    { ok: true, status: 200, source: '10.244.1.0', server: 'pod/a.default' },
    { ok: false, failure: 'timeout', error: 'curl: timeout' },
    { ok: true, status: 404 },
  ]);
  t.same(judgeConnect([{ ok: true }, { ok: false, failure: 'refused', error: 'Connection refused' }], true).tries, [
    { ok: true },
    { ok: false, failure: 'refused', error: 'Connection refused' },
  ]);
  t.same(judgePing(3, 2, true).tries, [{ ok: true }, { ok: true }, { ok: false, failure: 'timeout' }], 'ping counts replies');
  t.same(judgeExec({ exitCode: 3, stdout: 'out\n', stderr: '', timedOut: false }, { exitCode: 0 }).tries, [{ ok: true, exitCode: 3, timedOut: false, stdout: 'out', stderr: '' }]);
});

t.test('bytes: every answer had a body of that size', async (t) => {
  const ok = (bytes: number): Try => ({ ok: true, status: 200, bytes });
  const good = judgeResponses([ok(1000), ok(1000)], { status: 200, bytes: 1000 });
  t.ok(good.passed);
  t.match(good.expected, /a body of 1000 bytes on every try/);
  t.same(
    good.tries.map((x) => x.bytes),
    [1000, 1000],
    'each try records its size',
  );
  const short = judgeResponses([ok(1000), ok(512)], { status: 200, bytes: 1000 });
  t.notOk(short.passed);
  t.match(short.seen, /1 of 2 answers had another size than 1000 bytes.*bodies of 1000 bytes, 512 bytes/);
  const hung = judgeResponses([{ ok: false, failure: 'timeout', bytes: 0 }], { status: 200, bytes: 1000 });
  t.notOk(hung.passed, 'a try that failed is not an answer of that size');
});
