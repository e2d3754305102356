import { rmSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import PQueue from 'p-queue';
import type { PodRemoval } from '../dataplane/topology.js';
import type { FallbackDevice, NamespacePlan, TopologyPlan } from '../dataplane/types.js';
import type { Runner } from './exec.js';
import { inNetns } from './exec.js';
import { parseNamespaceLines } from './netlink-ops.js';
import { NetnsConfig } from './netns-config.js';

/** Enough in flight to hide each process's start-up, few enough not to thrash two cores. */
const CONCURRENCY = Math.max(4, availableParallelism() * 3);

export interface ApplyOptions {
  /** /etc/netns is usable (see prepareSandbox): write each namespace's etc files there. */
  etcNetns: boolean;
}

/** What applying one namespace started: its links and sysctls (which the namespaces it makes veths into wait for), and everything. */
interface Applying {
  links: Promise<unknown>;
  all: Promise<unknown>;
}

/**
 * Starts bringing one namespace to its plan once `after` (the links it builds on) is done. Its
 * sysctls, and its ip and bridge lines when netns-config knows them all, go to the shared helper
 * (no process of its own); otherwise its ip lines to one `ip -batch`, then its bridge lines to one
 * `bridge -batch`. Its rules at the same time as its links: nothing waits for them but the end.
 * Lines are read only once `after` is done, so that the first requests go out at once.
 */
function applyNamespace(runner: Runner, helper: NetnsConfig, queue: PQueue, ns: NamespacePlan, after: Promise<unknown>): Applying {
  const links = after.then(async () => {
    for (const d of ns.fallbackDevices ?? []) await ensureFallbackDevice(runner, queue, ns.name, d);
    const ops = parseNamespaceLines(ns.ip, ns.bridge);
    const sysctls = Object.entries(ns.sysctls);
    const helped = ops?.length || sysctls.length ? helper.configure({ netns: ns.name, sysctls, ops: ops ?? [] }) : undefined;
    if (ops) return helped;
    await Promise.all([
      helped,
      (async () => {
        if (ns.ip.length) await queue.add(() => runner.run(['ip', '-n', ns.name, '-batch', '-'], { input: `${ns.ip.join('\n')}\n` }));
        if (ns.bridge.length) await queue.add(() => runner.run(['bridge', '-n', ns.name, '-batch', '-'], { input: `${ns.bridge.join('\n')}\n` }));
      })(),
    ]);
  });
  const rules = ns.iptables
    ? after.then(async () => {
        // The CNI's sets first: its rules match them (Calico's natOutgoing).
        if (ns.ipset) await queue.add(() => runner.run(inNetns(ns.name, ['ipset', 'restore', '-exist']), { input: ns.ipset }));
        await queue.add(() => runner.run(inNetns(ns.name, ['iptables-restore']), { input: ns.iptables }));
      })
    : undefined;
  return { links, all: Promise.all([links, rules]) };
}

/**
 * A module's per-namespace device (tunl0), made where the kernel does not make it in every new
 * namespace (net.core.fb_tunnels_only_for_init_net), after eth0 as on a node where ipip loads later.
 */
async function ensureFallbackDevice(runner: Runner, queue: PQueue, netns: string, d: FallbackDevice): Promise<void> {
  const shown = await queue.add(() => runner.run(['ip', '-n', netns, '-o', 'link', 'show', 'dev', d.name], { reject: false }));
  if (shown?.exitCode !== 0) await queue.add(() => runner.run(['ip', '-n', netns, 'link', 'add', 'name', d.name, 'type', d.kind]));
}

async function writeEtc(ns: NamespacePlan): Promise<void> {
  if (!Object.keys(ns.etc).length) return;
  const dir = join('/etc/netns', ns.name);
  await mkdir(dir, { recursive: true });
  await Promise.all(Object.entries(ns.etc).map(([file, text]) => writeFile(join(dir, file), text)));
}

// The far end of a veth a line makes (`... peer name IF ... netns FAR`).
const FAR_END = / netns (\S+)$/;

/**
 * Creates every namespace in one `ip -batch`, then applies the stages in order. A namespace waits
 * only for the links of the namespaces that make its veths (a pod for its node, not for every
 * node), or, when none does, for the whole stage before; never for sysctls or rules. One
 * netns-config process serves every stage, started first so that python's start-up overlaps the
 * namespaces' creation.
 */
export async function applyTopology(runner: Runner, plan: TopologyPlan, opts: ApplyOptions): Promise<void> {
  const helper = new NetnsConfig(runner).start();
  try {
    await runner.run(['ip', '-batch', '-'], { input: plan.namespaces.map((n) => `netns add ${n}\n`).join('') });
    const queue = new PQueue({ concurrency: CONCURRENCY });
    const started: Applying[] = [];
    const makers = new Map<string, Applying[]>();
    let before: Applying[] = [];
    for (const stage of plan.stages) {
      const applying = stage.map((ns) => {
        const a = applyNamespace(runner, helper, queue, ns, Promise.all((makers.get(ns.name) ?? before).map((m) => m.links)));
        for (const line of ns.ip) {
          const far = FAR_END.exec(line)?.[1];
          if (far) makers.set(far, [...(makers.get(far) ?? []), a]);
        }
        return a;
      });
      started.push(...applying);
      before = applying;
    }
    const applied = Promise.all(started.map((a) => a.all));
    applied.catch(() => {}); // awaited below, after a turn of the event loop
    // Files need no link: written while the links are made, once the first requests are out.
    await new Promise((resolve) => setImmediate(resolve));
    const files = opts.etcNetns ? Promise.all(plan.stages.flat().map(writeEtc)) : undefined;
    await Promise.all([applied, files]);
  } catch (error) {
    await helper.end().catch(() => {}); // the first failure is the one to report
    throw error;
  }
  await helper.end();
}

/**
 * Removes pods: each node's veths in one batch (the nodes in parallel), then every namespace in
 * one batch, then their etc folders.
 */
export async function removePods(runner: Runner, removals: readonly PodRemoval[], opts: ApplyOptions): Promise<void> {
  const byNode = new Map<string, string[]>();
  for (const r of removals) byNode.set(r.node, [...(byNode.get(r.node) ?? []), ...r.ip]);
  await Promise.all([...byNode].map(([node, lines]) => runner.run(['ip', '-n', node, '-batch', '-'], { input: `${lines.join('\n')}\n` })));
  const netnsLines = removals.flatMap((r) => r.netnsLines);
  if (netnsLines.length) await runner.run(['ip', '-batch', '-'], { input: `${netnsLines.join('\n')}\n` });
  if (opts.etcNetns) for (const r of removals) rmSync(join('/etc/netns', r.netns), { recursive: true, force: true });
}
