import YAML from 'yaml';
import type { RunEvent, ScenarioResult, StepResult } from '../run/types.js';
import type { Reporter } from './reporter.js';

/** A test point's description: one line, with `\` and `#` escaped as TAP 14 requires. */
function description(s: string): string {
  return oneLine(s).replace(/\\/g, '\\\\').replace(/#/g, '\\#');
}

/** A directive's reason: one line (it runs to the end of the line, so `#` needs no escape). */
function oneLine(s: string): string {
  return s.replace(/\s*[\r\n]+\s*/g, ' ').trim();
}

/** A YAML diagnostic block, indented two spaces more than its test point. */
function yamlBlock(indent: string, data: Record<string, unknown>): string[] {
  const body = YAML.stringify(data, { lineWidth: 0 }).replace(/\n$/, '').split('\n');
  const pad = `${indent}  `;
  return [`${pad}---`, ...body.map((l) => (l ? pad + l : l)), `${pad}...`];
}

function skipPoint(n: number, desc: string, reason: string | null): string {
  const why = reason ? oneLine(reason) : '';
  return `ok ${n} - ${description(desc)} # SKIP${why ? ` ${why}` : ''}`;
}

/** A flows step's cases as a subtest of its test point, one point each (a failed one with what was expected and seen). */
function caseLines(step: StepResult): string[] {
  const cases = step.cases ?? [];
  if (!cases.length) return [];
  const indent = '        ';
  const out = [`    # Subtest: ${oneLine(step.name)}`, `${indent}1..${cases.length}`];
  cases.forEach((c, i) => {
    if (c.status === 'skipped') out.push(indent + skipPoint(i + 1, c.name, c.seen));
    else if (c.status === 'passed') out.push(`${indent}ok ${i + 1} - ${description(c.name)}`);
    else out.push(`${indent}not ok ${i + 1} - ${description(c.name)}`, ...yamlBlock(indent, { expected: c.expected, seen: c.seen, ...(c.trace ? { trace: c.trace } : {}) }));
  });
  return out;
}

function stepLines(step: StepResult, n: number): string[] {
  const indent = '    ';
  if (step.status === 'skipped') return [indent + skipPoint(n, step.name, step.seen || 'not run')];
  if (step.cases?.length) return [...caseLines(step), ...stepPoint(step, n)];
  return stepPoint(step, n);
}

function stepPoint(step: StepResult, n: number): string[] {
  const indent = '    ';
  if (step.status === 'passed') return [`${indent}ok ${n} - ${description(step.name)}`, ...(step.trace ? yamlBlock(indent, { trace: step.trace }) : [])];
  return [
    `${indent}not ok ${n} - ${description(step.name)}`,
    ...yamlBlock(indent, { expected: step.expected, seen: step.seen, ...(step.trace ? { trace: step.trace } : {}), diagnostics: step.diagnostics ?? null }),
  ];
}

/**
 * The TAP 14 document: one test point per scenario (`NAME (FILE)`), its steps as an indented
 * subtest before it; a failing step carries a YAML block with what was expected, what was seen
 * and the diagnostics folder; a skipped scenario is `ok N - NAME (FILE) # SKIP reason`.
 */
export function formatTap(results: readonly ScenarioResult[]): string {
  const out = ['TAP version 14'];
  results.forEach((r, i) => {
    const n = i + 1;
    const desc = `${r.name} (${r.file})`;
    if (r.status === 'skipped') {
      out.push(skipPoint(n, desc, r.reason));
      return;
    }
    if (r.steps.length > 0) {
      out.push(`# Subtest: ${oneLine(desc)}`, `    1..${r.steps.length}`);
      r.steps.forEach((s, j) => out.push(...stepLines(s, j + 1)));
    }
    if (r.status === 'passed') {
      out.push(`ok ${n} - ${description(desc)}`);
    } else {
      out.push(`not ok ${n} - ${description(desc)}`);
      const failed = r.steps.filter((s) => s.status === 'failed').length;
      out.push(...yamlBlock('', { reason: r.reason ?? null, failedSteps: failed, durationMs: Math.round(r.durationMs) }));
    }
  });
  out.push(`1..${results.length}`);
  return `${out.join('\n')}\n`;
}

/** Shows nothing live (tap goes to a pipe): the report is only the final document. */
export class TapReporter implements Reporter {
  event(_e: RunEvent): void {}

  finish(results: ScenarioResult[]): string {
    return formatTap(results);
  }
}
