import { z } from 'zod';
import { proxyModes, type ProxyMode } from '../../proxy/modes.js';
import { formatDuration, parseDuration } from '../../scenario/duration.js';
import { MAX_COUNT } from '../../scenario/limits.js';
import { ipv4, timeout } from '../../scenario/schema.js';
import { originAt, type Origin } from '../../scenario/source.js';
import { isIPv4 } from '../../util/ip.js';
import { parseFlowOutput, type FlowExpect } from '../flow-judge.js';
import { flowNode, flowSource } from '../flow-source.js';
import { stepKind } from '../kind.js';

export const flowProtos = ['tcp', 'udp', 'sctp'] as const;

/** One row of a packet-flow table, as read. */
export interface FlowCase {
  name: string;
  /** The source address (who holds it sends). */
  from: string;
  to: { ip: string; port: number };
  proto: (typeof flowProtos)[number];
  expect: FlowExpect;
  /** What replaces `output`/`masq` under a kube-proxy mode, or `skip`: not sent then. */
  expectIn?: Partial<Record<ProxyMode, FlowExpect | 'skip'>>;
  origin: Origin;
}

export interface FlowsSpec {
  /** The node under test (default: the first). */
  on?: string;
  /** How long a case's packet waits for an answer (only to say how it ended: the trace judges). */
  timeoutMs: number;
  cases: FlowCase[];
}

const FLOW_TIMEOUT_MS = 1000;
const OUTPUT_RULE = 'to be upstream\'s output: endpoints IP:PORT separated by commas, DROP, REJECT, ACCEPT, or "" (no Service rule)';

const expectation = { output: z.string({ error: OUTPUT_RULE }), masq: z.boolean().optional() };
const flowCase = z.strictObject({
  name: z.string({ error: "to be the case's name" }).min(1, { error: "to be the case's name" }),
  from: ipv4,
  to: z.string({ error: 'to be IP:PORT such as 172.30.0.41:80' }).regex(/^\d+\.\d+\.\d+\.\d+:\d+$/, { error: 'to be IP:PORT such as 172.30.0.41:80' }),
  proto: z.enum(flowProtos).optional(),
  ...expectation,
  expectIn: z.partialRecord(z.enum(proxyModes), z.union([z.literal('skip'), z.strictObject(expectation)], { error: 'to be skip or {output, masq}' })).optional(),
});

/** A time bound for the whole table: each case arms tracing (a few hundred ms) and waits its timeout at most. */
const CASE_OVERHEAD_MS = 3000;

/** `flows`: kube-proxy's packetFlowTest table, each case one packet into the node under test, judged from the kernel's trace. */
export const flows = stepKind<'flows', FlowsSpec>()({
  body: z.strictObject({
    on: z
      .string()
      .regex(/^node\/[^/]+$/, { error: 'to be node/NAME' })
      .optional(),
    timeout: timeout.optional(),
    cases: z
      .array(flowCase)
      .min(1, { error: 'to list at least one case' })
      .max(MAX_COUNT, { error: `to list at most ${MAX_COUNT} cases` }),
  }),
  expect: undefined,
  changesModel: false,
  answeredByEndpoint: false,
  read(r) {
    const at = (i: number, ...k: string[]) => originAt(r.field('cases'), i, ...k);
    const readExpect = (e: { output: string; masq?: boolean | undefined }, where: string, o: Origin): FlowExpect | undefined => {
      const out = parseFlowOutput(e.output);
      if ('error' in out) {
        r.problems.error('bad-format', o, `Expected \`${where}\` ${OUTPUT_RULE}, got "${e.output}": ${out.error}`);
        return undefined;
      }
      return { ...out, masq: e.masq ?? false };
    };
    const names = new Set<string>();
    const cases: FlowCase[] = [];
    let ok = true;
    r.body.cases.forEach((c, i) => {
      const where = `${r.where}.flows.cases[${i}]`;
      if (names.has(c.name)) {
        r.problems.error('duplicate-name', at(i, 'name'), `\`${where}.name\`: another case is named "${c.name}"`);
        ok = false;
      }
      names.add(c.name);
      const [ip, port] = c.to.split(':') as [string, string];
      if (!isIPv4(ip) || Number(port) < 1 || Number(port) > 65535) {
        r.problems.error('bad-address', at(i, 'to'), `Expected \`${where}.to\` to be IP:PORT with a port from 1 to 65535, got ${c.to}`);
        ok = false;
      }
      const expect = readExpect(c, `${where}.output`, at(i, 'output'));
      const expectIn: NonNullable<FlowCase['expectIn']> = {};
      for (const [mode, e] of Object.entries(c.expectIn ?? {}) as [ProxyMode, 'skip' | { output: string; masq?: boolean }][]) {
        if (e === 'skip') expectIn[mode] = 'skip';
        else {
          const x = readExpect(e, `${where}.expectIn.${mode}.output`, at(i, 'expectIn', mode, 'output'));
          if (x) expectIn[mode] = x;
          else ok = false;
        }
      }
      if (!expect) ok = false;
      else
        cases.push({
          name: c.name,
          from: c.from,
          to: { ip, port: Number(port) },
          proto: c.proto ?? 'tcp',
          expect,
          ...(c.expectIn ? { expectIn } : {}),
          origin: originAt(r.field('cases'), i),
        });
    });
    if (!ok) return undefined;
    return { ...(r.body.on ? { on: r.body.on.slice('node/'.length) } : {}), timeoutMs: parseDuration(r.body.timeout) ?? FLOW_TIMEOUT_MS, cases };
  },
  check(step, c) {
    const node = flowNode(c.model, step.on);
    if (!node) {
      c.problems.error('unknown-machine', c.field('on'), `\`${c.where}.flows.on\`: the cluster has no ${step.on ? `node ${step.on}` : 'node'}`);
      return;
    }
    step.cases.forEach((fc, i) => {
      const src = flowSource(c.model, fc.from, node);
      if (!src.ok) c.problems.error('unresolved-address', originAt(fc.origin, 'from'), `\`${c.where}.flows.cases[${i}].from\`: ${src.reason}`);
    });
  },
  plan: (step, m) => ({
    from: `node/${flowNode(m, step.on)?.name ?? step.on ?? '?'}`,
    to: `${step.cases.length} case${step.cases.length === 1 ? '' : 's'}`,
    expect: [`${step.cases.length} packet flow${step.cases.length === 1 ? '' : 's'} as written`],
  }),
  async run(step, c) {
    // Loaded when a step runs: validate and plan do not load the process-running code (execa).
    const { runFlows } = await import('../flows.js');
    return runFlows(c.runner, c.model, step);
  },
  describe: (step) => `flows on ${step.on ? `node/${step.on}` : 'the first node'} (${step.cases.length} case${step.cases.length === 1 ? '' : 's'})`,
  worstCase: (step) => ({ ms: step.cases.length * (step.timeoutMs + CASE_OVERHEAD_MS), as: `${step.cases.length} cases of ${formatDuration(step.timeoutMs)} and tracing` }),
});
