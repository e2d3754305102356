import type { ScenarioResult } from './types.js';

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
      if (new Set(ran.map(([, r]) => r.steps[s]?.status)).size > 1) out.push(`${file}: step ${s + 1} (${ran[0]![1].steps[s]?.name ?? '?'}) differs between modes: ${outcomes.join('; ')}`);
    }
  });
  return out;
}
