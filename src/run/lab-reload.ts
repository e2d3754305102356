// A held scenario's file edited: the new text checked as a whole, its objects brought to the live
// cluster (apply and delete, as the action steps do), then its steps run as `run` runs them.
import { join } from 'node:path';
import { applyDiff, diffObjects, fixedChanges, objectName } from '../cluster/reload.js';
import type { Model } from '../cluster/types.js';
import { KnetlabError } from '../errors.js';
import { Problems } from '../scenario/problems.js';
import { kindOf } from '../steps/kinds/index.js';
import { hasErrors, validateScenario, type ValidateOptions } from '../validate.js';
import { commitModel, placesNetns, runSteps, type Live } from './scenario.js';
import type { ReloadOutcome, RunEvent, SandboxConfig, StepResult } from './types.js';

/** What the lab keeps after a reload: the model later reloads compare machines with, and the text and steps later lab steps are checked after. */
export interface Reloaded {
  outcome: ReloadOutcome;
  base: Model;
  text: string;
  /** The file's steps (as written) that changed the cluster and passed. */
  history: unknown[];
}

/**
 * Reloads `text` as the held scenario `name` (built as `base`): invalid, or changing what is built
 * once (cluster, nodes, hosts, its name), it throws and nothing changes. `run` numbers the reload
 * (its failed steps' diagnostics go to `reload-N/` of the run's folder).
 */
export async function reloadLab(
  live: Live,
  config: SandboxConfig,
  held: { name: string; base: Model },
  text: unknown,
  opts: ValidateOptions,
  run: number,
  emit: (e: RunEvent) => void,
): Promise<Reloaded> {
  const t0 = performance.now();
  if (typeof text !== 'string') throw new KnetlabError('EUSAGE', "a reload gives the scenario file's text as a string");
  const v = await validateScenario(config.file, { ...opts, text });
  const kept = `nothing was changed, ${held.name} stays up as it was`;
  if (hasErrors(v.problems) || !v.model || !v.scenario) {
    const errors = v.problems.filter((p) => p.severity === 'error').length;
    throw new KnetlabError('EINVALID', `the edited scenario is not valid (${errors} error${errors === 1 ? '' : 's'}); ${kept}`, { problems: v.problems });
  }
  const fixed = fixedChanges(held.base, v.model);
  if (v.scenario.name !== held.name) fixed.unshift(`metadata.name (${held.name} -> ${v.scenario.name})`);
  if (fixed.length)
    throw new KnetlabError(
      'EUSAGE',
      `${fixed.join(', ')} changed, which a live cluster cannot follow (its namespaces, devices and addresses are built once): end it and run \`knetlab up\` again; ${kept}`,
    );
  const diff = diffObjects(live.model.objects, v.model.objects);
  const problems = new Problems();
  const r = applyDiff(live.model, diff, problems);
  const errors = problems.list.filter((p) => p.severity === 'error').map((p) => p.message);
  if (!r.ok || errors.length) throw new KnetlabError('ESTEP', `the edited objects cannot be applied (${r.ok ? errors.join('; ') : r.reason}); ${kept}`);
  await commitModel(live, r.model);
  // Each reload's failed steps get diagnostics of their own; --trace named the first build's steps.
  const { traceSteps: _first, ...rest } = config;
  const steps: StepResult[] = [];
  const failed = await runSteps(live, v.scenario.steps, { ...rest, diagnosticsDir: join(config.diagnosticsDir, `reload-${run}`) }, emit, steps);
  const raw = (v.scenario.origin.doc.value() as { steps?: unknown }).steps;
  const written = Array.isArray(raw) ? raw : [];
  return {
    outcome: {
      applied: diff.apply.map(objectName),
      deleted: diff.delete.map(objectName),
      steps,
      status: failed ? 'failed' : 'passed',
      reason: failed ? `step "${failed.name}" failed: expected ${failed.expected}; saw ${failed.seen}` : null,
      warnings: v.problems,
      netns: placesNetns(live.model),
      durationMs: Math.round(performance.now() - t0),
    },
    base: v.model,
    text,
    history: steps.filter((s) => s.status === 'passed' && kindOf(v.scenario!.steps[s.index]!).changesModel).map((s) => written[s.index]),
  };
}
