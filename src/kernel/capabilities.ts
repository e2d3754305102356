import type { Model } from '../cluster/types.js';
import { cniOf } from '../cni/index.js';
import { KnetlabError } from '../errors.js';
import { proxyDriver } from '../proxy/drivers.js';
import type { Runner } from './exec.js';
import { inNetns } from './exec.js';

export type Feature =
  | 'veth'
  | 'bridge'
  | 'vxlan'
  | 'br_netfilter'
  | 'iptables'
  | 'nat'
  | 'nft'
  | 'ip_vs'
  | 'dummy'
  | 'ipip'
  /** New namespaces without the ipip module's tunl0, which knetlab then makes after a node's eth0, as on a node. */
  | 'tunl0-after-eth0'
  | 'netem'
  | 'xt_recent'
  | 'statistic'
  | 'conntrack'
  | 'physdev'
  | 'ipset'
  | 'xt_ipvs'
  /** What `knetlab trace` needs (kernel/trace.ts): nftrace, DSCP rewriting, conntrack labels. */
  | 'nftrace'
  /** An IPVS scheduler: ip_vs_rr, ip_vs_sh, ... */
  | `ip_vs_${string}`;

const PROBE_NS = 'knetlab-probe';
const PROBE_TIMEOUT_MS = 60_000;

interface Check {
  argv: string[];
  input?: string;
  module: string;
  /** Tried after argv succeeded (in the same namespace). */
  andThen?: { argv: string[]; input?: string };
}

/** How each feature is tried, in a throwaway namespace of the sandbox. */
const checks: Record<Exclude<Feature, `ip_vs_${string}`> | 'ip_vs', Check> = {
  veth: { argv: ['ip', '-n', PROBE_NS, 'link', 'add', 'kp-v0', 'type', 'veth', 'peer', 'name', 'kp-v1'], module: 'veth' },
  bridge: { argv: ['ip', '-n', PROBE_NS, 'link', 'add', 'kp-b0', 'type', 'bridge'], module: 'bridge' },
  vxlan: { argv: ['ip', '-n', PROBE_NS, 'link', 'add', 'kp-x0', 'type', 'vxlan', 'id', '42', 'dstport', '8472', 'nolearning'], module: 'vxlan' },
  dummy: { argv: ['ip', '-n', PROBE_NS, 'link', 'add', 'kp-d0', 'type', 'dummy'], module: 'dummy' },
  ipip: { argv: ['ip', '-n', PROBE_NS, 'link', 'add', 'kp-i0', 'type', 'ipip', 'local', '10.255.0.1', 'remote', '10.255.0.2'], module: 'ipip' },
  // With net.core.fb_tunnels_only_for_init_net=0 every namespace gets a tunl0 before its eth0, whose address MASQUERADE then prefers.
  'tunl0-after-eth0': {
    argv: ['ip', '-n', PROBE_NS, 'link', 'add', 'kp-i1', 'type', 'ipip', 'local', '10.255.0.3', 'remote', '10.255.0.4'],
    andThen: { argv: ['ip', '-n', PROBE_NS, 'link', 'add', 'name', 'tunl0', 'type', 'ipip'] },
    module: 'ipip, with sysctl net.core.fb_tunnels_only_for_init_net=1 so that a new namespace has no tunl0 before its eth0',
  },
  br_netfilter: { argv: inNetns(PROBE_NS, ['sysctl', '-n', 'net.bridge.bridge-nf-call-iptables']), module: 'br_netfilter' },
  iptables: {
    argv: inNetns(PROBE_NS, ['iptables-restore']),
    input: '*filter\n:FORWARD ACCEPT [0:0]\n-A FORWARD -m comment --comment probe -j ACCEPT\nCOMMIT\n',
    module: 'nf_tables / x_tables',
  },
  nat: {
    argv: inNetns(PROBE_NS, ['iptables-restore']),
    input: '*nat\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -m mark --mark 0x4000/0x4000 -j MASQUERADE --random-fully\nCOMMIT\n',
    module: 'nf_nat / xt_MASQUERADE',
  },
  statistic: {
    argv: inNetns(PROBE_NS, ['iptables-restore']),
    input: '*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -m statistic --mode random --probability 0.5000000000 -j RETURN\nCOMMIT\n',
    module: 'xt_statistic',
  },
  xt_recent: {
    argv: inNetns(PROBE_NS, ['iptables-restore']),
    input: '*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -m recent --name probe --rcheck --seconds 10 --reap -j RETURN\nCOMMIT\n',
    module: 'xt_recent',
  },
  // What kube-proxy's nftables mode uses: a nat chain, fib, numgen with a verdict map, a timeout set.
  nft: {
    argv: inNetns(PROBE_NS, ['nft', '-f', '-']),
    input:
      'table ip knetlab-probe {\n set s { type ipv4_addr; flags dynamic,timeout; timeout 10s; }\n chain c {\n type nat hook prerouting priority -100;\n fib saddr type local return\n numgen random mod 2 vmap { 0 : return, 1 : return }\n }\n}\n',
    module: 'nf_tables, nft_fib, nft_numgen',
  },
  ip_vs: { argv: inNetns(PROBE_NS, ['ipvsadm', '-A', '-t', '10.255.0.1:80', '-s', 'rr']), module: 'ip_vs' },
  // What kube-proxy's IPVS mode makes: its set types, and a rule matching one.
  ipset: {
    argv: inNetns(PROBE_NS, ['ipset', 'restore']),
    input: 'create kp-s hash:ip,port,ip family inet\ncreate kp-n hash:ip,port,net family inet\ncreate kp-p bitmap:port range 0-65535\ncreate kp-i hash:ip,port family inet\n',
    andThen: {
      argv: inNetns(PROBE_NS, ['iptables-restore']),
      input: '*nat\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -m set --match-set kp-s dst,dst,src -j MASQUERADE\nCOMMIT\n',
    },
    module: 'ip_set, ip_set_hash_ipportip, ip_set_bitmap_port, xt_set',
  },
  xt_ipvs: {
    argv: inNetns(PROBE_NS, ['iptables-restore']),
    input: '*filter\n:OUTPUT ACCEPT [0:0]\n-A OUTPUT -m ipvs --vaddr 10.255.0.1 --vproto tcp --vport 80 -j DROP\nCOMMIT\n',
    module: 'xt_ipvs',
  },
  netem: { argv: ['tc', '-n', PROBE_NS, 'qdisc', 'add', 'dev', 'lo', 'root', 'netem', 'delay', '1ms'], module: 'sch_netem' },
  conntrack: { argv: inNetns(PROBE_NS, ['conntrack', '-L']), module: 'nf_conntrack_netlink' },
  nftrace: {
    argv: inNetns(PROBE_NS, ['nft', '-f', '-']),
    input: 'table inet knetlab-probe-trace {\n chain c {\n type filter hook prerouting priority -199;\n ip dscp 0x2d ct label set 127\n ct label 127 meta nftrace set 1\n }\n}\n',
    module: 'nf_tables, nft_ct (conntrack labels)',
  },
  physdev: {
    argv: inNetns(PROBE_NS, ['iptables-restore']),
    input: '*filter\n:FORWARD ACCEPT [0:0]\n-A FORWARD -m physdev --physdev-is-bridged -j RETURN\nCOMMIT\n',
    module: 'xt_physdev',
  },
};

/** Every feature that has a check of its own (the IPVS schedulers besides: `ip_vs_NAME`). */
export const probedFeatures = Object.keys(checks) as (keyof typeof checks)[];

/** The module (or setting) a feature comes from, as a missing one is reported. */
export function featureModule(f: Feature): string {
  return checkOf(f, 0).module;
}

/** A feature's check; a scheduler's is a virtual server of its own (a port per probe, as they run at once). */
function checkOf(f: Feature, i: number): Check {
  if (f in checks) return checks[f as keyof typeof checks];
  const scheduler = f.slice('ip_vs_'.length);
  return { argv: inNetns(PROBE_NS, ['ipvsadm', '-A', '-t', `10.255.0.2:${1000 + i}`, '-s', scheduler]), module: f };
}

export interface Capabilities {
  has(f: Feature): boolean;
  /** Why a feature is missing: the command's error. */
  why(f: Feature): string;
}

/**
 * Tries every feature once that is not known to be there (`known`: found before on this kernel
 * since it booted, a cache the caller keeps outside the sandbox), in a namespace made for it and
 * removed after. `found` lists what was tried and found, for the caller's cache.
 */
export async function probeCapabilities(runner: Runner, features: readonly Feature[], opts: { known?: ReadonlySet<string> } = {}): Promise<Capabilities & { found: Feature[] }> {
  const known = opts.known ?? new Set<string>();
  const results = new Map<Feature, string | null>(features.filter((f) => known.has(f)).map((f) => [f, null]));
  const todo = features.filter((f) => !known.has(f));
  if (todo.length) {
    await runner.run(['ip', 'netns', 'add', PROBE_NS]);
    try {
      await Promise.all(
        todo.map(async (f) => {
          const c = checkOf(f, todo.indexOf(f));
          // Generous: under software emulation (the VM of scripts/vm) a loaded guest takes seconds a command.
          const opts = { reject: false, timeoutMs: PROBE_TIMEOUT_MS } as const;
          let r = await runner.run(c.argv, { ...(c.input ? { input: c.input } : {}), ...opts });
          if (r.exitCode === 0 && c.andThen) r = await runner.run(c.andThen.argv, { ...(c.andThen.input ? { input: c.andThen.input } : {}), ...opts });
          // A probe that did not finish says nothing of the kernel: no skip on that evidence.
          if (r.timedOut)
            throw new KnetlabError('ECOMMAND', `the probe for ${f} (${r.command.join(' ')}) did not finish in ${PROBE_TIMEOUT_MS / 1000} s`, {
              command: r.command,
              stderr: r.stderr,
            });
          results.set(f, r.exitCode === 0 ? null : (r.stderr.trim().split('\n')[0] ?? `exit ${r.exitCode}`) || `exit ${r.exitCode}`);
        }),
      );
    } finally {
      await runner.run(['ip', 'netns', 'del', PROBE_NS], { reject: false });
    }
  }
  return {
    has: (f) => results.get(f) === null,
    why: (f) => results.get(f) ?? '',
    found: todo.filter((f) => results.get(f) === null),
  };
}

/** What every scenario needs, whatever its mode and network. */
export const BASE_FEATURES: readonly Feature[] = ['veth', 'bridge', 'br_netfilter', 'iptables', 'nat', 'conntrack'];

/** The kernel features a scenario needs. */
export function neededFeatures(model: Model): Feature[] {
  const out: Feature[] = [...BASE_FEATURES];
  const cni = cniOf(model);
  out.push(...cni.requires);
  if (model.objects.some((o) => o.kind === 'NetworkPolicy')) out.push(...cni.policyRequires);
  out.push(...proxyDriver(model.config.proxyMode).features(model));
  return out;
}

/** The reason a scenario is skipped for missing features: each named, with where to get it. */
export function missingReason(caps: Capabilities, features: readonly Feature[]): string | null {
  const missing = features.filter((f) => !caps.has(f));
  if (missing.length === 0) return null;
  const list = missing.map((f, i) => `${f} (module ${checkOf(f, i).module}: ${caps.why(f)})`).join('; ');
  return `this kernel lacks ${list}; run it on a kernel that has them: the Vagrant box (\`vagrant up\`), or a throwaway VM with Debian's kernel (from a knetlab checkout: \`scripts/vm run -- node dist/cli/main.js run FILE\`)`;
}
