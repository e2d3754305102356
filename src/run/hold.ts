import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { KnetlabError } from '../errors.js';
import { didYouMean } from '../scenario/suggest.js';
import { commandLine, parentOf, processId, stillRunning, type ProcessId } from '../kernel/process-identity.js';
import { createStateFile, readStateFile, setAside, stateDir, writeStateFile } from './state-dir.js';

/** A scenario held by `knetlab up`, as `exec`, `shell` and `down` find it. */
export interface Held {
  name: string;
  file: string;
  /** The `knetlab up` process: `down` stops it. */
  up: ProcessId;
  /** The sandbox's first process, as the host sees it: `exec` enters its namespaces. Unset while it builds. */
  sandbox?: ProcessId;
  rootless: boolean;
  netns: Record<string, string>;
}

/** What `up` writes while it builds, before there is a sandbox to enter. */
export type Claim = Omit<Held, 'sandbox' | 'netns'>;

// A scenario's name is its file name here: the schema allows [a-z0-9-], this is checked again on reading.
const NAME = /^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?$/;
const NETNS = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$/;

function heldDir(): string {
  return stateDir('held');
}

function heldPath(name: string): string {
  if (!NAME.test(name)) throw new KnetlabError('EUSAGE', `${JSON.stringify(name)} is not a scenario name`);
  return join(heldDir(), `${name}.json`);
}

const isId = (v: unknown): v is ProcessId =>
  typeof v === 'object' && v !== null && Number.isSafeInteger((v as ProcessId).pid) && (v as ProcessId).pid > 1 && Number.isSafeInteger((v as ProcessId).start);

/** A held file's content as data, or why it is not one of ours. */
function parseHeld(text: string, name: string): Held | string {
  let v: Partial<Held>;
  try {
    v = JSON.parse(text) as Partial<Held>;
  } catch {
    return text.trim() === '' ? 'it is empty' : 'it is not JSON';
  }
  if (typeof v !== 'object' || v === null) return 'it is not a JSON object';
  if (v.name !== name) return `it names ${JSON.stringify(v.name)}, not ${name}`;
  if (typeof v.file !== 'string' || typeof v.rootless !== 'boolean' || !isId(v.up)) return 'it lacks its file, rootless flag or up process';
  if (v.sandbox !== undefined && !isId(v.sandbox)) return 'its sandbox process is not a pid and start time';
  const netns = v.netns ?? {};
  if (typeof netns !== 'object' || Object.values(netns).some((n) => typeof n !== 'string' || !NETNS.test(n))) return 'its namespaces are not namespace names';
  return { name, file: v.file, up: v.up, ...(v.sandbox ? { sandbox: v.sandbox } : {}), rootless: v.rootless, netns: netns as Record<string, string> };
}

/**
 * The held scenario's processes are still the ones it recorded: `up` (same pid and start time,
 * ours, a knetlab `up`), and its sandbox, a child of the unshare that `up` started.
 */
function stillHeld(h: Held): boolean {
  if (!stillRunning(h.up) || !commandLine(h.up.pid).includes('up')) return false;
  if (!h.sandbox) return true;
  if (!stillRunning(h.sandbox)) return false;
  const unshare = parentOf(h.sandbox.pid);
  return unshare !== undefined && parentOf(unshare) === h.up.pid && commandLine(h.sandbox.pid).some((a) => a.endsWith('sandbox-main.js'));
}

type Found = { kind: 'held'; held: Held } | { kind: 'gone' } | { kind: 'missing' };

/** One held file, looked at: live, stale (removed), or bad (set aside, with a warning). */
function look(name: string, warn: Warn): Found {
  const path = heldPath(name);
  const r = readStateFile(path);
  if (r.kind === 'missing') return { kind: 'missing' };
  const h = r.kind === 'ok' ? parseHeld(r.text, name) : r.why;
  if (typeof h === 'string') {
    const aside = setAside(path);
    warn(`knetlab: the state file of held scenario ${name} was set aside (${h}): ${aside}`);
    return { kind: 'gone' };
  }
  if (stillHeld(h)) return { kind: 'held', held: h };
  rmSync(path, { force: true }); // its up ended (or its pid is someone else's by now)
  return { kind: 'gone' };
}

const warnStderr = (s: string): void => void process.stderr.write(`${s}\n`);
type Warn = (s: string) => void;

/**
 * Claims a scenario name for `up`, before anything is built: one `up` per name. A second is
 * refused, naming the first; a stale or bad claim is cleared first.
 */
export function claimHeld(claim: Claim, warn: Warn = warnStderr): void {
  const path = heldPath(claim.name);
  const text = JSON.stringify({ ...claim, netns: {} }, null, 2);
  for (let attempt = 0; attempt < 2; attempt++) {
    if (createStateFile(path, text)) return;
    const found = look(claim.name, warn);
    if (found.kind === 'held') {
      const h = found.held;
      throw new KnetlabError(
        'EUSAGE',
        `${h.name} is already ${h.sandbox ? 'held' : 'being built'} by \`knetlab up ${h.file}\` (pid ${h.up.pid}); \`knetlab down ${h.name}\` ends it`,
      );
    }
  }
  throw new KnetlabError('EUSAGE', `${claim.name} could not be claimed: another \`knetlab up\` of it started at the same moment`);
}

/** The claim, once built: where to enter. Only the `up` that claimed it writes it. */
export function saveHeld(h: Held): void {
  writeStateFile(heldPath(h.name), JSON.stringify(h, null, 2));
}

export function removeHeld(name: string): void {
  rmSync(heldPath(name), { force: true });
}

/** Held scenarios whose `up` still runs (stale files removed, bad ones set aside with a warning). */
export function listHeld(warn: Warn = warnStderr): Held[] {
  let names: string[];
  try {
    names = readdirSync(heldDir())
      .filter((f) => f.endsWith('.json'))
      .map((f) => f.slice(0, -'.json'.length));
  } catch {
    return [];
  }
  const out: Held[] = [];
  for (const name of names.sort()) {
    if (!NAME.test(name)) continue;
    const found = look(name, warn);
    if (found.kind === 'held') out.push(found.held);
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
  if (!h.sandbox) throw new KnetlabError('EUSAGE', `${h.name} is still being built; try again when \`knetlab up\` says it is up`);
  return netnsOfPlace(h.name, h.netns, name);
}

/** The namespace of a place in a scenario's map of them (placesNetns), by the names steps use or a bare name. */
export function netnsOfPlace(scenario: string, netns: Readonly<Record<string, string>>, name: string): string {
  const keys = Object.keys(netns);
  const candidates = [name, `node/${name}`, `host/${name}`, `pod/${name}`, `pod/${name}.default`, name.startsWith('pod/') && !name.includes('.') ? `${name}.default` : ''];
  for (const c of candidates) if (c && Object.hasOwn(netns, c)) return netns[c]!;
  const near = didYouMean(name, keys);
  throw new KnetlabError('EUSAGE', `${scenario} has no ${name}${near ? `; did you mean ${near}?` : ''} (it has ${keys.join(', ')})`);
}

/**
 * argv that runs a command inside the held scenario's sandbox (its mounts, /run/netns, processes),
 * in no namespace of its own yet. `pid: false` leaves the process in ours: nsenter then execs the
 * command itself instead of forking it, so a signal to it reaches the command (a trace monitor).
 */
export function intoSandbox(h: Held, argv: readonly string[], opts: { pid?: boolean } = {}): string[] {
  if (!h.sandbox) throw new KnetlabError('EUSAGE', `${h.name} is still being built`);
  const pid = opts.pid === false ? [] : ['--pid'];
  return ['nsenter', '--target', String(h.sandbox.pid), ...(h.rootless ? ['--user', '--preserve-credentials'] : []), '--mount', '--net', ...pid, '--', ...argv];
}

/** argv that runs a command in a place of a held scenario: into the sandbox, then into the namespace. */
export function enterCommand(h: Held, netns: string, argv: readonly string[]): string[] {
  return intoSandbox(h, ['ip', 'netns', 'exec', netns, ...argv]);
}

/** Signals the held scenario's `up` to end it, after checking it is still that process. */
export function signalHolder(h: Held): void {
  if (!stillHeld(h)) throw new KnetlabError('EUSAGE', `${h.name}'s \`knetlab up\` (pid ${h.up.pid}) has already ended`);
  process.kill(h.up.pid, 'SIGTERM');
}

/** For `up`: its own identity, to record in the claim. */
export function ownId(): ProcessId {
  const id = processId(process.pid);
  if (!id) throw new KnetlabError('EINTERNAL', 'cannot read /proc/self/stat');
  return id;
}
