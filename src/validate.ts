import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { buildModel } from './cluster/build.js';
import { checkSteps } from './cluster/check-steps.js';
import type { Model } from './cluster/types.js';
import { compareProblems, formatProblem, KnetlabError, type Problem } from './errors.js';
import { reportIngressProblems } from './scenario/ingress.js';
import { reportNetworkPolicyProblems } from './scenario/network-policy.js';
import { loadScenario, type LoadedScenario } from './scenario/load.js';

export interface Validation {
  file: string;
  /** Every problem, errors and warnings, in file order, each once. */
  problems: Problem[];
  scenario?: LoadedScenario;
  /** The cluster before the first step, when the file is valid enough to build it. */
  model?: Model;
}

export function hasErrors(problems: readonly Problem[]): boolean {
  return problems.some((p) => p.severity === 'error');
}

/** Reads, checks and resolves one scenario file; nothing is built. */
export async function validateScenario(file: string): Promise<Validation> {
  const { scenario, problems } = await loadScenario(file);
  let model: Model | undefined;
  if (scenario) {
    model = buildModel(scenario, problems);
    if (model) {
      reportIngressProblems(model, problems);
      reportNetworkPolicyProblems(model, problems);
      checkSteps(model, scenario.steps, problems, undefined, scenario.rejectedNames);
    }
  }
  const seen = new Set<string>();
  const unique = problems.list.filter((p) => {
    const key = formatProblem(p);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  unique.sort(compareProblems);
  return { file, problems: unique, ...(scenario ? { scenario } : {}), ...(model ? { model } : {}) };
}

/** The model of a valid scenario, or a KnetlabError (EINVALID) listing every problem. */
export async function loadModel(file: string): Promise<Validation & { model: Model; scenario: LoadedScenario }> {
  const v = await validateScenario(file);
  if (hasErrors(v.problems) || !v.model || !v.scenario) {
    throw new KnetlabError('EINVALID', `${file} is not a valid scenario`, { problems: v.problems });
  }
  return v as Validation & { model: Model; scenario: LoadedScenario };
}

const scenarioMark = /^(apiVersion:\s*["']?knetlab\/|kind:\s*["']?Scenario)/m;

/**
 * Scenario files named on the command line: files as given; in a folder every *.yaml or *.yml
 * below it that is a scenario (manifest files beside scenarios are passed over), sorted.
 */
export async function scenarioFiles(paths: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const p of paths) {
    let st;
    try {
      st = await stat(p);
    } catch {
      throw new KnetlabError('EUSAGE', `${p}: no such file or folder`);
    }
    if (st.isDirectory()) out.push(...(await walk(p)));
    else out.push(p);
  }
  return out;
}

async function walk(dir: string): Promise<string[]> {
  const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1));
  const out: string[] = [];
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== 'node_modules' && !e.name.startsWith('.')) out.push(...(await walk(path)));
    } else if (/\.ya?ml$/.test(e.name) && scenarioMark.test(await readFile(path, 'utf8'))) out.push(path);
  }
  return out;
}
