// kube-proxy's nftables mode from one sync to the next: flush and refill, affinity sets kept, stale
// chains flushed then deleted a sync later. As root the transactions run on the kernel too.
import { spawnSync } from 'node:child_process';
import t from 'tap';
import { nftSyncText, nftTableState } from '../../src/dataplane/nft-sync.js';
import { affinitySetName, endpointChainName, nftChains, renderKubeProxyNftables } from '../../src/dataplane/nftables.js';
import { fixtureModel } from './fixtures.js';

const web = { namespace: 'default', name: 'web' };

async function rendered(replicas: number, timeout = 600) {
  const model = await fixtureModel('session-affinity', { replicas, timeout });
  const eps = model.pods
    .filter((p) => p.labels.app === 'web')
    .map((p) => `${p.ip}:80`)
    .sort();
  return { text: renderKubeProxyNftables(model, 'node-1'), eps };
}

const lines = (text: string) => text.trimEnd().split('\n');

t.test('a later sync adds and flushes every chain, set and map, but never an affinity set', async (t) => {
  const { text, eps } = await rendered(3);
  const sync = nftSyncText(text, nftTableState(text));
  const out = lines(sync.text);
  t.equal(out[0], 'add table ip kube-proxy { comment "rules for kube-proxy" ; }', 'the table is kept: no delete table');
  t.notMatch(sync.text, /^delete /m, 'nothing to delete');
  for (const chain of nftChains(text)) {
    const i = out.indexOf(out.find((l) => l.startsWith(`add chain ip kube-proxy ${chain}`))!);
    t.equal(out[i + 1], `flush chain ip kube-proxy ${chain}`, `${chain} flushed right after it is added`);
    t.ok(
      out.findIndex((l) => l.startsWith(`add rule ip kube-proxy ${chain} `)) === -1 || out.findIndex((l) => l.startsWith(`add rule ip kube-proxy ${chain} `)) > i + 1,
      `${chain}: its rules after the flush`,
    );
  }
  t.ok(out.includes('flush map ip kube-proxy service-ips'));
  t.ok(out.includes('flush set ip kube-proxy cluster-ips'));
  for (const ep of eps) {
    const set = affinitySetName(web, '', 'tcp', ep);
    t.ok(
      out.some((l) => l.startsWith(`add set ip kube-proxy ${set} `)),
      `${set} added`,
    );
    t.notOk(
      out.some((l) => l.startsWith(`flush set ip kube-proxy ${set}`)),
      `${set} not flushed`,
    );
  }
  t.same(sync.stale, []);
});

t.test('an endpoint gone: its chain flushed first and kept stale, its affinity set deleted last', async (t) => {
  const three = await rendered(3);
  const two = await rendered(2);
  const gone = three.eps.find((e) => !two.eps.includes(e))!;
  const chain = endpointChainName(web, '', 'tcp', gone);
  const set = affinitySetName(web, '', 'tcp', gone);
  const sync = nftSyncText(two.text, nftTableState(three.text));
  const out = lines(sync.text);
  t.equal(out[1], `flush chain ip kube-proxy ${chain}`, 'flushed before anything else');
  t.equal(out.at(-1), `delete set ip kube-proxy ${set}`, 'the set goes after every flush');
  t.notOk(
    out.some((l) => l.startsWith('delete chain')),
    'the chain is not deleted in the sync that removes its map element',
  );
  t.same(sync.stale, [chain]);

  // The next sync deletes it when asked; a chain not in the table is never deleted.
  const state = nftTableState(two.text);
  const next = nftSyncText(two.text, { ...state, chains: [...state.chains, chain] }, [chain, 'endpoint-NOTTHERE']);
  t.equal(lines(next.text).at(-1), `delete chain ip kube-proxy ${chain}`);
  t.notMatch(next.text, 'NOTTHERE');
  t.same(next.stale, []);
  // A stale chain that comes back is a chain again, neither stale nor deleted.
  const back = nftSyncText(three.text, { ...state, chains: [...state.chains, chain] }, [chain]);
  t.notMatch(back.text, `delete chain ip kube-proxy ${chain}`);
  t.same(back.stale, []);
});

t.test('a changed affinity timeout makes the set anew', async (t) => {
  const before = await rendered(2, 600);
  const after = await rendered(2, 60);
  const out = lines(nftSyncText(after.text, nftTableState(before.text)).text);
  for (const ep of after.eps) {
    const set = affinitySetName(web, '', 'tcp', ep);
    const del = out.indexOf(`delete set ip kube-proxy ${set}`);
    t.ok(del > 0, `${set} deleted`);
    t.match(out[del + 1]!, `add set ip kube-proxy ${set} { type ipv4_addr ; flags dynamic,timeout ; timeout 60s ; }`);
    t.ok(out.indexOf(`flush chain ip kube-proxy ${endpointChainName(web, '', 'tcp', ep)}`) < del, 'after the chains that use it are flushed');
  }
});

// ---------------------------------------------------------------------------------------------
// The kernel

const root = process.getuid?.() === 0;
const tools = ['unshare', 'nft'].every((c) => spawnSync('sh', ['-c', `command -v ${c}`]).status === 0);
const skipKernel = !root ? 'needs root (unshare --net and nft)' : !tools ? 'needs unshare and nft' : false;

/** Runs nft inputs one after another in a new network namespace; `list` after each. */
function nftSequence(...steps: string[]): { status: number | null; listings: string[]; stderr: string } {
  const script = steps.map((s, i) => `nft -f - <<'EOF${i}'\n${s}EOF${i}\nnft list table ip kube-proxy\necho =====`).join('\n');
  const r = spawnSync('unshare', ['--net', 'bash', '-c', `set -e\n${script}`], { encoding: 'utf8' });
  return { status: r.status, listings: r.stdout.split('=====\n').slice(0, steps.length), stderr: r.stderr };
}

t.test('the kernel: affinity survives a sync, a stale chain is emptied then deleted, a new timeout applies', { skip: skipKernel }, async (t) => {
  const three = await rendered(3);
  const two = await rendered(2);
  const kept = two.eps[0]!;
  const gone = three.eps.find((e) => !two.eps.includes(e))!;
  const keptSet = affinitySetName(web, '', 'tcp', kept);
  const goneChain = endpointChainName(web, '', 'tcp', gone);
  const first = `${three.text}add element ip kube-proxy ${keptSet} { 203.0.113.7 }\n`;
  const down = nftSyncText(two.text, nftTableState(three.text));
  const state = nftTableState(two.text);
  const later = nftSyncText(two.text, { ...state, chains: [...state.chains, ...down.stale] }, down.stale);
  const shorter = nftSyncText((await rendered(2, 60)).text, state);
  const run = nftSequence(first, down.text, later.text, shorter.text);
  t.equal(run.status, 0, run.stderr);
  const [, afterDown = '', afterLater = '', afterShorter = ''] = run.listings;
  t.match(afterDown, new RegExp(`set ${keptSet} \\{[^}]*203\\.0\\.113\\.7`), 'the client is still remembered after the sync');
  t.match(afterDown, new RegExp(`chain ${goneChain} \\{\\s*\\}`), 'the stale chain is there, empty');
  t.notMatch(afterDown, affinitySetName(web, '', 'tcp', gone), "the gone endpoint's set is deleted at once");
  t.notMatch(afterDown, `dnat to ${gone}`);
  t.notMatch(afterLater, goneChain, 'deleted a sync later');
  t.match(afterLater, '203.0.113.7');
  t.match(afterShorter, new RegExp(`set ${keptSet} \\{[^}]*timeout 1m`), 'the new timeout');
  t.notMatch(afterShorter, '203.0.113.7', 'a set made anew starts empty');
});
