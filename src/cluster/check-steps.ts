import type { Protocol } from '../scenario/objects.js';
import type { Problems } from '../scenario/problems.js';
import type { AddressRef } from '../scenario/refs.js';
import { originAt, type Origin } from '../scenario/source.js';
import type { Step } from '../scenario/steps.js';
import { applyObjects, deleteObject, patchObject, scaleDeployment, type ActionResult } from './actions.js';
import { checkNewObjects } from './build.js';
import { resolveAddress, resolveSource, resolveTarget, type Resolved } from './resolve.js';
import type { Model } from './types.js';

const probeProtocol: Record<string, Protocol | undefined> = { http: 'TCP', tcp: 'TCP', udp: 'UDP', ping: undefined };

/**
 * Walks the steps over the model as they would change it, so every name a step uses is checked
 * against the cluster as it will be at that step (a pod deleted at step 3 cannot be used at step 5).
 */
export function checkSteps(initial: Model, steps: readonly Step[], problems: Problems, onStep?: (step: Step, model: Model) => void): Model {
  let model = initial;
  for (const step of steps) {
    onStep?.(step, model);
    const where = `steps[${step.index}]`;
    const field = (k: string): Origin => originAt(step.origin, step.kind, k);
    const need = <T>(r: Resolved<T>, at: Origin, path: string): T | undefined => {
      if (r.ok) return r.value;
      problems.error(at, `\`${path}\`: ${r.reason}`);
      return undefined;
    };
    const address = (k: string, a: AddressRef | undefined, at: Origin = originAt(step.origin, 'expect', k)) => {
      if (a) need(resolveAddress(model, a), at, `${where}.expect.${k}`);
    };
    const act = (r: ActionResult, k: string) => {
      if (r.ok) model = r.model;
      else problems.error(originAt(step.origin, step.kind, ...(k ? [k] : [])), `\`${where}.${step.kind}\`: ${r.reason}`);
    };
    switch (step.kind) {
      case 'http':
      case 'tcp':
      case 'udp':
      case 'ping':
        need(resolveSource(model, step.from), field('from'), `${where}.${step.kind}.from`);
        need(resolveTarget(model, step.to, probeProtocol[step.kind]), field('to'), `${where}.${step.kind}.to`);
        if (step.kind === 'http' || step.kind === 'udp') {
          address('sourceIp', step.expect.sourceIp);
          address('sourceIpNot', step.expect.sourceIpNot);
          address('backend', step.expect.backend);
        }
        break;
      case 'dns':
        need(resolveSource(model, step.from), field('from'), `${where}.dns.from`);
        step.expect.addresses?.forEach((a) => address('address', a));
        break;
      case 'exec':
        need(resolveSource(model, step.on), field('on'), `${where}.exec.on`);
        break;
      case 'link':
        need(resolveSource(model, { kind: 'node', name: step.node }), field('node'), `${where}.link.node`);
        break;
      case 'apply': {
        const system = model.objects.filter((o) => o.meta.namespace === 'kube-system' && o.meta.labels['k8s-app'] === 'kube-dns');
        model = applyObjects(model, checkNewObjects(step.objects, system, problems), problems);
        break;
      }
      case 'patch':
        act(patchObject(model, step.target, step.patch, originAt(step.origin, 'patch', 'patch'), problems), '');
        break;
      case 'delete':
        act(deleteObject(model, step.target, problems), '');
        break;
      case 'scale':
        act(scaleDeployment(model, step.deployment, step.namespace, step.replicas, step.origin, problems), 'deployment');
        break;
      case 'sleep':
        break;
    }
  }
  return model;
}
