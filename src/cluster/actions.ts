import { describe, readKubeObject, type KubeObject } from '../scenario/objects.js';
import type { ProblemCode } from '../scenario/problem-codes.js';
import type { Problems } from '../scenario/problems.js';
import type { Origin } from '../scenario/source.js';
import type { ObjectRef } from '../scenario/steps.js';
import { suggestion } from '../scenario/suggest.js';
import { strategicMerge } from '../util/merge.js';
import { checkEndpointOwners } from './endpoints.js';
import { reconcile } from './reconcile.js';
import { objectKey, podKey, type Model } from './types.js';

// The actions of steps, each a pure function from model to model, as kubectl and the controllers would act.

const kindAliases: Record<string, string> = {
  pod: 'Pod',
  pods: 'Pod',
  po: 'Pod',
  service: 'Service',
  services: 'Service',
  svc: 'Service',
  deployment: 'Deployment',
  deployments: 'Deployment',
  deploy: 'Deployment',
  daemonset: 'DaemonSet',
  daemonsets: 'DaemonSet',
  ds: 'DaemonSet',
  endpoints: 'Endpoints',
  ep: 'Endpoints',
  endpointslice: 'EndpointSlice',
  endpointslices: 'EndpointSlice',
  ingress: 'Ingress',
  ingresses: 'Ingress',
  ing: 'Ingress',
  networkpolicy: 'NetworkPolicy',
  networkpolicies: 'NetworkPolicy',
  netpol: 'NetworkPolicy',
  namespace: 'Namespace',
  namespaces: 'Namespace',
  ns: 'Namespace',
};

/** `svc`, `service` and `Service` all mean Service, as in kubectl. */
export function canonicalKind(kind: string): string | undefined {
  const k = kind.toLowerCase();
  return Object.hasOwn(kindAliases, k) ? kindAliases[k] : undefined; // not `constructor` from Object's prototype
}

/** A refused action says why, and which field of the step the reason is about. */
export type ActionResult = { ok: true; model: Model } | { ok: false; code: ProblemCode; reason: string; field?: 'kind' | 'name' | 'patch' };

function systemKeys(model: Model): Set<string> {
  return new Set(model.objects.filter((o) => o.meta.namespace === 'kube-system' && o.meta.labels['k8s-app'] === 'kube-dns').map(objectKey));
}

/** `kubectl apply`: new objects are created, existing ones replaced in place (allocations are kept). */
export function applyObjects(model: Model, objects: readonly KubeObject[], problems: Problems): Model {
  const byKey = new Map(model.objects.map((o, i) => [objectKey(o), i]));
  const next = [...model.objects];
  for (const o of objects) {
    const i = byKey.get(objectKey(o));
    if (i === undefined) {
      byKey.set(objectKey(o), next.length);
      next.push(o);
    } else next[i] = o;
  }
  const out = reconcile({ ...model, objects: next }, problems);
  checkEndpointOwners(objects, out.services, problems);
  return out;
}

function findObject(model: Model, ref: ObjectRef): { object: KubeObject } | { ok: false; code: ProblemCode; reason: string; field: 'kind' | 'name' } {
  const kind = canonicalKind(ref.kind);
  if (!kind) return { ok: false, code: 'unknown-kind', reason: `unknown kind \`${ref.kind}\`${suggestion(ref.kind, [...new Set(Object.values(kindAliases))])}`, field: 'kind' };
  const object = model.objects.find((o) => o.kind === kind && o.meta.name === ref.name && (kind === 'Namespace' || o.meta.namespace === ref.namespace));
  if (object) return { object };
  const names = model.objects.filter((o) => o.kind === kind && o.meta.namespace === ref.namespace).map((o) => o.meta.name);
  const elsewhere = model.objects.find((o) => o.kind === kind && o.meta.name === ref.name);
  const hint = elsewhere ? `; there is one in namespace ${elsewhere.meta.namespace}` : suggestion(ref.name, names);
  return { ok: false, code: 'unknown-object', reason: `${kind} ${ref.namespace}/${ref.name} does not exist${hint}`, field: 'name' };
}

/** `kubectl patch` with a strategic merge patch. */
export function patchObject(model: Model, ref: ObjectRef, patch: Record<string, unknown>, origin: Origin, problems: Problems): ActionResult {
  const found = findObject(model, ref);
  if (!('object' in found)) return found;
  if (systemKeys(model).has(objectKey(found.object)))
    return { ok: false, code: 'reserved-name', reason: `${describe(found.object)} is the cluster's own; set \`cluster.dns: false\` to manage DNS yourself`, field: 'name' };
  const raw = strategicMerge(found.object.raw, patch) as Record<string, unknown>;
  const before = problems.errorCount;
  const patched = readKubeObject(raw, origin, problems);
  if (!patched || problems.errorCount > before) return { ok: false, code: 'bad-patch', reason: `the patched ${describe(found.object)} is not valid`, field: 'patch' };
  if (objectKey(patched) !== objectKey(found.object)) return { ok: false, code: 'bad-patch', reason: "a patch cannot change an object's kind, name or namespace", field: 'patch' };
  return { ok: true, model: applyObjects(model, [patched], problems) };
}

/** `kubectl scale deployment`. */
export function scaleDeployment(model: Model, name: string, namespace: string, replicas: number, origin: Origin, problems: Problems): ActionResult {
  return patchObject(model, { kind: 'Deployment', name, namespace }, { spec: { replicas } }, origin, problems);
}

/** `kubectl delete`: a pod of a Deployment or DaemonSet is made again by its controller, under a new name and address. */
export function deleteObject(model: Model, ref: ObjectRef, problems: Problems): ActionResult {
  const kind = canonicalKind(ref.kind);
  if (kind === 'Pod') {
    const pod = model.pods.find((p) => p.namespace === ref.namespace && p.name === ref.name);
    if (pod?.owner) {
      const rest = { ...model, pods: model.pods.filter((p) => p !== pod) };
      return { ok: true, model: reconcile(rest, problems) };
    }
  }
  const found = findObject(model, ref);
  if (!('object' in found)) return found;
  if (systemKeys(model).has(objectKey(found.object))) return { ok: false, code: 'reserved-name', reason: `${describe(found.object)} is the cluster's own`, field: 'name' };
  const key = objectKey(found.object);
  const objects = model.objects.filter((o) => objectKey(o) !== key);
  // Deleting a workload deletes its pods; deleting a namespace deletes everything in it.
  const gone = (p: Model['pods'][number]) =>
    (kind === 'Namespace' && p.namespace === ref.name) ||
    (kind === 'Pod' && podKey(p) === `${ref.namespace}/${ref.name}`) ||
    (p.owner !== undefined && p.owner.kind === kind && p.owner.name === ref.name && p.namespace === ref.namespace);
  const kept = kind === 'Namespace' ? objects.filter((o) => o.meta.namespace !== ref.name) : objects;
  return {
    ok: true,
    model: reconcile(
      { ...model, objects: kept, pods: model.pods.filter((p) => !gone(p)), services: model.services.filter((s) => !(kind === 'Namespace' && s.namespace === ref.name)) },
      problems,
    ),
  };
}
