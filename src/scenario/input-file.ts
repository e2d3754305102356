import { constants, type Stats } from 'node:fs';
import { open, realpath, stat } from 'node:fs/promises';
import { isAbsolute, relative, resolve } from 'node:path';
import { MAX_FILE_BYTES } from './limits.js';

/** A file's text, or why it cannot be read (with the line and column of a bad byte, when there is one). */
export type ReadResult = { ok: true; text: string } | { ok: false; reason: string; line?: number; col?: number };

/** What a file that is not a regular file is, as a message says it. */
function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a folder';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  if (st.isSymbolicLink()) return 'a symbolic link';
  return 'not a regular file';
}

export function errnoReason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOENT':
      return 'no such file';
    case 'ENOTDIR':
      return 'no such file (a part of its path is not a folder)';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'ELOOP':
      return 'too many levels of symbolic links';
    case 'ENAMETOOLONG':
      return 'its name is too long';
    default:
      return String(code ?? (err as Error).message ?? err);
  }
}

export function formatBytes(n: number): string {
  return n >= 1024 * 1024 ? `${(n / (1024 * 1024)).toFixed(1)} MB` : n >= 1024 ? `${Math.ceil(n / 1024)} KB` : `${n} bytes`;
}

const tooLarge = (size: string, max: number) => `it is ${size}; a file may be at most ${formatBytes(max)}`;

/**
 * Reads a text file without ever blocking or reading without bound: only a regular file (checked
 * before it is opened, and again on the open descriptor, which O_NONBLOCK keeps a FIFO swapped in
 * meanwhile from hanging), at most `max` bytes (MAX_FILE_BYTES), UTF-8 without NUL bytes.
 */
export async function readInputFile(path: string, max = MAX_FILE_BYTES): Promise<ReadResult> {
  let st: Stats;
  try {
    st = await stat(path);
  } catch (err) {
    return { ok: false, reason: errnoReason(err) };
  }
  if (!st.isFile()) return { ok: false, reason: `it is ${kindOf(st)}, not a regular file` };
  if (st.size > max) return { ok: false, reason: tooLarge(formatBytes(st.size), max) };
  let fd;
  try {
    fd = await open(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (err) {
    return { ok: false, reason: errnoReason(err) };
  }
  try {
    const fst = await fd.stat();
    if (!fst.isFile()) return { ok: false, reason: `it is ${kindOf(fst)}, not a regular file` };
    // Read to the end, not to the size stat gave (a /proc file says 0), but never past the bound:
    // one byte more than allowed tells a file that is (or grew) too large.
    let buf = Buffer.allocUnsafe(Math.min(fst.size, max) + 1);
    let length = 0;
    for (;;) {
      if (length === buf.length) {
        if (length > max) return { ok: false, reason: tooLarge(`over ${formatBytes(max)}`, max) };
        const bigger = Buffer.allocUnsafe(Math.min(buf.length * 2, max + 1));
        buf.copy(bigger, 0, 0, length);
        buf = bigger;
      }
      const { bytesRead } = await fd.read(buf, length, buf.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    return decodeText(buf.subarray(0, length));
  } catch (err) {
    return { ok: false, reason: errnoReason(err) };
  } finally {
    await fd.close();
  }
}

function lineCol(bytes: Buffer, at: number): { line: number; col: number } {
  let line = 1;
  let start = 0;
  for (let i = bytes.indexOf(10); i >= 0 && i < at; i = bytes.indexOf(10, i + 1)) {
    line++;
    start = i + 1;
  }
  return { line, col: at - start + 1 };
}

/** UTF-8 text, or why the bytes are not: another encoding, binary data. */
export function decodeText(bytes: Buffer): ReadResult {
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) {
    return { ok: false, reason: 'it is UTF-16 (or UTF-32) text; save it as UTF-8', line: 1, col: 1 };
  }
  const nul = bytes.indexOf(0);
  if (nul >= 0) return { ok: false, reason: 'it holds a NUL byte: it is not a text file (UTF-16 text? save it as UTF-8)', ...lineCol(bytes, nul) };
  try {
    return { ok: true, text: new TextDecoder('utf-8', { fatal: true }).decode(bytes) };
  } catch {
    const bad = firstInvalidUtf8(bytes);
    return { ok: false, reason: 'it is not UTF-8 text (binary data, or another encoding)', ...lineCol(bytes, bad) };
  }
}

/** The offset of the first byte that does not belong to valid UTF-8. */
function firstInvalidUtf8(bytes: Buffer): number {
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i]!;
    const n = b < 0x80 ? 0 : b >= 0xc2 && b < 0xe0 ? 1 : b >= 0xe0 && b < 0xf0 ? 2 : b >= 0xf0 && b < 0xf5 ? 3 : -1;
    if (n < 0) return i;
    for (let k = 1; k <= n; k++) if (((bytes[i + k] ?? 0) & 0xc0) !== 0x80) return i;
    i += n + 1;
  }
  return 0;
}

/** A folder may hold the file: the file is the folder itself or below it. */
function within(folder: string, file: string): boolean {
  const rel = relative(folder, file);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/** Where a path a scenario names really is, when it is where the scenario may read. */
export type Placed = { ok: true; real: string } | { ok: false; reason: string };

/**
 * Resolves a path written in a scenario (relative to its folder), following symbolic links, and
 * accepts it only inside the scenario's folder (or below it) or one of the allowed folders
 * (already resolved): a scenario from someone else must not read /etc/shadow or ~/.ssh.
 */
export async function placeInputPath(written: string, scenarioDir: string, allowed: readonly string[]): Promise<Placed> {
  if (written.includes('\u0000')) return { ok: false, reason: 'its path holds a NUL character' };
  const abs = resolve(scenarioDir, written);
  let real: string;
  let base: string;
  try {
    base = await realpath(scenarioDir);
  } catch (err) {
    return { ok: false, reason: `the scenario's folder cannot be resolved: ${errnoReason(err)}` };
  }
  try {
    real = await realpath(abs);
  } catch (err) {
    return { ok: false, reason: errnoReason(err) };
  }
  if (within(base, real) || allowed.some((dir) => within(dir, real))) return { ok: true, real };
  const how = real === abs ? 'is' : `leads to ${real},`;
  return { ok: false, reason: `it ${how} outside the scenario's folder ${base}; a scenario may read files in its folder or below it, or in a folder given with --allow-path` };
}

/** The folders of --allow-path, resolved as placeInputPath compares them; a missing one is an error. */
export async function resolveAllowPaths(dirs: readonly string[]): Promise<{ ok: true; dirs: string[] } | { ok: false; reason: string }> {
  const out: string[] = [];
  for (const d of dirs) {
    try {
      const real = await realpath(d);
      if (!(await stat(real)).isDirectory()) return { ok: false, reason: `--allow-path ${d} is not a folder` };
      out.push(real);
    } catch (err) {
      return { ok: false, reason: `--allow-path ${d}: ${errnoReason(err)}` };
    }
  }
  return { ok: true, dirs: out };
}
