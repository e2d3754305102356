import { z } from 'zod';
import { resolveSource } from '../../cluster/resolve.js';
import { stepKind } from '../kind.js';
import { noPlace, noWait } from './action.js';

/** The components a `restart` step may restart, by the key it is written with. */
export const restartable = ['kube-proxy'] as const;

export interface RestartSpec {
  component: (typeof restartable)[number];
  node: string;
}

/**
 * `restart: {kube-proxy: NODE}`: kube-proxy started anew on a node: its start-up sync from what the
 * kernel holds (it remembers nothing), then its conntrack reconciler, as upstream's binary does.
 */
export const restart = stepKind<'restart', RestartSpec>()({
  body: z.strictObject({ 'kube-proxy': z.string() }),
  expect: undefined,
  changesModel: false,
  answeredByEndpoint: false,
  read: ({ body: b }) => ({ component: 'kube-proxy', node: b['kube-proxy'] }),
  check(step, c) {
    c.need(resolveSource(c.model, { kind: 'node', name: step.node }), c.field(step.component), `${c.where}.restart.${step.component}`);
  },
  plan: (step) => ({ ...noPlace, to: `${step.component} on node/${step.node}` }),
  async run(step, c) {
    await c.restartKubeProxy(step.node);
    return { passed: true, expected: `${step.component} on node/${step.node} restarts`, seen: 'restarted, start-up sync done', tries: [] };
  },
  describe: (step) => `restart ${step.component} on node/${step.node}`,
  worstCase: noWait,
});
