// The desired kernel state of a scenario, as plain data: rendered by dataplane/ (pure), applied by
// kernel/ (the only side effects).

export type NamespaceKind = 'lan' | 'node' | 'host' | 'pod';

/** One network namespace (a file under /run/netns) and what must be true inside it. */
export interface NamespacePlan {
  /** The netns name: `lan`, a node's or host's name, or `NAME.NAMESPACE` for a pod. */
  name: string;
  kind: NamespaceKind;
  /** `ip -batch` lines run inside this namespace (`ip -n NAME -batch -`), in order. */
  ip: string[];
  /** `bridge -batch` lines (fdb entries) run inside it after the ip lines. */
  bridge: string[];
  /** sysctls to set inside it, e.g. `net.ipv4.ip_forward: '1'`. */
  sysctls: Record<string, string>;
  /** `iptables-restore` input for it (whole tables), or '' for none. */
  iptables: string;
  /** `ipset restore` input for it, restored before its iptables text (whose rules match the sets); absent for none. */
  ipset?: string;
  /**
   * Devices a module makes in every new namespace (the ipip module's tunl0), which its lines
   * configure: made first where this kernel does not (net.core.fb_tunnels_only_for_init_net).
   */
  fallbackDevices?: FallbackDevice[];
  /** Files of /etc/netns/NAME/ (e.g. resolv.conf), which `ip netns exec` shows as /etc/... */
  etc: Record<string, string>;
}

export interface FallbackDevice {
  name: string;
  /** The `ip link add ... type KIND` that makes it where the kernel has not. */
  kind: 'ipip';
}

/**
 * A whole topology: the namespaces to create, then stages applied in order; the namespaces of
 * one stage are independent and may be applied in parallel. (A veth's far end is made by the
 * stage before: the LAN makes each machine's eth0, a node each of its pods' eth0.)
 */
export interface TopologyPlan {
  namespaces: string[];
  stages: NamespacePlan[][];
}
