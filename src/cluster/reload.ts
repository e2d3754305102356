// A held scenario's file edited (`knetlab up --watch`, `lab.reload()`): what differs from the live
// cluster, as kubectl apply and delete would bring it there, and what cannot change without a rebuild.
import type { KubeObject } from '../scenario/objects.js';
import type { Problems } from '../scenario/problems.js';
import { applyObjects, deleteObject, type ActionResult } from './actions.js';
import { objectKey, type Model } from './types.js';

/** Objects of the new file that are new or changed (to apply), and live ones it no longer has (to delete). */
export interface ObjectDiff {
  apply: KubeObject[];
  delete: KubeObject[];
}

/** `service/web`, `pod/x.team` (the namespace when not default), as apply steps are planned. */
export function objectName(o: KubeObject): string {
  return `${o.kind.toLowerCase()}/${o.meta.name}${o.meta.namespace !== 'default' && o.kind !== 'Namespace' ? `.${o.meta.namespace}` : ''}`;
}

/** By kind, namespace and name: an object whose manifest differs in any field is applied again. */
export function diffObjects(live: readonly KubeObject[], next: readonly KubeObject[]): ObjectDiff {
  const liveByKey = new Map(live.map((o) => [objectKey(o), o]));
  const nextKeys = new Set(next.map(objectKey));
  const changed = (o: KubeObject) => {
    const was = liveByKey.get(objectKey(o));
    return was === undefined || JSON.stringify(was.raw) !== JSON.stringify(o.raw);
  };
  // Namespaces last: deleting one deletes what is in it, so its objects go first, by name.
  const gone = live.filter((o) => !nextKeys.has(objectKey(o)));
  return { apply: next.filter(changed), delete: [...gone.filter((o) => o.kind !== 'Namespace'), ...gone.filter((o) => o.kind === 'Namespace')] };
}

/** The model after the diff: applied as an apply step does, then deleted as delete steps do (what a deleted namespace took is passed over). */
export function applyDiff(model: Model, diff: ObjectDiff, problems: Problems): ActionResult {
  let next = diff.apply.length ? applyObjects(model, diff.apply, problems) : model;
  for (const o of diff.delete) {
    if (!next.objects.some((x) => objectKey(x) === objectKey(o))) continue;
    const r = deleteObject(next, { kind: o.kind, name: o.meta.name, namespace: o.meta.namespace }, problems);
    if (!r.ok) return r;
    next = r.model;
  }
  return { ok: true, model: next };
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
const withoutOrigin = <T extends { origin: unknown }>(x: T) => ({ ...x, origin: undefined });

/** Machines by name: added, removed or changed. */
function machineChanges(what: string, before: readonly { name: string; origin: unknown }[], after: readonly { name: string; origin: unknown }[]): string[] {
  const out: string[] = [];
  const afterBy = new Map(after.map((m) => [m.name, m]));
  const beforeBy = new Map(before.map((m) => [m.name, m]));
  for (const m of before) {
    const now = afterBy.get(m.name);
    if (!now) out.push(`${what} ${m.name} removed`);
    else if (!same(withoutOrigin(m), withoutOrigin(now))) out.push(`${what} ${m.name} changed`);
  }
  for (const m of after) if (!beforeBy.has(m.name)) out.push(`${what} ${m.name} added`);
  return out;
}

/**
 * What differs in the cluster's settings, nodes or hosts: namespaces, devices and addresses built
 * once, which a live cluster cannot be brought to (empty when only objects and steps changed).
 */
export function fixedChanges(before: Model, after: Model): string[] {
  const keys = [...new Set([...Object.keys(before.config), ...Object.keys(after.config)])] as (keyof Model['config'])[];
  const config = keys.filter((k) => !same(before.config[k], after.config[k])).map((k) => `cluster.${k}`);
  return [...config, ...machineChanges('node', before.nodes, after.nodes), ...machineChanges('host', before.hosts, after.hosts)];
}
