import { z } from 'zod';
import { resolveSource } from '../../cluster/resolve.js';
import { formatDuration } from '../../scenario/duration.js';
import { stepKind } from '../kind.js';
import { noPlace } from './action.js';

/** How long a rebooted node may take to be ready again before the step fails. */
export const REBOOT_READY_MS = 30_000;

export interface RebootSpec {
  node: string;
}

/**
 * `reboot: node/NAME` (or `{node: NAME}`): the node's namespace state lost as on a real reboot (its
 * devices, routes, rules, conntrack, its pods' namespaces), then made anew: its CNI, kube-proxy's
 * start-up sync, its pods and their workloads. The step ends once the node is ready again.
 */
export const reboot = stepKind<'reboot', RebootSpec>()({
  body: z.union([z.string(), z.strictObject({ node: z.string() })], { error: 'to be node/NAME or {node: NAME}' }),
  expect: undefined,
  changesModel: false,
  answeredByEndpoint: false,
  read(r) {
    if (typeof r.body !== 'string') return { node: r.body.node };
    const m = /^node\/(.+)$/.exec(r.body);
    if (m) return { node: m[1]! };
    const why = r.body.includes('/') ? 'only a node reboots: write node/NAME' : `write \`node/${r.body}\``;
    r.problems.error('bad-format', r.bodyOrigin, `\`${r.where}.reboot\` is ${JSON.stringify(r.body)}; ${why}`);
    return undefined;
  },
  check(step, c) {
    c.need(resolveSource(c.model, { kind: 'node', name: step.node }), c.field('node'), `${c.where}.reboot`);
  },
  plan: (step) => ({ ...noPlace, to: `node/${step.node} reboots` }),
  async run(step, c) {
    const expected = `node/${step.node} is ready again within ${formatDuration(REBOOT_READY_MS)}`;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), REBOOT_READY_MS);
    });
    try {
      const r = await Promise.race([c.reboot(step.node).then(() => 'ready' as const), late]);
      if (r === 'late') return { passed: false, expected, seen: 'not ready yet', tries: [] };
    } finally {
      clearTimeout(timer);
    }
    return { passed: true, expected, seen: 'ready again', tries: [] };
  },
  describe: (step) => `reboot node/${step.node}`,
  worstCase: () => ({ ms: REBOOT_READY_MS, as: `a reboot, ready within ${formatDuration(REBOOT_READY_MS)}` }),
});
