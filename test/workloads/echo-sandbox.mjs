// Helper of echo.test.ts, run inside `unshare --net --mount --pid --fork --mount-proc`:
// builds namespaces, drives the compiled EchoServer (dist/) with real curl and UDP
// clients, and prints one JSON object of what it saw. Plain .mjs because tap's
// TypeScript loader is not there. ECHO_MANY sets how many namespaces the scale check uses.
import { execFile as execFileCb, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFile = promisify(execFileCb);

// Only ever run where the kernel frees everything with us: pid 1 of a fresh PID namespace.
if (process.pid !== 1) {
  console.error('echo-sandbox.mjs must run as pid 1 under unshare --net --mount --pid --fork --mount-proc');
  process.exit(2);
}

const { EchoServer } = await import(new URL('../../dist/workloads/echo.js', import.meta.url));
const many = Number(process.env.ECHO_MANY ?? 50);
const sh = (cmd, ...args) => execFileSync(cmd, args, { encoding: 'utf8' });
const inNs = async (ns, cmd, ...args) => {
  try {
    const r = await execFile('ip', ['netns', 'exec', ns, cmd, ...args], { encoding: 'utf8', timeout: 10_000 });
    return { code: 0, stdout: r.stdout };
  } catch (error) {
    return { code: error.code ?? -1, stdout: error.stdout ?? '', stderr: error.stderr ?? '' };
  }
};
const json = (text) => {
  try {
    return JSON.parse(text);
  } catch {
    return { unparsed: text };
  }
};
// Processes of this PID namespace (--mount-proc: /proc shows only ours) whose command is python.
const pythons = () =>
  readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/comm`, 'utf8').startsWith('python');
      } catch {
        return false; // it ended while we looked
      }
    }).length;
const errorOf = (error) => ({ code: error.code, message: error.message, problems: error.problems, stderr: error.stderr });

// A private /run/netns; when the host has none, a tmpfs on /run so that not even the empty folder lands on the host.
sh('mount', '-t', 'tmpfs', 'knetlab-test', existsSync('/run/netns') ? '/run/netns' : '/run');
sh('mkdir', '-p', '/run/netns');
sh('ip', 'netns', 'add', 'a');
sh('ip', 'netns', 'add', 'b');
sh('ip', 'link', 'add', 'va', 'netns', 'a', 'type', 'veth', 'peer', 'name', 'vb', 'netns', 'b');
sh('ip', '-n', 'a', 'addr', 'add', '10.0.0.1/24', 'dev', 'va');
sh('ip', '-n', 'b', 'addr', 'add', '10.0.0.2/24', 'dev', 'vb');
for (const [ns, dev] of [
  ['a', 'va'],
  ['b', 'vb'],
]) {
  sh('ip', '-n', ns, 'link', 'set', 'lo', 'up');
  sh('ip', '-n', ns, 'link', 'set', dev, 'up');
}

const dir = mkdtempSync(join(tmpdir(), 'knetlab-echo-'));
const out = {};
try {
  const t0 = performance.now();
  const server = await EchoServer.start({ logFile: join(dir, 'echo.log') });
  out.startMs = Math.round(performance.now() - t0);
  const identity = { server: 'pod/web-0', pod: 'web-0', namespace: 'shop', node: 'node-1', podIP: '10.0.0.1' };
  await server.listen([
    { netns: 'a', port: 80, protocol: 'TCP', identity },
    { netns: 'a', port: 53, protocol: 'UDP', identity },
  ]);
  out.http = json((await inNs('b', 'curl', '-s', '-m', '5', 'http://10.0.0.1/x', '-H', 'Host: h.example')).stdout);
  const udpProbe = [
    'import socket',
    's = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)',
    's.settimeout(5)',
    "s.sendto(b'hello udp', ('10.0.0.1', 53))",
    'print(s.recvfrom(65535)[0].decode())',
  ].join('\n');
  out.udp = json((await inNs('b', 'python3', '-c', udpProbe)).stdout);
  // Two URLs in one curl share a kept-alive connection.
  const two = (await inNs('b', 'curl', '-s', '-m', '5', 'http://10.0.0.1/one', 'http://10.0.0.1/two')).stdout;
  out.keepAlive = two.trim().split('\n').map(json);
  const closeHeaders = await inNs('b', 'curl', '-s', '-m', '5', '-D', '-', '-o', '/dev/null', '-H', 'Connection: close', 'http://10.0.0.1/c');
  out.connectionClose = /^Connection: close\r?$/im.test(closeHeaders.stdout);
  const rawProbe = [
    'import socket',
    "c = socket.create_connection(('10.0.0.1', 80), timeout=5)",
    "c.sendall(b'hello\\n')",
    "data = b''",
    'while chunk := c.recv(65536): data += chunk',
    'print(data.decode())',
    // Then a client that goes away in the middle of its request.
    "c = socket.create_connection(('10.0.0.1', 80), timeout=5)",
    "c.sendall(b'GET /half HTTP/1.1\\r\\nHost: half')",
    'c.close()',
  ].join('\n');
  out.raw = json((await inNs('b', 'python3', '-c', rawProbe)).stdout);
  out.afterHalfRequest = json((await inNs('b', 'curl', '-s', '-m', '5', 'http://10.0.0.1/after')).stdout);

  // A missing namespace fails alone: the other listener of the same call is created.
  try {
    await server.listen([
      { netns: 'node-9', port: 80, protocol: 'TCP', identity: { server: 'pod/ghost' } },
      { netns: 'a', port: 8080, protocol: 'TCP', identity },
    ]);
    out.missing = { thrown: false };
  } catch (error) {
    out.missing = { thrown: true, ...errorOf(error) };
  }
  out.partial = json((await inNs('b', 'curl', '-s', '-m', '5', 'http://10.0.0.1:8080/p')).stdout);
  const before = await server.ping();
  await server.listen([{ netns: 'a', port: 80, protocol: 'TCP', identity }]);
  out.idempotent = { before, after: await server.ping() };
  await server.close([{ netns: 'a', port: 8080, protocol: 'TCP' }]);
  out.closed = { curlCode: (await inNs('b', 'curl', '-s', '-m', '5', 'http://10.0.0.1:8080/')).code, listeners: await server.ping() };
  out.log = await server.readLog();
  // ?size=BYTES: a body of exactly that size, the answer also in a header; a bad size is a 400.
  const sizeOf = async (q) =>
    (await inNs('b', 'curl', '-s', '-m', '5', '-o', '/dev/null', '-w', '%{http_code} %{size_download} %header{x-knetlab-echo}', `http://10.0.0.1/s?${q}`)).stdout;
  out.sized = await Promise.all(['size=100000', 'a=1&size=5', 'size=16777217', 'size=x'].map(sizeOf));
  out.sizedBody = (await inNs('b', 'curl', '-s', '-m', '5', 'http://10.0.0.1/s?size=400')).stdout;

  // Many namespaces, one process.
  const names = Array.from({ length: many }, (_, i) => `ns-${i}`);
  execFileSync('ip', ['-batch', '-'], { input: names.map((n) => `netns add ${n}\n`).join('') });
  sh('ip', '-all', 'netns', 'exec', 'ip', 'link', 'set', 'lo', 'up');
  const started = performance.now();
  await server.listen(names.map((n, i) => ({ netns: n, port: 80, protocol: 'TCP', identity: { server: `pod/p-${i}`, pod: `p-${i}` } })));
  const listenMs = performance.now() - started;
  const answers = [];
  for (let i = 0; i < names.length; i += 16) {
    const batch = names.slice(i, i + 16).map((n) => inNs(n, 'curl', '-s', '-m', '5', 'http://127.0.0.1/'));
    answers.push(...(await Promise.all(batch)).map((r) => json(r.stdout).pod));
  }
  out.many = {
    count: many,
    listenMs: Math.round(listenMs),
    answeredBySelf: answers.filter((pod, i) => pod === `p-${i}`).length,
    pythons: pythons(),
    listeners: await server.ping(),
    rssKiB: Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${server.pid}/status`, 'utf8'))?.[1]),
    // After all those setns calls the server must be back in its own namespace (ours).
    homeNetns: readlinkSync(`/proc/${server.pid}/ns/net`) === readlinkSync('/proc/self/ns/net'),
  };

  const pid = server.pid;
  await server.stop();
  out.stopped = { pythons: pythons(), alive: existsSync(`/proc/${pid}`) };
  try {
    await server.ping();
    out.stopped.pingAfterStop = 'answered';
  } catch (error) {
    out.stopped.pingAfterStop = error.code;
  }

  // An unexpected exit rejects what is asked of it afterwards, with the reason.
  const doomed = await EchoServer.start({ logFile: join(dir, 'doomed.log') });
  process.kill(doomed.pid, 'SIGKILL');
  try {
    await doomed.listen([{ netns: 'a', port: 81, protocol: 'TCP', identity }]);
    out.killed = { thrown: false };
  } catch (error) {
    out.killed = { thrown: true, ...errorOf(error) };
  }
  // A server that cannot start reports its stderr.
  try {
    await EchoServer.start({ logFile: join(dir, 'no/such/dir/echo.log') });
    out.badStart = { thrown: false };
  } catch (error) {
    out.badStart = { thrown: true, ...errorOf(error) };
  }
  out.finalPythons = pythons();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(JSON.stringify(out));
