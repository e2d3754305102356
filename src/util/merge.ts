/**
 * Lists Kubernetes merges item by item under a strategic merge patch, by the key upstream's
 * patchMergeKey tags name; every other list is replaced whole.
 */
const mergeKeys: Record<string, string> = {
  containers: 'name',
  initContainers: 'name',
  env: 'name',
  volumes: 'name',
  volumeMounts: 'mountPath',
  conditions: 'type',
  // Service ports merge by port; container ports by containerPort.
  ports: 'port',
};

type Json = unknown;

function isObject(v: Json): v is Record<string, Json> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export function strategicMerge(target: Json, patch: Json): Json {
  if (!isObject(patch)) return patch;
  if (patch.$patch === 'replace') {
    const { $patch: _ignored, ...rest } = patch;
    return rest;
  }
  const out: Record<string, Json> = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (k === '__proto__') continue; // validation refuses the key; assigning it would replace out's prototype
    if (v === null)
      delete out[k]; // null removes the field
    else if (Array.isArray(v) && Array.isArray(out[k])) out[k] = mergeList(out[k] as Json[], v, k);
    else if (isObject(v)) out[k] = strategicMerge(out[k], v);
    else out[k] = v;
  }
  return out;
}

function mergeList(target: Json[], patch: Json[], field: string): Json[] {
  let key = Object.hasOwn(mergeKeys, field) ? mergeKeys[field] : undefined; // a field may be named `constructor`
  if (field === 'ports' && patch.some((p) => isObject(p) && 'containerPort' in p)) key = 'containerPort';
  if (!key || !patch.every((p) => isObject(p) && key! in p)) return patch;
  const out = [...target];
  for (const p of patch as Record<string, Json>[]) {
    const i = out.findIndex((t) => isObject(t) && t[key!] === p[key!]);
    if (p.$patch === 'delete') {
      if (i >= 0) out.splice(i, 1);
    } else if (i >= 0) out[i] = strategicMerge(out[i], p);
    else out.push(p);
  }
  return out;
}
