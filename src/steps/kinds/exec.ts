import { z } from 'zod';
import { resolveCommandRef, resolveWord, wordRefs } from '../../cluster/command-words.js';
import { resolveSource } from '../../cluster/resolve.js';
import { parseWord, type CommandRef, type CommandWord } from '../../scenario/command-words.js';
import { formatDuration, parseDuration } from '../../scenario/duration.js';
import { MAX_EXEC_TIMEOUT_MS } from '../../scenario/limits.js';
import type { SourceRef } from '../../scenario/refs.js';
import { NO_NUL, noNul, ref, timeoutUpTo } from '../../scenario/schema.js';
import { originAt } from '../../scenario/source.js';
import { stepKind } from '../kind.js';
import { judgeExec } from '../judge.js';
import { must, placeNetns } from '../run.js';
import { placeText, readPlace } from './probe.js';

export interface ExecSpec {
  on: SourceRef;
  /** As written (names in reports). */
  command: string[];
  /** Its words with their `{{REF}}` parsed, which run and plan replace by addresses. */
  words: CommandWord[];
  timeoutMs: number;
  expect: { exitCode?: number; stdoutMatches?: string; stderrMatches?: string };
}

/** What a reference names, for "steps[N] removed it" when it names nothing any more. */
function refNamed(r: CommandRef): { kind: string; name?: string; namespace?: string } | undefined {
  const ref = r.ref;
  if (ref.kind === 'ip' || ref.kind === 'url' || ref.kind === 'name') return undefined;
  return { kind: ref.kind, name: ref.name, ...('namespace' in ref && ref.namespace ? { namespace: ref.namespace } : {}) };
}

/** `exec`: a command (argv) in a place's namespace, judged by its exit status and output. */
export const exec = stepKind<'exec', ExecSpec>()({
  // Numbers in a command (`[ping, -c, 1, ...]`) are the words they were written as.
  body: z.strictObject({
    on: ref,
    command: z.array(z.union([z.string(), z.number(), z.boolean()], { error: 'to be a word of the command' }).transform(String).refine(noNul, { error: NO_NUL })).min(1),
    timeout: timeoutUpTo(MAX_EXEC_TIMEOUT_MS).optional(),
  }),
  expect: z.strictObject({ exitCode: z.number().int().min(0).max(255).optional(), stdoutMatches: z.string().optional(), stderrMatches: z.string().optional() }),
  changesModel: false,
  answeredByEndpoint: false,
  read(r) {
    const on = readPlace(r, 'exec', 'on');
    const e = r.expect ?? {};
    for (const k of ['stdoutMatches', 'stderrMatches'] as const) {
      const v = e[k];
      if (typeof v !== 'string') continue;
      try {
        new RegExp(v);
      } catch (err) {
        r.problems.error(
          'bad-regex',
          r.expectAt(k),
          `\`${r.exWhere}.${k}\` is not a valid regular expression: ${(err as Error).message.replace(/^Invalid regular expression: /, '')}`,
        );
        return undefined;
      }
    }
    const words: CommandWord[] = [];
    r.body.command.forEach((w, i) => {
      const p = parseWord(w);
      if (p.ok) words.push(p.value);
      else r.problems.error(p.code, originAt(r.field('command'), i), `\`${r.where}.exec.command[${i}]\`: ${p.reason}`);
    });
    if (!on || words.length < r.body.command.length) return undefined;
    return {
      on,
      command: r.body.command,
      words,
      timeoutMs: parseDuration(r.body.timeout) ?? 30_000,
      expect: {
        ...(e.exitCode !== undefined ? { exitCode: e.exitCode } : e.stdoutMatches === undefined && e.stderrMatches === undefined ? { exitCode: 0 } : {}),
        ...(e.stdoutMatches !== undefined ? { stdoutMatches: e.stdoutMatches } : {}),
        ...(e.stderrMatches !== undefined ? { stderrMatches: e.stderrMatches } : {}),
      },
    };
  },
  check(step, c) {
    c.need(resolveSource(c.model, step.on), c.field('on'), `${c.where}.exec.on`, step.on);
    step.words.forEach((w, i) => {
      for (const p of wordRefs(w)) c.need(resolveCommandRef(c.model, p.ref), originAt(c.field('command'), i), `${c.where}.exec.command[${i}]`, refNamed(p.ref));
    });
  },
  plan(step, m) {
    const e = step.expect;
    const expect = [
      ...(e.exitCode !== undefined ? [`exit ${e.exitCode}`] : []),
      ...(e.stdoutMatches ? [`stdout ~ /${e.stdoutMatches}/`] : []),
      ...(e.stderrMatches ? [`stderr ~ /${e.stderrMatches}/`] : []),
    ];
    // The command as it will run: each reference replaced by its address in the model at this step.
    const argv = step.words.map((w, i) => {
      const r = resolveWord(m, w);
      return r.ok ? r.value : step.command[i]!;
    });
    return { from: placeText(m, step.on), to: argv.join(' '), expect };
  },
  async run(step, c) {
    // Loaded when a step runs: validate and plan do not load the process-running code (execa).
    const { confined, inNetns } = await import('../../kernel/exec.js');
    const on = must(resolveSource(c.model, step.on));
    const argv = step.words.map((w) => must(resolveWord(c.model, w)));
    const r = await c.runner.run(inNetns(placeNetns(on), confined(argv)), { reject: false, timeoutMs: step.timeoutMs });
    return judgeExec(r, step.expect);
  },
  describe: (step) => `exec on ${step.on.kind}/${step.on.name}: ${step.command.join(' ')}`,
  worstCase: (step) => ({ ms: step.timeoutMs, as: `exec timeout ${formatDuration(step.timeoutMs)}` }),
});
