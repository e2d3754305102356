import { z } from 'zod';
import { resolveSource, resolveTarget } from '../../cluster/resolve.js';
import { countSchema, ref, timeout } from '../../scenario/schema.js';
import type { SourceRef, TargetRef } from '../../scenario/refs.js';
import { stepKind } from '../kind.js';
import { judgePing } from '../judge.js';
import { must, placeNetns } from '../run.js';
import { checkEnds, placeText, probeCount, probeName, probeTimeoutMs, readPlace, readTarget, targetText, triesWorstCase } from './probe.js';

/** ping's `-i`: the gap between echo requests (a step's worst case counts it). */
const PING_INTERVAL_MS = 200;

export interface PingSpec {
  from: SourceRef;
  to: TargetRef;
  count: number;
  timeoutMs: number;
  expect: { reachable: boolean };
}

/** `ping`: count echo requests with iputils ping; every one answered, or none. */
export const ping = stepKind<'ping', PingSpec>()({
  body: z.strictObject({ from: ref, to: ref, count: countSchema.optional(), timeout: timeout.optional() }),
  expect: z.strictObject({ reachable: z.boolean() }),
  changesModel: false,
  answeredByEndpoint: false,
  read(r) {
    const from = readPlace(r, 'ping');
    const to = readTarget(r, 'ping');
    if (!from || !to) return undefined;
    return { from, to, count: probeCount(r.body), timeoutMs: probeTimeoutMs(r.body), expect: { reachable: r.expect?.reachable ?? true } };
  },
  check: (step, c) => checkEnds(step, c, undefined),
  plan: (step, m) => ({ from: placeText(m, step.from), to: targetText(m, step, undefined), expect: [step.expect.reachable ? 'reachable' : 'unreachable'] }),
  async run(step, c) {
    // Loaded when a step runs: validate and plan do not load the process-running code (execa).
    const { pingProbe } = await import('../probes.js');
    const from = must(resolveSource(c.model, step.from));
    const to = must(resolveTarget(c.model, step.to, undefined));
    const r = await pingProbe(c.runner, placeNetns(from), to.ip, { count: step.count, timeoutMs: step.timeoutMs, intervalMs: PING_INTERVAL_MS });
    return judgePing(r.sent, r.received, step.expect.reachable);
  },
  describe: probeName,
  // The requests go out PING_INTERVAL_MS apart; the last one waits its timeout.
  worstCase: (step) => triesWorstCase(step, step.count * PING_INTERVAL_MS + step.timeoutMs),
});
