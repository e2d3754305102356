// The kernel features found present on this kernel since it booted (a module loaded stays
// loaded), kept in the owner's state folder by the runner outside the sandbox, so that a run
// probes only what was missing. The boot id and kernel release name the file.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readStateFile, setAside, stateDir, writeStateFile } from './state-dir.js';

const FEATURE = /^[a-z][a-z0-9_]{0,40}$/;

function cachePath(): string | undefined {
  try {
    const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    const release = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
    return join(stateDir(), `features-${boot}-${release}.json`.replace(/[^A-Za-z0-9._-]/g, '_'));
  } catch {
    return undefined;
  }
}

/** Features known present; a file that is not a list of feature names is set aside and ignored. */
export function readFeatureCache(): Set<string> {
  const path = cachePath();
  if (!path) return new Set();
  const r = readStateFile(path);
  if (r.kind === 'missing') return new Set();
  try {
    const list = r.kind === 'ok' ? (JSON.parse(r.text) as unknown) : undefined;
    if (Array.isArray(list) && list.every((f) => typeof f === 'string' && FEATURE.test(f))) return new Set(list as string[]);
  } catch {
    // not JSON: set aside below
  }
  setAside(path);
  return new Set();
}

/** Adds features found present; a cache that cannot be written only costs the next run the probe. */
export function addToFeatureCache(found: readonly string[]): void {
  const path = cachePath();
  if (!path || found.every((f) => !FEATURE.test(f))) return;
  try {
    const all = new Set([...readFeatureCache(), ...found.filter((f) => FEATURE.test(f))]);
    writeStateFile(path, JSON.stringify([...all].sort()));
  } catch {
    // the probe runs again next time
  }
}
