// Helper of trace.test.ts, run as pid 1 under `unshare --net --mount --pid --fork --mount-proc`:
// builds client (c) -> router (r) -> server (s) namespaces, gives r kube-proxy-shaped rules of a
// mode (iptables or nftables: a ClusterIP DNATed and masqueraded, one dropped, one rejected),
// traces probes through them with kernel/trace.js and prints, per probe, what each namespace's
// monitor and conntrack gave, and what was left after disarming (tables, monitor processes).
// Plain .mjs against dist/: tap's TypeScript loader is not here.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';

if (process.pid !== 1) {
  console.error('trace-sandbox.mjs must run as pid 1 under unshare --net --mount --pid --fork --mount-proc');
  process.exit(2);
}
const [mode] = process.argv.slice(2);
if (mode !== 'iptables' && mode !== 'nftables') {
  console.error('usage: trace-sandbox.mjs iptables|nftables');
  process.exit(2);
}
const dist = (p) => new URL(`../../dist/${p}`, import.meta.url);
const { armTrace, routeGet, TRACE_TABLE } = await import(dist('kernel/trace.js'));
const { execaRunner, inNetns } = await import(dist('kernel/exec.js'));
const { kubeHash16 } = await import(dist('dataplane/kube-hash.js'));

const run = (argv, input) => execFileSync(argv[0], argv.slice(1), { encoding: 'utf8', ...(input === undefined ? {} : { input }) });
run(['mount', '-t', 'tmpfs', 'knetlab-test', '/run']);
mkdirSync('/run/netns');

run(['ip', '-batch', '-'], 'netns add c\nnetns add r\nnetns add s\nlink add c0 netns c type veth peer name r0 netns r\nlink add s0 netns s type veth peer name r1 netns r\n');
const batches = {
  c: ['addr add 10.0.0.2/24 dev c0', 'link set c0 up', 'link set lo up', 'route add default via 10.0.0.1'],
  // r routes what it does not know on to s, as a node does to its gateway: dropped and rejected probes reach FORWARD.
  r: ['addr add 10.0.0.1/24 dev r0', 'addr add 10.1.0.1/24 dev r1', 'link set r0 up', 'link set r1 up', 'link set lo up', 'route add default via 10.1.0.2'],
  s: ['addr add 10.1.0.2/24 dev s0', 'link set s0 up', 'link set lo up', 'route add default via 10.1.0.1'],
};
for (const [ns, lines] of Object.entries(batches)) run(['ip', '-n', ns, '-batch', '-'], `${lines.join('\n')}\n`);
run(['ip', 'netns', 'exec', 'r', 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);

// kube-proxy's names: KUBE-SVC- hashes portName + proto, KUBE-SEP- portName + proto + endpoint.
const svc = (portName, proto) => `KUBE-SVC-${kubeHash16(portName + proto)}`;
const sep = (portName, proto, ep) => `KUBE-SEP-${kubeHash16(portName + proto + ep)}`;
const web = { name: 'ns1/web:http', proto: 'tcp', ip: '172.30.0.41', port: 80, ep: '10.1.0.2:80' };
const dns = { name: 'ns1/dns:dns', proto: 'udp', ip: '172.30.0.42', port: 53, ep: '10.1.0.2:53' };

const iptablesRules = `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-EXTERNAL-SERVICES - [0:0]
-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES
-A KUBE-SERVICES -m comment --comment "ns3/empty:http has no endpoints" -m tcp -p tcp -d 172.30.0.44 --dport 80 -j REJECT --reject-with icmp-port-unreachable
-A KUBE-EXTERNAL-SERVICES -m comment --comment "ns2/local:http has no local endpoints" -m tcp -p tcp -d 172.30.0.43 --dport 80 -j DROP
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-POSTROUTING - [0:0]
:KUBE-MARK-MASQ - [0:0]
${[web, dns].map((s) => `:${svc(s.name, s.proto)} - [0:0]\n:${sep(s.name, s.proto, s.ep)} - [0:0]`).join('\n')}
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING
-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000
-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully
-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000
${[web, dns]
  .map((s) =>
    [
      `-A KUBE-SERVICES -m comment --comment "${s.name} cluster IP" -m ${s.proto} -p ${s.proto} -d ${s.ip} --dport ${s.port} -j ${svc(s.name, s.proto)}`,
      `-A ${svc(s.name, s.proto)} -m comment --comment "${s.name} cluster IP" -m ${s.proto} -p ${s.proto} -d ${s.ip} --dport ${s.port} ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ`,
      `-A ${svc(s.name, s.proto)} -m comment --comment "${s.name} -> ${s.ep}" -j ${sep(s.name, s.proto, s.ep)}`,
      `-A ${sep(s.name, s.proto, s.ep)} -m comment --comment ${s.name} -s ${s.ep.split(':')[0]} -j KUBE-MARK-MASQ`,
      `-A ${sep(s.name, s.proto, s.ep)} -m comment --comment ${s.name} -m ${s.proto} -p ${s.proto} -j DNAT --to-destination ${s.ep}`,
    ].join('\n'),
  )
  .join('\n')}
COMMIT
`;

// nftables mode, in kube-proxy's words (pkg/proxy/nftables): base chains, services vmap, chains per Service and endpoint.
const nftChain = (kind, s, ep) => {
  const [ns, rest] = s.name.split('/');
  const [name, port] = rest.split(':');
  const tail = `${ns}/${name}/${s.proto}/${port}${ep ? `__${ep.replace(':', '/')}` : ''}`;
  return `${kind}-${kubeHash16(tail).slice(0, 8)}-${tail}`;
};
const nftRules = `add table ip kube-proxy { comment "rules for kube-proxy" ; }
add chain ip kube-proxy filter-forward { type filter hook forward priority -110 ; }
add chain ip kube-proxy nat-prerouting { type nat hook prerouting priority -100 ; }
add chain ip kube-proxy nat-output { type nat hook output priority -100 ; }
add chain ip kube-proxy nat-postrouting { type nat hook postrouting priority 100 ; }
add chain ip kube-proxy service-endpoints-check
add rule ip kube-proxy filter-forward ct state new jump service-endpoints-check
add chain ip kube-proxy services
add rule ip kube-proxy nat-output jump services
add rule ip kube-proxy nat-prerouting jump services
add chain ip kube-proxy masquerading
add rule ip kube-proxy nat-postrouting jump masquerading
add chain ip kube-proxy mark-for-masquerade
add rule ip kube-proxy mark-for-masquerade mark set mark or 0x4000
add rule ip kube-proxy masquerading mark and 0x4000 == 0 return
add rule ip kube-proxy masquerading mark set mark xor 0x4000
add rule ip kube-proxy masquerading masquerade fully-random
add map ip kube-proxy no-endpoint-services { type ipv4_addr . inet_proto . inet_service : verdict ; comment "vmap to drop or reject packets to services with no endpoints" ; }
add chain ip kube-proxy reject-chain { comment "helper for @no-endpoint-services / @no-endpoint-nodeports" ; }
add rule ip kube-proxy reject-chain reject
add rule ip kube-proxy service-endpoints-check ip daddr . meta l4proto . th dport vmap @no-endpoint-services
add map ip kube-proxy service-ips { type ipv4_addr . inet_proto . inet_service : verdict ; comment "ClusterIP, ExternalIP and LoadBalancer IP traffic" ; }
add rule ip kube-proxy services ip daddr . meta l4proto . th dport vmap @service-ips
add element ip kube-proxy no-endpoint-services { 172.30.0.43 . tcp . 80 comment "ns2/local:http" : drop }
add element ip kube-proxy no-endpoint-services { 172.30.0.44 . tcp . 80 comment "ns3/empty:http" : goto reject-chain }
${[web, dns]
  .map((s) => {
    const sc = nftChain('service', s);
    const ec = nftChain('endpoint', s, s.ep);
    return [
      `add chain ip kube-proxy ${ec}`,
      `add chain ip kube-proxy ${sc}`,
      `add element ip kube-proxy service-ips { ${s.ip} . ${s.proto} . ${s.port} : goto ${sc} }`,
      `add rule ip kube-proxy ${sc} ip daddr ${s.ip} ${s.proto} dport ${s.port} ip saddr != 10.244.0.0/16 jump mark-for-masquerade`,
      `add rule ip kube-proxy ${sc} numgen random mod 1 vmap { 0 : goto ${ec} }`,
      `add rule ip kube-proxy ${ec} ip saddr ${s.ep.split(':')[0]} jump mark-for-masquerade`,
      `add rule ip kube-proxy ${ec} meta l4proto ${s.proto} dnat to ${s.ep}`,
    ].join('\n');
  })
  .join('\n')}
`;
if (mode === 'iptables') run(['ip', 'netns', 'exec', 'r', 'iptables-restore'], iptablesRules);
else run(['ip', 'netns', 'exec', 'r', 'nft', '-f', '-'], nftRules);

// The server: TCP on 80 answers "hi", UDP on 53 echoes; one python process in s, ended with the sandbox.
const server = `
import socket, threading
t = socket.socket(); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); t.bind(("0.0.0.0", 80)); t.listen()
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("0.0.0.0", 53))
def tcp():
    while True:
        c, _ = t.accept(); c.sendall(b"hi"); c.close()
def udp():
    while True:
        d, a = u.recvfrom(2048); u.sendto(d, a)
threading.Thread(target=tcp, daemon=True).start(); print("ready", flush=True); udp()
`;
const { spawn } = await import('node:child_process');
const srv = spawn('ip', ['netns', 'exec', 's', 'python3', '-c', server], { stdio: ['ignore', 'pipe', 'inherit'] });
await new Promise((resolve) => srv.stdout.once('data', resolve));

const probeScript = `
import socket, sys
proto, ip, port, sport = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("", sport)); s.settimeout(1)
try:
    if proto == "tcp":
        s.connect((ip, port)); print(s.recv(10).decode())
    else:
        s.sendto(b"ping", (ip, port)); print(s.recvfrom(10)[0].decode())
except Exception as e:
    print("failed:", e)
`;
const probes = [
  { name: 'tcp-dnat-masquerade', proto: 'tcp', ip: web.ip, port: web.port, sport: 40001 },
  { name: 'udp-dnat-masquerade', proto: 'udp', ip: dns.ip, port: dns.port, sport: 40002 },
  { name: 'tcp-dropped', proto: 'tcp', ip: '172.30.0.43', port: 80, sport: 40003 },
  { name: 'tcp-rejected', proto: 'tcp', ip: '172.30.0.44', port: 80, sport: 40004 },
  // ICMP is told by its echo identifier: a ping routed through r to s, no NAT.
  { name: 'icmp-routed', proto: 'icmp', ip: '10.1.0.2', sport: 4242 },
];
const monitor = mode === 'iptables' ? 'xtables' : 'nft';
const out = { mode, probes: [] };
for (const p of probes) {
  const namespaces = ['c', 'r', 's'];
  const trace = await armTrace(execaRunner, { namespaces, probe: { proto: p.proto, sport: p.sport }, monitor });
  const argv =
    p.proto === 'icmp' ? ['ping', '-n', '-q', '-c', '1', '-W', '1', '-e', String(p.sport), p.ip] : ['python3', '-c', probeScript, p.proto, p.ip, String(p.port), String(p.sport)];
  const said = (await execaRunner.run(inNetns('c', argv), { reject: false })).stdout.trim();
  const answer = p.proto === 'icmp' ? (/(\d+) received/.exec(said)?.[0] ?? said) : said;
  const captures = await trace.disarm();
  const tablesLeft = namespaces.filter((ns) => run(['ip', 'netns', 'exec', ns, 'nft', 'list', 'tables']).includes(TRACE_TABLE));
  const monitorsLeft = readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map((d) => {
      try {
        return readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').join(' ').trim();
      } catch {
        return '';
      }
    })
    .filter((cmd) => /xtables-monitor|nft -a monitor/.test(cmd));
  out.probes.push({ ...p, answer, captures, tablesLeft, monitorsLeft });
}
// The routing decisions a trace adds where cheap: the router forwarding to the endpoint, and a refusal.
out.routes = {
  forward: await routeGet(execaRunner, 'r', { dst: '10.1.0.2', from: '10.0.0.2', iif: 'r0' }),
  none: await routeGet(execaRunner, 's', { dst: '10.0.0.2', from: '10.1.0.2', iif: 's0' }),
};
srv.kill();
console.log(JSON.stringify(out));
process.exit(0);
