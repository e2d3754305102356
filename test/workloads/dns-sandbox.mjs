// Helper of dns.test.ts, run inside `unshare --net --mount --pid --fork --mount-proc`: two DNS
// "pods" and a client namespace, the compiled EchoServer (dist/) serving dns listeners from the
// zones the test rendered, and real dig (through dnsProbe) from the client with the resolv.conf
// `ip netns exec` bind-mounts from /etc/netns/client/. Prints one JSON object of what it saw.
// Plain .mjs because tap's TypeScript loader is not there. argv[2]: the test's input (JSON file).
import { execFile as execFileCb, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';

const execFile = promisify(execFileCb);

// Only ever run where the kernel frees everything with us: pid 1 of a fresh PID namespace.
if (process.pid !== 1) {
  console.error('dns-sandbox.mjs must run as pid 1 under unshare --net --mount --pid --fork --mount-proc');
  process.exit(2);
}

const { EchoServer } = await import(new URL('../../dist/workloads/echo.js', import.meta.url));
const { dnsProbe } = await import(new URL('../../dist/steps/dns-probe.js', import.meta.url));
const { execaRunner } = await import(new URL('../../dist/kernel/exec.js', import.meta.url));
const input = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const sh = (cmd, ...args) => execFileSync(cmd, args, { encoding: 'utf8' });
const inNs = async (ns, cmd, ...args) => {
  try {
    const r = await execFile('ip', ['netns', 'exec', ns, cmd, ...args], { encoding: 'utf8', timeout: 20_000 });
    return { code: 0, stdout: r.stdout };
  } catch (error) {
    return { code: error.code ?? -1, stdout: error.stdout ?? '', stderr: error.stderr ?? '' };
  }
};
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

// Private /run (namespaces, log, overlay layers) and /etc/netns, as src/kernel/sandbox.ts makes them:
// a tmpfs on /etc/netns where the host has one, else an overlay on /etc whose upper layer is on /run.
sh('mount', '-t', 'tmpfs', 'knetlab-test', '/run');
mkdirSync('/run/netns');
if (existsSync('/etc/netns')) {
  sh('mount', '-t', 'tmpfs', 'knetlab-test-etc-netns', '/etc/netns');
} else {
  mkdirSync('/run/etc-upper');
  mkdirSync('/run/etc-work');
  sh('mount', '-t', 'overlay', 'knetlab-test-etc', '-o', 'lowerdir=/etc,upperdir=/run/etc-upper,workdir=/run/etc-work', '/etc');
  mkdirSync('/etc/netns');
}
// coredns-0 and coredns-1 each on a veth to the client: one server process serves both.
for (const ns of ['coredns-0', 'coredns-1', 'client']) {
  sh('ip', 'netns', 'add', ns);
  sh('ip', '-n', ns, 'link', 'set', 'lo', 'up');
}
const links = [
  ['coredns-0', 'd0', '10.53.0.1', 'c0', '10.53.0.2'],
  ['coredns-1', 'd1', '10.53.1.1', 'c1', '10.53.1.2'],
];
for (const [ns, dev, ip, peer, peerIp] of links) {
  sh('ip', 'link', 'add', dev, 'netns', ns, 'type', 'veth', 'peer', 'name', peer, 'netns', 'client');
  sh('ip', '-n', ns, 'addr', 'add', `${ip}/24`, 'dev', dev);
  sh('ip', '-n', 'client', 'addr', 'add', `${peerIp}/24`, 'dev', peer);
  sh('ip', '-n', ns, 'link', 'set', dev, 'up');
  sh('ip', '-n', 'client', 'link', 'set', peer, 'up');
}
mkdirSync('/etc/netns/client');
writeFileSync('/etc/netns/client/resolv.conf', input.resolvConf);

const out = { queries: [] };
const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const server = await EchoServer.start({ logFile: '/run/echo-log.jsonl', python });
const listeners = ['coredns-0', 'coredns-1'].flatMap((ns, i) =>
  ['UDP', 'TCP'].map((protocol) => ({
    netns: ns,
    port: 53,
    protocol,
    kind: 'dns',
    identity: { server: `pod/${ns}.kube-system`, pod: ns, namespace: 'kube-system', node: `node-${i + 1}`, podIP: links[i][2] },
  })),
);
await server.listen(listeners);
out.listeners = await server.ping();
out.idempotent = await server.listen(listeners).then(() => server.ping());
try {
  await server.listen([{ ...listeners[0], kind: 'echo' }]);
  out.kindClash = { thrown: false };
} catch (error) {
  out.kindClash = { thrown: true, message: error.message };
}
out.inNamespace = (await inNs('client', 'cat', '/etc/resolv.conf')).stdout;

const ask = async (label, name, type, tcp = false) => {
  const r = await dnsProbe(execaRunner, 'client', name, type, 2000, { tcp });
  out.queries.push({ label, name, type, tcp, ...r });
};
// Before any zone: SERVFAIL, as CoreDNS before it has synced.
await ask('before-zone', 'web', 'A');
await server.setDnsZone(input.zone);
for (const tcp of [false, true]) {
  await ask('short', 'web', 'A', tcp);
  await ask('name.namespace', 'web.default', 'A', tcp);
  await ask('full', 'web.default.svc.cluster.local', 'A', tcp);
  await ask('fqdn', 'web.default.svc.cluster.local.', 'A', tcp);
  await ask('headless', 'db.data', 'A', tcp);
  await ask('srv', '_http._tcp.web', 'SRV', tcp);
  await ask('headless-srv', '_pg._tcp.db.data', 'SRV', tcp);
  await ask('externalname', 'ext', 'A', tcp);
  await ask('externalname-cname', 'ext', 'CNAME', tcp);
  await ask('ptr-service', input.ptrService, 'PTR', tcp);
  await ask('ptr-pod', input.ptrPod, 'PTR', tcp);
  await ask('pod', input.podName, 'A', tcp);
  await ask('nxdomain-short', 'nope', 'A', tcp);
  await ask('nxdomain-fqdn', 'nope.default.svc.cluster.local.', 'A', tcp);
  await ask('refused', 'example.com.', 'A', tcp);
  await ask('nodata', 'web', 'AAAA', tcp);
}
// The other DNS pod answers too (dig straight at it, no search list).
const other = await inNs('client', 'dig', '+short', '+time=2', '+tries=1', '@10.53.1.1', 'web.default.svc.cluster.local', 'A');
out.otherPod = other.stdout.trim();
// 40 addresses do not fit a 512-byte datagram: without EDNS the answer is truncated and dig retries over TCP.
const truncated = await inNs('client', 'dig', '+noedns', '+ignore', '+time=2', '+tries=1', '@10.53.0.1', 'big.default.svc.cluster.local', 'A');
out.truncatedFlags = /;; flags: ([a-z ]+);/.exec(truncated.stdout)?.[1] ?? truncated.stdout;
const retried = await inNs('client', 'dig', '+noedns', '+short', '+time=2', '+tries=1', '@10.53.0.1', 'big.default.svc.cluster.local', 'A');
out.retriedOverTcp = retried.stdout.trim().split('\n').filter(Boolean).length;

// The model changes: a new zone replaces the old one at once.
await server.setDnsZone(input.changedZone);
await ask('changed-short', 'web', 'A');
await ask('changed-headless', 'db.data', 'A', true);
await ask('changed-gone', 'ext', 'A');
try {
  await server.setDnsZone({ domain: 'x' });
  out.badZone = { thrown: false };
} catch (error) {
  out.badZone = { thrown: true, message: error.message };
}
await ask('after-bad-zone', 'web', 'A');

out.dnsLog = await server.readDnsLog();
out.echoLog = (await server.readLog()).length;
out.pythons = pythons();
await server.stop();
out.pythonsAfterStop = pythons();
console.log(JSON.stringify(out));
