import { z } from 'zod';
import { resolveSource, resolveTarget } from '../../cluster/resolve.js';
import { backendExpect, countSchema, NO_NUL, noNul, port, ref, timeout } from '../../scenario/schema.js';
import type { SourceRef, TargetRef } from '../../scenario/refs.js';
import type { KernelExpect, ResponseExpect } from '../../scenario/steps.js';
import { stepKind } from '../kind.js';
import { judgeResponses, observed, type Judged } from '../judge.js';
import type { Try } from '../probes.js';
import { checkKernelPlaces, hasKernelKeys, kernelExpectSchema, kernelExpectText, kernelPart, readKernelExpect } from './kernel-expect.js';
import { must, placeNetns, responseRules } from '../run.js';
import {
  checkChance,
  checkEnds,
  checkResponseAddresses,
  placeText,
  planWayIn,
  probeCount,
  probeName,
  probeTimeoutMs,
  readPlace,
  readResponseExpect,
  readTarget,
  responseExpectText,
  lookupMs,
  targetText,
  triesWorstCase,
} from './probe.js';

export interface UdpSpec {
  from: SourceRef;
  to: TargetRef;
  data: string;
  sourcePort?: number;
  count: number;
  timeoutMs: number;
  /** No reply when only kernel expectations are written: the outcome is not judged then. */
  expect: ResponseExpect & KernelExpect & { reply?: boolean };
}

/** `udp`: count datagrams, each answered (by the echo server) or not. */
export const udp = stepKind<'udp', UdpSpec>()({
  // sourcePort: every datagram from one port, as a resolver does, so conntrack sees one flow.
  body: z.strictObject({
    from: ref,
    to: ref,
    data: z.string().refine(noNul, { error: NO_NUL }).optional(),
    sourcePort: port.optional(),
    count: countSchema.optional(),
    timeout: timeout.optional(),
  }),
  expect: z.strictObject({ reply: z.boolean().optional(), ...backendExpect, ...kernelExpectSchema }),
  changesModel: false,
  answeredByEndpoint: true,
  read(r) {
    const b = r.body;
    const from = readPlace(r, 'udp');
    const to = readTarget(r, 'udp');
    const e = r.expect ?? {};
    const resp = readResponseExpect(r, e, 'udp');
    const kernel = readKernelExpect(r, e, e.reply === true ? 'reply: true' : undefined);
    if (!from || !to || !resp || !kernel) return undefined;
    const reply = e.reply ?? (hasKernelKeys(e) && !Object.keys(resp).length ? undefined : true);
    if (reply === false && Object.keys(resp).length > 0) {
      r.problems.error('nothing-to-expect', r.expectAt('reply'), `\`${r.exWhere}.reply: false\` leaves nothing to check ${Object.keys(resp).join(', ')} against`);
      return undefined;
    }
    return {
      from,
      to,
      data: b.data ?? 'knetlab',
      ...(b.sourcePort !== undefined ? { sourcePort: b.sourcePort } : {}),
      count: probeCount(b),
      timeoutMs: probeTimeoutMs(b),
      expect: { ...resp, ...kernel, ...(reply !== undefined ? { reply } : {}) },
    };
  },
  check(step, c) {
    checkEnds(step, c, 'UDP');
    checkResponseAddresses(step.expect, c);
    checkKernelPlaces(step.expect, c);
    if (step.sourcePort === undefined) checkChance(step, c, { protocol: 'UDP' });
  },
  plan: (step, m) => ({
    from: placeText(m, step.from),
    to: targetText(m, step, 'UDP'),
    ...planWayIn(m, step, { protocol: 'UDP' }),
    expect: [...(step.expect.reply === undefined ? [] : [step.expect.reply ? 'reply' : 'no reply']), ...responseExpectText(m, step.expect), ...kernelExpectText(m, step.expect)],
  }),
  async run(step, c) {
    // Loaded when a step runs: validate and plan do not load the process-running code (execa).
    const { udpProbe } = await import('../probes.js');
    const from = must(resolveSource(c.model, step.from));
    const to = must(resolveTarget(c.model, step.to, 'UDP'));
    const { reply } = step.expect;
    const judge = (tries: Try[]): Judged =>
      reply === undefined
        ? observed(tries)
        : judgeResponses(tries, { reply, ...responseRules(c.model, step.index, step.to, from, step.expect, c.answeredBy, { protocol: 'UDP' }) });
    const { addressOf, unresolved, unresolvedTries } = await import('../name-lookup.js');
    const ip = await addressOf(c.runner, from, to, step.timeoutMs);
    if (!ip.ok) return unresolved(judge(unresolvedTries(step.count, ip.error)), ip.error);
    const kernel = kernelPart(step.expect);
    if (kernel) {
      // Each try from its own port (the trace tells them apart by it): a step's sourcePort is not kept then.
      const { runKernelTries } = await import('../traced-tries.js');
      const k = await runKernelTries(
        c,
        kernel,
        {
          kind: 'udp',
          from,
          to: step.to,
          address: ip.ip,
          count: step.count,
          send: async (sport, signal) =>
            (await udpProbe(c.runner, placeNetns(from), ip.ip, to.port!, { data: step.data, count: 1, timeoutMs: step.timeoutMs, sourcePort: sport, signal }))[0] ?? {
              ok: false,
              failure: 'error',
              error: 'no result',
            },
        },
        'UDP',
      );
      return k.judge(judge(k.tries));
    }
    const tries = await udpProbe(c.runner, placeNetns(from), ip.ip, to.port!, {
      data: step.data,
      count: step.count,
      timeoutMs: step.timeoutMs,
      ...(step.sourcePort ? { sourcePort: step.sourcePort } : {}),
    });
    return judge(tries);
  },
  describe: probeName,
  worstCase: (step) => triesWorstCase(step, step.count * step.timeoutMs + lookupMs(step)),
});
