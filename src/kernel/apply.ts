import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import PQueue from 'p-queue';
import type { NamespacePlan, TopologyPlan } from '../dataplane/types.js';
import type { Runner } from './exec.js';
import { inNetns } from './exec.js';

/** Enough in flight to hide each process's start-up, few enough not to thrash two cores. */
const CONCURRENCY = Math.max(4, availableParallelism() * 3);

export interface ApplyOptions {
  /** /etc/netns is usable (see prepareSandbox): write each namespace's etc files there. */
  etcNetns: boolean;
}

/**
 * Brings one namespace to its plan: ip lines in one batch, then its fdb entries; sysctls and
 * rules at the same time (they need none of the links), files.
 */
export async function applyNamespace(runner: Runner, ns: NamespacePlan, opts: ApplyOptions): Promise<void> {
  const links = (async () => {
    if (ns.ip.length) await runner.run(['ip', '-n', ns.name, '-batch', '-'], { input: `${ns.ip.join('\n')}\n` });
    if (ns.bridge.length) await runner.run(['bridge', '-n', ns.name, '-batch', '-'], { input: `${ns.bridge.join('\n')}\n` });
  })();
  const sysctls = Object.entries(ns.sysctls).map(([k, v]) => `${k}=${v}`);
  // /proc/sys/net shows the namespace of the process that reads it, so sysctl runs inside.
  const sysctl = sysctls.length ? runner.run(inNetns(ns.name, ['sysctl', '-q', '-w', ...sysctls])) : undefined;
  const rules = ns.iptables ? runner.run(inNetns(ns.name, ['iptables-restore']), { input: ns.iptables }) : undefined;
  await Promise.all([links, sysctl, rules]);
  if (opts.etcNetns && Object.keys(ns.etc).length) {
    const dir = join('/etc/netns', ns.name);
    mkdirSync(dir, { recursive: true });
    for (const [file, text] of Object.entries(ns.etc)) writeFileSync(join(dir, file), text);
  }
}

/** Creates every namespace in one `ip -batch`, then applies the stages in order, each in parallel. */
export async function applyTopology(runner: Runner, plan: TopologyPlan, opts: ApplyOptions): Promise<void> {
  await runner.run(['ip', '-batch', '-'], { input: plan.namespaces.map((n) => `netns add ${n}\n`).join('') });
  const queue = new PQueue({ concurrency: CONCURRENCY });
  for (const stage of plan.stages) {
    await Promise.all(stage.map((ns) => queue.add(() => applyNamespace(runner, ns, opts))));
  }
}
