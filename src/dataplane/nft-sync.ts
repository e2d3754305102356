// How kube-proxy's nftables mode brings a node's `ip kube-proxy` table from one sync to the next,
// as pure text. The first sync creates the table from nothing (renderKubeProxyNftables' own text);
// every later one is kube-proxy's own transaction shape (syncProxyRules): each chain, set and map
// is added (a no-op when it exists) and flushed, then filled again, so the node goes from the old
// rules to the new in one atomic `nft -f`, while the ClientIP affinity sets are added and never
// flushed: a client's affinity outlives syncs, as it does under kube-proxy. Chains no longer
// rendered are flushed at once and deleted in a later sync (kernels before 6.2 still count a chain
// as referenced for a short while after the map element that pointed at it was removed), affinity
// sets no longer rendered are deleted at once.
import { KUBE_PROXY_TABLE } from './nftables.js';

const T = `ip ${KUBE_PROXY_TABLE}`;

/** What kube-proxy's table holds on a node: its chains, and its sets and maps with the spec each was added with. */
export interface NftTableState {
  chains: string[];
  /** name -> `{ type ... ; }` as written in its `add set` / `add map` line. */
  sets: Map<string, { kind: 'set' | 'map'; spec: string }>;
}

const CHAIN_LINE = new RegExp(`^add chain ${T} (\\S+)`);
const SET_LINE = new RegExp(`^add (set|map) ${T} (\\S+) (.*)$`);

export const isAffinitySet = (name: string) => name.startsWith('affinity-');

/** The chains, sets and maps a render of renderKubeProxyNftables creates. */
export function nftTableState(render: string): NftTableState {
  const chains: string[] = [];
  const sets: NftTableState['sets'] = new Map();
  for (const line of render.split('\n')) {
    const c = CHAIN_LINE.exec(line);
    if (c) chains.push(c[1]!);
    const s = SET_LINE.exec(line);
    if (s) sets.set(s[2]!, { kind: s[1] as 'set' | 'map', spec: s[3]! });
  }
  return { chains, sets };
}

export interface NftSync {
  /** The `nft -f -` input. */
  text: string;
  /** Chains the table still holds, flushed and unreferenced, for a later sync to delete. */
  stale: string[];
}

/**
 * The transaction that turns `existing` (what an earlier sync left: its chains, stale ones
 * included, and its sets) into `desired` (a render of renderKubeProxyNftables), deleting the stale
 * chains named in `deleteChains` (ones flushed by an earlier sync, which nothing references).
 */
export function nftSyncText(desired: string, existing: NftTableState, deleteChains: readonly string[] = []): NftSync {
  const want = nftTableState(desired);
  const wanted = new Set(want.chains);
  const deleting = new Set(deleteChains);
  const staleChains = existing.chains.filter((c) => !wanted.has(c));
  const out: string[] = [];
  const body = desired.split('\n');
  // The render starts by making the table anew (`add table` + `delete table`): not on a live table.
  let i = 0;
  while (i < body.length && /^(add|delete) table /.test(body[i]!) && !body[i]!.includes('{')) i++;
  const head = body[i]!;
  out.push(head);
  // Stale chains first: a set deleted below may be referenced from one of them.
  for (const c of staleChains) out.push(`flush chain ${T} ${c}`);
  for (const line of body.slice(i + 1)) {
    const s = SET_LINE.exec(line);
    if (s && isAffinitySet(s[2]!)) {
      // Never flushed: the clients it remembers keep their endpoint. A changed timeout makes it anew
      // (kernels before 6.x refuse to change a set's timeout in place).
      const had = existing.sets.get(s[2]!);
      if (had && had.spec !== s[3]) out.push(`delete set ${T} ${s[2]}`);
      out.push(line);
      continue;
    }
    out.push(line);
    const c = CHAIN_LINE.exec(line);
    if (c) out.push(`flush chain ${T} ${c[1]}`);
    else if (s) out.push(`flush ${s[1]} ${T} ${s[2]}`);
  }
  while (out.at(-1) === '') out.pop();
  // After every flush: nothing references them any more.
  for (const [name, { kind }] of existing.sets) if (!want.sets.has(name)) out.push(`delete ${kind} ${T} ${name}`);
  for (const c of staleChains) if (deleting.has(c)) out.push(`delete chain ${T} ${c}`);
  return { text: `${out.join('\n')}\n`, stale: staleChains.filter((c) => !deleting.has(c)) };
}

/**
 * What `nft -j list table ip kube-proxy` shows a restarted kube-proxy: its chains, sets and maps. A
 * set's spec is the one `desired` gives it (a restart does not change the model, so a set that
 * exists was made with it); one `desired` lacks gets none, which only its deletion reads. Chains
 * and sets kube-proxy would not call its own (no `/`, not an affinity set) are not listed, so
 * nothing deletes them, as upstream's sync only looks at those.
 */
export function nftStateFromJson(json: string, desired: string): NftTableState {
  const want = nftTableState(desired);
  const chains: string[] = [];
  const sets: NftTableState['sets'] = new Map();
  const items = (JSON.parse(json) as { nftables?: Record<string, { name?: string; table?: string }>[] }).nftables ?? [];
  for (const item of items) {
    for (const kind of ['chain', 'set', 'map'] as const) {
      const o = item[kind];
      if (!o?.name || o.table !== KUBE_PROXY_TABLE) continue;
      // What kube-proxy owns: what it renders, service chains (a `/` in the name) and affinity sets; anything else is left alone.
      if (kind === 'chain') {
        if (want.chains.includes(o.name) || o.name.includes('/')) chains.push(o.name);
      } else if (want.sets.has(o.name)) sets.set(o.name, { kind, spec: want.sets.get(o.name)!.spec });
      else if (kind === 'set' && isAffinitySet(o.name)) sets.set(o.name, { kind, spec: '' });
    }
  }
  return { chains, sets };
}

/**
 * kube-proxy's first transaction after a start (syncProxyRules with setupNFTables' one-time
 * add+delete of its base chains, so that they are made anew with their hooks and priorities),
 * from the table as the kernel holds it: stale chains flushed, to be deleted a later sync.
 */
export function nftRestartText(desired: string, existing: NftTableState): NftSync {
  const sync = nftSyncText(desired, existing);
  const base = desired
    .split('\n')
    .map((l) => /^add chain \S+ \S+ (\S+) \{ type /.exec(l)?.[1])
    .filter((c): c is string => c !== undefined);
  const [head, ...rest] = sync.text.split('\n');
  const once = base.flatMap((c) => [`add chain ${T} ${c}`, `delete chain ${T} ${c}`]);
  return { text: [head, ...once, ...rest].join('\n'), stale: sync.stale };
}
