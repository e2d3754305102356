import { existsSync } from 'node:fs';

/** Debian's own python3: a pyenv or similar shim first on PATH costs a start-up of its own. */
const SYSTEM_PYTHON = '/usr/bin/python3';

/** The python3 knetlab's helpers and workloads run on. */
export function systemPython(): string {
  return existsSync(SYSTEM_PYTHON) ? SYSTEM_PYTHON : 'python3';
}

/**
 * argv that starts python3 for one of knetlab's standard-library helpers: isolated (-I: no user
 * site, no PYTHON* variables, no cwd on the path) and without site-packages (-S: a faster start).
 */
export function pythonCommand(): string[] {
  return [systemPython(), '-I', '-S'];
}
