import { constants } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { buildModel, type ConfigOverrides } from './cluster/build.js';
import { checkSteps } from './cluster/check-steps.js';
import type { Model } from './cluster/types.js';
import { compareProblems, formatProblem, KnetlabError, type Problem } from './errors.js';
import { reportIngressProblems } from './scenario/ingress.js';
import { reportNetworkPolicyProblems } from './scenario/network-policy.js';
import { errnoReason } from './scenario/input-file.js';
import { MAX_PROBLEMS_SHOWN } from './scenario/limits.js';
import { loadScenario, type LoadedScenario, type LoadOptions } from './scenario/load.js';
import { reportCapacity } from './cluster/capacity.js';

export interface ValidateOptions extends LoadOptions {
  /** `run --proxy-mode` and `--kubernetes-version`: the model is built with them, as if the scenario said so. */
  overrides?: ConfigOverrides;
}

export interface Validation {
  file: string;
  /**
   * Every problem, errors and warnings, in file order, each once; past MAX_PROBLEMS_SHOWN, the
   * rest are counted in one last problem (at the first of them).
   */
  problems: Problem[];
  scenario?: LoadedScenario;
  /** The cluster before the first step, when the file is valid enough to build it. */
  model?: Model;
}

export function hasErrors(problems: readonly Problem[]): boolean {
  return problems.some((p) => p.severity === 'error');
}

/** Reads, checks and resolves one scenario file; nothing is built. */
export async function validateScenario(file: string, opts: ValidateOptions = {}): Promise<Validation> {
  const { scenario, problems } = await loadScenario(file, opts);
  let model: Model | undefined;
  if (scenario) {
    model = buildModel(scenario, problems, opts.overrides);
    if (model) {
      reportCapacity(model, problems);
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
  return { file, problems: capped(unique), ...(scenario ? { scenario } : {}), ...(model ? { model } : {}) };
}

/** The first MAX_PROBLEMS_SHOWN problems, and one more that counts the rest: output stays bounded. */
function capped(problems: Problem[]): Problem[] {
  if (problems.length <= MAX_PROBLEMS_SHOWN) return problems;
  const rest = problems.slice(MAX_PROBLEMS_SHOWN);
  const errors = rest.filter((p) => p.severity === 'error').length;
  const counts = errors === rest.length ? `${rest.length} more problems` : `${rest.length} more problems (${errors} errors)`;
  return [
    ...problems.slice(0, MAX_PROBLEMS_SHOWN),
    {
      code: 'more-problems',
      severity: errors > 0 ? 'error' : 'warning',
      message: `... and ${counts}, from here on; only the first ${MAX_PROBLEMS_SHOWN} are shown`,
      ...(rest[0]!.location ? { location: rest[0]!.location } : {}),
    },
  ];
}

/** The model of a valid scenario, or a KnetlabError (EINVALID) listing every problem. */
export async function loadModel(file: string, opts: ValidateOptions = {}): Promise<Validation & { model: Model; scenario: LoadedScenario }> {
  const v = await validateScenario(file, opts);
  if (hasErrors(v.problems) || !v.model || !v.scenario) {
    throw new KnetlabError('EINVALID', `${file} is not a valid scenario`, { problems: v.problems });
  }
  return v as Validation & { model: Model; scenario: LoadedScenario };
}

const scenarioMark = /^(apiVersion:\s*["']?knetlab\/|kind:\s*["']?Scenario)/m;
/** Whether a file is a scenario is told by its head; a file (or a FIFO, a device) is never read further here. */
const MARK_BYTES = 64 * 1024;

/** Scenario files named on the command line, and the problems met finding them (unreadable files and folders). */
export interface FoundFiles {
  files: string[];
  problems: Problem[];
}

/**
 * Scenario files named on the command line: files as given; in a folder every *.yaml or *.yml
 * below it that is a scenario (manifest files beside scenarios are passed over), sorted. A file or
 * folder that cannot be read is a problem at its path, and the walk goes on.
 */
export async function findScenarioFiles(paths: readonly string[]): Promise<FoundFiles> {
  const found: FoundFiles = { files: [], problems: [] };
  for (const p of paths) {
    let st;
    try {
      st = await stat(p);
    } catch {
      throw new KnetlabError('EUSAGE', `${p}: no such file or folder`);
    }
    if (st.isDirectory()) await walk(p, found);
    else found.files.push(p);
  }
  return found;
}

/** Like findScenarioFiles, but a problem met is a KnetlabError (EINVALID) listing them. */
export async function scenarioFiles(paths: readonly string[]): Promise<string[]> {
  const found = await findScenarioFiles(paths);
  if (found.problems.length > 0) throw new KnetlabError('EINVALID', `some files under ${paths.join(' ')} cannot be read`, { problems: found.problems });
  return found.files;
}

const atStart = (file: string, message: string): Problem => ({ code: 'unreadable-file', severity: 'error', message, location: { file, line: 1, col: 1 } });

async function walk(dir: string, found: FoundFiles): Promise<void> {
  let entries;
  try {
    entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1));
  } catch (err) {
    found.problems.push(atStart(dir, `cannot read the folder ${dir}: ${errnoReason(err)}`));
    return;
  }
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== 'node_modules' && !e.name.startsWith('.')) await walk(path, found);
    } else if (/\.ya?ml$/.test(e.name)) {
      const head = await readHead(path);
      if (typeof head !== 'string') found.problems.push(atStart(path, `cannot read ${path}: ${head.reason}`));
      else if (scenarioMark.test(head)) found.files.push(path);
    }
  }
}

/** The first MARK_BYTES of a regular file (followed through links), opened so that nothing can block. */
async function readHead(path: string): Promise<string | { reason: string }> {
  let fd;
  try {
    // Its type first: a FIFO or a device is never opened (O_NONBLOCK covers one swapped in meanwhile).
    if (!(await stat(path)).isFile()) return { reason: 'it is not a regular file' };
    fd = await open(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (err) {
    return { reason: errnoReason(err) };
  }
  try {
    const st = await fd.stat();
    if (!st.isFile()) return { reason: 'it is not a regular file' };
    const buf = Buffer.alloc(MARK_BYTES);
    const { bytesRead } = await fd.read(buf, 0, MARK_BYTES, 0);
    return buf.subarray(0, bytesRead).toString('utf8');
  } catch (err) {
    return { reason: errnoReason(err) };
  } finally {
    await fd.close();
  }
}
