// kube-proxy's start on a node, as pure text: the UDP conntrack reconciler's deletions, the nftables
// table as a restarted kube-proxy reads it, and its first transaction. As root the transaction runs
// on the kernel too, over a table broken by hand.
import { spawnSync } from 'node:child_process';
import t from 'tap';
import { nftRestartText, nftStateFromJson, nftTableState } from '../../src/dataplane/nft-sync.js';
import { renderKubeProxyNftables } from '../../src/dataplane/nftables.js';
import { udpConntrackCleanup } from '../../src/dataplane/service-port.js';
import { cachedModel, deployment, fixtureModel, scenario, service } from './fixtures.js';

const udpNodePort = (replicas: number) =>
  scenario(
    'udp-np',
    deployment('dns', replicas, '[{containerPort: 53, protocol: UDP}, {containerPort: 80}]') +
      service(
        'dns',
        'type: NodePort, selector: {app: dns}, clusterIP: 10.96.0.54, externalIPs: [80.11.12.53], ports: [{name: dns, port: 53, protocol: UDP, nodePort: 30053}, {name: web, port: 80}]',
      ),
  );

t.test('udpConntrackCleanup: UDP entries to a Service whose reply is from no serving endpoint, as CleanStaleEntries filters them', async (t) => {
  const model = await cachedModel(udpNodePort(2));
  const [a, b] = model.pods.filter((p) => p.labels.app === 'dns').map((p) => p.ip!);
  const gone = '10.244.1.99';
  const entries = [
    { origDst: '10.96.0.54', origDport: 53, replySrc: a! },
    { origDst: '10.96.0.54', origDport: 53, replySrc: gone },
    { origDst: '80.11.12.53', origDport: 53, replySrc: gone },
    { origDst: '192.168.8.12', origDport: 30053, replySrc: gone },
    { origDst: '192.168.8.12', origDport: 30053, replySrc: b! },
    // Not a Service frontend, or not UDP's port: left alone.
    { origDst: '10.96.0.54', origDport: 80, replySrc: gone },
    { origDst: '10.96.0.99', origDport: 53, replySrc: gone },
  ];
  t.same(udpConntrackCleanup(model, 'node-1', entries), [
    ['-D', '-p', 'udp', '--orig-dst', '10.96.0.54', '--dport', '53', '--reply-src', gone],
    ['-D', '-p', 'udp', '--orig-dst', '80.11.12.53', '--dport', '53', '--reply-src', gone],
    ['-D', '-p', 'udp', '--dport', '30053', '--reply-src', gone],
  ]);
  t.same(udpConntrackCleanup(model, 'node-1', [{ origDst: '10.96.0.54', origDport: 53, replySrc: a! }]), [], 'an entry to a serving endpoint stays');
  const none = await cachedModel(udpNodePort(0));
  t.same(udpConntrackCleanup(none, 'node-1', entries), [], 'a Service without endpoints is left alone');
});

async function rendered(replicas: number) {
  return renderKubeProxyNftables(await fixtureModel('session-affinity', { replicas, timeout: 600 }), 'node-1');
}

/** `nft -j list table` output for a table of these chains, sets and maps (the fields the reader reads). */
const listing = (chains: string[], sets: string[], maps: string[], table = 'kube-proxy') =>
  JSON.stringify({
    nftables: [
      { metainfo: { json_schema_version: 1 } },
      { table: { family: 'ip', name: table, handle: 1 } },
      ...chains.map((name) => ({ chain: { family: 'ip', table, name, handle: 2 } })),
      ...sets.map((name) => ({ set: { family: 'ip', table, name, type: 'ipv4_addr', handle: 3 } })),
      ...maps.map((name) => ({ map: { family: 'ip', table, name, type: 'ipv4_addr', map: 'verdict', handle: 4 } })),
    ],
  });

t.test("nftStateFromJson: what kube-proxy owns of the kernel's table, with the render's set specs", async (t) => {
  const text = await rendered(3);
  const want = nftTableState(text);
  const affinity = [...want.sets.keys()].find((s) => s.startsWith('affinity-'))!;
  const stale = 'ABCDEFGH-default/gone/tcp/__10.244.1.9/80';
  const state = nftStateFromJson(listing([...want.chains, stale, 'hand-made'], [affinity, 'affinity-gone', 'hand-set'], ['service-ips']), text);
  t.same(state.chains, [...want.chains, stale], 'a chain without a `/` that kube-proxy does not render is not its own');
  t.same([...state.sets.keys()], [affinity, 'affinity-gone', 'service-ips']);
  t.equal(state.sets.get(affinity)!.spec, want.sets.get(affinity)!.spec, 'an affinity set keeps its spec: not made anew, its clients kept');
  t.same(nftStateFromJson(listing(['services'], [], [], 'other'), text), { chains: [], sets: new Map() }, "another table's objects are not read");
});

t.test("nftRestartText: the base chains added and deleted once, then a sync's transaction over what the kernel holds", async (t) => {
  const text = await rendered(3);
  const want = nftTableState(text);
  const stale = 'ABCDEFGH-default/gone/tcp/__10.244.1.9/80';
  const r = nftRestartText(text, nftStateFromJson(listing([...want.chains, stale], [], []), text));
  const out = r.text.trimEnd().split('\n');
  t.equal(out[0], 'add table ip kube-proxy { comment "rules for kube-proxy" ; }');
  t.same(out.slice(1, 3), ['add chain ip kube-proxy filter-prerouting', 'delete chain ip kube-proxy filter-prerouting']);
  t.equal(out.filter((l) => /^delete chain .* nat-output$/.test(l)).length, 1);
  t.ok(out.indexOf('add chain ip kube-proxy nat-output { type nat hook output priority -100 ; }') > out.indexOf('delete chain ip kube-proxy nat-output'), 'made anew after');
  t.ok(out.includes(`flush chain ip kube-proxy ${stale}`), 'the stale chain is flushed');
  t.same(r.stale, [stale], 'and deleted a sync later');
  t.notOk(out.includes('delete table ip kube-proxy'), 'the table itself is kept');
  const empty = nftRestartText(text, { chains: [], sets: new Map() });
  t.same(empty.stale, [], 'no table: made from nothing');
});

const root = process.getuid?.() === 0;
const tools = ['unshare', 'nft'].every((c) => spawnSync('sh', ['-c', `command -v ${c}`]).status === 0);
const skipKernel = !root ? 'needs root (unshare --net and nft)' : !tools ? 'needs unshare and nft' : false;

t.test('the kernel: a restart repairs a table broken by hand, or makes a missing one', { skip: skipKernel }, async (t) => {
  const text = await rendered(3);
  const stale = 'ABCDEFGH-default/gone/tcp/__10.244.1.9/80';
  // The table as a sync made it, then broken: a base chain gone, a rule flushed, a stale chain added.
  const script = `set -e
nft -f - <<'EOF0'
${text}EOF0
nft delete chain ip kube-proxy nat-prerouting
nft flush chain ip kube-proxy services
nft add chain ip kube-proxy '${stale}'
nft add chain ip kube-proxy hand-made
nft -j list table ip kube-proxy`;
  const broken = spawnSync('unshare', ['--net', 'bash', '-c', script], { encoding: 'utf8' });
  t.equal(broken.status, 0, broken.stderr);
  const r = nftRestartText(text, nftStateFromJson(broken.stdout, text));
  const again = spawnSync('unshare', ['--net', 'bash', '-c', `${script} > /dev/null\nnft -f - <<'EOF1'\n${r.text}EOF1\nnft list table ip kube-proxy`], { encoding: 'utf8' });
  t.equal(again.status, 0, again.stderr);
  t.match(again.stdout, /chain nat-prerouting \{\s*type nat hook prerouting priority dstnat; policy accept;\s*jump services/, 'the base chain is back, with its jump');
  t.match(again.stdout, /chain services \{\s*ip daddr \. meta l4proto \. th dport vmap @service-ips/, 'the flushed chain is refilled');
  t.match(again.stdout, new RegExp(`chain ${stale.replace(/[./]/g, '\\$&')} \\{\\s*\\}`), 'the stale chain is there, empty');
  t.match(again.stdout, /chain hand-made/, 'a chain kube-proxy would not call its own is left alone');
  const fresh = spawnSync(
    'unshare',
    ['--net', 'bash', '-c', `nft -f - <<'EOF2'\n${nftRestartText(text, { chains: [], sets: new Map() }).text}EOF2\nnft list table ip kube-proxy`],
    {
      encoding: 'utf8',
    },
  );
  t.equal(fresh.status, 0, fresh.stderr);
  t.match(fresh.stdout, /jump services/);
});
