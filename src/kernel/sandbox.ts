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

/** The sandbox's own scratch folder (on its private /run): echo log, command logs. */
export const SCRATCH = '/run/knetlab';

/**
 * Inside a new sandbox: a private tmpfs on /run (so /run/netns, iptables' lock and our scratch are
 * this run's alone) and a private /etc/netns, so `ip netns` works as usual but sees and leaves
 * only this run's namespaces; nothing is created on the host's filesystems. lo up.
 */
export async function prepareSandbox(runner: Runner): Promise<{ etcNetns: boolean }> {
  if (process.env[SANDBOX_ENV] !== '1') throw new KnetlabError('EINTERNAL', 'prepareSandbox must run inside a sandbox');
  await runner.run(['mount', '-t', 'tmpfs', '-o', 'mode=755', 'knetlab-run', '/run']);
  mkdirSync('/run/netns');
  mkdirSync(SCRATCH);
  // /etc/netns holds per-namespace resolv.conf for `ip netns exec`. Where the host has none, an
  // overlay on /etc (its upper layer on the private /run) makes one without writing to the host.
  let etcNetns = existsSync('/etc/netns');
  if (!etcNetns) {
    mkdirSync(`${SCRATCH}/etc-upper`);
    mkdirSync(`${SCRATCH}/etc-work`);
    const overlay = await runner.run(['mount', '-t', 'overlay', 'knetlab-etc', '-o', `lowerdir=/etc,upperdir=${SCRATCH}/etc-upper,workdir=${SCRATCH}/etc-work`, '/etc'], { reject: false });
    if (overlay.exitCode === 0) {
      mkdirSync('/etc/netns');
      etcNetns = true;
    }
  }
  if (etcNetns) await runner.run(['mount', '-t', 'tmpfs', '-o', 'mode=755', 'knetlab-etc-netns', '/etc/netns']);
  await runner.run(['ip', 'link', 'set', 'lo', 'up']);
  return { etcNetns };
}
