import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KnetlabError } from '../errors.js';
import { didYouMean } from '../scenario/suggest.js';

/** A scenario held by `knetlab up`, as `exec`, `shell` and `down` find it. */
export interface Held {
  name: string;
  file: string;
  /** The `knetlab up` process: `down` stops it. */
  upPid: number;
  /** The sandbox's first process, as the host sees it: `exec` enters its namespaces. */
  sandboxPid: number;
  rootless: boolean;
  netns: Record<string, string>;
}

function dir(): string {
  return join(tmpdir(), `knetlab-${process.getuid?.() ?? 'user'}`, 'held');
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function saveHeld(h: Held): string {
  mkdirSync(dir(), { recursive: true });
  const file = join(dir(), `${h.name}.json`);
  writeFileSync(file, JSON.stringify(h, null, 2));
  return file;
}

export function removeHeld(name: string): void {
  rmSync(join(dir(), `${name}.json`), { force: true });
}

/** Held scenarios whose `up` still runs (stale files of ended ones are removed). */
export function listHeld(): Held[] {
  let names: string[] = [];
  try {
    names = readdirSync(dir()).filter((f) => f.endsWith('.json'));
  } catch {
    return [];
  }
  const out: Held[] = [];
  for (const f of names.sort()) {
    const h = JSON.parse(readFileSync(join(dir(), f), 'utf8')) as Held;
    if (alive(h.upPid) && alive(h.sandboxPid)) out.push(h);
    else rmSync(join(dir(), f), { force: true });
  }
  return out;
}

/** The held scenario meant: the named one, or the only one. */
export function findHeld(scenario?: string): Held {
  const held = listHeld();
  if (held.length === 0) throw new KnetlabError('EUSAGE', 'no scenario is held: start one with `knetlab up FILE`');
  if (scenario) {
    const h = held.find((x) => x.name === scenario);
    if (!h) throw new KnetlabError('EUSAGE', `no held scenario ${scenario} (held: ${held.map((x) => x.name).join(', ')})`);
    return h;
  }
  if (held.length > 1) throw new KnetlabError('EUSAGE', `several scenarios are held (${held.map((x) => x.name).join(', ')}): name one with --scenario`);
  return held[0]!;
}

/** A place of a held scenario by the names steps use, or a bare node, host or pod name. */
export function placeNetns(h: Held, name: string): string {
  const keys = Object.keys(h.netns);
  const candidates = [name, `node/${name}`, `host/${name}`, `pod/${name}`, `pod/${name}.default`, name.startsWith('pod/') && !name.includes('.') ? `${name}.default` : ''];
  for (const c of candidates) if (c && h.netns[c]) return h.netns[c]!;
  const near = didYouMean(name, keys);
  throw new KnetlabError('EUSAGE', `${h.name} has no ${name}${near ? `; did you mean ${near}?` : ''} (it has ${keys.join(', ')})`);
}

/** argv that runs a command in a place of a held scenario: into the sandbox, then into the namespace. */
export function enterCommand(h: Held, netns: string, argv: readonly string[]): string[] {
  return ['nsenter', '--target', String(h.sandboxPid), ...(h.rootless ? ['--user', '--preserve-credentials'] : []), '--mount', '--net', '--pid', '--', 'ip', 'netns', 'exec', netns, ...argv];
}
