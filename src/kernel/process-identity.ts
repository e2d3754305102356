// A process named beyond its pid: pids are reused, so a pid alone read from a file may by now be
// anyone's process. The start time (in clock ticks since boot) with the pid is unique per boot.
import { readFileSync, statSync } from 'node:fs';

export interface ProcessId {
  pid: number;
  /** /proc/PID/stat's starttime. */
  start: number;
}

interface ProcStat {
  ppid: number;
  start: number;
}

function procStat(pid: number): ProcStat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses: the fields start after the last ')'.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state): ppid is field 4, starttime field 22.
    return { ppid: Number(fields[1]), start: Number(fields[19]) };
  } catch {
    return undefined;
  }
}

export function processId(pid: number): ProcessId | undefined {
  const st = procStat(pid);
  return st ? { pid, start: st.start } : undefined;
}

/** The same process still runs (not a new one with its pid), and belongs to us. */
export function stillRunning(id: ProcessId): boolean {
  const st = procStat(id.pid);
  if (!st || st.start !== id.start) return false;
  try {
    return statSync(`/proc/${id.pid}`).uid === (process.getuid?.() ?? -1);
  } catch {
    return false;
  }
}

export function parentOf(pid: number): number | undefined {
  return procStat(pid)?.ppid;
}

export function commandLine(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8')
      .split('\0')
      .filter((a) => a !== '');
  } catch {
    return [];
  }
}

/** SIGKILL, for a process that may already be gone. */
export function tryKill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}
