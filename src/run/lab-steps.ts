// A lab's step (the library's `lab.http(...)`, `lab.step(...)`) is checked as if the scenario's file
// had written it after the lab's earlier steps that changed the cluster: the same reading, references
// and warnings as a step in the file, located in the step itself.
import { LineCounter, parseDocument, type Node } from 'yaml';
import type { Problem } from '../errors.js';
import type { Step } from '../scenario/steps.js';
import { hasErrors, validateScenario, type ValidateOptions } from '../validate.js';

/** The scenario's text with its `steps:` replaced by `steps`, and the lines (from 1) its last step takes there. */
export function withSteps(text: string, steps: readonly unknown[]): { text: string; lines: { first: number; last: number } } {
  const doc = parseDocument(text);
  doc.set('steps', doc.createNode(steps));
  const composed = doc.toString({ lineWidth: 0 });
  const counter = new LineCounter();
  const again = parseDocument(composed, { lineCounter: counter });
  const node = again.getIn(['steps', steps.length - 1], true) as Node | undefined;
  const range = node?.range ?? [0, composed.length, composed.length];
  return { text: composed, lines: { first: counter.linePos(range[0]).line, last: counter.linePos(Math.max(range[0], range[1] - 1)).line } };
}

export type LabStepRead = { ok: true; step: Step; warnings: Problem[] } | { ok: false; problems: Problem[] };

/**
 * Reads `raw` as the scenario's next step after `history` (the lab's earlier steps that changed the
 * cluster). Problems are located in the step as `label:LINE:COL` (its lines as YAML); errors of the
 * scenario as a whole are shown at `label:1:1`.
 */
export async function readLabStep(file: string, text: string, history: readonly unknown[], raw: unknown, label: string, opts: ValidateOptions): Promise<LabStepRead> {
  const composed = withSteps(text, [...history, raw]);
  const v = await validateScenario(file, { ...opts, text: composed.text });
  const { first, last } = composed.lines;
  const inStep = (p: Problem) => p.location !== undefined && p.location.line >= first && p.location.line <= last;
  // Problems elsewhere were reported when the earlier steps ran; only errors (a limit the new step passes) stay.
  const problems = v.problems
    .filter((p) => inStep(p) || p.severity === 'error')
    .map(
      (p): Problem => ({
        ...p,
        // The step is the lab's, not the file's `steps[N]`: its messages name its fields from the step.
        message: p.message.replaceAll(`steps[${history.length}].`, ''),
        location: inStep(p) ? { file: label, line: p.location!.line - first + 1, col: p.location!.col } : { file: label, line: 1, col: 1 },
      }),
    );
  const step = v.scenario?.steps.at(-1);
  if (hasErrors(problems) || !step || step.index !== history.length) return { ok: false, problems };
  return { ok: true, step, warnings: problems };
}
