import { KnetlabError } from '../errors.js';
import type { Runner } from './exec.js';
import { applySandboxFs, hostHasEtcNetns, type SandboxFs } from './sandbox-fs.js';

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
 * Inside a new sandbox: the host's filesystem read-only, private /run (so /run/netns, iptables'
 * lock and our scratch are this run's alone), /tmp, /var, /dev and /etc/netns, so `ip netns`
 * works as usual but sees and leaves only this run's namespaces, and nothing a scenario runs can
 * change the host's files; the run's diagnostics and artifacts folders are writable. lo up.
 */
export async function prepareSandbox(runner: Runner, opts: { writable?: readonly string[]; artifacts?: string } = {}): Promise<SandboxFs> {
  if (process.env[SANDBOX_ENV] !== '1') throw new KnetlabError('EINTERNAL', 'prepareSandbox must run inside a sandbox');
  const fs = await applySandboxFs(runner, { hostEtcNetns: hostHasEtcNetns(), writable: opts.writable ?? [], ...(opts.artifacts ? { artifacts: opts.artifacts } : {}) });
  await runner.run(['ip', 'link', 'set', 'lo', 'up']);
  return fs;
}
