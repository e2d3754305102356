import { z } from 'zod';
import { applyObjects } from '../../cluster/actions.js';
import { checkNewObjects } from '../../cluster/build.js';
import type { KubeObject } from '../../scenario/objects.js';
import { reportIngressProblems } from '../../scenario/ingress.js';
import { reportNetworkPolicyProblems } from '../../scenario/network-policy.js';
import { stepKind } from '../kind.js';
import { noPlace, noWait, runAction } from './action.js';

export interface ApplySpec {
  objects: KubeObject[];
}

/** `apply`: Kubernetes objects (a file or one inline object) applied as `kubectl apply` would. */
export const apply = stepKind<'apply', ApplySpec>()({
  body: z.union([z.string(), z.record(z.string(), z.unknown())], { error: 'to be a path to a YAML file or a Kubernetes object' }),
  expect: undefined,
  changesModel: true,
  answeredByEndpoint: false,
  async read(r) {
    const objects = await r.readManifest(r.body, r.bodyOrigin, `${r.where}.apply`);
    return r.failedSinceStart() ? undefined : { objects };
  },
  check(step, c) {
    const system = c.model.objects.filter((o) => o.meta.namespace === 'kube-system' && o.meta.labels['k8s-app'] === 'kube-dns');
    const model = applyObjects(c.model, checkNewObjects(step.objects, system, c.problems), c.problems);
    c.setModel(model);
    // Ingresses applied here are checked against the cluster as it now is.
    reportIngressProblems(model, c.problems, (o) => step.objects.some((s) => s.kind === 'Ingress' && s.meta.name === o.meta.name && s.meta.namespace === o.meta.namespace));
    reportNetworkPolicyProblems(
      model,
      c.problems,
      step.objects.filter((o): o is Extract<typeof o, { kind: 'NetworkPolicy' }> => o.kind === 'NetworkPolicy'),
    );
  },
  plan: (step) => ({
    ...noPlace,
    to: step.objects.map((o) => `${o.kind.toLowerCase()}/${o.meta.name}${o.meta.namespace !== 'default' && o.kind !== 'Namespace' ? `.${o.meta.namespace}` : ''}`).join(', '),
  }),
  run: (step, c) => runAction('apply', c, (problems) => ({ ok: true, model: applyObjects(c.model, step.objects, problems) })),
  describe: (step) => `apply ${step.objects.map((o) => `${o.kind.toLowerCase()}/${o.meta.name}`).join(', ')}`,
  worstCase: noWait,
});
