import type { Protocol } from '../scenario/objects.js';
import type { Problems } from '../scenario/problems.js';
import type { AddressRef } from '../scenario/refs.js';
import { originAt, type Origin } from '../scenario/source.js';
import type { Step } from '../scenario/steps.js';
import { reportIngressProblems } from '../scenario/ingress.js';
import { reportNetworkPolicyProblems } from '../scenario/network-policy.js';
import { applyObjects, deleteObject, patchObject, scaleDeployment, type ActionResult } from './actions.js';
import { checkNewObjects } from './build.js';
import { reportCapacity } from './capacity.js';
import { MAX_STEP_WORK } from '../scenario/limits.js';
import { resolveAddress, resolveSource, resolveTarget, type Resolved } from './resolve.js';
import type { Model } from './types.js';

const probeProtocol: Record<string, Protocol | undefined> = { http: 'TCP', tcp: 'TCP', udp: 'UDP', ping: undefined };

/**
 * Walks the steps over the model as they would change it, so every name a step uses is checked
 * against the cluster as it will be at that step (a pod deleted at step 3 cannot be used at step 5).
 */
export function checkSteps(
  initial: Model,
  steps: readonly Step[],
  problems: Problems,
  onStep?: (step: Step, model: Model) => void,
  rejectedNames: readonly string[] = [],
): Model {
  let model = initial;
  // A name of a refused object (or of its pods) was reported where the object is; not again here.
  const refused = (name: string | undefined) => name !== undefined && rejectedNames.some((r) => name === r || name.startsWith(`${r}-`));
  // Which step removed a pod or Service, to say so when a later step names it.
  const removedBy = new Map<string, number>();
  const present = (m: Model) => new Set([...m.pods.map((p) => `pod/${p.namespace}/${p.name}`), ...m.services.map((s) => `service/${s.namespace}/${s.name}`)]);
  // What re-running the controllers has cost so far: each action rebuilds every pod and endpoint.
  let work = 0;
  for (const step of steps) {
    if (['apply', 'patch', 'delete', 'scale'].includes(step.kind)) {
      const size = model.pods.length + model.services.length + model.endpointSlices.reduce((n, s) => n + s.endpoints.length, 0);
      work += size;
      if (work > MAX_STEP_WORK) {
        problems.error(
          step.origin,
          `\`steps[${step.index}]\`: checking the steps means rebuilding a cluster of ${model.pods.length} pods and ${model.services.length} Services at each action step, more than knetlab checks (${MAX_STEP_WORK} pod, Service and endpoint updates in all); use fewer pods or fewer apply, patch, delete and scale steps (the steps from here on are not checked)`,
        );
        break;
      }
    }
    onStep?.(step, model);
    const where = `steps[${step.index}]`;
    const field = (k: string): Origin => originAt(step.origin, step.kind, k);
    const need = <T>(r: Resolved<T>, at: Origin, path: string, ref?: { kind: string; name?: string; namespace?: string }): T | undefined => {
      if (r.ok) return r.value;
      if (refused(ref?.name)) return undefined;
      const kind = ref && ['service', 'nodeport', 'externalip', 'loadbalancer'].includes(ref.kind) ? 'service' : ref?.kind;
      const by = ref ? removedBy.get(`${kind}/${ref.namespace ?? 'default'}/${ref.name}`) : undefined;
      const reason = by === undefined ? r.reason : r.reason.replace(/^there is no ([^\s;]+)/, `there is no $1 any more (steps[${by}] removed it)`);
      problems.error(at, `\`${path}\`: ${reason}`);
      return undefined;
    };
    const nameOf = (ref: { kind: string; name?: string; namespace?: string }) => ref;
    const address = (k: string, a: AddressRef | undefined, path: string[] = ['expect'], at: Origin = originAt(step.origin, ...path, k)) => {
      if (a) need(resolveAddress(model, a), at, `${where}.${path.join('.')}.${k}`, a.kind === 'ip' ? undefined : a);
    };
    // The step's expectation and its expectIn ones, each with where it is written.
    const expectations = <E>(e: E): [string[], E][] => [[['expect'], e], ...Object.entries(step.expectIn ?? {}).map(([mode, x]) => [['expectIn', mode], x as E] as [string[], E])];
    const act = (r: ActionResult, name: string) => {
      if (r.ok) model = r.model;
      else if (r.field === 'patch') problems.error(originAt(step.origin, 'patch', 'patch'), `\`${where}.patch\`: ${r.reason}`);
      else if (!(r.field === 'name' && refused(name))) {
        const field = step.kind === 'scale' ? 'deployment' : (r.field ?? 'name');
        problems.error(originAt(step.origin, step.kind, field), `\`${where}.${step.kind}\`: ${r.reason}`);
      }
    };
    const modelBefore = model;
    switch (step.kind) {
      case 'http':
      case 'tcp':
      case 'udp':
      case 'ping':
        need(resolveSource(model, step.from), field('from'), `${where}.${step.kind}.from`, nameOf(step.from));
        need(resolveTarget(model, step.to, probeProtocol[step.kind]), field('to'), `${where}.${step.kind}.to`, 'name' in step.to ? step.to : undefined);
        if (step.kind === 'http' || step.kind === 'udp') {
          for (const [path, e] of expectations(step.expect)) {
            address('sourceIp', e.sourceIp, path);
            address('sourceIpNot', e.sourceIpNot, path);
            address('backend', e.backend, path);
          }
        }
        break;
      case 'dns':
        need(resolveSource(model, step.from), field('from'), `${where}.dns.from`, nameOf(step.from));
        for (const [path, e] of expectations(step.expect)) e.addresses?.forEach((a) => address('address', a, path));
        break;
      case 'exec':
        need(resolveSource(model, step.on), field('on'), `${where}.exec.on`, nameOf(step.on));
        break;
      case 'link':
        need(resolveSource(model, { kind: 'node', name: step.node }), field('node'), `${where}.link.node`);
        break;
      case 'apply': {
        const system = model.objects.filter((o) => o.meta.namespace === 'kube-system' && o.meta.labels['k8s-app'] === 'kube-dns');
        model = applyObjects(model, checkNewObjects(step.objects, system, problems), problems);
        // Ingresses applied here are checked against the cluster as it now is.
        reportIngressProblems(model, problems, (o) => step.objects.some((s) => s.kind === 'Ingress' && s.meta.name === o.meta.name && s.meta.namespace === o.meta.namespace));
        reportNetworkPolicyProblems(model, problems, step.objects.filter((o): o is Extract<typeof o, { kind: 'NetworkPolicy' }> => o.kind === 'NetworkPolicy'));
        break;
      }
      case 'patch':
        act(patchObject(model, step.target, step.patch, originAt(step.origin, 'patch', 'patch'), problems), step.target.name);
        break;
      case 'delete':
        act(deleteObject(model, step.target, problems), step.target.name);
        break;
      case 'scale':
        act(scaleDeployment(model, step.deployment, step.namespace, step.replicas, step.origin, problems), step.deployment);
        break;
      case 'sleep':
      case 'resync':
        break;
    }
    if (model !== modelBefore) {
      // A step that makes pods for which a node has no address left is wrong where it is written.
      reportCapacity(model, problems, { step: step.origin, where: `${where}.${step.kind}`, before: modelBefore });
      const after = present(model);
      for (const key of present(modelBefore)) if (!after.has(key)) removedBy.set(key, step.index);
    }
  }
  return model;
}
