import { createWriteStream, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import type { Pod } from '../cluster/types.js';
import { machineNetns, podNetns } from '../dataplane/names.js';
import { inNetns } from '../kernel/exec.js';

/** The argv a container runs: command then args, as Kubernetes joins them (no image entrypoint here). */
export function containerArgv(c: { command?: string[]; args?: string[] }): string[] {
  return [...(c.command ?? []), ...(c.args ?? [])];
}

/**
 * The `command` workload: each container's command and args as a real process in its pod's
 * network namespace, its output in a log file beside the diagnostics.
 */
export class CommandWorkloads {
  private readonly running = new Map<string, { child: ResultPromise; log: WriteStream }[]>();

  constructor(private readonly logDir: string) {}

  start(pods: readonly Pod[]): string[] {
    const problems: string[] = [];
    for (const p of pods) {
      if (p.workload !== 'command' || !p.node || !p.ip) continue;
      const key = `${p.namespace}/${p.name}`;
      if (this.running.has(key)) continue;
      const netns = p.hostNetwork ? machineNetns(p.node) : podNetns(p);
      const procs: { child: ResultPromise; log: WriteStream }[] = [];
      for (const c of p.containers) {
        const argv = containerArgv(c);
        if (argv.length === 0) {
          problems.push(`pod ${key} container ${c.name} has no command or args to run`);
          continue;
        }
        const log = createWriteStream(join(this.logDir, `command-${p.namespace}-${p.name}-${c.name}.log`));
        const [file, ...args] = inNetns(netns, argv);
        const child = execa(file!, args, { reject: false, stdin: 'ignore', stdout: 'pipe', stderr: 'pipe', buffer: false });
        child.stdout?.pipe(log, { end: false });
        child.stderr?.pipe(log, { end: false });
        void child.then((r) => log.end(`\n[exited: ${r.exitCode ?? r.signal}]\n`));
        procs.push({ child, log });
      }
      this.running.set(key, procs);
    }
    return problems;
  }

  stop(pods: readonly Pod[]): void {
    for (const p of pods) {
      const key = `${p.namespace}/${p.name}`;
      for (const { child } of this.running.get(key) ?? []) child.kill('SIGTERM');
      this.running.delete(key);
    }
  }

  stopAll(): void {
    for (const procs of this.running.values()) for (const { child } of procs) child.kill('SIGTERM');
    this.running.clear();
  }
}
