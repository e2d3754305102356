import { variantSuffix } from '../scenario/steps.js';
import type { ScenarioResult, StepResult } from './types.js';

/** Not run in this mode by the scenario's own choice (its expectIn says skip). */
const skippedInMode = (st: StepResult | undefined): boolean => st?.skip?.because === 'mode';
/** The step's name without the ` [expectIn.MODE]` its variant adds. */
const plainName = (st: StepResult): string => (st.variant ? st.name.slice(0, st.name.length - variantSuffix(st.variant).length) : st.name);

/**
 * Steps whose outcome differs between kube-proxy modes (modes that skipped a scenario are left
 * out), each with its outcome beside the mode.
 */
export function crossModeDifferences(files: readonly string[], byMode: Map<string, ScenarioResult[]>): string[] {
  const out: string[] = [];
  files.forEach((file, i) => {
    const ran = [...byMode].map(([mode, rs]) => [mode, rs[i]!] as const).filter(([, r]) => r.status !== 'skipped');
    if (ran.length < 2) return;
    const steps = Math.max(...ran.map(([, r]) => r.steps.length));
    for (let s = 0; s < steps; s++) {
      const outcomes = ran.map(([mode, r]) => `${mode}: ${r.steps[s]?.status ?? 'missing'}${r.steps[s]?.status === 'failed' ? ` (saw ${r.steps[s]!.seen})` : ''}`);
      // A step the scenario does not run in some mode (expectIn: skip) differs by design: declaredDifferences lists it.
      if (ran.some(([, r]) => skippedInMode(r.steps[s]))) continue;
      if (new Set(ran.map(([, r]) => r.steps[s]?.status)).size > 1)
        out.push(`${file}: step ${s + 1} (${ran[0]![1].steps[s]?.name ?? '?'}) differs between modes: ${outcomes.join('; ')}`);
    }
  });
  return out;
}

/**
 * Steps whose scenario declares that modes differ (an expectIn, or a skip in some mode), each with
 * what every mode expected: differences by design, shown beside the ones found.
 */
export function declaredDifferences(files: readonly string[], byMode: Map<string, ScenarioResult[]>): string[] {
  const out: string[] = [];
  files.forEach((file, i) => {
    const ran = [...byMode].map(([mode, rs]) => [mode, rs[i]!] as const).filter(([, r]) => r.status !== 'skipped');
    if (ran.length < 2) return;
    const steps = Math.max(...ran.map(([, r]) => r.steps.length));
    for (let s = 0; s < steps; s++) {
      const per = ran.map(([mode, r]) => [mode, r.steps[s]] as const);
      if (!per.some(([, st]) => st && (st.variant !== null || skippedInMode(st)))) continue;
      const first = per.find(([, st]) => st)?.[1];
      const name = first ? plainName(first) : '?';
      const expects = per.map(([, st]) => (!st ? 'missing' : st.status === 'skipped' ? 'not run' : st.expected));
      if (new Set(expects).size < 2) continue; // the modes that ran expect the same
      const what = per.map(([mode], k) => `${mode}: ${expects[k]}`);
      out.push(`${file}: step ${s + 1} (${name}) differs by design (expectIn): ${what.join('; ')}`);
    }
  });
  return out;
}
