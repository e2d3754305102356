import { existsSync, mkdirSync } from 'node:fs';
import { KnetlabError } from '../errors.js';
import type { Runner } from './exec.js';

/** Set in the environment of the process that runs inside a sandbox. */
export const SANDBOX_ENV = 'KNETLAB_SANDBOX';

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/**
 * The command that runs argv in a new sandbox: its own PID, mount and network namespaces (and a
 * user namespace mapping us to root when we are not root). When its first process (argv) ends,
 * the kernel ends every process and frees every namespace of the run: nothing is left behind.
 */
export function sandboxCommand(argv: readonly string[], opts: { rootless?: boolean } = {}): string[] {
  const rootless = opts.rootless ?? !isRoot();
  return ['unshare', '--pid', '--fork', '--mount-proc', '--mount', '--net', '--propagation', 'private', ...(rootless ? ['--user', '--map-root-user'] : []), '--', ...argv];
}

/**
 * Inside a new sandbox: private tmpfs on /run/netns and /etc/netns, so `ip netns` works as usual
 * but sees and leaves only this run's namespaces; lo up in the sandbox's own namespace.
 */
export async function prepareSandbox(runner: Runner): Promise<{ etcNetns: boolean }> {
  if (process.env[SANDBOX_ENV] !== '1') throw new KnetlabError('EINTERNAL', 'prepareSandbox must run inside a sandbox');
  mkdirSync('/run/netns', { recursive: true });
  await runner.run(['mount', '-t', 'tmpfs', '-o', 'mode=755', 'knetlab-netns', '/run/netns']);
  // /etc/netns holds per-namespace resolv.conf for `ip netns exec`; root may create the (empty)
  // folder on the host, a rootless run can only use it when it is already there.
  let etcNetns = existsSync('/etc/netns');
  if (!etcNetns && isRoot()) {
    try {
      mkdirSync('/etc/netns');
      etcNetns = true;
    } catch {
      etcNetns = false;
    }
  }
  if (etcNetns) await runner.run(['mount', '-t', 'tmpfs', '-o', 'mode=755', 'knetlab-etc-netns', '/etc/netns']);
  await runner.run(['ip', 'link', 'set', 'lo', 'up']);
  return { etcNetns };
}
