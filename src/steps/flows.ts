// Runs a packet-flow table: each case's one packet sent from its source into the node under test,
// traced in the sender's and the node's namespaces, judged from what the node's kernel did to it.
import { randomInt } from 'node:crypto';
import type { Model } from '../cluster/types.js';
import { machineNetns } from '../dataplane/names.js';
import { inNetns, type Runner } from '../kernel/exec.js';
import type { CaseResult } from '../run/types.js';
import type { TraceReport } from '../trace/report.js';
import { traceSummary } from '../trace/report.js';
import { isOutbound, type TraceResult, traceResult } from '../trace/result.js';
import { tracedSends } from './traced-sends.js';
import type { NamespaceCapture } from '../trace/types.js';
import { kernelVerdict } from '../trace/verdict.js';
import { flowSeen, judgeFlow, type FlowExpect } from './flow-judge.js';
import { flowNode, flowSource, type FlowSource, type MadeSource } from './flow-source.js';
import type { Judged } from './judge.js';
import { type FlowCase, type FlowsSpec, flowProtos } from './kinds/flows.js';
import { must, StepError } from './run.js';
import { namerFor } from './trace-probe.js';

/** The routing table and rule priority a LAN source routes a case's destination through the node under test with, for that case only. */
const FLOW_TABLE = '4242';
const FLOW_RULE_PRIORITY = '90';
const COMMAND_MS = 10_000;

type LanSource = Extract<FlowSource, { kind: 'lan' }>;
type MadeFlowSource = FlowSource & { made: MadeSource };

/** The case's expectation under a kube-proxy mode: its `expectIn` for that mode, else its own. */
export function caseExpect(c: FlowCase, mode: Model['config']['proxyMode']): FlowExpect | 'skip' {
  return c.expectIn?.[mode] ?? c.expect;
}

/**
 * Sends one packet from (src, sport) and waits up to `wait` s for its answer; prints how it ended.
 * SCTP: an INIT chunk on a raw socket (this kernel, like many, has no SCTP sockets; xt_sctp and
 * conntrack need none), its CRC32c written as RFC 9260 says (least significant byte first).
 */
const SEND = [
  'import json, select, socket, struct, sys',
  'proto, src, sport, dst, dport, wait = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5]), float(sys.argv[6])',
  'def crc32c(data):',
  '    crc = 0xffffffff',
  '    for b in data:',
  '        crc ^= b',
  '        for _ in range(8): crc = (crc >> 1) ^ (0x82f63b78 if crc & 1 else 0)',
  '    return crc ^ 0xffffffff',
  'ended = "no answer"',
  'if proto == "sctp":',
  '    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 132); s.bind((src, 0))',
  '    init = struct.pack("!BBHIIHHI", 1, 0, 20, 0x6b6e6574, 65535, 10, 10, 1)',
  '    pkt = bytearray(struct.pack("!HHII", sport, dport, 0, 0) + init)',
  '    pkt[8:12] = struct.pack("<I", crc32c(bytes(pkt)))',
  'else:',
  '    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM)',
  '    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind((src, sport))',
  's.setblocking(False)',
  'try:',
  '    if proto == "tcp":',
  '        try: s.connect((dst, dport))',
  '        except BlockingIOError: pass',
  '        _, w, _ = select.select([], [s], [], wait)',
  '        if w:',
  '            err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)',
  '            ended = "connected" if err == 0 else __import__("os").strerror(err)',
  '    elif proto == "sctp":',
  '        s.sendto(bytes(pkt), (dst, 0))',
  '        r, _, _ = select.select([s], [], [], wait)',
  '        while r:',
  '            data = s.recv(65535); h = (data[0] & 15) * 4',
  '            if len(data) >= h + 13 and struct.unpack("!H", data[h + 2:h + 4])[0] == sport:',
  '                ended = {2: "answered", 6: "aborted"}.get(data[h + 12], "answered with chunk %d" % data[h + 12]); break',
  '            r, _, _ = select.select([s], [], [], wait)',
  '    else:',
  '        s.sendto(b"knetlab flow", (dst, dport))',
  '        r, _, _ = select.select([s], [], [], wait)',
  '        if r:',
  '            try: s.recv(65535); ended = "answered"',
  '            except OSError as e: ended = e.strerror',
  'except OSError as e: ended = e.strerror or str(e)',
  'finally: s.close()',
  'print(json.dumps({"ended": ended}))',
].join('\n');

/** Runs every case of a flows step in order, traced under one arming; each is one row of the report. */
export async function runFlows(runner: Runner, model: Model, step: FlowsSpec): Promise<Judged> {
  const node = flowNode(model, step.on);
  if (!node) throw new StepError(`no node ${step.on ?? '(the cluster has none)'}`);
  const mode = model.config.proxyMode;
  const onNetns = machineNetns(node.name);
  const sources = new Map(step.cases.map((c) => [c.from, must(flowSource(model, c.from, node))]));
  const made = [...sources.values()].filter((s): s is MadeFlowSource => 'made' in s && s.made !== undefined);
  const toRun = step.cases.flatMap((c) => {
    const expect = caseExpect(c, mode);
    return expect === 'skip' ? [] : [{ c, expect, src: sources.get(c.from)! }];
  });
  // Away from the kernel's ephemeral ports (32768-60999), one a case.
  const base = randomInt(20000, 30000 - toRun.length);
  const rows = new Map<FlowCase, Omit<CaseResult, 'durationMs'>>();
  const took = new Map<FlowCase, number>();
  try {
    // Sources nobody holds, made for the step: each address once, whatever its number of cases.
    for (const s of made) await makeSource(runner, s);
    for (const proto of flowProtos) {
      const cases = toRun.filter((x) => x.c.proto === proto);
      const sent = await tracedSends(
        runner,
        model,
        { namespaces: [...new Set([...cases.map((x) => x.src.netns), onNetns])], proto },
        cases.map((x) => ({
          sport: base + toRun.indexOf(x),
          // The node under test is done with the packet once it dropped, rejected, delivered or sent it on: no need to wait for an answer.
          doneWhen: (r: TraceResult) => nodeDone(r, onNetns),
          send: async (signal: AbortSignal) => {
            const t0 = performance.now();
            try {
              return await sendCase(runner, x.src, x.c, base + toRun.indexOf(x), step.timeoutMs, node.ip, signal);
            } finally {
              took.set(x.c, Math.round(performance.now() - t0));
            }
          },
        })),
      );
      for (const [i, r] of sent.entries()) {
        const { c, expect, src } = cases[i]!;
        rows.set(c, judgeCase(model, onNetns, src, c, expect, r.sport, r.value ?? 'ended early: the node under test was done with it', r));
      }
    }
  } finally {
    for (const s of made) await removeSource(runner, s);
  }
  const cases: CaseResult[] = step.cases.map((c) => {
    const row = rows.get(c);
    return row
      ? { ...row, durationMs: took.get(c) ?? 0 }
      : { name: c.name, status: 'skipped', expected: '', seen: `not run under kube-proxy's ${mode} mode (its expectIn says skip)`, durationMs: 0 };
  });
  const failed = cases.filter((c) => c.status === 'failed');
  const ran = cases.filter((c) => c.status !== 'skipped').length;
  return {
    passed: failed.length === 0,
    expected: `${ran} packet flow${ran === 1 ? '' : 's'} as written, on node/${node.name}`,
    seen: failed.length ? `${failed.length} of ${ran} differ: ${failed.map((f) => `"${f.name}": ${f.seen}`).join('; ')}` : `${ran} as written`,
    tries: [],
    cases,
  };
}

/** The node's part is over: a rule dropped or rejected the packet, or it left the node's last hook (postrouting) or reached its input. */
function nodeDone(r: TraceResult, onNetns: string): boolean {
  if (r.dropped) return true;
  const here = r.namespaces.find((n) => n.netns === onNetns);
  return Boolean(
    here?.passes.some((p) => isOutbound(p) && p.hooks.some((h) => /postrouting|input/i.test(h.chain) && h.events.some((e) => e.verdict !== 'jump' && e.verdict !== 'goto'))),
  );
}

function judgeCase(
  model: Model,
  onNetns: string,
  src: FlowSource,
  c: FlowCase,
  expect: FlowExpect,
  sport: number,
  ended: string,
  { result, captures }: { result: TraceResult; captures: NamespaceCapture[] },
): Omit<CaseResult, 'durationMs'> {
  // Judged on the node alone: what the sender's own rules did is not the node's.
  const seen = flowSeen(
    kernelVerdict(
      traceResult(
        { proto: c.proto, sport },
        captures.filter((x) => x.netns === onNetns),
      ),
    ),
  );
  const judged = judgeFlow(expect, seen);
  const row = { name: c.name, status: judged.passed ? ('passed' as const) : ('failed' as const), expected: judged.expected, seen: judged.seen };
  if (judged.passed) return row;
  const report: TraceReport = {
    kind: c.proto,
    from: { ref: src.ref, netns: src.netns, ip: src.ip },
    to: { ref: `${c.to.ip}:${c.to.port}`, ip: c.to.ip, port: c.to.port, meaning: `${c.proto} ${c.to.ip}:${c.to.port}` },
    mode: model.config.proxyMode,
    sport,
    answered: ended === 'connected' || ended === 'answered',
    ended,
    result,
  };
  return { ...row, trace: traceSummary(report, namerFor(model)) };
}

/** Routes the case's destination through the node under test where a LAN source needs it, sends the packet, and takes the route away again. */
async function sendCase(runner: Runner, src: FlowSource, c: FlowCase, sport: number, timeoutMs: number, nodeIp: string, signal: AbortSignal): Promise<string> {
  const routed = src.kind === 'lan' && c.to.ip !== nodeIp ? src : undefined;
  if (routed) await routeThrough(runner, routed, c.to.ip, nodeIp);
  try {
    return await send(runner, src, c, sport, timeoutMs, signal);
  } finally {
    if (routed) await unroute(runner, routed, c.to.ip);
  }
}

/** Makes a synthesized source; a failed command removes what was made and fails the step. */
async function makeSource(runner: Runner, s: MadeFlowSource): Promise<void> {
  for (const cmd of s.made.create) {
    const r = await runner.run(cmd.netns ? inNetns(cmd.netns, cmd.argv) : cmd.argv, { reject: false, timeoutMs: COMMAND_MS });
    if (r.exitCode !== 0) {
      await removeSource(runner, s);
      throw new StepError(`cannot make the source ${s.ip}: ${cmd.argv.join(' ')}${cmd.netns ? ` in ${cmd.netns}` : ''}: ${r.stderr.trim() || `exit ${r.exitCode}`}`);
    }
  }
}

/** Removes a synthesized source (what is not there is no error: it may be half made). */
async function removeSource(runner: Runner, s: MadeFlowSource): Promise<void> {
  for (const cmd of s.made.remove) await runner.run(cmd.netns ? inNetns(cmd.netns, cmd.argv) : cmd.argv, { reject: false, timeoutMs: COMMAND_MS });
}

async function send(runner: Runner, src: FlowSource, c: FlowCase, sport: number, timeoutMs: number, signal: AbortSignal): Promise<string> {
  const argv = inNetns(src.netns, ['python3', '-c', SEND, c.proto, src.ip, String(sport), c.to.ip, String(c.to.port), String(timeoutMs / 1000)]);
  const r = await runner.run(argv, { reject: false, timeoutMs: timeoutMs + COMMAND_MS, signal });
  const line = r.stdout.trim().split('\n').at(-1);
  if (r.exitCode !== 0 || !line) throw new StepError(`cannot send the packet of "${c.name}" from ${src.ref}: ${r.stderr.trim() || `exit ${r.exitCode}`}`);
  return (JSON.parse(line) as { ended: string }).ended;
}

/** For one case: the source's packets to `dst` go through the node under test (a rule and a table of their own where the source routes, so no route there is touched). */
async function routeThrough(runner: Runner, src: LanSource, dst: string, via: string): Promise<void> {
  const cmds = [
    ['ip', 'route', 'replace', `${dst}/32`, 'via', via, 'table', FLOW_TABLE],
    ['ip', 'rule', 'add', 'priority', FLOW_RULE_PRIORITY, 'from', `${src.ip}/32`, 'to', `${dst}/32`, 'lookup', FLOW_TABLE],
  ];
  for (const argv of cmds) {
    const r = await runner.run(inNetns(src.routeNetns, argv), { reject: false, timeoutMs: COMMAND_MS });
    if (r.exitCode !== 0) {
      await unroute(runner, src, dst);
      throw new StepError(`cannot route ${dst} from ${src.ref} through the node under test: ${argv.join(' ')}: ${r.stderr.trim()}`);
    }
  }
}

async function unroute(runner: Runner, src: LanSource, dst: string): Promise<void> {
  await runner.run(inNetns(src.routeNetns, ['ip', 'rule', 'del', 'priority', FLOW_RULE_PRIORITY, 'from', `${src.ip}/32`, 'to', `${dst}/32`, 'lookup', FLOW_TABLE]), {
    reject: false,
    timeoutMs: COMMAND_MS,
  });
  await runner.run(inNetns(src.routeNetns, ['ip', 'route', 'flush', 'table', FLOW_TABLE]), { reject: false, timeoutMs: COMMAND_MS });
}
