// The commands knetlab runs and the Debian/Ubuntu package of each. The one list is
// scripts/host-commands.txt, since scripts/provision installs from it before anything is built;
// this reads it and checks each command on the machine at hand.
import { accessSync, constants, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { networks, type NetworkKind } from '../cni/networks.js';
import { KnetlabError } from '../errors.js';
import { proxyModes, type ProxyMode } from '../proxy/modes.js';
import type { Runner } from './exec.js';
import { systemPython } from './python.js';

/** Beside scripts/provision; the same path from src/kernel (tests) and dist/kernel. */
export const HOST_COMMANDS_FILE = new URL('../../scripts/host-commands.txt', import.meta.url);

export interface HostCommand {
  /** A command looked up on PATH, or `python3:MODULE`: a module the python3 knetlab uses must import. */
  check: string;
  package: string;
  /** Every run needs it. */
  all: boolean;
  /** The kube-proxy modes and networks that need it (none and not `all`: only some scenarios or commands). */
  modes: ProxyMode[];
  networks: NetworkKind[];
  /** What knetlab runs it for, in words. */
  for: string;
}

const CHECK = /^[a-z0-9][a-z0-9_.+-]*(?::[a-z_][a-z0-9_.]*)?$/;
const PACKAGE = /^[a-z0-9][a-z0-9+.-]+$/;

/** The list's lines: `CHECK PACKAGE NEEDED-BY WHAT FOR...`; a malformed line is knetlab's own bug. */
export function parseHostCommands(text: string): HostCommand[] {
  const out: HostCommand[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const bad = (why: string) => new KnetlabError('EINTERNAL', `scripts/host-commands.txt:${i + 1}: ${why}: ${line}`);
    const [check, pkg, needed, ...words] = line.split(/\s+/);
    if (!check || !CHECK.test(check)) throw bad('expected a command name or python3:MODULE first');
    if (!pkg || !PACKAGE.test(pkg)) throw bad('expected a package name second');
    if (!needed || words.length === 0) throw bad('expected NEEDED-BY and what it is for');
    const c: HostCommand = { check, package: pkg, all: false, modes: [], networks: [], for: words.join(' ') };
    for (const token of needed.split(',')) {
      const [kind, name = ''] = token.split(':');
      if (token === 'all') c.all = true;
      else if (token === 'some') continue;
      else if (kind === 'mode' && (proxyModes as readonly string[]).includes(name)) c.modes.push(name as ProxyMode);
      else if (kind === 'network' && (networks as readonly string[]).includes(name)) c.networks.push(name as NetworkKind);
      else throw bad(`"${token}" is none of all, some, mode:${proxyModes.join('|')}, network:${networks.join('|')}`);
    }
    out.push(c);
  });
  if (out.length === 0) throw new KnetlabError('EINTERNAL', 'scripts/host-commands.txt lists no command');
  return out;
}

/** The list knetlab ships. */
export function hostCommands(): HostCommand[] {
  let text: string;
  try {
    text = readFileSync(HOST_COMMANDS_FILE, 'utf8');
  } catch (err) {
    throw new KnetlabError('EINTERNAL', `cannot read ${HOST_COMMANDS_FILE.pathname} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  return parseHostCommands(text);
}

/** Who needs a command, in words: `every run`, `ipvs mode, calico-vxlan`, `some scenarios`. */
export function neededByWords(c: HostCommand): string {
  if (c.all) return 'every run';
  const who = [...c.modes.map((m) => `${m} mode`), ...c.networks];
  return who.length ? who.join(', ') : 'some scenarios';
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Where `name` is on PATH, as execa finds it. */
export function onPath(name: string, path = process.env.PATH ?? ''): string | undefined {
  for (const dir of path.split(delimiter).filter(Boolean)) if (executable(join(dir, name))) return join(dir, name);
  return undefined;
}

/** Where system binaries are that a user's PATH may lack (Debian's user PATH has no sbin). */
const SYSTEM_DIRS = ['/usr/sbin', '/sbin', '/usr/bin', '/bin'];

export interface CommandCheck {
  command: HostCommand;
  /** Where it was found; undefined when missing. */
  path?: string;
  /** Why it is missing. */
  why?: string;
  /** Missing, and the package is what is missing (not a PATH that lacks it). */
  install: boolean;
}

/** Checks one command here: on PATH (python3: the one knetlab runs), or a module that python3 imports. */
export async function checkCommand(runner: Runner, c: HostCommand, path = process.env.PATH ?? ''): Promise<CommandCheck> {
  const [name, module] = c.check.split(':') as [string, string | undefined];
  const found = name === 'python3' && systemPython() !== 'python3' ? systemPython() : onPath(name, path);
  if (!found) {
    const elsewhere = SYSTEM_DIRS.map((d) => join(d, name)).find(executable);
    if (elsewhere) return { command: c, why: `${elsewhere} is there, but its folder is not on PATH`, install: false };
    return { command: c, why: `${name} not found on PATH`, install: true };
  }
  if (!module) return { command: c, path: found, install: false };
  const r = await runner.run([found, '-I', '-c', `import ${module}`], { reject: false, timeoutMs: 20_000 });
  if (r.exitCode === 0) return { command: c, path: `${found} (${module})`, install: false };
  const error = r.stderr.trim().split('\n').at(-1) || `exit ${r.exitCode}`;
  return { command: c, why: `${found} cannot import ${module}: ${error}`, install: true };
}

/** `apt-get install -y PKG...` for the packages of the commands that are missing, in list order; undefined when none. */
export function installCommand(checks: readonly CommandCheck[]): string | undefined {
  const packages = [...new Set(checks.filter((c) => c.install).map((c) => c.command.package))];
  return packages.length ? `apt-get install -y ${packages.join(' ')}` : undefined;
}
