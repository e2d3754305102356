import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Model } from '../cluster/types.js';
import type { Runner } from './exec.js';
import { inNetns } from './exec.js';

export type Feature = 'veth' | 'bridge' | 'vxlan' | 'br_netfilter' | 'iptables' | 'nat' | 'nft' | 'ip_vs' | 'dummy' | 'ipip' | 'netem' | 'xt_recent' | 'statistic' | 'conntrack' | 'physdev';

const PROBE_NS = 'knetlab-probe';

/** How each feature is tried, in a throwaway namespace of the sandbox. */
const checks: Record<Feature, { argv: string[]; input?: string; module: string }> = {
  veth: { argv: ['ip', '-n', PROBE_NS, 'link', 'add', 'kp-v0', 'type', 'veth', 'peer', 'name', 'kp-v1'], module: 'veth' },
  bridge: { argv: ['ip', '-n', PROBE_NS, 'link', 'add', 'kp-b0', 'type', 'bridge'], module: 'bridge' },
  vxlan: { argv: ['ip', '-n', PROBE_NS, 'link', 'add', 'kp-x0', 'type', 'vxlan', 'id', '42', 'dstport', '8472', 'nolearning'], module: 'vxlan' },
  dummy: { argv: ['ip', '-n', PROBE_NS, 'link', 'add', 'kp-d0', 'type', 'dummy'], module: 'dummy' },
  ipip: { argv: ['ip', '-n', PROBE_NS, 'link', 'add', 'kp-i0', 'type', 'ipip', 'local', '10.255.0.1', 'remote', '10.255.0.2'], module: 'ipip' },
  br_netfilter: { argv: inNetns(PROBE_NS, ['sysctl', '-n', 'net.bridge.bridge-nf-call-iptables']), module: 'br_netfilter' },
  iptables: { argv: inNetns(PROBE_NS, ['iptables-restore']), input: '*filter\n:FORWARD ACCEPT [0:0]\n-A FORWARD -m comment --comment probe -j ACCEPT\nCOMMIT\n', module: 'nf_tables / x_tables' },
  nat: { argv: inNetns(PROBE_NS, ['iptables-restore']), input: '*nat\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -m mark --mark 0x4000/0x4000 -j MASQUERADE --random-fully\nCOMMIT\n', module: 'nf_nat / xt_MASQUERADE' },
  statistic: { argv: inNetns(PROBE_NS, ['iptables-restore']), input: '*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -m statistic --mode random --probability 0.5000000000 -j RETURN\nCOMMIT\n', module: 'xt_statistic' },
  xt_recent: { argv: inNetns(PROBE_NS, ['iptables-restore']), input: '*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -m recent --name probe --rcheck --seconds 10 --reap -j RETURN\nCOMMIT\n', module: 'xt_recent' },
  // What kube-proxy's nftables mode uses: a nat chain, fib, numgen with a verdict map, a timeout set.
  nft: {
    argv: inNetns(PROBE_NS, ['nft', '-f', '-']),
    input: 'table ip knetlab-probe {\n set s { type ipv4_addr; flags dynamic,timeout; timeout 10s; }\n chain c {\n type nat hook prerouting priority -100;\n fib saddr type local return\n numgen random mod 2 vmap { 0 : return, 1 : return }\n }\n}\n',
    module: 'nf_tables, nft_fib, nft_numgen',
  },
  ip_vs: { argv: inNetns(PROBE_NS, ['ipvsadm', '-A', '-t', '10.255.0.1:80', '-s', 'rr']), module: 'ip_vs' },
  netem: { argv: ['tc', '-n', PROBE_NS, 'qdisc', 'add', 'dev', 'lo', 'root', 'netem', 'delay', '1ms'], module: 'sch_netem' },
  conntrack: { argv: inNetns(PROBE_NS, ['conntrack', '-L']), module: 'nf_conntrack_netlink' },
  physdev: { argv: inNetns(PROBE_NS, ['iptables-restore']), input: '*filter\n:FORWARD ACCEPT [0:0]\n-A FORWARD -m physdev --physdev-is-bridged -j RETURN\nCOMMIT\n', module: 'xt_physdev' },
};

export interface Capabilities {
  has(f: Feature): boolean;
  /** Why a feature is missing: the command's error. */
  why(f: Feature): string;
}

/**
 * Features found before on this kernel since it booted (the boot id and kernel release name the
 * cache): a module loaded stays loaded, so only what was missing is tried again.
 */
function cacheFile(): string | undefined {
  try {
    const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    const release = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
    return join(tmpdir(), `knetlab-features-${process.getuid?.() ?? 'u'}-${boot}-${release}.json`);
  } catch {
    return undefined;
  }
}

function readCache(file: string | undefined): Set<Feature> {
  if (!file) return new Set();
  try {
    return new Set(JSON.parse(readFileSync(file, 'utf8')) as Feature[]);
  } catch {
    return new Set();
  }
}

/** Tries every feature once (that is not known to be there), in a namespace made for it and removed after. */
export async function probeCapabilities(runner: Runner, features: readonly Feature[]): Promise<Capabilities> {
  const cache = cacheFile();
  const known = readCache(cache);
  const results = new Map<Feature, string | null>(features.filter((f) => known.has(f)).map((f) => [f, null]));
  const todo = features.filter((f) => !known.has(f));
  if (todo.length === 0) return { has: (f) => results.get(f) === null, why: (f) => results.get(f) ?? '' };
  await runner.run(['ip', 'netns', 'add', PROBE_NS]);
  try {
    await Promise.all(
      todo.map(async (f) => {
        const c = checks[f];
        const r = await runner.run(c.argv, { ...(c.input ? { input: c.input } : {}), reject: false, timeoutMs: 10_000 });
        results.set(f, r.exitCode === 0 ? null : (r.stderr.trim().split('\n')[0] ?? `exit ${r.exitCode}`) || `exit ${r.exitCode}`);
      }),
    );
  } finally {
    await runner.run(['ip', 'netns', 'del', PROBE_NS], { reject: false });
  }
  if (cache) {
    const found = [...new Set([...known, ...[...results].filter(([, why]) => why === null).map(([f]) => f)])].sort();
    try {
      writeFileSync(cache, JSON.stringify(found));
    } catch {
      // a cache that cannot be written only costs the next run the probe
    }
  }
  return {
    has: (f) => results.get(f) === null,
    why: (f) => results.get(f) ?? '',
  };
}

/** The kernel features a scenario needs. */
export function neededFeatures(model: Model): Feature[] {
  const out: Feature[] = ['veth', 'bridge', 'br_netfilter', 'iptables', 'nat', 'conntrack'];
  if (model.config.network === 'flannel-vxlan') out.push('vxlan');
  if (model.objects.some((o) => o.kind === 'NetworkPolicy')) out.push('physdev');
  if (model.config.proxyMode === 'nftables') out.push('nft');
  else if (model.services.length) out.push('statistic');
  if (model.config.proxyMode === 'iptables' && model.services.some((s) => s.spec.sessionAffinity === 'ClientIP')) out.push('xt_recent');
  return out;
}

/** The reason a scenario is skipped for missing features: each named, with where to get it. */
export function missingReason(caps: Capabilities, features: readonly Feature[]): string | null {
  const missing = features.filter((f) => !caps.has(f));
  if (missing.length === 0) return null;
  const list = missing.map((f) => `${f} (module ${checks[f].module}: ${caps.why(f)})`).join('; ');
  return `this kernel lacks ${list}; run it on a kernel that has them, such as the Vagrant box (\`vagrant up\`)`;
}
