import type { Model } from '../cluster/types.js';
import { staleUdpEndpoints } from '../dataplane/service-port.js';
import { renderKubeProxyNftables } from '../dataplane/nftables.js';
import { nftSyncText, nftTableState } from '../dataplane/nft-sync.js';
import { renderIpvs } from '../dataplane/ipvs.js';
import { dummyAddressLines, gracefulRemovals, ipvsadmChanges, ipvsIptablesRestore, ipvsSysctls, parseIpvsadmConnections } from '../dataplane/ipvs-sync.js';
import { healthChecks, kubeProxyRestore, loadBalancerRouteLines, loadBalancerRoutes } from '../dataplane/kube-proxy-sync.js';
import type { EchoListener } from '../workloads/echo.js';
import { KUBE_IPVS_DEVICE } from '../dataplane/ipvs.js';
import { LAN_BRIDGE, LAN_NETNS, machineNetns } from '../dataplane/names.js';
import type { Runner } from './exec.js';
import { inNetns } from './exec.js';

/** How long kube-proxy's nftables mode keeps a flushed chain before deleting it. */
const STALE_CHAIN_DELAY_MS = 1000;

/**
 * kube-proxy on every node, and the LAN's load balancer: keeps each node's rules in step with the
 * model, as kube-proxy's sync loop does (a whole restore of its chains, atomically, per node,
 * only when the text changed), and clears stale UDP conntrack entries after.
 */
export class KubeProxy {
  private applied = new Map<string, string>();
  /** nftables mode: each node's stale chains (flushed, not yet deleted), with when they went stale. */
  private staleChains = new Map<string, Map<string, number>>();
  private lbRoutes = new Map<string, string[]>();

  constructor(
    private readonly runner: Runner,
    private readonly opts: {
      clearStaleConntrack: boolean;
      /** Serves kube-proxy's health check answers (the echo server's healthz listeners). */
      serveHealth?: (listeners: EchoListener[]) => Promise<void>;
    },
  ) {}

  /**
   * kube-proxy's health check server on each node, then the load balancer's probe of it from the
   * LAN: a node is healthy for a Service when its healthCheckNodePort answers 200.
   */
  private async probeHealth(model: Model): Promise<Map<string, Set<string>>> {
    const checks = healthChecks(model);
    const healthy = new Map<string, Set<string>>();
    if (checks.length === 0) return healthy;
    if (!this.opts.serveHealth) throw new Error('Local LoadBalancer Services need the health check server');
    await this.opts.serveHealth(
      checks.flatMap((c) =>
        model.nodes.map((n) => ({
          netns: machineNetns(n.name),
          port: c.port,
          protocol: 'TCP' as const,
          kind: 'healthz' as const,
          identity: { server: `node/${n.name}`, node: n.name, health: { service: { namespace: c.namespace, name: c.name }, localEndpoints: c.localEndpoints.get(n.name) ?? 0 } },
        })),
      ),
    );
    for (const c of checks) {
      const urls = model.nodes.map((n) => `http://${n.ip}:${c.port}/healthz`);
      // One -o per URL: curl applies an --output to one URL only.
      const r = await this.runner.run(inNetns(LAN_NETNS, ['curl', '--silent', '--max-time', '1', '--write-out', '%{http_code}\n', ...urls.flatMap((u) => ['--output', '/dev/null', u])]), { reject: false });
      const codes = r.stdout.trim().split('\n');
      healthy.set(`${c.namespace}/${c.name}`, new Set(model.nodes.filter((_, i) => codes[i] === '200').map((n) => n.name)));
    }
    return healthy;
  }

  /** After the new rules are in: the conntrack entries of removed UDP endpoints go, as kube-proxy does. */
  private async clearStale(prev: Model | undefined, model: Model, nodeName: string, netns: string): Promise<void> {
    if (!prev || !this.opts.clearStaleConntrack) return;
    for (const stale of staleUdpEndpoints(prev, model, nodeName)) {
      // conntrack -D exits 1 when nothing matched, which is no failure here.
      for (const argv of stale.conntrack) await this.runner.run(inNetns(netns, ['conntrack', ...argv]), { reject: false });
    }
  }

  /** kube-ipvs0's IPv4 addresses as the kernel has them; undefined when there is no such device yet. */
  private async ipvsDeviceAddresses(netns: string): Promise<string[] | undefined> {
    const r = await this.runner.run(['ip', '-j', '-n', netns, '-4', 'address', 'show', 'dev', KUBE_IPVS_DEVICE], { reject: false });
    if (r.exitCode !== 0) return undefined;
    const links = JSON.parse(r.stdout || '[]') as { addr_info?: { local?: string }[] }[];
    return links.flatMap((l) => (l.addr_info ?? []).map((a) => a.local).filter((a): a is string => a !== undefined));
  }

  /**
   * One IPVS-mode sync of a node, reconciled against the kernel as kube-proxy does: kube-ipvs0's
   * addresses first (IPVS answers only for local addresses), the ipsets next (the iptables rules
   * name them), the virtual servers, then the iptables rules.
   */
  private async syncIpvs(prev: Model | undefined, model: Model, nodeName: string): Promise<void> {
    const netns = machineNetns(nodeName);
    const render = renderIpvs(model, nodeName);
    const first = !this.applied.has(nodeName);
    if (first) await this.runner.run(inNetns(netns, ['sysctl', '-q', '-w', ...Object.entries(ipvsSysctls(model)).map(([k, v]) => `${k}=${v}`)]));
    const lines = dummyAddressLines(await this.ipvsDeviceAddresses(netns), render.dummyAddresses);
    if (lines.length) await this.runner.run(['ip', '-n', netns, '-batch', '-'], { input: `${lines.join('\n')}\n` });
    await this.runner.run(inNetns(netns, ['ipset', 'restore', '-exist']), { input: render.ipset });
    const current = (await this.runner.run(inNetns(netns, ['ipvsadm', '-Sn']))).stdout;
    // Real servers on their way out keep weight 0 while IPVS still holds connections to them.
    const leaving = gracefulRemovals(current, render.ipvsadm);
    const connections = leaving.length ? parseIpvsadmConnections((await this.runner.run(inNetns(netns, ['ipvsadm', '-Ln']))).stdout) : new Map<string, number>();
    const changes = ipvsadmChanges(current, render.ipvsadm, connections);
    // `ipvsadm -R`, not the ipvsadm-restore wrapper, which clears every virtual server first.
    if (changes) await this.runner.run(inNetns(netns, ['ipvsadm', '-R']), { input: changes });
    await this.runner.run(inNetns(netns, ['iptables-restore', '--noflush', '--counters']), { input: ipvsIptablesRestore(render, first) });
    this.applied.set(nodeName, render.ipvsadm);
    await this.clearStale(prev, model, nodeName, netns);
  }

  /**
   * One nftables-mode sync of a node: one atomic `nft -f` transaction, the table created on the
   * first, flushed and refilled on later ones (affinity sets kept); `force` for the periodic full
   * sync, which runs even when nothing changed.
   */
  private async syncNftables(prev: Model | undefined, model: Model, nodeName: string, force: boolean): Promise<void> {
    const netns = machineNetns(nodeName);
    const desired = renderKubeProxyNftables(model, nodeName);
    const previous = this.applied.get(nodeName);
    if (previous === undefined) {
      await this.runner.run(inNetns(netns, ['nft', '-f', '-']), { input: desired });
    } else if (force || desired !== previous) {
      const now = Date.now();
      const stale = this.staleChains.get(nodeName) ?? new Map<string, number>();
      // A chain goes a second after it went stale, as kube-proxy waits (see nft-sync.ts).
      const due = [...stale].filter(([, since]) => now - since >= STALE_CHAIN_DELAY_MS).map(([c]) => c);
      const last = nftTableState(previous);
      const sync = nftSyncText(desired, { chains: [...last.chains, ...stale.keys()], sets: last.sets }, due);
      await this.runner.run(inNetns(netns, ['nft', '-f', '-']), { input: sync.text });
      this.staleChains.set(nodeName, new Map(sync.stale.map((c) => [c, stale.get(c) ?? now])));
    }
    this.applied.set(nodeName, desired);
    await this.clearStale(prev, model, nodeName, netns);
  }

  /** kube-proxy's periodic full sync: every node's rules restored again, changed or not. */
  async resync(model: Model): Promise<void> {
    if (model.config.proxyMode === 'ipvs') {
      await Promise.all(model.nodes.map((node) => this.syncIpvs(undefined, model, node.name)));
      return;
    }
    if (model.config.proxyMode === 'nftables') {
      await Promise.all(model.nodes.map((node) => this.syncNftables(undefined, model, node.name, true)));
      return;
    }
    await Promise.all(
      model.nodes.map(async (node) => {
        const text = kubeProxyRestore(model, node.name, { first: false, ...(this.applied.has(node.name) ? { previous: this.applied.get(node.name)! } : {}) });
        await this.runner.run(inNetns(machineNetns(node.name), ['iptables-restore', '--noflush', '--counters']), { input: text });
        this.applied.set(node.name, text);
      }),
    );
  }

  async sync(prev: Model | undefined, model: Model): Promise<void> {
    await Promise.all(
      model.nodes.map(async (node) => {
        const netns = machineNetns(node.name);
        if (model.config.proxyMode === 'ipvs') return this.syncIpvs(prev, model, node.name);
        if (model.config.proxyMode === 'nftables') return this.syncNftables(prev, model, node.name, false);
        const previous = this.applied.get(node.name);
        const first = previous === undefined;
        const text = kubeProxyRestore(model, node.name, { first, ...(previous ? { previous } : {}) });
        if (text === previous) return;
        if (first) await this.runner.run(inNetns(netns, ['sysctl', '-q', '-w', 'net.ipv4.conf.all.route_localnet=1']));
        await this.runner.run(inNetns(netns, ['iptables-restore', '--noflush', '--counters']), { input: text });
        this.applied.set(node.name, first ? kubeProxyRestore(model, node.name, { first: false }) : text);
        await this.clearStale(prev, model, node.name, netns);
      }),
    );
    const routes = loadBalancerRoutes(model, await this.probeHealth(model));
    const lines = loadBalancerRouteLines(this.lbRoutes, routes, model.config.lanCIDR);
    if (lines.length) {
      // The gateway forwards back out of the port a packet came in by: no ICMP redirects for that,
      // and ARP for such an address is only answered with proxy_arp_pvlan (the kernel refuses a
      // proxy ARP route back out of the same interface otherwise).
      if (this.lbRoutes.size === 0) {
        // Flows are spread by their 5-tuple (fib_multipath_hash_policy 1), as a cloud load balancer does.
        await this.runner.run(inNetns(LAN_NETNS, ['sysctl', '-q', '-w', 'net.ipv4.conf.all.send_redirects=0', `net.ipv4.conf.${LAN_BRIDGE}.send_redirects=0`, `net.ipv4.conf.${LAN_BRIDGE}.proxy_arp_pvlan=1`, 'net.ipv4.fib_multipath_hash_policy=1']));
      }
      await this.runner.run(['ip', '-n', LAN_NETNS, '-batch', '-'], { input: `${lines.join('\n')}\n` });
    }
    this.lbRoutes = routes;
  }
}
