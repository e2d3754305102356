import type { SourceIpMode } from '../cluster/source-ip.js';
import type { Model } from '../cluster/types.js';
import { inNetns, machineNetns } from '../dataplane/names.js';
import { nftRestartText, nftStateFromJson, nftSyncText, nftTableState } from '../dataplane/nft-sync.js';
import { KUBE_PROXY_TABLE } from '../dataplane/nftables.js';
import { renderKubeProxyNftables } from '../dataplane/nftables.js';
import type { ApplyContext, ModeApplier, ProxyDriver } from './driver.js';

/** Where nftables mode's source addresses differ from iptables mode's (src/cluster/source-ip.ts). */
const sourceIpRules = {
  nftLocalOutput:
    "nftables mode, policy Local, a node without a ready local endpoint: service-endpoints-check also runs for the node's own new connections (filter-output), and @no-endpoint-services maps the external IP or LB IP to drop (iptables mode checks only INPUT and FORWARD).",
} as const;
const sourceIp: SourceIpMode = {
  because: sourceIpRules,
  atNode({ cell, node, source }) {
    // A NodePort is checked in INPUT only: the node's own connection to it is let through.
    if (cell.via !== 'cluster-ip' && cell.policy === 'Local' && source === 'local' && node === 'other' && !cell.via.startsWith('nodeport-')) {
      return { outcome: 'dropped', because: [sourceIpRules.nftLocalOutput] };
    }
    return undefined;
  },
};

/** How long kube-proxy's nftables mode keeps a flushed chain before deleting it. */
const STALE_CHAIN_DELAY_MS = 1000;

/**
 * kube-proxy's nftables mode: one atomic `nft -f` transaction per node per sync, the table created on
 * the first, flushed and refilled on later ones (affinity sets kept).
 */
export const nftablesDriver: ProxyDriver<string, 'nftables'> = {
  mode: 'nftables',
  render: (model, nodeName) => renderKubeProxyNftables(model, nodeName),
  apply: (ctx) => new NftablesApplier(ctx),
  features: () => ['nft'],
  sourceIp,
};

class NftablesApplier implements ModeApplier {
  private applied = new Map<string, string>();
  /** Each node's stale chains (flushed, not yet deleted), with when they went stale. */
  private staleChains = new Map<string, Map<string, number>>();

  constructor(private readonly ctx: ApplyContext) {}

  sync(prev: Model | undefined, model: Model, nodeName: string): Promise<void> {
    return this.syncNode(prev, model, nodeName, false);
  }

  resync(model: Model, nodeName: string): Promise<void> {
    return this.syncNode(undefined, model, nodeName, true);
  }

  /** A start: the table read from the kernel (kube-proxy remembers nothing), its base chains made anew, stale chains flushed. */
  async restart(model: Model, nodeName: string): Promise<void> {
    const netns = machineNetns(nodeName);
    const desired = renderKubeProxyNftables(model, nodeName);
    const listed = await this.ctx.runner.run(inNetns(netns, ['nft', '-j', 'list', 'table', 'ip', KUBE_PROXY_TABLE]), { reject: false });
    const existing = listed.exitCode === 0 ? nftStateFromJson(listed.stdout, desired) : { chains: [], sets: new Map() };
    const sync = nftRestartText(desired, existing);
    await this.ctx.runner.run(inNetns(netns, ['nft', '-f', '-']), { input: sync.text });
    const now = Date.now();
    this.staleChains.set(nodeName, new Map(sync.stale.map((c) => [c, now])));
    this.applied.set(nodeName, desired);
  }

  /** `force` for the periodic full sync, which runs even when nothing changed. */
  private async syncNode(prev: Model | undefined, model: Model, nodeName: string, force: boolean): Promise<void> {
    const netns = machineNetns(nodeName);
    const desired = renderKubeProxyNftables(model, nodeName);
    const previous = this.applied.get(nodeName);
    if (previous === undefined) {
      await this.ctx.runner.run(inNetns(netns, ['nft', '-f', '-']), { input: desired });
    } else if (force || desired !== previous) {
      const now = Date.now();
      const stale = this.staleChains.get(nodeName) ?? new Map<string, number>();
      // A chain goes a second after it went stale, as kube-proxy waits (see nft-sync.ts).
      const due = [...stale].filter(([, since]) => now - since >= STALE_CHAIN_DELAY_MS).map(([c]) => c);
      const last = nftTableState(previous);
      const sync = nftSyncText(desired, { chains: [...last.chains, ...stale.keys()], sets: last.sets }, due);
      await this.ctx.runner.run(inNetns(netns, ['nft', '-f', '-']), { input: sync.text });
      this.staleChains.set(nodeName, new Map(sync.stale.map((c) => [c, stale.get(c) ?? now])));
    }
    this.applied.set(nodeName, desired);
    await this.ctx.clearStale(prev, model, nodeName);
  }
}
