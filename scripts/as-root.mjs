// What `npm test` and `npm run examples` run as root: a user with sudo gets there through it, root
// (a CI container, often without sudo) runs as it is, and a user without sudo (or with
// KNETLAB_SUDO=0) runs unprivileged, where the tests that need root skip and scenarios run rootless.
import { spawn } from 'node:child_process';
import { delimiter, join } from 'node:path';
import { accessSync, constants as fsConstants } from 'node:fs';
import { constants } from 'node:os';

/** What goes through sudo of the environment: PATH (sudo would reset it) and knetlab's, tap's and CI's settings; not HOME, so root's files stay root's. */
const PASSED = /^(PATH|KNETLAB_\w+|TAP_\w+|TAP|CI|NO_COLOR|FORCE_COLOR|DISABLE_V8_COMPILE_CACHE)$/;

/** sudo's path on PATH, or undefined. */
export function findSudo(path = process.env.PATH ?? '') {
  for (const dir of path.split(delimiter).filter(Boolean)) {
    try {
      accessSync(join(dir, 'sudo'), fsConstants.X_OK);
      return join(dir, 'sudo');
    } catch {
      // not in this folder
    }
  }
  return undefined;
}

/**
 * Runs this script again as root through sudo when it is not root and sudo is there, and exits
 * with its status (the promise never resolves then); resolves at once when root, or when it cannot
 * or should not (said on stderr).
 */
export async function reexecAsRoot(what) {
  if (process.getuid?.() === 0) return;
  const sudo = process.env.KNETLAB_SUDO === '0' ? undefined : findSudo();
  if (!sudo) {
    const why = process.env.KNETLAB_SUDO === '0' ? 'KNETLAB_SUDO=0' : 'sudo is not installed';
    console.error(`${what}: not root and ${why}: running unprivileged (what needs root is skipped or runs rootless)`);
    return;
  }
  const env = Object.entries(process.env)
    .filter(([k, v]) => PASSED.test(k) && v !== undefined)
    .map(([k, v]) => `${k}=${v}`);
  console.error(`${what}: not root: running it again with sudo`);
  const child = spawn(sudo, ['--', 'env', ...env, process.execPath, process.argv[1], ...process.argv.slice(2)], { stdio: 'inherit' });
  // Ctrl-C reaches sudo from the terminal too; a signal to this process alone is passed on (sudo relays it).
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => child.kill(sig));
  return new Promise(() => {
    child.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 + (constants.signals[signal] ?? 1) : 1)));
    child.on('error', (err) => {
      console.error(`${what}: cannot run sudo: ${err.message}`);
      process.exit(1);
    });
  });
}
