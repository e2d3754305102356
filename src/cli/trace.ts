// `knetlab trace FROM TO`: one probe traced through the held scenario's kernel (knetlab up), its
// commands and monitors run inside that scenario's sandbox.
import { KnetlabError } from '../errors.js';
import { execaRunner, type Runner } from '../kernel/exec.js';
import { startMonitorProcess, type StartMonitor } from '../kernel/trace.js';
import { findHeld, intoSandbox, type Held } from '../run/hold.js';
import { parseSource, parseTarget } from '../scenario/refs.js';
import { tracedKinds } from '../scenario/steps.js';
import { namerFor, traceProbe, type TraceKind } from '../steps/trace-probe.js';
import { writeDrawing } from './graph.js';
import { graphOf } from '../report/graph-model.js';
import { graphSvg } from '../report/graph-svg.js';
import { traceOverlay } from '../report/graph-trace.js';
import { renderTrace } from '../trace/report.js';
import { loadModel, type ValidateOptions } from '../validate.js';

export interface TraceFlags {
  kind?: string;
  proto?: string;
  port?: string;
  output: string;
  scenario?: string;
  timeout: string;
  svg?: string;
}

/** A Runner whose commands run inside the held scenario's sandbox. */
function heldRunner(h: Held): Runner {
  return {
    run: (argv, opts) => execaRunner.run(intoSandbox(h, argv), opts),
    session: (argv) => execaRunner.session(intoSandbox(h, argv)),
  };
}

/** The probes each --proto allows (the first when --kind is not given). */
const kindsOfProto: Record<string, readonly TraceKind[]> = { tcp: ['tcp', 'http'], udp: ['udp'], icmp: ['ping'] };

/** The probe and its target from --kind, --proto and --port: `--proto udp --port 53` is `-k udp` to TO:53. */
export function probeOf(to: string, flags: Pick<TraceFlags, 'kind' | 'proto' | 'port'>): { kind: TraceKind; to: string } {
  if (flags.kind !== undefined && !(tracedKinds as readonly string[]).includes(flags.kind))
    throw new KnetlabError('EUSAGE', `--kind must be one of ${tracedKinds.join(', ')}, got ${flags.kind}`);
  const allowed = flags.proto === undefined ? undefined : kindsOfProto[flags.proto];
  if (flags.proto !== undefined && !allowed) throw new KnetlabError('EUSAGE', `--proto must be tcp, udp or icmp, got ${flags.proto}`);
  const kind = (flags.kind ?? allowed?.[0] ?? 'http') as TraceKind;
  if (allowed && !allowed.includes(kind)) throw new KnetlabError('EUSAGE', `--kind ${kind} does not send ${flags.proto}`);
  if (flags.port === undefined) return { kind, to };
  const port = Number(flags.port);
  if (!/^\d{1,5}$/.test(flags.port) || port < 1 || port > 65535) throw new KnetlabError('EUSAGE', `--port must be a port number from 1 to 65535, got ${flags.port}`);
  if (kind === 'ping') throw new KnetlabError('EUSAGE', '--port does not apply to a ping (icmp)');
  if (/:\d+$/.test(to)) throw new KnetlabError('EUSAGE', `TO ${to} names its port already; drop --port or the port in TO`);
  return { kind, to: `${to}:${port}` };
}

export async function traceCommand(from: string, toArg: string, flags: TraceFlags, validation: ValidateOptions): Promise<number> {
  const { kind, to } = probeOf(toArg, flags);
  if (flags.output !== 'text' && flags.output !== 'json') throw new KnetlabError('EUSAGE', `--output must be text or json, got ${flags.output}`);
  const timeoutMs = Number(flags.timeout) * 1000;
  if (!(timeoutMs >= 100 && timeoutMs <= 60_000)) throw new KnetlabError('EUSAGE', `--timeout must be a number of seconds from 0.1 to 60, got ${flags.timeout}`);
  const src = parseSource(from);
  if (!src.ok) throw new KnetlabError('EUSAGE', `expected FROM ${src.reason}, got ${from}`);
  const dst = parseTarget(to);
  if (!dst.ok) throw new KnetlabError('EUSAGE', `expected TO ${dst.reason}, got ${to}`);
  const h = findHeld(flags.scenario);
  if (!h.sandbox) throw new KnetlabError('EUSAGE', `${h.name} is still being built; try again when \`knetlab up\` says it is up`);
  // The model as `up` built it from the same file (a held scenario runs no steps).
  const { model } = await loadModel(h.file, validation);
  // Not in the sandbox's pid namespace: there nsenter would fork, and stopping it would leave the monitor running.
  const startMonitor: StartMonitor = (argv) => startMonitorProcess(intoSandbox(h, argv, { pid: false }));
  const report = await traceProbe(heldRunner(h), model, { kind, from: src.value, to: dst.value, timeoutMs }, { startMonitor });
  if (flags.output === 'json') process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else process.stdout.write(`${renderTrace(report, namerFor(model)).join('\n')}\n`);
  if (flags.svg) writeDrawing(flags.svg, graphSvg(graphOf(model), traceOverlay(report, namerFor(model))), '--svg');
  return 0;
}
