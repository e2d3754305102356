// docs/trace.md keeps working as written: every scenario its commands name exists and is valid, every
// `--trace N` names a step that can be traced, every `knetlab trace FROM TO` resolves in the scenario
// held before it, its links lead somewhere, and the README and ARCHITECTURE.md link to it.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import t from 'tap';
import type { Model } from '../src/cluster/types.js';
import { resolveSource, resolveTarget } from '../src/cluster/resolve.js';
import { formatProblem } from '../src/errors.js';
import { parseSource, parseTarget } from '../src/scenario/refs.js';
import { tracedKinds } from '../src/scenario/steps.js';
import { validateScenario } from '../src/validate.js';

const page = 'docs/trace.md';
const text = readFileSync(page, 'utf8');
/** The commands the page shows, as typed after `$ `. */
const commands = [...text.matchAll(/^\s*\$ (knetlab .*)$/gm)].map((m) => m[1]!.replace(/\s+#.*$/, '').replace(/\s*\|.*$/, ''));
const fileOf = (cmd: string) => /\s((?:scenarios|docs\/examples)\/[\w./-]+\.yaml)\b/.exec(cmd)?.[1];

t.test('the page shows knetlab up, trace, run --trace and a failed example', async (t) => {
  for (const start of ['knetlab up ', 'knetlab trace ', 'knetlab run '])
    t.ok(
      commands.some((c) => c.startsWith(start)),
      `a \`${start.trim()}\` command`,
    );
  t.ok(
    commands.some((c) => / --trace \d+ /.test(c)),
    'a --trace STEP',
  );
  t.ok(
    commands.some((c) => c.includes('docs/examples/')),
    'an example that fails on purpose',
  );
});

t.test("every scenario the page's commands name exists and is valid", async (t) => {
  const files = [...new Set(commands.map(fileOf).filter((f): f is string => f !== undefined))];
  t.ok(files.length >= 3, `the commands name ${files.join(', ')}`);
  for (const file of files) {
    t.ok(existsSync(file), `${file} exists`);
    const v = await validateScenario(file);
    t.same(v.problems.filter((p) => p.severity === 'error').map(formatProblem), [], `${file} is valid`);
  }
});

t.test('every --trace N names a step that sends a probe', async (t) => {
  for (const cmd of commands.filter((c) => / --trace \d+ /.test(c))) {
    const n = Number(/ --trace (\d+) /.exec(cmd)![1]);
    const v = await validateScenario(fileOf(cmd)!);
    const step = v.scenario?.steps[n - 1];
    t.ok(step && (tracedKinds as readonly string[]).includes(step.kind), `${cmd}: step ${n} is a ${step?.kind ?? 'missing'} step`);
  }
});

t.test('every knetlab trace FROM TO resolves in the scenario held before it', async (t) => {
  let held: Model | undefined;
  let traces = 0;
  for (const cmd of commands) {
    if (cmd.startsWith('knetlab up ')) held = (await validateScenario(fileOf(cmd)!)).model;
    if (!cmd.startsWith('knetlab trace ')) continue;
    traces++;
    const [from, to] = cmd.split(/\s+/).slice(2);
    if (!held) throw new Error(`${cmd}: no knetlab up before it`);
    const src = parseSource(from!);
    const dst = parseTarget(to!);
    t.ok(src.ok && resolveSource(held, src.value).ok, `${cmd}: ${from} is a place of the held scenario`);
    t.ok(dst.ok && resolveTarget(held, dst.value, 'TCP').ok, `${cmd}: ${to} is a target of the held scenario`);
  }
  t.ok(traces >= 2, `${traces} knetlab trace commands`);
});

t.test("the page's links lead to files, and the README and ARCHITECTURE.md link to the page", async (t) => {
  for (const link of text.matchAll(/\]\(([^)#:]+)\)/g)) t.ok(existsSync(join(dirname(page), link[1]!)), `link ${link[1]} exists`);
  t.match(readFileSync('README.md', 'utf8'), /\]\(docs\/trace\.md\)/, 'README links docs/trace.md');
  t.match(readFileSync('docs/ARCHITECTURE.md', 'utf8'), /\]\(trace\.md\)/, 'ARCHITECTURE.md links trace.md');
});
