import type { ScenarioResult } from './types.js';

const EXPECT_IN = / \[expectIn\.\w+\]$/;
const SKIPPED_IN_MODE = /^not run under kube-proxy's \w+ mode/;

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
      if (ran.some(([, r]) => r.steps[s]?.status === 'skipped' && SKIPPED_IN_MODE.test(r.steps[s]!.seen))) continue;
      if (new Set(ran.map(([, r]) => r.steps[s]?.status)).size > 1) out.push(`${file}: step ${s + 1} (${ran[0]![1].steps[s]?.name ?? '?'}) differs between modes: ${outcomes.join('; ')}`);
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
      if (!per.some(([, st]) => st && (EXPECT_IN.test(st.name) || (st.status === 'skipped' && SKIPPED_IN_MODE.test(st.seen))))) continue;
      const name = per.find(([, st]) => st)?.[1]?.name.replace(EXPECT_IN, '') ?? '?';
      const expects = per.map(([, st]) => (!st ? 'missing' : st.status === 'skipped' ? 'not run' : st.expected));
      if (new Set(expects).size < 2) continue; // the modes that ran expect the same
      const what = per.map(([mode], k) => `${mode}: ${expects[k]}`);
      out.push(`${file}: step ${s + 1} (${name}) differs by design (expectIn): ${what.join('; ')}`);
    }
  });
  return out;
}
