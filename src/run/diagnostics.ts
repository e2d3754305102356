import { copyFile, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import PQueue from 'p-queue';
import type { Runner } from '../kernel/exec.js';
import { inNetns } from '../kernel/exec.js';

/** What is gathered from every namespace when a step fails. */
const commands: [string, string[]][] = [
  ['ip-addr', ['ip', '-d', 'addr']],
  ['ip-route', ['ip', 'route', 'show', 'table', 'all']],
  ['ip-neigh', ['ip', 'neigh']],
  ['bridge-fdb', ['bridge', 'fdb']],
  ['iptables-save', ['iptables-save', '-c']],
  ['nft-ruleset', ['nft', 'list', 'ruleset']],
  ['conntrack', ['conntrack', '-L']],
];

/**
 * Writes a failed step's diagnostics folder: expected and seen, the echo servers' log, and per
 * namespace the kernel's view (addresses, routes, neighbours, fdb, rules, conntrack).
 */
export async function writeDiagnostics(
  runner: Runner,
  dir: string,
  what: { step: string; expected: string; seen: string; namespaces: string[]; echoLog?: string; logsFrom?: string; extra?: Record<string, string> },
): Promise<string> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'step.txt'), `step: ${what.step}\nexpected: ${what.expected}\nseen: ${what.seen}\n`);
  if (what.echoLog) await copyFile(what.echoLog, join(dir, 'echo-log.jsonl')).catch(() => undefined);
  // The command workloads' output, as far as it went, and each ingress controller's nginx files.
  if (what.logsFrom) {
    for (const f of await readdir(what.logsFrom).catch(() => [] as string[])) {
      if (f.startsWith('command-') && f.endsWith('.log')) await copyFile(join(what.logsFrom, f), join(dir, f)).catch(() => undefined);
    }
    const ingressDir = join(what.logsFrom, 'ingress-nginx');
    for (const pod of await readdir(ingressDir).catch(() => [] as string[])) {
      await mkdir(join(dir, 'ingress-nginx', pod), { recursive: true });
      for (const f of ['nginx.conf', 'error.log', 'access.log', 'stderr.log', 'nginx.conf.rejected']) {
        await copyFile(join(ingressDir, pod, f), join(dir, 'ingress-nginx', pod, f)).catch(() => undefined);
      }
    }
  }
  for (const [name, text] of Object.entries(what.extra ?? {})) await writeFile(join(dir, name), text);
  const queue = new PQueue({ concurrency: 8 });
  await Promise.all(
    what.namespaces.map((ns) =>
      queue.add(async () => {
        const parts: string[] = [];
        for (const [title, argv] of commands) {
          const r = await runner.run(inNetns(ns, argv), { reject: false, timeoutMs: 10_000 });
          parts.push(`### ${argv.join(' ')}${r.exitCode ? ` (exit ${r.exitCode})` : ''}\n${r.stdout}${r.stderr}`);
          void title;
        }
        await writeFile(join(dir, `${ns}.txt`), `${parts.join('\n')}\n`);
      }),
    ),
  );
  return dir;
}
