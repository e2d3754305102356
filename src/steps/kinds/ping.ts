import { z } from 'zod';
import { resolveSource, resolveTarget } from '../../cluster/resolve.js';
import { countSchema, ref, timeout } from '../../scenario/schema.js';
import type { SourceRef, TargetRef } from '../../scenario/refs.js';
import type { KernelExpect } from '../../scenario/steps.js';
import { stepKind } from '../kind.js';
import { judgePing, observed } from '../judge.js';
import { checkKernelPlaces, hasKernelKeys, kernelExpectSchema, kernelExpectText, kernelPart, readKernelExpect } from './kernel-expect.js';
import { must, placeNetns } from '../run.js';
import { checkEnds, placeText, probeCount, probeName, probeTimeoutMs, readPlace, readTarget, lookupMs, targetText, triesWorstCase } from './probe.js';

/** ping's `-i`: the gap between echo requests (a step's worst case counts it). */
const PING_INTERVAL_MS = 200;

export interface PingSpec {
  from: SourceRef;
  to: TargetRef;
  count: number;
  timeoutMs: number;
  /** No reachable when only kernel expectations are written: the outcome is not judged then. */
  expect: { reachable?: boolean } & KernelExpect;
}

/** `ping`: count echo requests with iputils ping; every one answered, or none. */
export const ping = stepKind<'ping', PingSpec>()({
  body: z.strictObject({ from: ref, to: ref, count: countSchema.optional(), timeout: timeout.optional() }),
  expect: z.strictObject({ reachable: z.boolean().optional(), ...kernelExpectSchema }),
  changesModel: false,
  answeredByEndpoint: false,
  read(r) {
    const from = readPlace(r, 'ping');
    const to = readTarget(r, 'ping');
    const e = r.expect ?? {};
    const kernel = readKernelExpect(r, e, e.reachable === true ? 'reachable: true' : undefined);
    if (!from || !to || !kernel) return undefined;
    const reachable = e.reachable ?? (hasKernelKeys(e) ? undefined : true);
    return { from, to, count: probeCount(r.body), timeoutMs: probeTimeoutMs(r.body), expect: { ...kernel, ...(reachable !== undefined ? { reachable } : {}) } };
  },
  check(step, c) {
    checkEnds(step, c, undefined);
    checkKernelPlaces(step.expect, c);
  },
  plan: (step, m) => ({
    from: placeText(m, step.from),
    to: targetText(m, step, undefined),
    expect: [...(step.expect.reachable === undefined ? [] : [step.expect.reachable ? 'reachable' : 'unreachable']), ...kernelExpectText(m, step.expect)],
  }),
  async run(step, c) {
    // Loaded when a step runs: validate and plan do not load the process-running code (execa).
    const { pingProbe, pingTry } = await import('../probes.js');
    const from = must(resolveSource(c.model, step.from));
    const to = must(resolveTarget(c.model, step.to, undefined));
    const { reachable } = step.expect;
    const { addressOf, unresolved } = await import('../name-lookup.js');
    const ip = await addressOf(c.runner, from, to, step.timeoutMs);
    if (!ip.ok) return unresolved(judgePing(step.count, 0, reachable ?? true), ip.error);
    const kernel = kernelPart(step.expect);
    if (kernel) {
      // One ping process a try, each with its own echo id (the trace tells them apart by it).
      const { runKernelTries } = await import('../traced-tries.js');
      const k = await runKernelTries(
        c,
        kernel,
        {
          kind: 'ping',
          from,
          to: step.to,
          address: ip.ip,
          count: step.count,
          send: (id, signal) => pingTry(c.runner, placeNetns(from), ip.ip, { timeoutMs: step.timeoutMs, intervalMs: PING_INTERVAL_MS, identifier: id, signal }),
        },
        undefined,
      );
      const received = k.tries.filter((t) => t.ok).length;
      return k.judge(reachable === undefined ? observed(k.tries) : judgePing(k.tries.length, received, reachable));
    }
    const r = await pingProbe(c.runner, placeNetns(from), ip.ip, { count: step.count, timeoutMs: step.timeoutMs, intervalMs: PING_INTERVAL_MS });
    return reachable === undefined ? judgePing(r.sent, r.received, true) : judgePing(r.sent, r.received, reachable);
  },
  describe: probeName,
  // The requests go out PING_INTERVAL_MS apart; the last one waits its timeout.
  worstCase: (step) => triesWorstCase(step, step.count * PING_INTERVAL_MS + step.timeoutMs + lookupMs(step)),
});
