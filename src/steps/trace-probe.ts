// One probe, traced through the real kernel (one traced try, traced-tries.ts), then the routing
// decision of every namespace it crossed; and what tracing arms: the namespaces a probe may cross.
import { addressBook, named } from '../cluster/address-book.js';
import { resolveSource, resolveTarget } from '../cluster/resolve.js';
import type { Model } from '../cluster/types.js';
import { machineNetns, podNetns } from '../dataplane/names.js';
import { KnetlabError } from '../errors.js';
import type { Runner } from '../kernel/exec.js';
import { routeGet, type StartMonitor } from '../kernel/trace.js';
import type { SourceRef, TargetRef } from '../scenario/refs.js';
import type { Namer, RouteHop, TraceReport } from '../trace/report.js';
import { isOutbound } from '../trace/result.js';
import type { ProbeKey } from '../trace/types.js';
import { httpProbe, pingTry, tcpProbe, udpProbe, withSize, type Try } from './probes.js';
import { addressOf } from './name-lookup.js';
import { placeNetns } from './run.js';
import type { Resolved } from '../cluster/resolve.js';
import type { tracedKinds, Step } from '../scenario/steps.js';

export type TraceKind = (typeof tracedKinds)[number];

export interface TraceRequest {
  kind: TraceKind;
  from: SourceRef;
  to: TargetRef;
  /** How long the probe waits for its answer (default 2 s). */
  timeoutMs?: number;
  /** udp: the datagram sent. */
  data?: string;
  /** http: the request's headers and path. */
  headers?: Record<string, string>;
  path?: string;
  /** http: the body size asked of the echo server. */
  size?: number;
}

/** The probe that traces one try of a step, for the kinds that send one (a failed step explains itself with it). */
export function traceRequestOf(step: Step): TraceRequest | undefined {
  switch (step.kind) {
    case 'http':
      return {
        kind: 'http',
        from: step.from,
        to: step.to,
        headers: step.headers,
        path: step.path,
        ...(step.size !== undefined ? { size: step.size } : {}),
        timeoutMs: Math.min(step.timeoutMs, 3000),
      };
    case 'tcp':
      return { kind: 'tcp', from: step.from, to: step.to, timeoutMs: Math.min(step.timeoutMs, 3000) };
    case 'udp':
      return { kind: 'udp', from: step.from, to: step.to, data: step.data, timeoutMs: Math.min(step.timeoutMs, 3000) };
    case 'ping':
      return { kind: 'ping', from: step.from, to: step.to, timeoutMs: Math.min(step.timeoutMs, 3000) };
    default:
      return undefined;
  }
}

/** The most namespaces armed at once: a monitor process each. */
const MAX_ARMED = 64;

/**
 * Where a probe may go: every node and host, the source, and the pods that can answer (the target
 * pod, or every pod that is an endpoint of some Service); the first MAX_ARMED armed, the rest named.
 */
export function namespacesToArm(model: Model, source: string, targetIp: string): { armed: string[]; notArmed: string[] } {
  const endpointIps = new Set(model.endpointSlices.flatMap((s) => s.endpoints.map((e) => e.ip)));
  const pods = model.pods.filter((p) => p.ip && !p.hostNetwork && p.phase === 'Running' && (p.ip === targetIp || endpointIps.has(p.ip)));
  const all = [...new Set([source, ...model.nodes.map((n) => machineNetns(n.name)), ...model.hosts.map((h) => machineNetns(h.name)), ...pods.map(podNetns)])];
  return { armed: all.slice(0, MAX_ARMED), notArmed: all.slice(MAX_ARMED) };
}

/** A Namer for a model: addresses by the address book, namespaces by the places scenarios name. */
export function namerFor(model: Model): Namer {
  const book = addressBook(model);
  const places = new Map<string, string>();
  for (const n of model.nodes) places.set(machineNetns(n.name), `node/${n.name}`);
  for (const h of model.hosts) places.set(machineNetns(h.name), `host/${h.name}`);
  for (const p of model.pods) places.set(podNetns(p), `pod/${p.namespace === 'default' ? p.name : `${p.name}.${p.namespace}`}`);
  return { ip: (ip) => named(book, ip), netns: (ns) => places.get(ns) ?? ns };
}

/** A name that does not resolve: the request was wrong (a usage error for `knetlab trace`). */
function need<T>(r: Resolved<T>): T {
  if (!r.ok) throw new KnetlabError('EUSAGE', r.reason);
  return r.value;
}

export const protoOf: Record<TraceKind, ProbeKey['proto']> = { http: 'tcp', tcp: 'tcp', udp: 'udp', ping: 'icmp' };

/** Traces one probe: one traced try (see traced-tries.ts). `startMonitor`: how a monitor process starts (a held scenario's enters its sandbox). */
export async function traceProbe(runner: Runner, model: Model, req: TraceRequest, opts: { startMonitor?: StartMonitor } = {}): Promise<TraceReport> {
  const from = need(resolveSource(model, req.from));
  const to = need(resolveTarget(model, req.to, req.kind === 'ping' ? undefined : req.kind === 'udp' ? 'UDP' : 'TCP'));
  const netns = placeNetns(from);
  const timeoutMs = req.timeoutMs ?? 2000;
  // A name is looked up where the probe runs, as the step does; the trace follows that address.
  const ip = await addressOf(runner, from, to, timeoutMs);
  if (!ip.ok) throw new KnetlabError('EUSAGE', ip.error);
  const meaning = to.hostname ? `${to.hostname}, resolved in ${from.kind}/${from.name}` : to.meaning;
  // http keeps the name in its URL, so its Host header is the step's.
  const host = req.kind === 'http' && to.hostname ? to.hostname : ip.ip;
  const { tracedTries } = await import('./traced-tries.js');
  const [one] = await tracedTries(runner, model, {
    kind: req.kind,
    from,
    to: { ref: req.to, ip: ip.ip, ...(to.port !== undefined ? { port: to.port } : {}), meaning },
    count: 1,
    endOnDrop: false,
    send: (sport, signal) => sendTry(runner, netns, req, host, to.port, sport, timeoutMs, signal),
    ...(opts.startMonitor ? { startMonitor: opts.startMonitor } : {}),
  });
  return withRoutes(runner, one!.report);
}

/** The report with the routing decision of every namespace on the way, asked of the kernel now (the probe's first packet as it arrived: after any DNAT before it, before any SNAT). */
async function withRoutes(runner: Runner, report: TraceReport): Promise<TraceReport> {
  const routes: RouteHop[] = [];
  for (const netns of report.result.path) {
    const pass = report.result.namespaces.find((x) => x.netns === netns)?.passes.find(isOutbound);
    // The destination as the last hook saw it: a DNAT in this namespace changed it before routing.
    const dst = [...(pass?.hooks ?? [])].reverse().find((h) => h.packet.dst)?.packet.dst ?? pass?.packet.dst;
    if (!pass || !dst) continue;
    const query = { dst, ...(pass.packet.src ? { from: pass.packet.src } : {}), ...(pass.packet.iif ? { iif: pass.packet.iif } : {}) };
    try {
      routes.push({ netns, query, decision: await routeGet(runner, netns, query) });
    } catch (error) {
      if (!(error instanceof KnetlabError)) throw error; // a route the kernel would not print leaves the hop without one
    }
  }
  return routes.length ? { ...report, routes } : report;
}

/** One try of a traced probe's kind, from its source port (ping: echo id). */
async function sendTry(
  runner: Runner,
  netns: string,
  req: TraceRequest,
  ip: string,
  port: number | undefined,
  sport: number,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<Try> {
  switch (req.kind) {
    case 'http':
      return (
        await httpProbe(runner, netns, `http://${ip}:${port}${withSize(req.path ?? '/', req.size)}`, {
          headers: req.headers ?? {},
          count: 1,
          timeoutMs,
          sourcePort: sport,
          signal,
          sized: req.size !== undefined,
        })
      )[0]!;
    case 'tcp':
      return (await tcpProbe(runner, netns, ip, port!, { count: 1, timeoutMs, sourcePort: sport, signal }))[0]!;
    case 'udp':
      return (await udpProbe(runner, netns, ip, port!, { data: req.data ?? 'knetlab trace', count: 1, timeoutMs, sourcePort: sport, signal }))[0]!;
    case 'ping':
      return pingTry(runner, netns, ip, { timeoutMs, intervalMs: 200, identifier: sport, signal });
  }
}
