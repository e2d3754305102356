import { z } from 'zod';
import { resolveSource, resolveTarget } from '../../cluster/resolve.js';
import { countSchema, ref, timeout } from '../../scenario/schema.js';
import type { SourceRef, TargetRef } from '../../scenario/refs.js';
import { stepKind } from '../kind.js';
import { judgeConnect } from '../judge.js';
import { must, placeNetns } from '../run.js';
import { checkEnds, placeText, probeCount, probeName, probeTimeoutMs, readPlace, readTarget, targetText, triesWorstCase } from './probe.js';

export interface TcpSpec {
  from: SourceRef;
  to: TargetRef;
  count: number;
  timeoutMs: number;
  expect: { connect: boolean };
}

/** `tcp`: count connects; every one succeeds, or none does. */
export const tcp = stepKind<'tcp', TcpSpec>()({
  body: z.strictObject({ from: ref, to: ref, count: countSchema.optional(), timeout: timeout.optional() }),
  expect: z.strictObject({ connect: z.boolean() }),
  changesModel: false,
  answeredByEndpoint: false,
  read(r) {
    const from = readPlace(r, 'tcp');
    const to = readTarget(r, 'tcp');
    if (!from || !to) return undefined;
    return { from, to, count: probeCount(r.body), timeoutMs: probeTimeoutMs(r.body), expect: { connect: r.expect?.connect ?? true } };
  },
  check: (step, c) => checkEnds(step, c, 'TCP'),
  plan: (step, m) => ({ from: placeText(m, step.from), to: targetText(m, step, 'TCP'), expect: [step.expect.connect ? 'connect' : 'no connect'] }),
  async run(step, c) {
    // Loaded when a step runs: validate and plan do not load the process-running code (execa).
    const { tcpProbe } = await import('../probes.js');
    const from = must(resolveSource(c.model, step.from));
    const to = must(resolveTarget(c.model, step.to, 'TCP'));
    const tries = await tcpProbe(c.runner, placeNetns(from), to.ip, to.port!, { count: step.count, timeoutMs: step.timeoutMs });
    return judgeConnect(tries, step.expect.connect);
  },
  describe: probeName,
  worstCase: (step) => triesWorstCase(step),
});
