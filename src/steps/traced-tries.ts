// A step's tries, each traced through the kernel, for its kernel-level expectations: tracing is armed
// once per step (traced-sends.ts) and each try sends from its own source port (ping: echo id).
import { randomInt } from 'node:crypto';
import { resolveSource, resolveTarget, type Place } from '../cluster/resolve.js';
import type { Model } from '../cluster/types.js';
import type { Runner } from '../kernel/exec.js';
import type { StartMonitor } from '../kernel/trace.js';
import { formatTarget, type TargetRef } from '../scenario/refs.js';
import type { KernelExpect } from '../scenario/steps.js';
import type { TraceReport } from '../trace/report.js';
import type { TraceResult } from '../trace/result.js';
import { kernelSeen, kernelVerdict, type KernelVerdict } from '../trace/verdict.js';
import type { Judged } from './judge.js';
import { judgeKernel, type KernelRules } from './judge-kernel.js';
import type { Try } from './probes.js';
import { must, placeNetns, StepError } from './run.js';
import { tracedSends } from './traced-sends.js';
import { namerFor, namespacesToArm, protoOf, type TraceKind } from './trace-probe.js';

export interface TracedTry {
  try: Try;
  report: TraceReport;
  verdict: KernelVerdict;
  /** Ended before its timeout: the kernel had dropped its packet. */
  endedEarly: boolean;
}

export interface TracedTriesRequest {
  kind: TraceKind;
  from: Place;
  to: { ref: TargetRef; ip: string; port?: number; meaning: string };
  count: number;
  /** End a try as soon as the trace shows its packet dropped (a step expecting a drop). */
  endOnDrop: boolean;
  /** Sends one try from a source port (ping: echo id); the signal ends it early. */
  send(sport: number, signal: AbortSignal): Promise<Try>;
  /** How a monitor process starts (a held scenario's enters its sandbox). */
  startMonitor?: StartMonitor;
}

/** The ports of a step's tries: consecutive, away from the kernel's ephemeral ports (32768-60999) as traceProbe's are. */
function triesPorts(kind: TraceKind, count: number): number[] {
  const base = kind === 'ping' ? randomInt(1, 65536 - count) : randomInt(20000, 30000 - count);
  return Array.from({ length: count }, (_, i) => base + i);
}

/** Runs count tries of a probe, each traced; tracing is removed whatever happens. */
export async function tracedTries(runner: Runner, model: Model, req: TracedTriesRequest): Promise<TracedTry[]> {
  const netns = placeNetns(req.from);
  const { armed: namespaces, notArmed } = namespacesToArm(model, netns, req.to.ip);
  const dropped = (r: TraceResult) => r.dropped?.verdict === 'drop';
  const sent = await tracedSends(
    runner,
    model,
    { namespaces, proto: protoOf[req.kind], ...(req.startMonitor ? { startMonitor: req.startMonitor } : {}) },
    triesPorts(req.kind, req.count).map((sport) => ({ sport, ...(req.endOnDrop ? { doneWhen: dropped } : {}), send: (signal: AbortSignal) => req.send(sport, signal) })),
  );
  return sent.map(({ sport, value, endedEarly, result }) => {
    const t = value ?? DROPPED;
    const report: TraceReport = {
      kind: req.kind,
      from: { ref: `${req.from.kind}/${req.from.name}`, netns, ip: req.from.ip },
      to: { ref: formatTarget(req.to.ref), ip: req.to.ip, ...(req.to.port !== undefined ? { port: req.to.port } : {}), meaning: req.to.meaning },
      mode: model.config.proxyMode,
      sport,
      answered: t.ok,
      ended: endedText(t, req.kind),
      result,
      ...(notArmed.length ? { notTraced: notArmed } : {}),
    };
    return { try: t, report, verdict: kernelVerdict(result), endedEarly };
  });
}

/** A try ended at its drop: it would have timed out. */
const DROPPED: Try = { ok: false, failure: 'timeout', error: 'ended early: the kernel dropped it' };

/** How a try ended, in its tool's words, as traceProbe says it. */
function endedText(t: Try, kind: TraceKind): string {
  if (!t.ok) return t.error ?? t.failure ?? 'failed';
  if (t.status) return `HTTP ${t.status}${t.answer ? ` from ${t.answer.server}` : ''}`;
  if (t.answer) return `answered by ${t.answer.server}`;
  return kind === 'tcp' ? 'connected' : kind === 'ping' ? 'echo reply' : 'answered';
}

/** The rules of a step's kernel expectations, its places resolved in the model as it is now. */
export function kernelRules(model: Model, e: KernelExpect): KernelRules {
  const path = e.path?.map((p) => ({ netns: placeNetns(must(resolveSource(model, p))), shown: `${p.kind}/${p.name}${'namespace' in p && p.namespace ? `.${p.namespace}` : ''}` }));
  return {
    ...(e.dnat ? { dnat: e.dnat } : {}),
    ...(e.masquerade !== undefined ? { masquerade: e.masquerade } : {}),
    ...(e.dropped !== undefined ? { dropped: e.dropped } : {}),
    ...(e.rejected !== undefined ? { rejected: e.rejected } : {}),
    ...(e.droppedBy !== undefined ? { droppedBy: e.droppedBy } : {}),
    ...(path ? { path } : {}),
  };
}

/** A step's kernel expectations (a drop expected ends each try at the drop), and the tries' outcomes for its response expectations. */
export async function runKernelTries(
  c: { runner: Runner; model: Model },
  e: KernelExpect,
  // address: what a name target was looked up to in the source (name-lookup.ts), which its tries go to.
  req: Omit<TracedTriesRequest, 'endOnDrop' | 'to'> & { to: TargetRef; address?: string },
  protocol: 'TCP' | 'UDP' | undefined,
): Promise<{ tries: Try[]; judge(response: Judged): Judged }> {
  const to = must(resolveTarget(c.model, req.to, protocol));
  if (to.hostname && req.address === undefined) throw new StepError(`kernel expectations trace the probe to an address: ${formatTarget(req.to)} was not looked up`);
  const ip = to.hostname ? req.address! : to.ip;
  const meaning = to.hostname ? `${to.hostname}, resolved in ${req.from.kind}/${req.from.name}` : to.meaning;
  const endOnDrop = e.dropped === true || (e.droppedBy !== undefined && e.rejected !== true);
  const { address: _address, ...sent } = req;
  const traced = await tracedTries(c.runner, c.model, {
    ...sent,
    to: { ref: req.to, ip, ...(to.port !== undefined ? { port: to.port } : {}), meaning },
    endOnDrop,
  });
  const k = judgeKernel(
    traced.map((t) => t.verdict),
    kernelRules(c.model, e),
    namerFor(c.model),
  );
  const early = traced.filter((t) => t.endedEarly).length;
  const namer = namerFor(c.model);
  return {
    tries: traced.map((t) => ({ ...t.try, kernel: kernelSeen(t.verdict, namer) })),
    judge: (j) => ({
      ...j,
      passed: j.passed && k.passed,
      expected: [j.expected, ...k.expected].filter(Boolean).join('; '),
      seen: `${k.problems.length ? `${k.problems.join('; ')}. ` : ''}${[j.seen, ...k.seen, ...(early ? [`${early} of ${traced.length} tries ended at the drop`] : [])].join('; ')}`,
      ...(traced.length ? { traced: traced[k.firstFailing ?? 0]!.report } : {}),
    }),
  };
}
