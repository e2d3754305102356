import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import t from 'tap';
import type { EchoAnswer } from '../../src/workloads/echo.js';

// The kernel part runs in echo-sandbox.mjs under unshare (own network, mount and PID
// namespaces), against the compiled dist/ since tap's TypeScript loader is not there.
const helper = 'test/workloads/echo-sandbox.mjs';
const compiled = ['dist/workloads/echo.js', 'dist/workloads/echo-server.py'];
const script = 'src/workloads/echo-server.py';
const notRoot = process.getuid?.() !== 0;

const hostNetns = () => spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;

t.test('control protocol: a reply per line, in order; bad lines answered; EOF ends it', async (t) => {
  // No listener is created, so this touches no network and needs no root.
  const input = [
    'not json',
    '[1]',
    '{"id":7,"op":"nope"}',
    '{"id":8,"op":"listen","listeners":[{"netns":"x/y","port":80,"protocol":"TCP","identity":{"server":"s"}},{"netns":"x","port":0,"protocol":"TCP","identity":{"server":"s"}},{"netns":"x","port":1,"protocol":"SCTP","identity":{"server":"s"}}]}',
    '{"id":9,"op":"close","listeners":[{"netns":"x","port":80,"protocol":"UDP"}]}',
    '{"id":10,"op":"ping"}',
    '',
  ].join('\n');
  const r = spawnSync('python3', [script], { input, encoding: 'utf8', timeout: 10_000 });
  t.equal(r.status, 0, r.stderr);
  const replies = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  t.equal(replies.length, 6);
  t.match(replies[0], { id: null, ok: false, error: /bad control line/ });
  t.match(replies[1], { id: null, ok: false, error: /must be an object/ });
  t.match(replies[2], { id: 7, ok: false, error: /unknown op 'nope'/ });
  t.match(replies[3], {
    id: 8,
    ok: false,
    errors: [{ error: "bad netns 'x/y'" }, { error: 'bad port 0' }, { error: "bad protocol 'SCTP'" }],
  });
  t.same(replies[4], { id: 9, ok: true }, 'closing an unknown listener is a no-op');
  t.same(replies[5], { id: 10, ok: true, listeners: 0 });
});

t.test('echo server in real network namespaces', { skip: notRoot && 'needs root: it creates network namespaces (in a private sandbox)' }, async (t) => {
  for (const file of compiled) {
    if (!existsSync(file)) throw new Error(`${file} is missing: run \`npx tsc && node scripts/copy-assets.mjs\` first`);
  }
  const before = hostNetns();
  const env = { ...process.env };
  delete env.NODE_OPTIONS; // the helper is plain JavaScript: no TypeScript loader
  const run = spawnSync('unshare', ['--net', '--mount', '--pid', '--fork', '--mount-proc', '--', process.execPath, helper], {
    encoding: 'utf8',
    env,
    timeout: 120_000,
  });
  t.equal(run.status, 0, `sandbox helper exit status; stderr: ${run.stderr}`);
  t.equal(hostNetns(), before, '`ip netns list` on the host is unchanged');
  if (before !== '') t.comment(`the host already had namespaces: ${before}`);
  if (run.status !== 0) return;
  const out = JSON.parse(run.stdout);
  t.comment(`server start ${out.startMs} ms; ${out.many.count} listeners in ${out.many.count} namespaces: ${out.many.listenMs} ms`);

  const identity = { pod: 'web-0', namespace: 'shop', node: 'node-1', podIP: '10.0.0.1', server: 'pod/web-0' };
  t.test('HTTP from another namespace: what the server saw', async (t) => {
    const a = out.http as EchoAnswer;
    t.match(a, { ...identity, serverIP: '10.0.0.1', serverPort: 80, clientIP: '10.0.0.2', host: 'h.example', path: '/x' });
    t.type(a.clientPort, 'number');
    t.match(a.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });
  t.test('HTTP ?size=BYTES: a body of that size, the answer in a header', async (t) => {
    const [big, tiny, over, bad] = out.sized as string[];
    t.match(big, /^200 100000 \{"pod":"web-0",.*"path":"\/s",/, 'the path without its query');
    t.match(tiny, /^200 5 \{"pod":"web-0"/, 'smaller than the answer: filler only');
    t.match(over, /^400 /, 'more than 16 MiB is refused');
    t.match(bad, /^400 /);
    t.equal(out.sizedBody.length, 400);
    t.match(JSON.parse(out.sizedBody.split('\n')[0]), { ...identity, path: '/s' }, "the body starts with the answer's line");
  });
  t.test('UDP: the answer carries the datagram', async (t) => {
    t.match(out.udp, { ...identity, serverIP: '10.0.0.1', serverPort: 53, clientIP: '10.0.0.2', host: null, path: null, data: 'hello udp' });
  });
  t.test('keep-alive, Connection: close, raw TCP, a client gone mid-request', async (t) => {
    t.equal(out.keepAlive.length, 2);
    t.same(
      out.keepAlive.map((a: EchoAnswer) => a.path),
      ['/one', '/two'],
    );
    t.equal(out.keepAlive[0].clientPort, out.keepAlive[1].clientPort, 'both requests on one connection');
    t.ok(out.connectionClose, 'answers Connection: close');
    t.match(out.raw, { ...identity, clientIP: '10.0.0.2', host: null, path: null }, 'a raw line gets the JSON anyway');
    t.match(out.afterHalfRequest, { path: '/after' }, 'still serving after a client left mid-request');
  });
  t.test('a missing namespace is reported; the rest of the call is done', async (t) => {
    t.match(out.missing, { thrown: true, code: 'ECOMMAND', problems: [{ message: 'netns node-9: No such file or directory' }] });
    t.match(out.missing.message, /netns node-9: No such file or directory/);
    t.match(out.partial, { serverPort: 8080, clientIP: '10.0.0.2' });
    t.same(out.idempotent, { before: 3, after: 3 }, 'listening twice is a no-op');
    t.same(out.closed, { curlCode: 7, listeners: 2 }, 'a closed listener refuses connections');
  });
  t.test('the log has every request, with protocol and netns', async (t) => {
    const log = out.log as (EchoAnswer & { protocol: string; netns: string | null })[];
    t.match(log[0], { ...identity, protocol: 'TCP', netns: 'a', clientIP: '10.0.0.2', host: 'h.example', path: '/x' });
    t.match(log[1], { ...identity, protocol: 'UDP', netns: 'a', data: 'hello udp' });
    t.same(
      log.map((e) => e.path),
      ['/x', null, '/one', '/two', '/c', null, '/after', '/p'],
    );
  });
  t.test('many namespaces, one process', async (t) => {
    t.equal(out.many.answeredBySelf, out.many.count, 'every namespace answered by its own listener');
    t.equal(out.many.pythons, 1, 'exactly one python process');
    t.equal(out.many.listeners, out.many.count + 2);
    t.ok(out.many.homeNetns, 'the server is back in its own namespace');
  });
  t.test('stop, crash and a failed start', async (t) => {
    t.same(out.stopped, { pythons: 0, alive: false, pingAfterStop: 'ECOMMAND' }, 'stop() leaves no python behind');
    t.match(out.killed, { thrown: true, code: 'ECOMMAND', message: /exited unexpectedly \(SIGKILL\)/ });
    t.match(out.badStart, { thrown: true, code: 'ECOMMAND', message: /cannot open log .*No such file or directory/ });
    t.equal(out.finalPythons, 0);
  });
});
