import type { Model } from '../cluster/types.js';

/**
 * What a scenario uses that this version cannot build yet, each with the reason; a scenario that
 * uses any of it is skipped, saying so, rather than run without it (and passed or failed wrongly).
 */
export function unsupportedFeatures(model: Model): string[] {
  const out = new Set<string>();
  if (model.config.proxyMode === 'ipvs') out.add("kube-proxy's ipvs mode is not built yet (iptables and nftables are)");
  return [...out];
}
