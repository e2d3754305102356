import type { Model } from '../cluster/types.js';
import { declaredChains, kubeProxyJumps, renderKubeProxyIptables } from '../dataplane/iptables.js';
import { kubeProxyRestore, withJumps } from '../dataplane/kube-proxy-sync.js';
import { inNetns, machineNetns } from '../dataplane/names.js';
import type { Feature } from '../kernel/capabilities.js';
import type { ApplyContext, ModeApplier, ProxyDriver } from './driver.js';
import { missingJumps } from './jumps.js';

/**
 * kube-proxy's iptables mode: one `iptables-restore --noflush` of its chains per node per sync, only
 * when the text changed; the first also inserts the jumps from the builtin chains.
 */
export const iptablesDriver: ProxyDriver<string, 'iptables'> = {
  mode: 'iptables',
  render: (model, nodeName) => renderKubeProxyIptables(model, nodeName),
  apply: (ctx) => new IptablesApplier(ctx),
  features(model) {
    const out: Feature[] = [];
    if (model.services.length) out.push('statistic');
    if (model.services.some((s) => s.spec.sessionAffinity === 'ClientIP')) out.push('xt_recent');
    return out;
  },
  // The source-IP model's shared answers are iptables mode's.
  sourceIp: { because: {} },
};

class IptablesApplier implements ModeApplier {
  /** Per node: the text last restored, whose service chains that are gone the next restore deletes. */
  private applied = new Map<string, string>();

  constructor(private readonly ctx: ApplyContext) {}

  private restore(nodeName: string, text: string) {
    return this.ctx.runner.run(inNetns(machineNetns(nodeName), ['iptables-restore', '--noflush', '--counters']), { input: text });
  }

  async sync(prev: Model | undefined, model: Model, nodeName: string): Promise<void> {
    const previous = this.applied.get(nodeName);
    const first = previous === undefined;
    const text = kubeProxyRestore(model, nodeName, { first, ...(previous ? { previous } : {}) });
    if (text === previous) return;
    // NodePorts on 127.0.0.1 (--iptables-localhost-nodeports) need route_localnet.
    if (first) await this.ctx.runner.run(inNetns(machineNetns(nodeName), ['sysctl', '-q', '-w', 'net.ipv4.conf.all.route_localnet=1']));
    await this.restore(nodeName, text);
    // What a later sync compares with: the text without the first sync's jumps.
    this.applied.set(nodeName, first ? kubeProxyRestore(model, nodeName, { first: false }) : text);
    await this.ctx.clearStale(prev, model, nodeName);
  }

  async resync(model: Model, nodeName: string): Promise<void> {
    const previous = this.applied.get(nodeName);
    const text = kubeProxyRestore(model, nodeName, { first: false, ...(previous !== undefined ? { previous } : {}) });
    await this.restore(nodeName, text);
    this.applied.set(nodeName, text);
  }

  /**
   * kube-proxy's start: route_localnet set, the jumps it finds missing prepended (EnsureRule), and a
   * full restore whose stale service chains are the ones `iptables-save -t nat` shows (it remembers none).
   */
  async restart(model: Model, nodeName: string): Promise<void> {
    const netns = machineNetns(nodeName);
    await this.ctx.runner.run(inNetns(netns, ['sysctl', '-q', '-w', 'net.ipv4.conf.all.route_localnet=1']));
    const saved = (await this.ctx.runner.run(inNetns(netns, ['iptables-save', '-t', 'nat']))).stdout;
    const missing = await missingJumps(this.ctx.runner, netns, kubeProxyJumps());
    const text = renderKubeProxyIptables(model, nodeName, { existingNatChains: declaredChains(saved, 'nat') });
    await this.restore(nodeName, withJumps(text, missing));
    // What a later sync compares with: the rules alone, the stale chains gone.
    this.applied.set(nodeName, renderKubeProxyIptables(model, nodeName));
  }
}
