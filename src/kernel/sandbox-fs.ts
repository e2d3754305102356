// The filesystem a sandbox sees: the host's, read-only, with private writable /run, /dev and
// /etc/netns, /tmp and /var as the host has them but written privately (overlays), and the run's
// own folders (diagnostics, artifacts) writable. The plan is pure (tested without root);
// sandbox-fs.py carries it out in one process inside the sandbox.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { KnetlabError } from '../errors.js';
import type { Runner } from './exec.js';
import { pythonCommand } from './python.js';

const HELPER = fileURLToPath(new URL('./sandbox-fs.py', import.meta.url));

/** Inside the sandbox, where the run's artifacts folder is (the host's folder, bound there). */
export const ARTIFACTS_MOUNT = '/run/artifacts';
/** Set in the environment of everything a run starts: where a scenario keeps files. */
export const ARTIFACTS_ENV = 'KNETLAB_ARTIFACTS';
/** Upper and work folders of the overlays, on the private /run. */
const OVERLAYS = '/run/knetlab-fs';
const DEV_STAGE = `${OVERLAYS}/dev`;

export type FsOp =
  | { op: 'readonly'; path: string; recursive?: boolean; group?: string }
  | { op: 'writable'; path: string; group?: string }
  | { op: 'tmpfs'; target: string; mode: string; group?: string }
  | { op: 'overlay'; target: string; lower: string; upper: string; work: string; group?: string }
  | { op: 'devpts'; target: string; group?: string }
  | { op: 'bind'; source: string; target: string; group?: string }
  | { op: 'move'; source: string; target: string; group?: string }
  | { op: 'mkdir'; path: string; mode?: string; group?: string }
  | { op: 'keep'; path: string; id: string; group?: string }
  | { op: 'file'; path: string; group?: string }
  | { op: 'symlink'; path: string; to: string; group?: string };

export interface SandboxFsOptions {
  /** The host has /etc/netns (else an overlay on /etc makes one). */
  hostEtcNetns: boolean;
  /** Host folders the run writes to, bound at the same path (diagnostics). */
  writable: readonly string[];
  /** The run's artifacts folder on the host, bound at ARTIFACTS_MOUNT. */
  artifacts?: string;
}

/** Device nodes a private /dev offers, bound from the host's: no disks, no memory, no consoles. */
const DEVICES = ['null', 'zero', 'full', 'random', 'urandom', 'tty'];

/** Groups of operations that may fail on some kernels (overlayfs in a user namespace needs 5.11). */
export const ETC_NETNS_GROUP = 'etc-netns';
export const TMP_GROUP = 'tmp';
export const VAR_GROUP = 'var';

/** A folder the run sees as the host has it, whose writes go to the private /run. */
function privateOverlay(path: string, group: string): FsOp[] {
  const name = path.slice(1);
  return [
    { op: 'mkdir', path: `${OVERLAYS}/${name}-upper`, group },
    { op: 'mkdir', path: `${OVERLAYS}/${name}-work`, group },
    { op: 'overlay', target: path, lower: path, upper: `${OVERLAYS}/${name}-upper`, work: `${OVERLAYS}/${name}-work`, group },
  ];
}

/**
 * The mounts, in order. Everything the host mounted becomes read-only first, in one call, so no
 * command of the run ever sees it writable; what the run may write is mounted after it.
 */
export function sandboxFsPlan(opts: SandboxFsOptions): FsOp[] {
  const writable = [
    ...opts.writable.map((path, i) => ({ path, id: `w${i}`, at: path })),
    ...(opts.artifacts ? [{ path: opts.artifacts, id: 'artifacts', at: ARTIFACTS_MOUNT }] : []),
  ];
  const ops: FsOp[] = [
    // Held open first: a folder under /tmp or /run is hidden once the private ones are mounted.
    ...writable.map(({ path, id }): FsOp => ({ op: 'keep', path, id })),
    { op: 'readonly', path: '/', recursive: true },
    { op: 'tmpfs', target: '/run', mode: '755' },
    { op: 'mkdir', path: '/run/netns' },
    { op: 'mkdir', path: '/run/knetlab' },
    { op: 'mkdir', path: OVERLAYS, mode: '700' },
    // /tmp and /var keep what the host has there (knetlab's own checkout may be in /tmp; nginx's
    // folders and dpkg's state are in /var) and take writes privately.
    ...privateOverlay('/tmp', TMP_GROUP),
    ...privateOverlay('/var', VAR_GROUP),
    // A device node stays writable on a read-only mount: a private /dev offers none that reach the
    // host's disks. Built aside, then moved over /dev (with everything mounted in it).
    { op: 'mkdir', path: DEV_STAGE },
    { op: 'tmpfs', target: DEV_STAGE, mode: '755' },
    ...DEVICES.flatMap((d): FsOp[] => [
      { op: 'file', path: `${DEV_STAGE}/${d}` },
      { op: 'bind', source: `/dev/${d}`, target: `${DEV_STAGE}/${d}` },
    ]),
    { op: 'mkdir', path: `${DEV_STAGE}/pts` },
    { op: 'devpts', target: `${DEV_STAGE}/pts` },
    { op: 'symlink', path: `${DEV_STAGE}/ptmx`, to: 'pts/ptmx' },
    { op: 'mkdir', path: `${DEV_STAGE}/shm`, mode: '1777' },
    { op: 'tmpfs', target: `${DEV_STAGE}/shm`, mode: '1777' },
    { op: 'symlink', path: `${DEV_STAGE}/fd`, to: '/proc/self/fd' },
    ...(['stdin', 'stdout', 'stderr'] as const).map((s, i): FsOp => ({ op: 'symlink', path: `${DEV_STAGE}/${s}`, to: `/proc/self/fd/${i}` })),
    { op: 'move', source: DEV_STAGE, target: '/dev' },
    // sysctls of the run's network namespaces stay writable; the kernel's global ones do not.
    { op: 'bind', source: '/proc/sys/net', target: '/proc/sys/net' },
    { op: 'writable', path: '/proc/sys/net' },
  ];
  if (opts.hostEtcNetns) ops.push({ op: 'tmpfs', target: '/etc/netns', mode: '755', group: ETC_NETNS_GROUP });
  else {
    ops.push(
      { op: 'mkdir', path: `${OVERLAYS}/etc-upper`, group: ETC_NETNS_GROUP },
      { op: 'mkdir', path: `${OVERLAYS}/etc-work`, group: ETC_NETNS_GROUP },
      { op: 'overlay', target: '/etc', lower: '/etc', upper: `${OVERLAYS}/etc-upper`, work: `${OVERLAYS}/etc-work`, group: ETC_NETNS_GROUP },
      { op: 'mkdir', path: '/etc/netns', group: ETC_NETNS_GROUP },
      // Read-only again once /etc/netns is there, as /etc is everywhere else.
      { op: 'readonly', path: '/etc', group: ETC_NETNS_GROUP },
      { op: 'tmpfs', target: '/etc/netns', mode: '755', group: ETC_NETNS_GROUP },
    );
  }
  // Where a folder's path now lies in a private mount (/tmp, /run), its mount point is made there.
  for (const { id, at } of writable) ops.push({ op: 'mkdir', path: at }, { op: 'bind', source: `kept:${id}`, target: at }, { op: 'writable', path: at });
  return ops;
}

export interface SandboxFs {
  /** /etc/netns could be made: pods get their resolv.conf. */
  etcNetns: boolean;
  /** /var could not be made writable (kept read-only): why. */
  varReadOnly?: string;
  /** /tmp could not be overlaid (an empty private one hides the host's): why. */
  tmpHidden?: string;
}

/** Carries out the plan inside the sandbox (one python process) and says what could not be made. */
export async function applySandboxFs(runner: Runner, opts: SandboxFsOptions): Promise<SandboxFs> {
  const plan = sandboxFsPlan(opts);
  const r = await runner.run([...pythonCommand(), HELPER], { input: JSON.stringify(plan), reject: false });
  let reply: { ok: boolean; error?: string; failedGroups?: Record<string, string> } | undefined;
  try {
    reply = JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as typeof reply;
  } catch {
    reply = undefined;
  }
  if (!reply?.ok) {
    const why = reply?.error ?? (r.stderr.trim() || `exit ${r.exitCode}`);
    throw new KnetlabError('ECOMMAND', `the sandbox's filesystem could not be set up: ${why}`, { command: r.command, exitCode: r.exitCode, stderr: r.stderr });
  }
  const failed = reply.failedGroups ?? {};
  // Without overlayfs (a user namespace before Linux 5.11) /tmp is at least the run's own, if empty.
  if (failed[TMP_GROUP]) await runner.run([...pythonCommand(), HELPER], { input: JSON.stringify([{ op: 'tmpfs', target: '/tmp', mode: '1777' }]) });
  return {
    etcNetns: !(ETC_NETNS_GROUP in failed),
    ...(failed[VAR_GROUP] ? { varReadOnly: failed[VAR_GROUP] } : {}),
    ...(failed[TMP_GROUP] ? { tmpHidden: failed[TMP_GROUP] } : {}),
  };
}

export function hostHasEtcNetns(): boolean {
  return existsSync('/etc/netns');
}
