// The files a scenario reads besides itself (its manifest files, its apply steps' files): what
// `knetlab up --watch` watches. Read from the text alone, so an invalid edit still names them.
import { isAbsolute, join, dirname, resolve } from 'node:path';
import { MAX_MANIFESTS, MAX_STEPS } from './limits.js';
import { parseYaml } from './source.js';

/** The scenario file itself and every file it names, resolved from its folder, each once. */
export function listedFiles(file: string, text: string): string[] {
  const out = new Set([resolve(file)]);
  const parsed = parseYaml(file, text);
  const top = parsed.docs.length === 1 ? parsed.docs[0]!.value() : undefined;
  if (top === null || typeof top !== 'object' || Array.isArray(top)) return [...out];
  const { manifests, steps } = top as { manifests?: unknown; steps?: unknown };
  const named = [
    ...(Array.isArray(manifests) ? manifests.slice(0, MAX_MANIFESTS) : []),
    ...(Array.isArray(steps) ? steps.slice(0, MAX_STEPS).map((s: unknown) => (s !== null && typeof s === 'object' ? (s as { apply?: unknown }).apply : undefined)) : []),
  ];
  for (const p of named) if (typeof p === 'string' && p !== '') out.add(resolve(isAbsolute(p) ? p : join(dirname(file), p)));
  return [...out];
}
