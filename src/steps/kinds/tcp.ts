import { z } from 'zod';
import { resolveSource, resolveTarget } from '../../cluster/resolve.js';
import { countSchema, ref, timeout } from '../../scenario/schema.js';
import type { SourceRef, TargetRef } from '../../scenario/refs.js';
import type { KernelExpect } from '../../scenario/steps.js';
import { stepKind } from '../kind.js';
import { judgeConnect, observed } from '../judge.js';
import type { Try } from '../probes.js';
import { checkKernelPlaces, hasKernelKeys, kernelExpectSchema, kernelExpectText, kernelPart, readKernelExpect } from './kernel-expect.js';
import { must, placeNetns } from '../run.js';
import { checkEnds, placeText, probeCount, probeName, probeTimeoutMs, readPlace, readTarget, lookupMs, targetText, triesWorstCase } from './probe.js';

export interface TcpSpec {
  from: SourceRef;
  to: TargetRef;
  count: number;
  timeoutMs: number;
  /** No connect when only kernel expectations are written: the outcome is not judged then. */
  expect: { connect?: boolean } & KernelExpect;
}

/** `tcp`: count connects; every one succeeds, or none does. */
export const tcp = stepKind<'tcp', TcpSpec>()({
  body: z.strictObject({ from: ref, to: ref, count: countSchema.optional(), timeout: timeout.optional() }),
  expect: z.strictObject({ connect: z.boolean().optional(), ...kernelExpectSchema }),
  changesModel: false,
  answeredByEndpoint: false,
  read(r) {
    const from = readPlace(r, 'tcp');
    const to = readTarget(r, 'tcp');
    const e = r.expect ?? {};
    const kernel = readKernelExpect(r, e, e.connect === true ? 'connect: true' : undefined);
    if (!from || !to || !kernel) return undefined;
    const connect = e.connect ?? (hasKernelKeys(e) ? undefined : true);
    return { from, to, count: probeCount(r.body), timeoutMs: probeTimeoutMs(r.body), expect: { ...kernel, ...(connect !== undefined ? { connect } : {}) } };
  },
  check(step, c) {
    checkEnds(step, c, 'TCP');
    checkKernelPlaces(step.expect, c);
  },
  plan: (step, m) => ({
    from: placeText(m, step.from),
    to: targetText(m, step, 'TCP'),
    expect: [...(step.expect.connect === undefined ? [] : [step.expect.connect ? 'connect' : 'no connect']), ...kernelExpectText(m, step.expect)],
  }),
  async run(step, c) {
    // Loaded when a step runs: validate and plan do not load the process-running code (execa).
    const { tcpProbe } = await import('../probes.js');
    const from = must(resolveSource(c.model, step.from));
    const to = must(resolveTarget(c.model, step.to, 'TCP'));
    const { connect } = step.expect;
    const judge = (tries: Try[]) => (connect === undefined ? observed(tries) : judgeConnect(tries, connect));
    const { addressOf, unresolved, unresolvedTries } = await import('../name-lookup.js');
    const ip = await addressOf(c.runner, from, to, step.timeoutMs);
    if (!ip.ok) return unresolved(judge(unresolvedTries(step.count, ip.error)), ip.error);
    const kernel = kernelPart(step.expect);
    if (kernel) {
      const { runKernelTries } = await import('../traced-tries.js');
      const k = await runKernelTries(
        c,
        kernel,
        {
          kind: 'tcp',
          from,
          to: step.to,
          address: ip.ip,
          count: step.count,
          send: async (sport, signal) =>
            (await tcpProbe(c.runner, placeNetns(from), ip.ip, to.port!, { count: 1, timeoutMs: step.timeoutMs, sourcePort: sport, signal }))[0] ?? {
              ok: false,
              failure: 'error',
              error: 'no result',
            },
        },
        'TCP',
      );
      return k.judge(judge(k.tries));
    }
    return judge(await tcpProbe(c.runner, placeNetns(from), ip.ip, to.port!, { count: step.count, timeoutMs: step.timeoutMs }));
  },
  describe: probeName,
  worstCase: (step) => triesWorstCase(step, step.count * step.timeoutMs + lookupMs(step)),
});
