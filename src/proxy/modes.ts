// The one list of kube-proxy modes: the type, the scenario schema, the CLI, steps' expectIn, the
// tests and scripts derive theirs from it, and each mode has a driver (src/proxy/drivers.ts).

export const proxyModes = ['iptables', 'nftables', 'ipvs'] as const;

export type ProxyMode = (typeof proxyModes)[number];

export function isProxyMode(s: string): s is ProxyMode {
  return (proxyModes as readonly string[]).includes(s);
}
