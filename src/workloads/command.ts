import { createWriteStream, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import type { Pod } from '../cluster/types.js';
import { machineNetns, podNetns } from '../dataplane/names.js';
import { confined, inNetns } from '../kernel/exec.js';

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
        // The scenario's own code: confined like its exec steps.
        const [file, ...args] = inNetns(netns, confined(argv));
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

  /**
   * Waits until the started command pods listen on the TCP ports their containers declare (as a
   * tcpSocket readiness probe would pass), or their command exited, or `timeoutMs` went by: a
   * process takes a moment to bind, seconds on a loaded or emulated machine, and the steps after
   * must not race it. Returns the pods still not listening, with their missing ports.
   */
  async listening(pods: readonly Pod[], timeoutMs = 120_000): Promise<string[]> {
    const waiting = new Map<string, { netns: string; ports: Set<number>; procs: { child: ResultPromise }[] }>();
    for (const p of pods) {
      const procs = this.running.get(`${p.namespace}/${p.name}`);
      const ports = p.containers.flatMap((c) => c.ports.filter((cp) => cp.protocol === 'TCP').map((cp) => cp.containerPort));
      if (!procs || ports.length === 0) continue;
      waiting.set(`${p.namespace}/${p.name}`, { netns: p.hostNetwork ? machineNetns(p.node!) : podNetns(p), ports: new Set(ports), procs });
    }
    const deadline = Date.now() + timeoutMs;
    while (waiting.size && Date.now() < deadline) {
      for (const [key, w] of waiting) {
        const r = await execa('ip', ['netns', 'exec', w.netns, 'ss', '-Hltn'], { reject: false });
        // `LISTEN 0 5 0.0.0.0:8000 0.0.0.0:*`: the port ends the fourth column.
        for (const line of r.stdout.split('\n')) w.ports.delete(Number(line.trim().split(/\s+/)[3]?.split(':').pop()));
        if (w.ports.size === 0 || w.procs.every(({ child }) => child.exitCode !== null)) waiting.delete(key);
      }
      if (waiting.size) await new Promise((r) => setTimeout(r, 100));
    }
    return [...waiting].map(([key, w]) => `pod ${key} is not listening on ${[...w.ports].join(', ')} after ${timeoutMs / 1000} s`);
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
