// What the action kinds (apply, patch, delete, scale) share when they run.
import type { ActionResult } from '../../cluster/actions.js';
import { Problems } from '../../scenario/problems.js';
import type { RunContext } from '../kind.js';
import type { Judged } from '../judge.js';

/** Runs an action: the model it leads to, brought to the kernel; refused with its problems otherwise. */
export async function runAction(kind: string, c: RunContext, act: (problems: Problems) => ActionResult): Promise<Judged> {
  const problems = new Problems();
  const r = act(problems);
  const errors = problems.list.filter((p) => p.severity === 'error').map((p) => p.message);
  if (!r.ok || errors.length) return { passed: false, expected: `${kind} is accepted`, seen: r.ok ? errors.join('; ') : r.reason, tries: [] };
  await c.commit(r.model);
  return { passed: true, expected: `${kind} is accepted`, seen: 'applied', tries: [] };
}

export const noPlace = { from: '', expect: [] as string[] };
export const noWait = () => ({ ms: 0 });
