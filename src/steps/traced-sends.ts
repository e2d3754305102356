// Several probes traced under one arming: tracing is armed once in the namespaces given, each send
// goes from its own source port (ping: echo id), and each one's part of the monitors' output (and
// its conntrack entry, read once at disarm) is its own. A send may end early, when its trace shows
// that the kernel is done with it (a drop), instead of waiting for its timeout.
import type { Model } from '../cluster/types.js';
import { KnetlabError } from '../errors.js';
import type { Runner } from '../kernel/exec.js';
import { armTrace, type StartMonitor } from '../kernel/trace.js';
import { type TraceResult, traceResult } from '../trace/result.js';
import type { NamespaceCapture, ProbeKey } from '../trace/types.js';
import { traceContextFor } from './trace-context.js';

/** How often a send watches the monitors for the end its caller waits for. */
const WATCH_MS = 50;

export interface TracedSend<T> {
  sport: number;
  /** Ends the send (aborts its signal) once the trace so far shows this; checked every WATCH_MS. */
  doneWhen?: (r: TraceResult) => boolean;
  send(signal: AbortSignal): Promise<T>;
}

export interface SentTraced<T> {
  sport: number;
  /** What send returned; undefined when it was ended early. */
  value?: T;
  endedEarly: boolean;
  /** The kernel's view of this send alone. */
  result: TraceResult;
  /** What each armed namespace showed of it, for a reading of some of them alone. */
  captures: NamespaceCapture[];
}

/** What a monitor printed from `from` on, up to its last whole line. */
const since = (text: string, from: number) => text.slice(from, text.lastIndexOf('\n') + 1);

/** A monitor that lost events: xtables-monitor's socket buffer overflows (ENOBUFS) when it is starved of CPU while a rule-heavy node traces. */
const overflowed = (error: unknown) => error instanceof KnetlabError && /No buffer space available/.test(error.message);

/** Runs the sends in order under one arming in `namespaces`; tracing is removed whatever happens. From the start again (up to OVERFLOW_ATTEMPTS in all) when a monitor overflowed. */
export async function tracedSends<T>(
  runner: Runner,
  model: Model,
  opts: { namespaces: readonly string[]; proto: ProbeKey['proto']; startMonitor?: StartMonitor },
  sends: readonly TracedSend<T>[],
): Promise<SentTraced<T>[]> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await tracedSendsOnce(runner, model, opts, sends);
    } catch (error) {
      if (!overflowed(error) || attempt === OVERFLOW_ATTEMPTS) throw error;
    }
  }
}

/** How many times traced sends are tried when monitors keep overflowing. */
const OVERFLOW_ATTEMPTS = 3;

async function tracedSendsOnce<T>(
  runner: Runner,
  model: Model,
  opts: { namespaces: readonly string[]; proto: ProbeKey['proto']; startMonitor?: StartMonitor },
  sends: readonly TracedSend<T>[],
): Promise<SentTraced<T>[]> {
  if (!sends.length) return [];
  const { proto } = opts;
  const monitor = model.config.proxyMode === 'iptables' ? 'xtables' : 'nft';
  // Arming costs about twice a flush (measured: ~1 s against ~0.5 s on a loaded 2-core machine), so it is done once for all sends.
  const armed = await armTrace(runner, {
    namespaces: opts.namespaces,
    probe: { proto, sport: sends[0]!.sport },
    sports: sends.map((s) => s.sport),
    monitor,
    ipvs: model.config.proxyMode === 'ipvs',
    ...(opts.startMonitor ? { startMonitor: opts.startMonitor } : {}),
  });
  const state = new Map<string, Omit<NamespaceCapture, 'netns' | 'monitor' | 'trace' | 'conntrack'>>();
  const captures = (trace: Map<string, string>, ct: Map<string, string>): NamespaceCapture[] =>
    armed.namespaces.map((ns) => ({ ...state.get(ns), netns: ns, monitor, trace: trace.get(ns) ?? '', conntrack: ct.get(ns) ?? '' }));
  const sent: { sport: number; value?: T; start: Map<string, number>; trace?: Map<string, string>; endedEarly: boolean }[] = [];
  try {
    for (const [i, s] of sends.entries()) {
      const probe: ProbeKey = { proto, sport: s.sport };
      // Each send reads the monitors from where the last one's flush left them.
      const start = new Map(armed.namespaces.map((ns) => [ns, armed.output(ns).lastIndexOf('\n') + 1]));
      const segment = () => new Map(armed.namespaces.map((ns) => [ns, since(armed.output(ns), start.get(ns)!)]));
      const abort = new AbortController();
      const doneWhen = s.doneWhen;
      const watch = doneWhen
        ? setInterval(() => {
            if (doneWhen(traceResult(probe, captures(segment(), new Map())))) abort.abort();
          }, WATCH_MS)
        : undefined;
      let value: T | undefined;
      try {
        value = await s.send(abort.signal);
      } catch (error) {
        if (!abort.signal.aborted) throw error;
      } finally {
        if (watch) clearInterval(watch);
      }
      // The last send's part is read from what disarm returns, after its own flush.
      const last = i === sends.length - 1;
      if (!last) await armed.flush();
      const endedEarly = abort.signal.aborted;
      sent.push({ sport: s.sport, ...(endedEarly || value === undefined ? {} : { value }), start, ...(last ? {} : { trace: segment() }), endedEarly });
    }
  } catch (error) {
    await armed.disarm().catch(() => undefined); // the send's failure is the one to report
    throw error;
  }
  // The conntrack listing disarm takes once for all sends: each finds its own entry by its port (TCP's stay in TIME_WAIT, UDP's and ICMP's 30 s).
  const final = await armed.disarm();
  const conntrack = new Map(final.map((c) => [c.netns, c.conntrack]));
  // Tunnels, verdict maps and IPVS's connections, read once at disarm, serve every send.
  for (const { netns: ns, monitor: _m, trace: _t, conntrack: _c, ...rest } of final) state.set(ns, rest);
  const rest = (start: Map<string, number>) => new Map(final.map((c) => [c.netns, since(c.trace, start.get(c.netns) ?? 0)]));
  const context = traceContextFor(model);
  return sent.map(({ sport, value, start, trace, endedEarly }) => {
    const mine = captures(trace ?? rest(start), conntrack);
    return { sport, ...(value !== undefined ? { value } : {}), endedEarly, result: traceResult({ proto, sport }, mine, context), captures: mine };
  });
}
