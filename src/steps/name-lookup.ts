// A probe's target named by DNS (`db:5432`, `http://web.default/`) looked up where the probe runs,
// before tcp, udp and ping send to it (curl looks its URL up itself, the same way).
import type { Destination, Place } from '../cluster/resolve.js';
import { inNetns } from '../dataplane/names.js';
import type { Runner } from '../kernel/exec.js';
import { isIPv4 } from '../util/ip.js';
import type { Judged } from './judge.js';
import type { Try } from './probes.js';
import { placeNetns } from './run.js';

export type Lookup = { ok: true; ip: string } | { ok: false; error: string };

/**
 * The least time a lookup gets, whatever the step's timeout: glibc's own wait for a DNS answer. The
 * name is not what a probe tests, and a loaded machine (the emulated VM) may take over a second.
 */
export const LOOKUP_MIN_MS = 5_000;

/** Where a name is looked up, for messages: `pod/web-0`. */
const placeShown = (p: Place) => `${p.kind}/${p.name}`;

/**
 * The first IPv4 address of a name as getaddrinfo(AF_INET) finds it inside the place's namespace,
 * which is what curl and ping call: /etc/hosts, then the namespace's resolv.conf (a pod's: the
 * cluster DNS, its search list and ndots:5, so `db` is tried as db.NS.svc.cluster.local first).
 */
export async function lookupName(runner: Runner, from: Place, name: string, stepTimeoutMs: number): Promise<Lookup> {
  const timeoutMs = Math.max(stepTimeoutMs, LOOKUP_MIN_MS);
  const r = await runner.run(inNetns(placeNetns(from), ['getent', 'ahostsv4', name]), { reject: false, timeoutMs });
  const ip = r.stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .find(isIPv4);
  if (r.exitCode === 0 && ip) return { ok: true, ip };
  const where = `cannot resolve ${name} in ${placeShown(from)}`;
  if (r.timedOut) return { ok: false, error: `${where}: no answer within ${timeoutMs} ms` };
  // Nodes and hosts have no nameserver in their resolv.conf (topology.ts): only /etc/hosts answers there.
  if (from.kind !== 'pod' || from.hostNetwork) return { ok: false, error: `${where} (nodes and hosts use no DNS server: name a Service or an address)` };
  // getent exits 2 when the name was not found (NXDOMAIN on every search-list candidate, or no server answered).
  return { ok: false, error: r.exitCode === 2 ? where : `${where}: getent exited ${r.exitCode}${r.stderr.trim() ? `: ${r.stderr.trim().slice(0, 200)}` : ''}` };
}

/** The address a probe goes to: a name's looked up in the source, else the one the model gave. */
export async function addressOf(runner: Runner, from: Place, to: Destination, timeoutMs: number): Promise<Lookup> {
  return to.hostname === undefined ? { ok: true, ip: to.ip } : lookupName(runner, from, to.hostname, timeoutMs);
}

/** count tries that never went out: the name did not resolve. */
export const unresolvedTries = (count: number, error: string): Try[] => Array.from({ length: count }, () => ({ ok: false, failure: 'error', error }));

/** A step whose name did not resolve fails whatever it expected: a name that resolves nowhere is not "no connect". */
export function unresolved(j: Judged, error: string): Judged {
  return {
    ...j,
    passed: false,
    expected: j.expected || 'the name resolves in the source',
    seen: `${error}. ${j.seen}`,
    tries: j.tries.map(() => ({ ok: false, failure: 'error', error })),
  };
}
