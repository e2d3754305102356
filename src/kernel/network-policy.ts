import type { Model } from '../cluster/types.js';
import { machineNetns } from '../dataplane/names.js';
import { networkPolicyRestore } from '../dataplane/network-policy.js';
import type { Runner } from './exec.js';
import { inNetns } from './exec.js';

/**
 * NetworkPolicy enforcement on every node, as a policy-enforcing CNI's agent keeps it: its own
 * chains restored after kube-proxy's (so its jumps sit above kube-proxy's and flannel's accepts),
 * again after every change, only where the text changed.
 */
export class NetworkPolicies {
  private applied = new Map<string, string>();

  constructor(private readonly runner: Runner) {}

  /** A node whose rules are gone (rebooted): the next sync applies its whole set again. */
  forget(nodeName: string): void {
    this.applied.delete(nodeName);
  }

  async sync(model: Model): Promise<void> {
    if (!model.objects.some((o) => o.kind === 'NetworkPolicy') && this.applied.size === 0) return;
    await Promise.all(
      model.nodes.map(async (node) => {
        const previous = this.applied.get(node.name);
        const text = networkPolicyRestore(model, node.name, { first: previous === undefined, ...(previous ? { previous } : {}) });
        if (text === previous) return;
        await this.runner.run(inNetns(machineNetns(node.name), ['iptables-restore', '--noflush', '--counters']), { input: text });
        this.applied.set(node.name, previous === undefined ? networkPolicyRestore(model, node.name, { first: false }) : text);
      }),
    );
  }
}
