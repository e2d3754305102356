import { durationUpTo } from '../../scenario/schema.js';
import { formatDuration, parseDuration } from '../../scenario/duration.js';
import { MAX_SLEEP_MS } from '../../scenario/limits.js';
import { stepKind } from '../kind.js';
import { noPlace } from './action.js';

export interface SleepSpec {
  ms: number;
}

/** `sleep: 2s`: a wait (for conntrack entries to expire, a timer to fire, ...). */
export const sleep = stepKind<'sleep', SleepSpec>()({
  body: durationUpTo(MAX_SLEEP_MS),
  expect: undefined,
  changesModel: false,
  answeredByEndpoint: false,
  read: ({ body }) => ({ ms: parseDuration(body)! }),
  check: () => undefined,
  plan: (step) => ({ ...noPlace, to: step.ms % 1000 === 0 ? `${step.ms / 1000}s` : `${step.ms}ms` }),
  async run(step) {
    await new Promise((r) => setTimeout(r, step.ms));
    return { passed: true, expected: `wait ${step.ms} ms`, seen: 'waited', tries: [] };
  },
  describe: (step) => `sleep ${step.ms}ms`,
  worstCase: (step) => ({ ms: step.ms, as: `sleep ${formatDuration(step.ms)}` }),
});
