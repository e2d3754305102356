import type { KubeProxyJump } from '../dataplane/iptables.js';
import { jumpArgv } from '../dataplane/iptables.js';
import { inNetns } from '../dataplane/names.js';
import type { Runner } from '../kernel/exec.js';

/**
 * The jumps from the builtin chains that a node's kernel lacks, checked one by one with `iptables -C`
 * as kube-proxy's EnsureRule does at a start (it remembers none): the caller prepends those alone.
 */
export async function missingJumps(runner: Runner, netns: string, jumps: readonly KubeProxyJump[]): Promise<KubeProxyJump[]> {
  const out: KubeProxyJump[] = [];
  for (const j of jumps) {
    const r = await runner.run(inNetns(netns, ['iptables', ...jumpArgv(j, '-C')]), { reject: false });
    if (r.exitCode !== 0) out.push(j);
  }
  return out;
}
