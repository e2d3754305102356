import { formatDuration } from './duration.js';
import type { Step } from './steps.js';
import { kindOf } from '../steps/kinds/index.js';

/**
 * The longest a step may take as the scenario wrote it: every try of a probe timing out, a
 * sleep's length, an exec's timeout (each kind says, src/steps/kinds/). Actions (apply, patch,
 * scale, ...) wait for nothing the scenario sets, and count 0.
 */
export function stepWorstCaseMs(step: Step): number {
  return kindOf(step).worstCase(step).ms;
}

export function worstCaseMs(steps: readonly Step[]): number {
  return steps.reduce((sum, s) => sum + stepWorstCaseMs(s), 0);
}

/** `steps[3] (sleep 1h), steps[7] (1000 tries of 5s)`: the steps that weigh most, for a message. */
export function heaviestSteps(steps: readonly Step[], n = 3): string {
  const what = (s: Step): string => {
    const w = kindOf(s).worstCase(s);
    return w.as ?? `${s.kind} ${formatDuration(w.ms)}`;
  };
  return [...steps]
    .filter((s) => stepWorstCaseMs(s) > 0)
    .sort((a, b) => stepWorstCaseMs(b) - stepWorstCaseMs(a) || a.index - b.index)
    .slice(0, n)
    .map((s) => `steps[${s.index}] ${what(s)}`)
    .join(', ');
}
