// Where knetlab keeps state between commands (held scenarios, the kernel feature cache): a folder
// only its owner can reach, never a predictable name in a shared one. Files in it are opened
// without following links and checked to be regular files of ours, of bounded size.
import { closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync, readSync, renameSync, rmSync, writeSync, chmodSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { KnetlabError } from '../errors.js';

/** Overrides the folder (tests, or a user who wants it elsewhere); checked like the others. */
export const STATE_DIR_ENV = 'KNETLAB_STATE_DIR';
/** No state file of knetlab's is larger; a bigger one is not ours. */
const MAX_STATE_FILE = 1024 * 1024;

const uid = (): number => process.getuid?.() ?? -1;

/** The folder for this user: root's under /run, a rootless user's under $XDG_RUNTIME_DIR or ~/.cache. */
export function stateDirPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env[STATE_DIR_ENV]) return env[STATE_DIR_ENV];
  if (uid() === 0) return '/run/knetlab';
  const runtime = env.XDG_RUNTIME_DIR;
  if (runtime && ownedPrivateDir(runtime)) return join(runtime, 'knetlab');
  return join(homedir(), '.cache', 'knetlab');
}

function ownedPrivateDir(path: string): boolean {
  try {
    const st = lstatSync(path);
    return st.isDirectory() && st.uid === uid() && (st.mode & 0o077) === 0;
  } catch {
    return false;
  }
}

function unsafe(path: string, why: string): KnetlabError {
  return new KnetlabError('EUNSAFE', `knetlab's state folder ${path} ${why}; remove it (or set ${STATE_DIR_ENV} to a folder of your own) and try again`);
}

/**
 * A parent must not let others swap what is in it: owned by root or us, and writable by nobody
 * else unless sticky (as /tmp is: then only our own entries can be renamed or removed).
 */
function checkParent(path: string): void {
  const st = lstatSync(path);
  if (!st.isDirectory()) throw unsafe(path, 'is not a folder');
  if (st.uid !== 0 && st.uid !== uid()) throw unsafe(path, `lies in a folder of uid ${st.uid}`);
  if ((st.mode & 0o022) !== 0 && (st.mode & 0o1000) === 0) throw unsafe(path, 'lies in a folder others may write to');
}

/** Makes (mode 0700) or checks the state folder, and a sub-folder of it; returns its path. */
export function stateDir(sub?: string, env: NodeJS.ProcessEnv = process.env): string {
  const top = stateDirPath(env);
  mkdirSync(dirname(top), { recursive: true, mode: 0o700 });
  checkParent(dirname(top));
  for (const dir of sub ? [top, join(top, sub)] : [top]) {
    try {
      mkdirSync(dir, { mode: 0o700 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const st = lstatSync(dir);
    if (st.isSymbolicLink() || !st.isDirectory()) throw unsafe(dir, 'is not a folder (a link?)');
    if (st.uid !== uid()) throw unsafe(dir, `belongs to uid ${st.uid}, not to you (uid ${uid()})`);
    // Ours, and only its mode is wrong (made by hand, or by an umask): put right.
    if ((st.mode & 0o077) !== 0) chmodSync(dir, 0o700);
  }
  return sub ? join(top, sub) : top;
}

export type StateRead = { kind: 'missing' } | { kind: 'ok'; text: string } | { kind: 'bad'; why: string };

/** Reads a state file: never through a link, only a regular file of ours, at most 1 MB. */
export function readStateFile(path: string): StateRead {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { kind: 'missing' };
    return { kind: 'bad', why: code === 'ELOOP' ? 'is a symbolic link' : `cannot be read (${code})` };
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return { kind: 'bad', why: 'is not a regular file' };
    if (st.uid !== uid()) return { kind: 'bad', why: `belongs to uid ${st.uid}` };
    if (st.size > MAX_STATE_FILE) return { kind: 'bad', why: `is ${st.size} bytes, more than any state file of knetlab's` };
    const buf = Buffer.alloc(st.size);
    let got = 0;
    while (got < st.size) {
      const n = readSync(fd, buf, got, st.size - got, got);
      if (n === 0) break;
      got += n;
    }
    return { kind: 'ok', text: buf.subarray(0, got).toString('utf8') };
  } finally {
    closeSync(fd);
  }
}

function writeFd(fd: number, text: string): void {
  const buf = Buffer.from(text);
  let done = 0;
  while (done < buf.length) done += writeSync(fd, buf, done);
}

/** Writes a state file whole: a new file of its own (never through a link), then renamed over. */
export function writeStateFile(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    writeFd(fd, text);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

/** Creates a state file only when none is there; false when one is (the caller looks at it). */
export function createStateFile(path: string, text: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    writeFd(fd, text);
  } finally {
    closeSync(fd);
  }
  return true;
}

/** Moves a bad state file aside (kept for a person to look at, never read again); returns where. */
export function setAside(path: string): string {
  const aside = `${path}.bad-${new Date().toISOString().replace(/[-:.]/g, '')}`;
  try {
    renameSync(path, aside);
  } catch {
    rmSync(path, { force: true });
  }
  return aside;
}
