// One process that configures many network namespaces (netns-config.py): it enters each in turn and
// speaks rtnetlink, where a process per namespace (`ip -n NS -batch -`, `bridge -n NS -batch -`,
// `ip netns exec NS sysctl`) costs several ms to start, tens under load. Only the lines
// netlink-ops.ts knows go to it; a namespace with any other line stays with `ip` and `bridge`.
import { fileURLToPath } from 'node:url';
import { KnetlabError } from '../errors.js';
import type { LineSession, Runner } from './exec.js';
import type { NetlinkOp } from './netlink-ops.js';
import { pythonCommand } from './python.js';

// tsc does not copy .py files: scripts/copy-assets.mjs puts this one next to the compiled module.
const SCRIPT = fileURLToPath(new URL('./netns-config.py', import.meta.url));
export const NETNS_CONFIG_COMMAND: readonly string[] = [...pythonCommand(), SCRIPT];

/** What to make true in one namespace: sysctls, then the requests, in order. */
export interface NetnsWork {
  netns: string;
  sysctls: [string, string][];
  ops: NetlinkOp[];
}

interface Answer {
  id: number | null;
  ok: boolean;
  error?: string;
}

/**
 * The helper of one apply: started before it is needed (python takes tens of ms to start, hidden
 * behind the first batches), asked per namespace, ended at the end.
 */
export class NetnsConfig {
  private session?: LineSession;
  private nextId = 1;

  constructor(private readonly runner: Runner) {}

  /** Starts the process now, so that its start-up overlaps other work. */
  start(): this {
    this.session ??= this.runner.session(NETNS_CONFIG_COMMAND);
    return this;
  }

  /** Applies one namespace's work; rejects naming the namespace, the line and the kernel's errno. */
  async configure(work: NetnsWork): Promise<void> {
    const id = this.nextId++;
    const line = await this.start().session!.ask(JSON.stringify({ id, ...work }));
    let answer: Answer;
    try {
      answer = JSON.parse(line) as Answer;
    } catch {
      throw new KnetlabError('ECOMMAND', `netns-config answered ${JSON.stringify(line)} for netns ${work.netns}`, { command: [...NETNS_CONFIG_COMMAND] });
    }
    if (answer.id !== id)
      throw new KnetlabError('ECOMMAND', `netns-config answered request ${answer.id} for ${id} (netns ${work.netns}): ${answer.error ?? ''}`, {
        command: [...NETNS_CONFIG_COMMAND],
      });
    if (!answer.ok) throw new KnetlabError('ECOMMAND', `netns-config: ${answer.error ?? `netns ${work.netns} failed`}`, { command: [...NETNS_CONFIG_COMMAND] });
  }

  /** Ends the process (if it was started) and waits for it. */
  async end(): Promise<void> {
    const s = this.session;
    this.session = undefined;
    if (s) await s.end();
  }
}
