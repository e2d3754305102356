import type { Model } from '../cluster/types.js';
import { healthChecks } from '../dataplane/load-balancer.js';
import { machineNetns } from '../dataplane/names.js';
import { newlyActiveUdpServices, staleUdpEndpoints, udpConntrackCleanup } from '../dataplane/service-port.js';
import { kubeProxyFeatures } from '../dataplane/versions.js';
import { parseConntrack } from '../trace/conntrack.js';
import { KnetlabError } from '../errors.js';
import type { ModeApplier } from '../proxy/driver.js';
import { proxyDriver } from '../proxy/drivers.js';
import type { EchoListener } from '../workloads/echo.js';
import type { Runner } from './exec.js';
import { inNetns } from './exec.js';
import { CloudLoadBalancer } from './load-balancer.js';

/**
 * kube-proxy on every node, then the LAN's load balancer: keeps each node's rules in step with the
 * model through the mode's driver (src/proxy/), as kube-proxy's sync loop does, clears stale UDP
 * conntrack entries after, serves kube-proxy's health checks, and lets the load balancer (which
 * probes them) route to the healthy nodes.
 */
export class KubeProxy {
  private applier: { mode: string; applier: ModeApplier } | undefined;
  private readonly loadBalancer: CloudLoadBalancer;

  constructor(
    private readonly runner: Runner,
    private readonly opts: {
      clearStaleConntrack: boolean;
      /** Serves kube-proxy's health check answers (the echo server's healthz listeners). */
      serveHealth?: (listeners: EchoListener[]) => Promise<void>;
    },
  ) {
    this.loadBalancer = new CloudLoadBalancer(runner);
  }

  /** The mode's applier, made on the first sync (the mode is the model's, the same for a whole run). */
  private modeApplier(model: Model): ModeApplier {
    const mode = model.config.proxyMode;
    if (this.applier && this.applier.mode !== mode) throw new KnetlabError('EINTERNAL', `kube-proxy runs in ${this.applier.mode} mode and cannot switch to ${mode}`);
    this.applier ??= { mode, applier: proxyDriver(mode).apply({ runner: this.runner, clearStale: (prev, m, nodeName) => this.clearStale(prev, m, nodeName) }) };
    return this.applier.applier;
  }

  /** kube-proxy's health check server on each node: what it answers for each Local LoadBalancer Service. */
  healthListeners(model: Model): EchoListener[] {
    return healthChecks(model).flatMap((c) =>
      model.nodes.map((n) => ({
        netns: machineNetns(n.name),
        port: c.port,
        protocol: 'TCP' as const,
        kind: 'healthz' as const,
        identity: { server: `node/${n.name}`, node: n.name, health: { service: { namespace: c.namespace, name: c.name }, localEndpoints: c.localEndpoints.get(n.name) ?? 0 } },
      })),
    );
  }

  private async serveHealthChecks(model: Model): Promise<void> {
    const listeners = this.healthListeners(model);
    if (listeners.length === 0) return;
    if (!this.opts.serveHealth) throw new KnetlabError('EINTERNAL', 'Local LoadBalancer Services need the health check server');
    await this.opts.serveHealth(listeners);
  }

  /** After the new rules are in: the conntrack entries of removed UDP endpoints, and of newly active UDP Services, go, as kube-proxy does. */
  private async clearStale(prev: Model | undefined, model: Model, nodeName: string): Promise<void> {
    if (!prev || !this.opts.clearStaleConntrack) return;
    const netns = machineNetns(nodeName);
    for (const stale of staleUdpEndpoints(prev, model, nodeName)) {
      // conntrack -D exits 1 when nothing matched, which is no failure here.
      for (const argv of stale.conntrack) await this.runner.run(inNetns(netns, ['conntrack', ...argv]), { reject: false });
    }
    // A UDP Service that gets its first endpoint: entries made while nothing served it go (kubernetes#48370).
    for (const active of newlyActiveUdpServices(prev, model, nodeName)) {
      for (const argv of active.conntrack) await this.runner.run(inNetns(netns, ['conntrack', ...argv]), { reject: false });
    }
  }

  /** kube-proxy's periodic full sync: every node's rules restored again, changed or not. */
  async resync(model: Model): Promise<void> {
    const applier = this.modeApplier(model);
    await Promise.all(model.nodes.map((node) => applier.resync(model, node.name)));
  }

  /**
   * kube-proxy restarted on one node: its start-up sync from what the kernel holds, then (the sync
   * has UDP Services) its conntrack reconciler: UDP entries to a Service whose reply does not come
   * from a serving endpoint are deleted. A release before the reconciler (versions.ts) finds every
   * UDP Service with a serving endpoint newly active instead, and deletes all entries to it.
   */
  async restart(model: Model, nodeName: string): Promise<void> {
    await this.modeApplier(model).restart(model, nodeName);
    await this.serveHealthChecks(model);
    if (!this.opts.clearStaleConntrack) return;
    const netns = machineNetns(nodeName);
    if (!kubeProxyFeatures(model.config.kubernetesVersion).conntrackReconciler) {
      // conntrack -D exits 1 when nothing matched, which is no failure here.
      for (const active of newlyActiveUdpServices(undefined, model, nodeName)) {
        for (const argv of active.conntrack) await this.runner.run(inNetns(netns, ['conntrack', ...argv]), { reject: false });
      }
      return;
    }
    const listed = await this.runner.run(inNetns(netns, ['conntrack', '-L', '-p', 'udp']), { reject: false });
    const entries = parseConntrack(listed.stdout).map((e) => ({ origDst: e.orig.dst, origDport: e.orig.dport ?? 0, replySrc: e.reply.src }));
    // conntrack -D exits 1 when nothing matched, which is no failure here.
    for (const argv of udpConntrackCleanup(model, nodeName, entries)) await this.runner.run(inNetns(netns, ['conntrack', ...argv]), { reject: false });
  }

  async sync(prev: Model | undefined, model: Model): Promise<void> {
    const applier = this.modeApplier(model);
    await Promise.all(model.nodes.map((node) => applier.sync(prev, model, node.name)));
    await this.serveHealthChecks(model);
    await this.loadBalancer.sync(model);
  }
}
