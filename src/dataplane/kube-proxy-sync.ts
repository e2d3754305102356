import type { Model } from '../cluster/types.js';
import { declaredChains, kubeProxyJumps, renderKubeProxyIptables, type KubeProxyJump } from './iptables.js';

/** A restore line for an argv: words with spaces or quotes quoted as iptables-save does. */
function restoreWords(argv: readonly string[]): string {
  return argv.map((w) => (/[\s"]/.test(w) ? `"${w.replace(/"/g, '\\"')}"` : w)).join(' ');
}

/**
 * kube-proxy's text for one node's `iptables-restore --noflush`. The first sync also prepends the
 * jumps from the builtin chains (`-I CHAIN 1`, in kube-proxy's order, so each chain ends with them
 * in reverse, as kube-proxy's -C/-I leaves them); later syncs must not, or they would repeat.
 * `previous` is the last text applied, whose service chains that are gone are deleted.
 */
export function kubeProxyRestore(model: Model, nodeName: string, opts: { first: boolean; previous?: string }): string {
  const text = renderKubeProxyIptables(model, nodeName, opts.previous ? { existingNatChains: declaredChains(opts.previous, 'nat') } : {});
  return opts.first ? withJumps(text, kubeProxyJumps()) : text;
}

/**
 * Restore text with the jumps from the builtin chains prepended (`-I CHAIN 1`, in kube-proxy's
 * order, so each chain ends with them in reverse, as kube-proxy's -C/-I leaves them), for a first
 * sync only: later ones must not, or the jumps would repeat.
 */
export function withJumps(text: string, jumps: readonly KubeProxyJump[]): string {
  const byTable = (table: string) => jumps.filter((j) => j.table === table).map((j) => `-I ${j.chain} 1 ${restoreWords(j.rule)}`);
  // The jumps go at the end of each table's section, after the chains they name are declared.
  return text.replace(
    /^\*(filter|nat)\n([\s\S]*?)^COMMIT$/gm,
    (_all, table: string, body: string) =>
      `*${table}\n${body}${byTable(table)
        .map((l) => `${l}\n`)
        .join('')}COMMIT`,
  );
}
