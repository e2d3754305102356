import type { Problems } from '../scenario/problems.js';
import { originAt, type Origin } from '../scenario/source.js';
import type { Step } from '../scenario/steps.js';
import type { CheckContext } from '../steps/kind.js';
import { kindOf, stepKinds } from '../steps/kinds/index.js';
import { reportCapacity } from './capacity.js';
import { MAX_STEP_WORK } from '../scenario/limits.js';
import { resolveAddress, type Resolved } from './resolve.js';
import type { Model } from './types.js';

/**
 * Walks the steps over the model as they would change it, so every name a step uses is checked
 * against the cluster as it will be at that step (a pod deleted at step 3 cannot be used at step 5).
 */
export function checkSteps(initial: Model, steps: readonly Step[], problems: Problems, onStep?: (step: Step, model: Model) => void, rejectedNames: readonly string[] = []): Model {
  let model = initial;
  // A name of a refused object (or of its pods) was reported where the object is; not again here.
  const refused = (name: string | undefined) => name !== undefined && rejectedNames.some((r) => name === r || name.startsWith(`${r}-`));
  // Which step removed a pod or Service, to say so when a later step names it.
  const removedBy = new Map<string, number>();
  const present = (m: Model) => new Set([...m.pods.map((p) => `pod/${p.namespace}/${p.name}`), ...m.services.map((s) => `service/${s.namespace}/${s.name}`)]);
  // What re-running the controllers has cost so far: each action rebuilds every pod and endpoint.
  let work = 0;
  for (const step of steps) {
    if (stepKinds[step.kind].changesModel) {
      const size = model.pods.length + model.services.length + model.endpointSlices.reduce((n, s) => n + s.endpoints.length, 0);
      work += size;
      if (work > MAX_STEP_WORK) {
        problems.error(
          'over-capacity',
          step.origin,
          `\`steps[${step.index}]\`: checking the steps means rebuilding a cluster of ${model.pods.length} pods and ${model.services.length} Services at each action step, more than knetlab checks (${MAX_STEP_WORK} pod, Service and endpoint updates in all); use fewer pods or fewer apply, patch, delete and scale steps (the steps from here on are not checked)`,
        );
        break;
      }
    }
    onStep?.(step, model);
    const where = `steps[${step.index}]`;
    const need = <T>(r: Resolved<T>, at: Origin, path: string, ref?: { kind: string; name?: string; namespace?: string }): T | undefined => {
      if (r.ok) return r.value;
      if (refused(ref?.name)) return undefined;
      const kind = ref && ['service', 'nodeport', 'externalip', 'loadbalancer'].includes(ref.kind) ? 'service' : ref?.kind;
      const by = ref ? removedBy.get(`${kind}/${ref.namespace ?? 'default'}/${ref.name}`) : undefined;
      const reason = by === undefined ? r.reason : r.reason.replace(/^there is no ([^\s;]+)/, `there is no $1 any more (steps[${by}] removed it)`);
      problems.error('unresolved-address', at, `\`${path}\`: ${reason}`);
      return undefined;
    };
    const modelBefore = model;
    const c: CheckContext = {
      model,
      where,
      problems,
      field: (k) => originAt(step.origin, step.kind, k),
      need,
      address(k, a, path = ['expect'], at = originAt(step.origin, ...path, k)) {
        if (a) need(resolveAddress(model, a), at, `${where}.${path.join('.')}.${k}`, a.kind === 'ip' ? undefined : a);
      },
      // The step's expectation and its expectIn ones, each with where it is written.
      expectations: <E>(e: E): [string[], E][] => [[['expect'], e], ...Object.entries(step.expectIn ?? {}).map(([mode, x]) => [['expectIn', mode], x as E] as [string[], E])],
      at: (...p) => originAt(step.origin, ...p),
      act(r, name, field) {
        if (r.ok) model = r.model;
        else if (r.field === 'patch') problems.error(r.code, originAt(step.origin, 'patch', 'patch'), `\`${where}.patch\`: ${r.reason}`);
        else if (!(r.field === 'name' && refused(name)))
          problems.error(r.code, originAt(step.origin, step.kind, field ?? r.field ?? 'name'), `\`${where}.${step.kind}\`: ${r.reason}`);
      },
      setModel(m) {
        model = m;
      },
    };
    kindOf(step).check(step, c);
    if (model !== modelBefore) {
      // A step that makes pods for which a node has no address left is wrong where it is written.
      reportCapacity(model, problems, { step: step.origin, where: `${where}.${step.kind}`, before: modelBefore });
      const after = present(model);
      for (const key of present(modelBefore)) if (!after.has(key)) removedBy.set(key, step.index);
    }
  }
  return model;
}
