import { execa, type ResultPromise } from 'execa';
import PQueue from 'p-queue';
import { KnetlabError } from '../errors.js';
import type { NamespaceCapture, ProbeKey, RouteDecision, TraceMonitor, TunnelCapture } from '../trace/types.js';

export type { NamespaceCapture };
import { inNetns, type Runner } from './exec.js';

/** knetlab's own nf_tables table: it only marks packets for tracing, never changes a verdict. */
export const TRACE_TABLE = 'knetlab-trace';
/**
 * The DSCP value a probe's packets carry once seen: its source port changes when masqueraded with
 * --random-fully, so the next namespaces recognise it by this mark in the IP header, which
 * forwarding and VXLAN (inner header) keep. 0x2d is no standard code point: nothing here acts on it.
 */
export const TRACE_DSCP = '0x2d';
/**
 * The conntrack label bit set on the probe's connections: replies (which carry no DSCP) are traced by
 * it. Labels outlive the trace on the entries; a bit per source port keeps a later probe (another
 * port) from tracing an earlier one's connections that are still there.
 */
export function traceLabel(probe: ProbeKey): number {
  return 64 + (probe.sport % 64);
}
/** Packets to this address are traced too: sent by knetlab itself to know that a monitor listens and has printed all before. */
export const TRACE_MARKER_ADDRESS = '127.0.0.127';

// A bound, not a wait: a monitor shows a marker in milliseconds here, in seconds in an emulated VM under load.
const MONITOR_READY_MS = 20_000;
const MONITOR_STOP_MS = 2_000;
const COMMAND_MS = 10_000;
/** The most of a monitor's output kept (a probe's trace is a few kB a namespace). */
const MAX_MONITOR_CHARS = 16 * 1024 * 1024;

/**
 * The table that marks one probe's packets for tracing, in every namespace armed: before conntrack
 * (raw - 1) a packet from the probe's source port (an ICMP echo request of its identifier) gets the
 * DSCP mark and every marked packet or one to the probe's port (an echo reply) is traced; after
 * conntrack (-199) a marked packet labels its connection and every packet of a labelled connection
 * (the replies, ICMP errors) is traced. Where a marked packet is delivered (input) the mark is taken
 * off again: the receiver sees the packet as sent, and an echo reply, which copies the request's
 * DSCP, does not pass for the probe's way out.
 */
export function traceRuleset(probe: ProbeKey, sports: readonly number[] = [probe.sport]): string {
  // A step's traced tries share one armed trace, each from its own port (ping: echo id) of this set.
  const ports = sports.length === 1 ? String(sports[0]) : `{ ${sports.join(', ')} }`;
  const first =
    probe.proto === 'icmp'
      ? [
          `    icmp type echo-request icmp id ${ports} ip dscp set ${TRACE_DSCP}`,
          `    ip dscp ${TRACE_DSCP} meta nftrace set 1`,
          `    icmp type echo-reply icmp id ${ports} meta nftrace set 1`,
        ]
      : [
          `    meta l4proto ${probe.proto} th sport ${ports} ip dscp set ${TRACE_DSCP}`,
          `    ip dscp ${TRACE_DSCP} meta nftrace set 1`,
          `    meta l4proto ${probe.proto} th dport ${ports} meta nftrace set 1`,
        ];
  const label = traceLabel(probe);
  const afterConntrack = [`    ip dscp ${TRACE_DSCP} ct label set ${label}`, `    ct label ${label} meta nftrace set 1`];
  const chain = (name: string, hook: string, priority: string, rules: string[]) =>
    [`  chain ${name} {`, `    type filter hook ${hook} priority ${priority}; policy accept;`, ...rules, '  }'].join('\n');
  return `${[
    `table inet ${TRACE_TABLE} {`,
    chain('pre-raw', 'prerouting', 'raw - 1', first),
    chain('out-raw', 'output', 'raw - 1', [...first, `    ip daddr ${TRACE_MARKER_ADDRESS} meta nftrace set 1`]),
    chain('pre-ct', 'prerouting', '-199', afterConntrack),
    chain('out-ct', 'output', '-199', afterConntrack),
    chain('in-unmark', 'input', '400', [`    ip dscp ${TRACE_DSCP} ip dscp set cs0`]),
    '}',
  ].join('\n')}\n`;
}

/** argv of the monitor that prints trace events in a namespace. */
export function monitorCommand(netns: string, monitor: TraceMonitor): string[] {
  return inNetns(netns, monitor === 'xtables' ? ['xtables-monitor', '--trace'] : ['nft', '-a', 'monitor', 'trace']);
}

/** A long-running monitor process: what it printed so far, and a way to end it. */
export interface MonitorProcess {
  output(): string;
  /** Ends it (SIGTERM, SIGKILL after a bound); resolves with all it printed and its stderr. */
  stop(): Promise<{ stdout: string; stderr: string }>;
  /** It ended by itself (e.g. xtables-monitor's socket overflowed: ENOBUFS), so waiting for more output is vain. */
  ended?(): boolean;
}

export type StartMonitor = (argv: readonly string[]) => MonitorProcess;

/** Starts a monitor with execa: the Runner runs commands to their end, a monitor runs until stopped. */
export const startMonitorProcess: StartMonitor = (argv) => {
  const [file, ...args] = argv;
  if (!file) throw new KnetlabError('EINTERNAL', 'empty command');
  const child: ResultPromise = execa(file, args, { stdin: 'ignore', stdout: 'pipe', stderr: 'pipe', buffer: false, reject: false });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8');
  child.stderr?.setEncoding('utf8');
  // Bounded: a namespace busy with other traced packets cannot make knetlab hold gigabytes.
  child.stdout?.on('data', (c: string) => {
    if (stdout.length < MAX_MONITOR_CHARS) stdout += c;
  });
  child.stderr?.on('data', (c: string) => {
    if (stderr.length < 64 * 1024) stderr += c;
  });
  let stopping = false;
  let ended = false;
  // A monitor that could not start or ended by itself says why in what stop() returns.
  const done = child.then(
    (r) => {
      if (!stopping) ended = true;
      if (!stopping && r.failed) stderr += `${stderr ? '\n' : ''}${r.shortMessage}`;
    },
    () => undefined,
  );
  return {
    output: () => stdout,
    ended: () => ended,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        stopping = true;
        child.kill('SIGTERM');
        const killed = await Promise.race([done.then(() => true), sleep(MONITOR_STOP_MS).then(() => false)]);
        if (!killed) {
          child.kill('SIGKILL');
          await Promise.race([done, sleep(MONITOR_STOP_MS)]);
        }
      }
      return { stdout, stderr };
    },
  };
};

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Tracing armed in some namespaces; disarm() removes every trace of it and returns what was seen. */
export interface ArmedTrace {
  readonly probe: ProbeKey;
  readonly namespaces: readonly string[];
  /** What a namespace's monitor printed so far (a step's tries read their own part of it). */
  output(netns: string): string;
  /** Resolves once every monitor has printed all the armed packets did before it (a marker after them). */
  flush(): Promise<void>;
  disarm(): Promise<NamespaceCapture[]>;
}

export interface ArmOptions {
  namespaces: readonly string[];
  probe: ProbeKey;
  /** Every port (ping: echo id) traced, one a try of a step (default: the probe's own). */
  sports?: readonly number[];
  /** xtables for iptables mode (rule text with kube-proxy's comments), nft for nftables mode. */
  monitor: TraceMonitor;
  startMonitor?: StartMonitor;
  /** How long a monitor may take to show it listens (default 20 s). */
  readyTimeoutMs?: number;
  /** IPVS mode: read each namespace's IPVS connections (`ipvsadm -Lnc`) at disarm. */
  ipvs?: boolean;
}

/**
 * Arms tracing of one probe in every namespace given: the marking table, then a monitor in each,
 * awaited until it has printed a marker packet (so nothing the probe sends can be missed). On any
 * failure what was made is removed before the error is thrown.
 */
export async function armTrace(runner: Runner, opts: ArmOptions): Promise<ArmedTrace> {
  const start = opts.startMonitor ?? startMonitorProcess;
  const ruleset = traceRuleset(opts.probe, opts.sports);
  const readyMs = opts.readyTimeoutMs ?? MONITOR_READY_MS;
  const armed: string[] = [];
  const monitors = new Map<string, MonitorProcess>();
  const teardown = async () => {
    // Monitors stop together (each may wait MONITOR_STOP_MS for its exit); tables go a few at a time.
    const stopped = await Promise.all([...monitors].map(async ([ns, m]) => [ns, await m.stop()] as const));
    await eachNamespace(armed, (ns) => runner.run(inNetns(ns, ['nft', 'delete', 'table', 'inet', TRACE_TABLE]), { reject: false, timeoutMs: COMMAND_MS }));
    return new Map(stopped);
  };
  try {
    await eachNamespace(opts.namespaces, async (ns) => {
      const r = await runner.run(inNetns(ns, ['nft', '-f', '-']), { input: ruleset, timeoutMs: COMMAND_MS, reject: false });
      if (r.exitCode !== 0)
        throw new KnetlabError('ECOMMAND', `cannot arm tracing in ${ns}: nft -f - failed (${r.timedOut ? 'timed out' : `exit ${r.exitCode}`}): ${r.stderr.trim()}`, {
          command: r.command,
          exitCode: r.exitCode,
          stderr: r.stderr,
        });
      armed.push(ns);
    });
    for (const ns of opts.namespaces) monitors.set(ns, start(monitorCommand(ns, opts.monitor)));
    await Promise.all(opts.namespaces.map((ns) => awaitMarker(runner, ns, monitors.get(ns)!, 1, readyMs)));
  } catch (error) {
    await teardown();
    throw error;
  }
  let disarmed = false;
  return {
    probe: opts.probe,
    namespaces: [...opts.namespaces],
    output: (ns) => monitors.get(ns)?.output() ?? '',
    async flush() {
      await Promise.all(opts.namespaces.map((ns) => awaitMarker(runner, ns, monitors.get(ns)!, markersIn(monitors.get(ns)!.output()) + 1, readyMs)));
    },
    async disarm() {
      if (disarmed) throw new KnetlabError('EINTERNAL', 'trace disarmed twice');
      disarmed = true;
      // A second marker: once printed, everything the probe caused before it is printed too.
      const flushed = await Promise.allSettled(opts.namespaces.map((ns) => awaitMarker(runner, ns, monitors.get(ns)!, markersIn(monitors.get(ns)!.output()) + 1, readyMs)));
      const read = await eachNamespace(opts.namespaces, async (ns) => {
        const r = await runner.run(inNetns(ns, ['conntrack', '-L', '-p', opts.probe.proto]), { reject: false, timeoutMs: COMMAND_MS });
        return { conntrack: r.stdout, ...(await stateAfter(runner, ns, opts)) };
      });
      const state = new Map(opts.namespaces.map((ns, i) => [ns, read[i]!]));
      const outputs = await teardown();
      const failed = flushed.find((f): f is PromiseRejectedResult => f.status === 'rejected');
      if (failed) throw failed.reason;
      return opts.namespaces.map((ns) => ({ ...state.get(ns)!, netns: ns, monitor: opts.monitor, trace: outputs.get(ns)?.stdout ?? '' }));
    },
  };
}

/** How many namespaces are armed, read or disarmed at once (each a few short commands). */
const PARALLEL = 8;

/** fn for every namespace, PARALLEL at a time, results in the namespaces' order; the first failure after all have settled. */
async function eachNamespace<T>(namespaces: readonly string[], fn: (ns: string) => Promise<T>): Promise<T[]> {
  const queue = new PQueue({ concurrency: PARALLEL });
  const settled = await Promise.allSettled(namespaces.map((ns) => queue.add(() => fn(ns))));
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((r) => (r as PromiseFulfilledResult<T>).value);
}

/** Tunnel device kinds whose outer header the trace shows (ip -d link's info_kind). */
const TUNNEL_KINDS = ['vxlan', 'ipip'];

/**
 * What else the report needs of a namespace after the probe: its tunnel devices with their routes,
 * neighbours and fdb (the outer header of a packet sent into them), kube-proxy's nft verdict maps
 * (which Service an element stands for), IPVS's connections (the real server chosen).
 */
async function stateAfter(runner: Runner, netns: string, opts: ArmOptions): Promise<Omit<NamespaceCapture, 'netns' | 'monitor' | 'trace' | 'conntrack'>> {
  const read = async (argv: string[]) => {
    const r = await runner.run(inNetns(netns, argv), { reject: false, timeoutMs: COMMAND_MS });
    return r.exitCode === 0 ? r.stdout : '';
  };
  const tunnels: TunnelCapture[] = [];
  for (const link of jsonArray(await read(['ip', '-j', '-d', 'link', 'show']))) {
    const kind = (link.linkinfo as { info_kind?: string } | undefined)?.info_kind;
    if (typeof link.ifname !== 'string' || !kind || !TUNNEL_KINDS.includes(kind)) continue;
    const device = link.ifname;
    tunnels.push({
      device,
      link: JSON.stringify(link),
      routes: await read(['ip', '-j', 'route', 'show', 'dev', device]),
      neighbours: await read(['ip', '-j', 'neigh', 'show', 'dev', device]),
      fdb: kind === 'vxlan' ? await read(['bridge', '-j', 'fdb', 'show', 'dev', device]) : '',
    });
  }
  const out: Omit<NamespaceCapture, 'netns' | 'monitor' | 'trace' | 'conntrack'> = tunnels.length ? { tunnels } : {};
  if (opts.monitor === 'nft') out.nftMaps = await read(['nft', '-j', 'list', 'maps', 'ip']);
  if (opts.ipvs) {
    const r = await runner.run(inNetns(netns, ['ipvsadm', '-Lnc']), { reject: false, timeoutMs: COMMAND_MS });
    // Without ip_vs (this kernel) ipvsadm cannot start: the report says so instead of naming no real server.
    const why =
      r.stderr
        .split('\n')
        .find((l) => /initialize ipvs/i.test(l))
        ?.trim() ??
      (r.stderr.trim().split('\n')[0] || `exit ${r.exitCode}`);
    out.ipvs = r.exitCode === 0 ? { connections: r.stdout } : { skipped: `ipvsadm -Lnc failed, the kernel's ip_vs is needed: ${why}` };
  }
  return out;
}

function jsonArray(text: string): Record<string, unknown>[] {
  try {
    const v = JSON.parse(text || '[]') as unknown;
    return Array.isArray(v) ? (v as Record<string, unknown>[]) : [];
  } catch {
    return [];
  }
}

/** Sends marker pings until the monitor has printed `count` of them (bounded: a monitor that prints nothing is an error). */
async function awaitMarker(runner: Runner, netns: string, monitor: MonitorProcess, count: number, readyMs: number): Promise<void> {
  const deadline = Date.now() + readyMs;
  let pingError = '';
  while (Date.now() < deadline && !monitor.ended?.()) {
    if (markersIn(monitor.output()) >= count) return;
    const r = await runner.run(inNetns(netns, ['ping', '-n', '-q', '-c', '1', '-W', '0.2', TRACE_MARKER_ADDRESS]), { reject: false, timeoutMs: COMMAND_MS });
    pingError = r.exitCode === 0 ? '' : r.stderr.trim() || `exit ${r.exitCode}`;
    if (markersIn(monitor.output()) >= count) return;
    await sleep(50);
  }
  const ended = monitor.ended?.() ?? false;
  const { stderr } = await monitor.stop();
  const why = [stderr.trim() && `monitor: ${stderr.trim()}`, pingError && `marker ping to ${TRACE_MARKER_ADDRESS} (needs lo up): ${pingError}`].filter(Boolean).join('; ');
  const what = ended ? 'ended before it printed a marker packet' : `printed no marker packet in ${readyMs / 1000} s`;
  throw new KnetlabError('ECOMMAND', `the trace monitor in ${netns} ${what}${why ? `: ${why}` : ''}`);
}

/** How many marker packets a monitor has printed: each sets nftrace once, in knetlab's out-raw chain, by the marker rule. */
export function markersIn(text: string): number {
  let n = 0;
  const lastDst = new Map<string, string>();
  for (const line of text.split('\n')) {
    const packet = /^PACKET: \d+ (\S+) .*\bDST=(\S+)/.exec(line);
    if (packet) lastDst.set(packet[1]!, packet[2]!);
    const xt = /^ TRACE: \d+ (\S+) knetlab-trace:out-raw:rule:/.exec(line);
    if (xt && lastDst.get(xt[1]!) === TRACE_MARKER_ADDRESS) n++;
    if (line.includes(` inet ${TRACE_TABLE} out-raw rule ip daddr ${TRACE_MARKER_ADDRESS} meta nftrace set 1`)) n++;
  }
  return n;
}

/** `ip route get DST [from SRC iif DEV]` in a namespace: where the kernel sends such a packet now. */
export async function routeGet(runner: Runner, netns: string, q: { dst: string; from?: string; iif?: string }): Promise<RouteDecision> {
  const argv = ['ip', '-j', 'route', 'get', q.dst, ...(q.from ? ['from', q.from] : []), ...(q.iif ? ['iif', q.iif] : [])];
  const r = await runner.run(inNetns(netns, argv), { reject: false, timeoutMs: COMMAND_MS });
  if (r.exitCode !== 0) {
    const error = r.stderr.trim().replace(/^RTNETLINK answers: /, '') || `exit ${r.exitCode}`;
    return { type: /unreachable|no route/i.test(error) ? 'unreachable' : 'error', dst: q.dst, error };
  }
  const [route] = JSON.parse(r.stdout || '[]') as { type?: string; dst: string; dev?: string; gateway?: string; prefsrc?: string }[];
  if (!route) throw new KnetlabError('ECOMMAND', `${argv.join(' ')} in ${netns} printed no route`, { command: r.command });
  return {
    type: route.type ?? 'unicast',
    dst: route.dst,
    ...(route.dev ? { dev: route.dev } : {}),
    ...(route.gateway ? { gateway: route.gateway } : {}),
    ...(route.prefsrc ? { prefsrc: route.prefsrc } : {}),
  };
}
