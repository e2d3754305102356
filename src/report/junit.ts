import type { CaseResult, RunEvent, ScenarioResult, StepResult } from '../run/types.js';
import type { Reporter } from './reporter.js';

/** Characters XML 1.0 does not allow at all (most C0 controls, lone surrogates, U+FFFE/U+FFFF). */
const invalidXml = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Text content: `&`, `<` and `>` escaped (so `]]>` cannot occur), invalid characters replaced. */
export function xmlText(s: string): string {
  return s.replace(invalidXml, '\uFFFD').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** An attribute value in double quotes: also `"`, `'` and the whitespace that parsers would normalize. */
export function xmlAttr(s: string): string {
  return xmlText(s).replace(/"/g, '&quot;').replace(/'/g, '&apos;').replace(/\n/g, '&#10;').replace(/\r/g, '&#13;').replace(/\t/g, '&#9;');
}

function attrs(a: Record<string, string | number>): string {
  return Object.entries(a)
    .map(([k, v]) => ` ${k}="${xmlAttr(String(v))}"`)
    .join('');
}

function seconds(ms: number): string {
  return (Math.max(0, ms) / 1000).toFixed(3);
}

interface Case {
  name: string;
  timeMs: number;
  failure?: { message: string; body: string };
  skipped?: string;
  /** A passed step's traced try (trace: true), as the case's system-out. */
  output?: string;
}

function stepCase(s: StepResult): Case {
  const c: Case = { name: s.name, timeMs: s.durationMs };
  if (s.status === 'failed') {
    const lines = [`expected: ${s.expected}`, `seen: ${s.seen}`];
    for (const line of s.trace ?? []) lines.push(`why: ${line}`);
    if (s.diagnostics) lines.push(`diagnostics: ${s.diagnostics}`);
    c.failure = { message: `expected ${s.expected}; seen ${s.seen}`, body: lines.join('\n') };
  } else if (s.status === 'skipped') {
    c.skipped = s.seen || 'not run';
  } else if (s.trace) c.output = s.trace.join('\n');
  return c;
}

/** A flows step's case: a test case of its own, named after its step. */
function flowCase(s: StepResult, c: CaseResult): Case {
  const out: Case = { name: `${s.name}: ${c.name}`, timeMs: c.durationMs };
  if (c.status === 'failed') {
    const lines = [`expected: ${c.expected}`, `seen: ${c.seen}`, ...(c.trace ?? []).map((l) => `why: ${l}`), ...(s.diagnostics ? [`diagnostics: ${s.diagnostics}`] : [])];
    out.failure = { message: `expected ${c.expected}; seen ${c.seen}`, body: lines.join('\n') };
  } else if (c.status === 'skipped') out.skipped = c.seen;
  return out;
}

/** The test cases of a scenario: its steps, or the scenario itself when no step carries its outcome. */
function casesOf(r: ScenarioResult): Case[] {
  const reason = r.reason ?? '';
  if (r.status === 'skipped') {
    // A skipped scenario ran nothing: every step (or the scenario, when it lists none) is skipped.
    const names = r.steps.length ? r.steps.map((s) => s.name) : [r.name];
    return names.map((name) => ({ name, timeMs: 0, skipped: reason || 'skipped' }));
  }
  const cases = r.steps.flatMap((s) => (s.status !== 'skipped' && s.cases?.length ? s.cases.map((c) => flowCase(s, c)) : [stepCase(s)]));
  if (r.status === 'failed' && !cases.some((c) => c.failure)) {
    // Failed outside any step (e.g. while building the topology): the scenario is the failing case.
    const message = reason || 'failed';
    cases.push({ name: r.name, timeMs: r.durationMs, failure: { message, body: message } });
  }
  return cases;
}

/**
 * A JUnit XML document: one `<testsuite>` per scenario (name, file, tests, failures, skipped,
 * time in seconds), one `<testcase>` per step; a failing step holds `<failure message="...">`
 * with what was expected, what was seen and the diagnostics folder; a skipped scenario's cases
 * hold `<skipped message="reason"/>`.
 */
export function formatJunit(results: readonly ScenarioResult[]): string {
  const suites = results.map((r) => ({ r, cases: casesOf(r) }));
  const count = (cases: Case[], f: (c: Case) => boolean) => cases.filter(f).length;
  const all = suites.flatMap((s) => s.cases);
  const out = ['<?xml version="1.0" encoding="UTF-8"?>'];
  out.push(
    `<testsuites${attrs({
      name: 'knetlab',
      tests: all.length,
      failures: count(all, (c) => !!c.failure),
      errors: 0,
      skipped: count(all, (c) => c.skipped !== undefined),
      time: seconds(results.reduce((t, r) => t + r.durationMs, 0)),
    })}>`,
  );
  for (const { r, cases } of suites) {
    const suite = attrs({
      name: r.name,
      file: r.file,
      tests: cases.length,
      failures: count(cases, (c) => !!c.failure),
      errors: 0,
      skipped: count(cases, (c) => c.skipped !== undefined),
      time: seconds(r.durationMs),
    });
    if (cases.length === 0) {
      out.push(`  <testsuite${suite}/>`);
      continue;
    }
    out.push(`  <testsuite${suite}>`);
    if (r.reason) out.push(`    <properties>`, `      <property${attrs({ name: 'reason', value: r.reason })}/>`, `    </properties>`);
    for (const c of cases) {
      const head = `    <testcase${attrs({ name: c.name, classname: r.name, file: r.file, time: seconds(c.timeMs) })}`;
      if (c.failure) {
        out.push(`${head}>`);
        out.push(`      <failure${attrs({ message: c.failure.message, type: 'AssertionError' })}>${xmlText(c.failure.body)}</failure>`);
        out.push('    </testcase>');
      } else if (c.skipped !== undefined) {
        out.push(`${head}>`, `      <skipped${attrs({ message: c.skipped })}/>`, '    </testcase>');
      } else if (c.output !== undefined) {
        out.push(`${head}>`, `      <system-out>${xmlText(c.output)}</system-out>`, '    </testcase>');
      } else {
        out.push(`${head}/>`);
      }
    }
    out.push('  </testsuite>');
  }
  out.push('</testsuites>');
  return `${out.join('\n')}\n`;
}

/** Shows nothing live: the report is only the final document. */
export class JunitReporter implements Reporter {
  event(_e: RunEvent): void {}

  finish(results: ScenarioResult[]): string {
    return formatJunit(results);
  }
}
