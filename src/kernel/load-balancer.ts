import type { Model } from '../cluster/types.js';
import { healthChecks, loadBalancerRouteLines, loadBalancerRoutes } from '../dataplane/load-balancer.js';
import { LAN_BRIDGE, LAN_NETNS } from '../dataplane/names.js';
import type { Runner } from './exec.js';
import { inNetns } from './exec.js';

/**
 * The LAN's cloud load balancer (not kube-proxy: the cloud's or MetalLB's part): the gateway routes
 * each LoadBalancer address to the nodes, for Local policy only to those whose healthCheckNodePort
 * answers 200 (kube-proxy's health check server, which must be serving before `sync`).
 */
export class CloudLoadBalancer {
  private routes = new Map<string, string[]>();

  constructor(private readonly runner: Runner) {}

  /** The load balancer's probe of every node's health check, from the LAN: Service key -> healthy nodes. */
  private async probeHealth(model: Model): Promise<Map<string, Set<string>>> {
    const healthy = new Map<string, Set<string>>();
    for (const c of healthChecks(model)) {
      const urls = model.nodes.map((n) => `http://${n.ip}:${c.port}/healthz`);
      // One -o per URL: curl applies an --output to one URL only.
      const r = await this.runner.run(
        inNetns(LAN_NETNS, ['curl', '--silent', '--max-time', '1', '--write-out', '%{http_code}\n', ...urls.flatMap((u) => ['--output', '/dev/null', u])]),
        { reject: false },
      );
      const codes = r.stdout.trim().split('\n');
      healthy.set(`${c.namespace}/${c.name}`, new Set(model.nodes.filter((_, i) => codes[i] === '200').map((n) => n.name)));
    }
    return healthy;
  }

  /** Routes every LoadBalancer address of the model as the load balancer would now, changing only what changed. */
  async sync(model: Model): Promise<void> {
    const routes = loadBalancerRoutes(model, await this.probeHealth(model));
    const lines = loadBalancerRouteLines(this.routes, routes, model.config.lanCIDR);
    if (lines.length) {
      // The gateway forwards back out of the port a packet came in by: no ICMP redirects for that,
      // and ARP for such an address is only answered with proxy_arp_pvlan (the kernel refuses a
      // proxy ARP route back out of the same interface otherwise).
      if (this.routes.size === 0) {
        // Flows are spread by their 5-tuple (fib_multipath_hash_policy 1), as a cloud load balancer does.
        await this.runner.run(
          inNetns(LAN_NETNS, [
            'sysctl',
            '-q',
            '-w',
            'net.ipv4.conf.all.send_redirects=0',
            `net.ipv4.conf.${LAN_BRIDGE}.send_redirects=0`,
            `net.ipv4.conf.${LAN_BRIDGE}.proxy_arp_pvlan=1`,
            'net.ipv4.fib_multipath_hash_policy=1',
          ]),
        );
      }
      await this.runner.run(['ip', '-n', LAN_NETNS, '-batch', '-'], { input: `${lines.join('\n')}\n` });
    }
    this.routes = routes;
  }
}
