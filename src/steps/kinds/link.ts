import { z } from 'zod';
import { resolveSource } from '../../cluster/resolve.js';
import { LAN_NETNS } from '../../dataplane/names.js';
import { stepKind } from '../kind.js';
import { noPlace, noWait } from './action.js';

export interface LinkSpec {
  node: string;
  state: 'up' | 'down';
}

/** `link`: a node's cable pulled or plugged back: its port on the LAN bridge down or up. */
export const link = stepKind<'link', LinkSpec>()({
  body: z.strictObject({ node: z.string(), state: z.enum(['up', 'down']) }),
  expect: undefined,
  changesModel: false,
  answeredByEndpoint: false,
  read: ({ body: b }) => ({ node: b.node, state: b.state }),
  check(step, c) {
    c.need(resolveSource(c.model, { kind: 'node', name: step.node }), c.field('node'), `${c.where}.link.node`);
  },
  plan: (step) => ({ ...noPlace, to: `node/${step.node} ${step.state}` }),
  async run(step, c) {
    // The node's cable: its port on the LAN bridge, so the node keeps its own addresses and routes.
    await c.runner.run(['ip', '-n', LAN_NETNS, 'link', 'set', 'dev', step.node, step.state]);
    return { passed: true, expected: `node/${step.node}'s LAN link ${step.state}`, seen: step.state, tries: [] };
  },
  describe: (step) => `link node/${step.node} ${step.state}`,
  worstCase: noWait,
});
