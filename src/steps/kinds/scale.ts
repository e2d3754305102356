import { z } from 'zod';
import { scaleDeployment } from '../../cluster/actions.js';
import { stepKind } from '../kind.js';
import { noPlace, noWait, runAction } from './action.js';

export interface ScaleSpec {
  deployment: string;
  namespace: string;
  replicas: number;
}

const REPLICAS = 'to be a whole number from 0 to 250';

/** `scale`: a Deployment's replicas set, as `kubectl scale` would. */
export const scale = stepKind<'scale', ScaleSpec>()({
  body: z.strictObject({
    deployment: z.string(),
    namespace: z.string().optional(),
    replicas: z.number().int({ error: REPLICAS }).min(0, { error: REPLICAS }).max(250, { error: REPLICAS }),
  }),
  expect: undefined,
  changesModel: true,
  answeredByEndpoint: false,
  read: ({ body: b }) => ({ deployment: b.deployment, namespace: b.namespace ?? 'default', replicas: b.replicas }),
  check(step, c) {
    c.act(scaleDeployment(c.model, step.deployment, step.namespace, step.replicas, step.origin, c.problems), step.deployment, 'deployment');
  },
  plan: (step) => ({ ...noPlace, to: `deployment/${step.deployment} to ${step.replicas}` }),
  run: (step, c) => runAction('scale', c, (problems) => scaleDeployment(c.model, step.deployment, step.namespace, step.replicas, step.origin, problems)),
  describe: (step) => `scale deployment/${step.deployment} to ${step.replicas}`,
  worstCase: noWait,
});
