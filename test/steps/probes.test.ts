import t from 'tap';
import { RecordingRunner } from '../../src/kernel/exec.js';
import { classifyCurl, httpProbe, pingProbe, tcpProbe } from '../../src/steps/probes.js';

t.test('curl failures are sorted as the format names them', async (t) => {
  t.equal(classifyCurl(28, 'Connection timed out after 2001 milliseconds'), 'timeout');
  t.equal(classifyCurl(7, "Failed to connect to 10.96.0.5 port 80 after 0 ms: Couldn't connect to server (Connection refused)"), 'refused');
  t.equal(classifyCurl(7, 'Failed to connect to 10.0.0.1 port 80 after 3 ms: No route to host'), 'unreachable');
  t.equal(classifyCurl(56, 'Recv failure: Connection reset by peer'), 'refused');
  t.equal(classifyCurl(6, 'Could not resolve host: nginx'), 'error');
});

t.test('one curl for all tries; each try parsed from its marker line', async (t) => {
  const body =
    '{"pod":"web-0","namespace":"default","node":"n1","podIP":"10.244.0.2","server":"pod/web-0.default","serverIP":"10.244.0.2","serverPort":80,"clientIP":"10.244.1.2","clientPort":1,"host":"x","path":"/","time":""}';
  const runner = new RecordingRunner(() => ({
    stdout: `${body}\n@@knetlab-try 200 0 \n\n@@knetlab-try 000 28 Connection timed out after 500 milliseconds\n<html>404</html>\n@@knetlab-try 404 0 \n`,
  }));
  const tries = await httpProbe(runner, 'web-1.default', 'http://10.96.0.5:80/', { headers: { Host: 'a.example' }, count: 3, timeoutMs: 500 });
  t.equal(runner.calls.length, 1, 'one process for three tries');
  const argv = runner.calls[0]!.argv;
  t.same(argv.slice(0, 4), ['ip', 'netns', 'exec', 'web-1.default']);
  t.equal(argv.filter((a) => a === 'http://10.96.0.5:80/').length, 3);
  t.ok(argv.includes('Connection: close') && argv.includes('Host: a.example'));
  t.equal(tries[0]!.answer?.clientIP, '10.244.1.2');
  t.same(tries[1], { ok: false, failure: 'timeout', error: 'curl: (28) Connection timed out after 500 milliseconds' });
  t.same(tries[2], { ok: true, status: 404, body: '<html>404</html>' });
  const short = new RecordingRunner(() => ({ stdout: '', stderr: 'curl: not found', exitCode: 127 }));
  await t.rejects(httpProbe(short, 'x', 'http://1.1.1.1/', { headers: {}, count: 1, timeoutMs: 100 }), /0 results for 1 tries/);
});

t.test('sized: the body counted, not read; the answer from its header; bytes of every try', async (t) => {
  const answer =
    '{"pod":"web-0","namespace":"default","node":"n1","podIP":"10.244.0.2","server":"pod/web-0.default","serverIP":"10.244.0.2","serverPort":80,"clientIP":"10.244.1.2","clientPort":1,"host":"x","path":"/","time":""}';
  const runner = new RecordingRunner(() => ({
    stdout: `\n@@knetlab-size 100000 ${answer}\n@@knetlab-try 200 0 \n\n@@knetlab-size 0 \n@@knetlab-try 000 28 Operation timed out after 2001 milliseconds with 0 bytes received\n`,
  }));
  const tries = await httpProbe(runner, 'c.default', 'http://10.244.0.2:80/?size=100000', { headers: {}, count: 2, timeoutMs: 2000, sized: true });
  const argv = runner.calls[0]!.argv;
  t.equal(argv.filter((a) => a === '/dev/null').length, 2, 'every try to /dev/null');
  t.match(argv.join(' '), /%\{size_download\} %header\{x-knetlab-echo\}/);
  t.match(tries[0], { ok: true, status: 200, bytes: 100000, answer: { server: 'pod/web-0.default', clientIP: '10.244.1.2' } });
  t.same(tries[1], { ok: false, failure: 'timeout', error: 'curl: (28) Operation timed out after 2001 milliseconds with 0 bytes received', bytes: 0 });
  const plain = await httpProbe(new RecordingRunner(() => ({ stdout: `${answer}\n@@knetlab-size 215\n@@knetlab-try 200 0 \n` })), 'c', 'http://x/', {
    headers: {},
    count: 1,
    timeoutMs: 100,
  });
  t.match(plain[0], { ok: true, bytes: 215, answer: { server: 'pod/web-0.default' } }, 'unsized: the body is read, its size counted too');
});

t.test('the verbose connect failure tells refused from unreachable where the message does not', async (t) => {
  const runner = new RecordingRunner(() => ({
    stdout: [
      '*   Trying 10.96.0.5:80...',
      '* connect to 10.96.0.5 port 80 failed: Connection refused',
      "curl: (7) Failed to connect to 10.96.0.5 port 80 after 0 ms: Couldn't connect to server",
      "@@knetlab-try 000 7 Failed to connect to 10.96.0.5 port 80 after 0 ms: Couldn't connect to server",
      '*   Trying 10.244.0.77:80...',
      '* connect to 10.244.0.77 port 80 failed: No route to host',
      "@@knetlab-try 000 7 Failed to connect to 10.244.0.77 port 80 after 3071 ms: Couldn't connect to server",
      '',
    ].join('\n'),
  }));
  const tries = await httpProbe(runner, 'c.default', 'http://10.96.0.5:80/', { headers: {}, count: 2, timeoutMs: 4000 });
  t.same(
    tries.map((x) => x.failure),
    ['refused', 'unreachable'],
  );
  t.match(tries[0]!.error!, /Connection refused/);
});

t.test('tcp and ping results', async (t) => {
  const tcp = await tcpProbe(
    new RecordingRunner(() => ({ stdout: '@@knetlab-try 0 \n@@knetlab-try 124 \n@@knetlab-try 1 bash: connect: Connection refused \n' })),
    'a',
    '10.0.0.1',
    80,
    { count: 3, timeoutMs: 100 },
  );
  t.same(
    tcp.map((x) => (x.ok ? 'ok' : x.failure)),
    ['ok', 'timeout', 'refused'],
  );
  const ping = await pingProbe(new RecordingRunner(() => ({ stdout: '3 packets transmitted, 2 received, 33% packet loss' })), 'a', '10.0.0.1', {
    count: 3,
    timeoutMs: 100,
    intervalMs: 200,
  });
  t.same([ping.sent, ping.received], [3, 2]);
});
