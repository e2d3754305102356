import { existsSync } from 'node:fs';

/** Debian's own python3: a pyenv or similar shim first on PATH costs a start-up of its own. */
const SYSTEM_PYTHON = '/usr/bin/python3';

/** argv that starts python3 for knetlab's helpers: isolated (-I: no user site, no PYTHON* variables, no cwd on the path). */
export function pythonCommand(): string[] {
  return [existsSync(SYSTEM_PYTHON) ? SYSTEM_PYTHON : 'python3', '-I'];
}
