import type { Model } from '../cluster/types.js';
import { machineNetns } from '../dataplane/names.js';
import { portmapLocalnetInterfaces, portmapRestore } from '../dataplane/portmap.js';
import type { Runner } from './exec.js';
import { inNetns } from './exec.js';

/**
 * The CNI portmap plugin on every node (hostPort): its nat chains restored when the pods with host
 * ports change (as its ADD and DEL do per pod), and route_localnet on the interface routing to each
 * such pod, as portmap sets it, so that 127.0.0.1:hostPort reaches the pod.
 */
export class HostPorts {
  private applied = new Map<string, string>();
  private localnet = new Set<string>();

  constructor(private readonly runner: Runner) {}

  /** A node rebooted: its nat table and sysctls are gone, so the next sync writes them again. */
  forget(nodeName: string): void {
    this.applied.delete(nodeName);
    for (const key of this.localnet) if (key.startsWith(`${nodeName} `)) this.localnet.delete(key);
  }

  async sync(model: Model): Promise<void> {
    await Promise.all(
      model.nodes.map(async (node) => {
        const netns = machineNetns(node.name);
        const previous = this.applied.get(node.name);
        const text = portmapRestore(model, node.name, previous === undefined ? {} : { previous });
        if (text === '' || text === previous) return;
        await this.runner.run(inNetns(netns, ['iptables-restore', '--noflush', '--counters']), { input: text });
        this.applied.set(node.name, text);
        for (const dev of portmapLocalnetInterfaces(model, node.name)) {
          if (this.localnet.has(`${node.name} ${dev}`)) continue;
          await this.runner.run(inNetns(netns, ['sysctl', '-qw', `net.ipv4.conf.${dev}.route_localnet=1`]));
          this.localnet.add(`${node.name} ${dev}`);
        }
      }),
    );
  }
}
