// netns-config: its protocol (no root), its errors from the kernel, and the promise it is there
// for: a topology it builds leaves the kernel exactly as `ip` and `bridge` batches do. The kernel
// parts run in netns-config-sandbox.mjs under unshare, against the compiled dist/.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import t from 'tap';
import { RecordingRunner } from '../../src/kernel/exec.js';
import { NETNS_CONFIG_COMMAND, NetnsConfig } from '../../src/kernel/netns-config.js';

const script = 'src/kernel/netns-config.py';
const sandbox = 'test/kernel/netns-config-sandbox.mjs';
const notRoot = process.getuid?.() !== 0 ? 'needs root: it creates network namespaces (in a private sandbox)' : false;

t.test('protocol: an answer per line, in order, naming the namespace; a bad line does not stop the rest', async (t) => {
  // Every request fails before entering a namespace, so this touches nothing and needs no root.
  const input = ['not json', '{"netns":"a"}', '{"id":3,"netns":"../etc"}', '{"id":4,"netns":"knetlab-test-no-such-netns","ops":[]}', '{"id":5}', ''].join('\n');
  const r = spawnSync('python3', ['-I', script], { input, encoding: 'utf8', timeout: 10_000 });
  const answers = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  t.equal(answers.length, 5, r.stderr);
  t.match(answers[0], { id: null, ok: false, error: /bad request line/ });
  t.match(answers[1], { id: null, ok: false, error: /bad request line/ }, 'a request without an id');
  t.match(answers[2], { id: 3, ok: false, error: "netns ../etc: bad netns name '../etc'" });
  t.match(answers[3], {
    id: 4,
    ok: false,
    error: /^netns knetlab-test-no-such-netns: cannot open \/run\/netns\/knetlab-test-no-such-netns: No such file or directory \(ENOENT\)$/,
  });
  t.match(answers[4], { id: 5, ok: false, error: /bad request/ });
  t.equal(r.status, 1, 'exit 1: a line could not be read');
});

t.test('NetnsConfig asks one line per namespace and throws what the helper said', async (t) => {
  const answers: Record<string, string> = {
    a: '{"id":1,"ok":true}',
    b: '{"id":2,"ok":false,"error":"netns b: `addr add 10.0.0.1/24 dev eth0`: File exists (EEXIST)"}',
    c: '{"id":99,"ok":true}',
    d: 'Traceback (most recent call last):',
  };
  const runner = new RecordingRunner(undefined, (_argv, line) => answers[(JSON.parse(line) as { netns: string }).netns]!);
  const helper = new NetnsConfig(runner).start();
  await helper.configure({ netns: 'a', sysctls: [['net.ipv4.ip_forward', '1']], ops: [] });
  await t.rejects(helper.configure({ netns: 'b', sysctls: [], ops: [] }), /^netns-config: netns b: `addr add 10\.0\.0\.1\/24 dev eth0`: File exists \(EEXIST\)$/);
  await t.rejects(helper.configure({ netns: 'c', sysctls: [], ops: [] }), /answered request 99 for 3 \(netns c\)/);
  await t.rejects(helper.configure({ netns: 'd', sysctls: [], ops: [] }), /answered "Traceback/);
  await helper.end();
  t.equal(runner.calls.length, 1, 'one process for every namespace');
  t.same(runner.calls[0]!.argv, NETNS_CONFIG_COMMAND);
  t.same(
    runner.calls[0]!.input.trim()
      .split('\n')
      .map((l) => JSON.parse(l) as unknown),
    [
      { id: 1, netns: 'a', sysctls: [['net.ipv4.ip_forward', '1']], ops: [] },
      { id: 2, netns: 'b', sysctls: [], ops: [] },
      { id: 3, netns: 'c', sysctls: [], ops: [] },
      { id: 4, netns: 'd', sysctls: [], ops: [] },
    ],
  );
});

function inSandbox(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const env = { ...process.env };
  delete env.NODE_OPTIONS; // the helper is plain JavaScript: no TypeScript loader
  return spawnSync('unshare', ['--net', '--mount', '--pid', '--fork', '--mount-proc', '--', process.execPath, sandbox, ...args], { encoding: 'utf8', env, timeout: 120_000 });
}

t.test("the kernel's refusals name the namespace, the line and the errno; later requests still run", { skip: notRoot }, async (t) => {
  if (!existsSync('dist/kernel/netns-config.py')) throw new Error('dist/kernel/netns-config.py is missing: run `npm run build` first (npm test does)');
  const run = inSandbox('errors');
  t.equal(run.status, 0, run.stderr);
  const out = JSON.parse(run.stdout) as Record<string, string>;
  t.equal(out.missingNetns, 'netns-config: netns nope: cannot open /run/netns/nope: No such file or directory (ENOENT)');
  t.equal(out.missingDevice, 'netns-config: netns x: `addr add 10.0.0.1/24 dev eth9`: no device eth9: No such device (ENODEV)');
  t.equal(out.badSysctl, 'netns-config: netns x: sysctl net.ipv4.no_such_knob = 1: No such file or directory (ENOENT)');
  t.equal(out.first, 'ok');
  t.equal(out.again, 'netns-config: netns x: `addr add 10.9.9.9/32 dev lo`: File exists (EEXIST)');
  t.equal(out.afterErrors, 'ok');
  t.equal(out.forward, '1', 'the sysctl was set in the namespace entered');
  t.equal(out.homeForward, '0', "and not in the helper's own");
});

for (const network of ['flannel-vxlan', 'host-gw', 'calico-vxlan', 'calico-bgp']) {
  t.test(`${network}: netns-config leaves the kernel as ip and bridge batches do`, { skip: notRoot }, async (t) => {
    const file = `test/kernel/fixtures/netns-config-${network}.yaml`;
    const [byIp, byHelper] = ['ip', 'helper'].map((mode) => inSandbox(mode, file));
    t.equal(byIp!.status, 0, byIp!.stderr);
    t.equal(byHelper!.status, 0, byHelper!.stderr);
    if (byIp!.status !== 0 || byHelper!.status !== 0) return;
    const ip = JSON.parse(byIp!.stdout) as Record<string, Record<string, unknown[]>>;
    const helper = JSON.parse(byHelper!.stdout) as Record<string, Record<string, unknown[]>>;
    t.same(Object.keys(helper), Object.keys(ip), 'the same namespaces');
    for (const [ns, state] of Object.entries(ip)) {
      for (const [what, value] of Object.entries(state)) t.same(helper[ns]?.[what], value, `${ns}: ${what}`);
    }
    // The comparison means something only if the state is there: hairpin ports, the overlay's entries.
    const node1 = ip['node-1']!;
    if (network.startsWith('calico-')) {
      const calis = (node1.links as { ifname: string }[]).filter((l) => l.ifname.startsWith('cali'));
      const routes = node1.routes as { dst: string; type?: string; dev?: string; scope?: string }[];
      t.ok(calis.length >= 2, "pods' routed cali veths");
      t.ok(
        calis.every((l) => (node1.proxyDelay as unknown as Record<string, string>)[l.ifname] === '0'),
        'each with proxy_delay 0',
      );
      t.ok(
        calis.every((l) => routes.some((r) => r.dev === l.ifname && r.scope === 'link')),
        'and a scope link route to its pod',
      );
      t.ok(
        routes.some((r) => r.type === 'blackhole'),
        "the node's own block is a blackhole route",
      );
      return;
    }
    const veths = (node1.links as { ifname: string; master?: string; linkinfo?: { info_slave_data?: { hairpin?: boolean } } }[]).filter((l) => l.ifname.startsWith('veth'));
    t.ok(veths.length >= 2 && veths.every((l) => l.master === 'cni0' && l.linkinfo?.info_slave_data?.hairpin === true), "pods' veths are cni0 ports with hairpin on");
    if (network === 'flannel-vxlan') {
      t.equal(node1.neighbours!.length, 2, 'a permanent neighbour per other node');
      t.equal((node1.fdb as { ifname: string; dst?: string }[]).filter((e) => e.ifname === 'flannel.1' && e.dst).length, 2, 'an fdb entry per other node');
    }
  });
}
