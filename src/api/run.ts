// The library's runs: the same validation and runner as `knetlab validate` and `knetlab run`.
import { formatProblem, KnetlabError, type Problem } from '../errors.js';
import { checkedNetwork, checkedProxyMode, checkedVersion, validationOptions } from '../run/options.js';
import type { RunOptions } from '../run/runner.js';
import type { ScenarioResult, StepResult } from '../run/types.js';
import { hasErrors, scenarioFiles, validateScenario, type ValidateOptions } from '../validate.js';
import type { RunScenarioOptions, RunScenariosOptions, ScenarioReport, StepReport } from './types.js';

/** A report's tries with the words expectations use: sourceIp and backend. */
export function stepReport(s: StepResult): StepReport {
  return { ...s, tries: s.tries.map((t) => ({ ...t, ...(t.source ? { sourceIp: t.source } : {}), ...(t.server ? { backend: t.server } : {}) })) };
}

export function scenarioReport(r: ScenarioResult, warnings: Problem[]): ScenarioReport {
  return { ...r, steps: r.steps.map(stepReport), warnings };
}

/** The options checked as the command line checks its flags (a wrong one is a KnetlabError EUSAGE). */
export async function checkedOptions(opts: RunScenarioOptions): Promise<{ validation: ValidateOptions; run: Omit<RunOptions, 'jobs' | 'onEvent'> }> {
  const validation: ValidateOptions = {
    ...(await validationOptions(opts.allowPaths ?? [], opts.timeout, { timeout: 'timeout' })),
    ...(opts.network !== undefined ? { network: checkedNetwork(opts.network, 'network') } : {}),
  };
  const proxyMode = opts.proxyMode !== undefined ? checkedProxyMode(opts.proxyMode, 'proxyMode') : undefined;
  const kubernetesVersion = opts.kubernetesVersion !== undefined ? checkedVersion(opts.kubernetesVersion, 'kubernetesVersion') : undefined;
  const overrides = { ...(proxyMode ? { proxyMode } : {}), ...(kubernetesVersion ? { kubernetesVersion } : {}) };
  return {
    validation: { ...validation, overrides },
    run: {
      diagnosticsRoot: opts.diagnosticsDir ?? 'knetlab-diagnostics',
      artifactsRoot: opts.artifactsDir ?? 'knetlab-artifacts',
      validation,
      ...overrides,
      ...(opts.signal ? { signal: opts.signal } : {}),
    },
  };
}

/** A scenario file's problems, or a KnetlabError EINVALID listing every error (nothing is built then). */
export async function checkedScenario(file: string, validation: ValidateOptions): Promise<Problem[]> {
  const v = await validateScenario(file, validation);
  if (hasErrors(v.problems) || !v.scenario) {
    const errors = v.problems.filter((p) => p.severity === 'error');
    throw new KnetlabError('EINVALID', `${file} is not a valid scenario; nothing was built:\n${errors.map(formatProblem).join('\n')}`, { problems: v.problems });
  }
  return v.problems;
}

/** Checks a scenario file as `knetlab validate` does: every problem (errors and warnings), each with its code and FILE:LINE:COL. */
export async function validate(file: string, opts: Pick<RunScenarioOptions, 'allowPaths' | 'timeout' | 'network' | 'proxyMode' | 'kubernetesVersion'> = {}) {
  const { validation } = await checkedOptions(opts);
  const v = await validateScenario(file, validation);
  return { valid: !hasErrors(v.problems), problems: v.problems };
}

/** Builds and runs one scenario file in a sandbox of its own, as `knetlab run FILE` does, and reports it. */
export async function runScenario(file: string, opts: RunScenarioOptions = {}): Promise<ScenarioReport> {
  const [report] = await runScenarios([file], opts);
  return report!;
}

/** Runs scenario files (or every scenario under a folder), `jobs` at once; reports in file order. Every file is checked first: one invalid, and nothing runs. */
export async function runScenarios(paths: readonly string[], opts: RunScenariosOptions = {}): Promise<ScenarioReport[]> {
  const jobs = opts.jobs ?? 1;
  if (!Number.isInteger(jobs) || jobs < 1) throw new KnetlabError('EUSAGE', `jobs must be a whole number from 1, got ${jobs}`);
  const { validation, run } = await checkedOptions(opts);
  const files = await scenarioFiles(paths);
  if (files.length === 0) throw new KnetlabError('EUSAGE', `no scenario files in ${paths.join(' ')}`);
  const warnings = new Map<string, Problem[]>();
  for (const f of files) warnings.set(f, await checkedScenario(f, validation));
  const { runFiles } = await import('../run/runner.js');
  const results = await runFiles(files, { ...run, jobs, onEvent: opts.onEvent ?? (() => undefined) });
  return results.map((r) => scenarioReport(r, warnings.get(r.file) ?? []));
}
