// Helper of netns-config.test.ts, run as pid 1 under `unshare --net --mount --pid --fork
// --mount-proc`: builds a scenario's topology one way (`ip`: a process per namespace and tool, as
// knetlab did before netns-config; `helper`: applyTopology, as knetlab does now) and prints the
// kernel state of every namespace as JSON, with what varies between two identical builds (indexes,
// timers, counters, learnt entries) left out. `errors` instead prints what netns-config says
// about requests the kernel refuses. Plain .mjs against dist/: tap's TypeScript loader is not here.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';

if (process.pid !== 1) {
  console.error('netns-config-sandbox.mjs must run as pid 1 under unshare --net --mount --pid --fork --mount-proc');
  process.exit(2);
}
const [mode, file] = process.argv.slice(2);
const dist = (p) => new URL(`../../dist/${p}`, import.meta.url);
const { renderTopology } = await import(dist('dataplane/topology.js'));
const { applyTopology } = await import(dist('kernel/apply.js'));
const { execaRunner } = await import(dist('kernel/exec.js'));
const { NetnsConfig } = await import(dist('kernel/netns-config.js'));
const { loadModel } = await import(dist('validate.js'));

const run = (argv, input) => execFileSync(argv[0], argv.slice(1), { encoding: 'utf8', ...(input === undefined ? {} : { input }) });
// This run's own /run (the host's stays untouched), as prepareSandbox makes it.
run(['mount', '-t', 'tmpfs', 'knetlab-test', '/run']);
mkdirSync('/run/netns');

if (mode === 'errors') {
  run(['ip', 'netns', 'add', 'x']);
  const helper = new NetnsConfig(execaRunner).start();
  const attempt = async (work) => {
    try {
      await helper.configure(work);
      return 'ok';
    } catch (error) {
      return error.message;
    }
  };
  const out = {
    missingNetns: await attempt({ netns: 'nope', sysctls: [], ops: [] }),
    missingDevice: await attempt({
      netns: 'x',
      sysctls: [],
      ops: [{ op: 'addr', cmd: 'add', dev: 'eth9', address: '10.0.0.1', prefix: 24, line: 'addr add 10.0.0.1/24 dev eth9' }],
    }),
    badSysctl: await attempt({ netns: 'x', sysctls: [['net.ipv4.no_such_knob', '1']], ops: [] }),
    first: await attempt({ netns: 'x', sysctls: [], ops: [{ op: 'addr', cmd: 'add', dev: 'lo', address: '10.9.9.9', prefix: 32, line: 'addr add 10.9.9.9/32 dev lo' }] }),
    again: await attempt({ netns: 'x', sysctls: [], ops: [{ op: 'addr', cmd: 'add', dev: 'lo', address: '10.9.9.9', prefix: 32, line: 'addr add 10.9.9.9/32 dev lo' }] }),
    afterErrors: await attempt({ netns: 'x', sysctls: [['net.ipv4.ip_forward', '1']], ops: [{ op: 'link', cmd: 'set', dev: 'lo', up: true, line: 'link set dev lo up' }] }),
  };
  await helper.end();
  out.forward = run(['ip', 'netns', 'exec', 'x', 'cat', '/proc/sys/net/ipv4/ip_forward']).trim();
  out.homeForward = run(['cat', '/proc/sys/net/ipv4/ip_forward']).trim();
  console.log(JSON.stringify(out));
  process.exit(0);
}

const { model } = await loadModel(file);
const plan = renderTopology(model);
if (mode === 'helper') {
  await applyTopology(execaRunner, plan, { etcNetns: false });
} else {
  run(['ip', '-batch', '-'], plan.namespaces.map((n) => `netns add ${n}\n`).join(''));
  for (const stage of plan.stages) {
    for (const ns of stage) {
      const sysctls = Object.entries(ns.sysctls).map(([k, v]) => `${k}=${v}`);
      if (sysctls.length) run(['ip', 'netns', 'exec', ns.name, 'sysctl', '-q', '-w', ...sysctls]);
      if (ns.ip.length) run(['ip', '-n', ns.name, '-batch', '-'], `${ns.ip.join('\n')}\n`);
      if (ns.bridge.length) run(['bridge', '-n', ns.name, '-batch', '-'], `${ns.bridge.join('\n')}\n`);
      if (ns.ipset) run(['ip', 'netns', 'exec', ns.name, 'ipset', 'restore', '-exist'], ns.ipset);
      if (ns.iptables) run(['ip', 'netns', 'exec', ns.name, 'iptables-restore'], ns.iptables);
    }
  }
}

// What differs between two builds of the same plan: kernel-chosen numbers, timers, counters, timing.
const VARIES = /^(ifindex|link_index|link_netnsid|operstate|.*_timer|stats64?|valid_life_time|preferred_life_time|tentative|dadfailed|nodad|used|updated)$/;
const clean = (v) =>
  Array.isArray(v)
    ? v.map(clean)
    : v && typeof v === 'object'
      ? Object.fromEntries(
          Object.entries(v)
            .filter(([k]) => !VARIES.test(k))
            .map(([k, x]) => [k, clean(x)]),
        )
      : v;
const json = (argv) => clean(JSON.parse(run(argv) || '[]'));
// Dumps whose order follows timing (IPv6 routes as addresses settle) or a per-namespace hash seed (neighbours).
const sorted = (xs) =>
  xs
    .map((x) => JSON.stringify(x))
    .sort()
    .map((x) => JSON.parse(x));
const state = {};
for (const ns of plan.stages.flat()) {
  const n = ['-n', ns.name];
  const links = json(['ip', ...n, '-d', '-j', 'link', 'show']);
  state[ns.name] = {
    links,
    // Per device neighbour parameters a CNI changes (Calico's cali veths: proxy_delay 0).
    proxyDelay: Object.fromEntries(
      links.map((l) => [l.ifname, run(['ip', 'netns', 'exec', ns.name, 'sysctl', '-n', `net.ipv4.neigh.${l.ifname.replaceAll('.', '/')}.proxy_delay`]).trim()]),
    ),
    addresses: json(['ip', ...n, '-j', 'addr', 'show']).map((l) => ({ ifname: l.ifname, addr_info: l.addr_info })),
    // A link-local address's local route comes once its duplicate address detection ends, a second or so after up.
    routes: sorted(json(['ip', ...n, '-j', 'route', 'show', 'table', 'all']).filter((r) => !(r.type === 'local' && r.dst.startsWith('fe80:')))),
    neighbours: sorted(json(['ip', ...n, '-j', 'neigh', 'show', 'nud', 'permanent'])),
    // Learnt entries come and go with IPv6's own packets; the permanent ones are the plan's and the kernel's.
    fdb: sorted(json(['bridge', ...n, '-j', 'fdb', 'show']).filter((e) => e.state === 'permanent')),
    bridgePorts: json(['bridge', ...n, '-d', '-j', 'link', 'show']),
    sysctls: Object.fromEntries(Object.keys(ns.sysctls).map((k) => [k, run(['ip', 'netns', 'exec', ns.name, 'sysctl', '-n', k]).trim()])),
  };
}
console.log(JSON.stringify(state));
