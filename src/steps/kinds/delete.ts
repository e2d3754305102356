import { z } from 'zod';
import { deleteObject } from '../../cluster/actions.js';
import type { ObjectRef } from '../../scenario/steps.js';
import { stepKind } from '../kind.js';
import { noPlace, noWait, runAction } from './action.js';

export interface DeleteSpec {
  target: ObjectRef;
}

/** `delete`: one object removed, as `kubectl delete` would (its pods and endpoints follow). */
export const del = stepKind<'delete', DeleteSpec>()({
  body: z.strictObject({ kind: z.string(), name: z.string(), namespace: z.string().optional() }),
  expect: undefined,
  changesModel: true,
  answeredByEndpoint: false,
  read: ({ body: b }) => ({ target: { kind: b.kind, name: b.name, namespace: b.namespace ?? 'default' } }),
  check(step, c) {
    c.act(deleteObject(c.model, step.target, c.problems), step.target.name);
  },
  plan: (step) => ({ ...noPlace, to: `${step.target.kind.toLowerCase()}/${step.target.name}` }),
  run: (step, c) => runAction('delete', c, (problems) => deleteObject(c.model, step.target, problems)),
  describe: (step) => `delete ${step.target.kind.toLowerCase()}/${step.target.name}`,
  worstCase: noWait,
});
