import { z } from 'zod';
import { stepKind } from '../kind.js';
import { noPlace, noWait } from './action.js';

/** `resync: {}`: kube-proxy's periodic full sync, every node's rules written again, whether changed or not. */
export const resync = stepKind<'resync', object>()({
  // `- resync:` with nothing after it is null.
  body: z.union([z.literal(true), z.strictObject({}), z.null()], { error: 'to be true or {}' }),
  expect: undefined,
  changesModel: false,
  answeredByEndpoint: false,
  read: () => ({}),
  check: () => undefined,
  plan: () => ({ ...noPlace, to: 'kube-proxy on every node' }),
  async run(_step, c) {
    await c.resync();
    return { passed: true, expected: 'kube-proxy resyncs every node', seen: 'resynced', tries: [] };
  },
  describe: () => 'resync kube-proxy',
  worstCase: noWait,
});
