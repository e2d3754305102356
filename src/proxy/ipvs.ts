import type { SourceIpMode } from '../cluster/source-ip.js';
import type { Model } from '../cluster/types.js';
import { ipvsJumps, KUBE_IPVS_DEVICE, renderIpvs, type IpvsRender } from '../dataplane/ipvs.js';
import { withJumps } from '../dataplane/kube-proxy-sync.js';
import { dummyAddressLines, gracefulRemovals, ipvsadmChanges, ipvsIptablesRestore, ipvsSysctls, parseIpvsadmConnections } from '../dataplane/ipvs-sync.js';
import { inNetns, machineNetns } from '../dataplane/names.js';
import type { Feature } from '../kernel/capabilities.js';
import type { ApplyContext, ModeApplier, ProxyDriver } from './driver.js';
import { missingJumps } from './jumps.js';

/** Where IPVS mode's source addresses differ from iptables mode's (src/cluster/source-ip.ts). */
const sourceIpRules = {
  ipvsLocalFallback:
    "IPVS mode, policy Local, a node without a ready local endpoint: its virtual server keeps every endpoint (kubernetes#97081) and the *-LOCAL ipset skips the masquerade mark, so flannel's own `! -s <pod CIDR> -d <pod CIDR> -j MASQUERADE` masquerades the packet on its way to the other node's pod.",
  ipvsLocalOwn:
    "IPVS mode, policy Local: the node's own traffic is not marked either (the *-LOCAL ipsets return first), and flannel leaves traffic to its own pod subnet alone: the source stays the address the node sent from.",
  ipvsVipSource:
    'IPVS mode: external IPs and LB IPs are addresses of every node (on kube-ipvs0), and the kernel sends to a local address from that same address: the pod sees the Service address itself.',
} as const;
const sourceIp: SourceIpMode = {
  because: sourceIpRules,
  // Its policy Local answers rest on flannel's masquerade rule: Calico under IPVS mode is not modelled yet.
  networks: ['flannel-vxlan', 'host-gw'],
  atNode({ cell, node, source, masquerade }) {
    if (cell.via === 'cluster-ip' || cell.policy !== 'Local' || source === 'pod') return undefined;
    if (node === 'other') return masquerade(sourceIpRules.ipvsLocalFallback);
    if (source !== 'local') return undefined;
    // A NodePort is the node's own address: the node is the client. External and LB IPs are on kube-ipvs0.
    if (cell.via.startsWith('nodeport-')) return { outcome: 'answered', source: 'client', because: [sourceIpRules.ipvsLocalOwn] };
    return { outcome: 'answered', source: 'vip', because: [sourceIpRules.ipvsLocalOwn, sourceIpRules.ipvsVipSource] };
  },
};

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
  sourceIp,
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

  /** A start: the sysctls set, the jumps it finds missing prepended (EnsureRule), the rest reconciled with the kernel as every sync is. */
  restart(model: Model, nodeName: string): Promise<void> {
    this.applied.delete(nodeName);
    return this.sync(undefined, model, nodeName, true);
  }

  /** `restart`: the jumps checked against the kernel rather than all prepended as on a new node. */
  async sync(prev: Model | undefined, model: Model, nodeName: string, restart = false): Promise<void> {
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
    const version = model.config.kubernetesVersion;
    const iptables = restart ? withJumps(render.iptables, await missingJumps(runner, netns, ipvsJumps(version))) : ipvsIptablesRestore(render, first, version);
    await runner.run(inNetns(netns, ['iptables-restore', '--noflush', '--counters']), { input: iptables });
    this.applied.set(nodeName, render.ipvsadm);
    await this.ctx.clearStale(prev, model, nodeName);
  }
}
