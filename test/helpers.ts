import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Model } from '../src/cluster/types.js';
import { proxyModes, type ProxyMode } from '../src/proxy/modes.js';
import { formatProblem } from '../src/errors.js';
import { validateScenario, type Validation } from '../src/validate.js';
import { networks as truthTableNetworks } from '../src/cluster/source-ip.js';

const written: string[] = [];
// Each test file is a process of its own: its scenarios' folders go when it ends.
process.on('exit', () => written.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** Writes a scenario (and any files beside it) to a new temporary folder, removed when the test process ends, and returns its path. */
export function writeScenario(text: string, files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'knetlab-test-'));
  written.push(dir);
  for (const [name, body] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), body);
  }
  const file = join(dir, 'scenario.yaml');
  writeFileSync(file, text);
  return file;
}

export async function validateText(text: string, files: Record<string, string> = {}): Promise<Validation & { lines: string[] }> {
  const file = writeScenario(text, files);
  const v = await validateScenario(file);
  // Messages without the temporary folder, so tests can compare them.
  const lines = v.problems.map((p) => formatProblem(p).replace(`${dirname(file)}/`, ''));
  return { ...v, lines };
}

/** The model of a scenario that must be valid; throws with every problem otherwise. */
export async function modelOf(text: string, files: Record<string, string> = {}): Promise<Model> {
  const v = await validateText(text, files);
  const errors = v.lines.filter((l) => !l.includes(': warning: '));
  if (errors.length || !v.model) throw new Error(`scenario is invalid:\n${errors.join('\n')}`);
  return v.model;
}

/** A scenario head with n nodes named node-1..node-n. */
export function head(nodes = 2, cluster = ''): string {
  const list = Array.from({ length: nodes }, (_, i) => `  - name: node-${i + 1}`).join('\n');
  return `apiVersion: knetlab/v1
kind: Scenario
metadata: {name: t}
${cluster ? `cluster:\n${cluster}\n` : ''}nodes:
${list}
`;
}

/** The comma-separated names of an environment variable, each one of `allowed`; undefined when it is unset or empty. */
function envList<T extends string>(name: string, allowed: readonly T[]): T[] | undefined {
  const env = process.env[name];
  if (!env) return undefined;
  const names = env
    .split(',')
    .map((n) => n.trim())
    .filter(Boolean);
  const bad = names.filter((n) => !(allowed as readonly string[]).includes(n));
  if (bad.length) throw new Error(`Expected ${name} to list ${allowed.join(', ')}, got \`${bad.join(', ')}\``);
  return names as T[];
}

/** The networks the truth table runs, when KNETLAB_TEST_NETWORKS names some (comma-separated; CI's VM runs calico-ipip); undefined for all. */
export function testedNetworks(): string[] | undefined {
  return envList('KNETLAB_TEST_NETWORKS', truthTableNetworks);
}

/**
 * The kube-proxy modes the kernel tests run scenarios under: every one, or those KNETLAB_TEST_PROXY_MODES
 * names (comma-separated; CI's VM phase runs only ipvs, which the host's kernel cannot).
 */
export function testedProxyModes(): ProxyMode[] {
  return envList('KNETLAB_TEST_PROXY_MODES', proxyModes) ?? [...proxyModes];
}
