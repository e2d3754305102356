import { z } from 'zod';
import { patchObject } from '../../cluster/actions.js';
import { originAt } from '../../scenario/source.js';
import type { ObjectRef } from '../../scenario/steps.js';
import { stepKind } from '../kind.js';
import { noPlace, noWait, runAction } from './action.js';

export interface PatchSpec {
  target: ObjectRef;
  patch: Record<string, unknown>;
}

/** `patch`: a strategic merge patch of one object, as `kubectl patch` would. */
export const patch = stepKind<'patch', PatchSpec>()({
  body: z.strictObject({
    kind: z.string(),
    name: z.string(),
    namespace: z.string().optional(),
    patch: z.record(z.string(), z.unknown()),
  }),
  expect: undefined,
  changesModel: true,
  answeredByEndpoint: false,
  read: ({ body: b }) => ({ target: { kind: b.kind, name: b.name, namespace: b.namespace ?? 'default' }, patch: b.patch }),
  check(step, c) {
    c.act(patchObject(c.model, step.target, step.patch, originAt(step.origin, 'patch', 'patch'), c.problems), step.target.name);
  },
  plan: (step) => ({ ...noPlace, to: `${step.target.kind.toLowerCase()}/${step.target.name} ${JSON.stringify(step.patch)}` }),
  run: (step, c) => runAction('patch', c, (problems) => patchObject(c.model, step.target, step.patch, step.origin, problems)),
  describe: (step) => `patch ${step.target.kind.toLowerCase()}/${step.target.name}`,
  worstCase: noWait,
});
