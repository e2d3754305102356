import type { Model } from '../cluster/types.js';
import { KUBE_IPVS_DEVICE, renderIpvs, type IpvsRender } from '../dataplane/ipvs.js';
import { dummyAddressLines, gracefulRemovals, ipvsadmChanges, ipvsIptablesRestore, ipvsSysctls, parseIpvsadmConnections } from '../dataplane/ipvs-sync.js';
import { machineNetns } from '../dataplane/names.js';
import type { Feature } from '../kernel/capabilities.js';
import { inNetns } from '../kernel/exec.js';
import type { ApplyContext, ModeApplier, ProxyDriver } from './driver.js';

/**
 * kube-proxy's IPVS mode: every sync reconciled against the kernel as kube-proxy does: kube-ipvs0's
 * addresses first (IPVS answers only for local addresses), the ipsets next (the iptables rules
 * name them), the virtual servers, then the iptables rules.
 */
export const ipvsDriver: ProxyDriver<IpvsRender, 'ipvs'> = {
  mode: 'ipvs',
  render: (model, nodeName) => renderIpvs(model, nodeName),
  apply: (ctx) => new IpvsApplier(ctx),
  features(model) {
    const out: Feature[] = ['ip_vs', `ip_vs_${model.config.ipvs.scheduler}`, 'dummy', 'ipset'];
    // Only LoadBalancer source ranges that leave the node out write an `-m ipvs` rule.
    if (model.services.some((s) => s.spec.type === 'LoadBalancer' && s.spec.loadBalancerSourceRanges.length > 0)) out.push('xt_ipvs');
    return out;
  },
  sourceIpRules: ['ipvsLocalFallback', 'ipvsLocalOwn', 'ipvsVipSource'],
};

class IpvsApplier implements ModeApplier {
  /** Per node: the ipvsadm text last applied (a node is new until it has one). */
  private applied = new Map<string, string>();

  constructor(private readonly ctx: ApplyContext) {}

  /** kube-ipvs0's IPv4 addresses as the kernel has them; undefined when there is no such device yet. */
  private async deviceAddresses(netns: string): Promise<string[] | undefined> {
    const r = await this.ctx.runner.run(['ip', '-j', '-n', netns, '-4', 'address', 'show', 'dev', KUBE_IPVS_DEVICE], { reject: false });
    if (r.exitCode !== 0) return undefined;
    const links = JSON.parse(r.stdout || '[]') as { addr_info?: { local?: string }[] }[];
    return links.flatMap((l) => (l.addr_info ?? []).map((a) => a.local).filter((a): a is string => a !== undefined));
  }

  resync(model: Model, nodeName: string): Promise<void> {
    return this.sync(undefined, model, nodeName);
  }

  async sync(prev: Model | undefined, model: Model, nodeName: string): Promise<void> {
    const { runner } = this.ctx;
    const netns = machineNetns(nodeName);
    const render = renderIpvs(model, nodeName);
    const first = !this.applied.has(nodeName);
    if (first) await runner.run(inNetns(netns, ['sysctl', '-q', '-w', ...Object.entries(ipvsSysctls(model)).map(([k, v]) => `${k}=${v}`)]));
    const lines = dummyAddressLines(await this.deviceAddresses(netns), render.dummyAddresses);
    if (lines.length) await runner.run(['ip', '-n', netns, '-batch', '-'], { input: `${lines.join('\n')}\n` });
    await runner.run(inNetns(netns, ['ipset', 'restore', '-exist']), { input: render.ipset });
    const current = (await runner.run(inNetns(netns, ['ipvsadm', '-Sn']))).stdout;
    // Real servers on their way out keep weight 0 while IPVS still holds connections to them.
    const leaving = gracefulRemovals(current, render.ipvsadm);
    const connections = leaving.length ? parseIpvsadmConnections((await runner.run(inNetns(netns, ['ipvsadm', '-Ln']))).stdout) : new Map<string, number>();
    const changes = ipvsadmChanges(current, render.ipvsadm, connections);
    // `ipvsadm -R`, not the ipvsadm-restore wrapper, which clears every virtual server first.
    if (changes) await runner.run(inNetns(netns, ['ipvsadm', '-R']), { input: changes });
    await runner.run(inNetns(netns, ['iptables-restore', '--noflush', '--counters']), { input: ipvsIptablesRestore(render, first) });
    this.applied.set(nodeName, render.ipvsadm);
    await this.ctx.clearStale(prev, model, nodeName);
  }
}
