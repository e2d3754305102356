import type { CaseResult, RunEvent, ScenarioResult, StepResult } from '../run/types.js';
import type { Reporter, ReporterOptions } from './reporter.js';

/** `312ms`, `1.2s`, `2m05s`. */
export function formatDuration(ms: number): string {
  const r = Math.max(0, Math.round(ms));
  if (r < 1000) return `${r}ms`;
  if (r < 59_950) return `${(r / 1000).toFixed(1)}s`;
  const s = Math.round(r / 1000);
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

type Style = 'bold' | 'dim' | 'red' | 'green' | 'yellow' | 'cyan';
const ansi: Record<Style, [number, number]> = {
  bold: [1, 22],
  dim: [2, 22],
  red: [31, 39],
  green: [32, 39],
  yellow: [33, 39],
  cyan: [36, 39],
};

type Paint = (style: Style, text: string) => string;

function painter(color: boolean): Paint {
  if (!color) return (_style, text) => text;
  return (style, text) => {
    const [open, close] = ansi[style];
    return text ? `\x1b[${open}m${text}\x1b[${close}m` : text;
  };
}

const mark = { passed: '✓', failed: '✗', skipped: '-' } as const;
const markStyle = { passed: 'green', failed: 'red', skipped: 'yellow' } as const;

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** `label value`, continuation lines of a multi-line value aligned under its first line. */
function labelled(indent: string, label: string, value: string, paint: Paint, style?: Style): string[] {
  const [first = '', ...rest] = value.split(/\r?\n/).map((l) => (style ? paint(style, l) : l));
  const pad = ' '.repeat(label.length);
  return [`${indent}${paint('dim', label)}${first}`, ...rest.map((l) => `${indent}${pad}${l}`)];
}

export function stepLines(s: StepResult, paint: Paint): string[] {
  const head = `  ${paint(markStyle[s.status], mark[s.status])} ${s.name}`;
  if (s.status === 'skipped') return [`${head} ${paint('dim', '(not run)')}`];
  const lines = [`${head} ${paint('dim', `(${formatDuration(s.durationMs)})`)}`];
  if (s.status === 'failed') {
    const indent = '      ';
    lines.push(...labelled(indent, 'expected:    ', s.expected, paint));
    lines.push(...labelled(indent, 'seen:        ', s.seen, paint, 'red'));
    for (const line of s.trace ?? []) lines.push(`${indent}${paint('dim', 'why: ')}${line}`);
    if (s.diagnostics) lines.push(`${indent}${paint('dim', 'diagnostics: ')}${s.diagnostics}`);
  } else for (const line of s.trace ?? []) lines.push(`      ${paint('dim', 'trace: ')}${line}`); // asked for with trace: true
  for (const c of s.cases ?? []) lines.push(...caseLines(c, paint));
  return lines;
}

/** A flows step's case: a row under its step, a failed one with what was expected and seen and why. */
function caseLines(c: CaseResult, paint: Paint): string[] {
  const head = `      ${paint(markStyle[c.status], mark[c.status])} ${c.name}`;
  if (c.status === 'skipped') return [`${head} ${paint('dim', `(${c.seen})`)}`];
  if (c.status === 'passed') return [`${head} ${paint('dim', c.seen)}`];
  const indent = '          ';
  return [
    head,
    ...labelled(indent, 'expected: ', c.expected, paint),
    ...labelled(indent, 'seen:     ', c.seen, paint, 'red'),
    ...(c.trace ?? []).map((line) => `${indent}${paint('dim', 'why: ')}${line}`),
  ];
}

/** Why a scenario failed, in one line: its reason, or else its first failing step. */
function failureReason(r: ScenarioResult): string {
  if (r.reason) return r.reason;
  const step = r.steps.find((s) => s.status === 'failed');
  return step ? `step \`${step.name}\` failed: ${step.seen}` : 'failed';
}

function scenarioLabel(r: { name: string; file: string }, paint: Paint): string {
  return `${paint('bold', r.name)} ${paint('dim', `(${r.file})`)}`;
}

/** The line (and reason) that closes a scenario in the live output. */
export function scenarioEndLines(r: ScenarioResult, paint: Paint): string[] {
  const head = `${paint(markStyle[r.status], mark[r.status])} ${scenarioLabel(r, paint)}`;
  const time = formatDuration(r.durationMs);
  switch (r.status) {
    case 'passed':
      return [`${head} ${paint('green', 'passed')}: ${plural(r.steps.length, 'step')} in ${time}`];
    case 'failed': {
      const failed = r.steps.filter((s) => s.status === 'failed').length;
      const lines = [`${head} ${paint('red', 'failed')}: ${failed} of ${plural(r.steps.length, 'step')} failed in ${time}`];
      if (r.reason) lines.push(...labelled('  ', 'reason: ', r.reason, paint));
      return lines;
    }
    case 'skipped':
      return [`${head} ${paint('yellow', 'skipped')}: ${r.reason ?? 'no reason given'}`];
  }
}

/** `N passed, N failed, N skipped (TIME)`, then one line per failed or skipped scenario with its reason. */
export function formatSummary(results: readonly ScenarioResult[], wallMs: number, color = false): string {
  const paint = painter(color);
  const n = (status: ScenarioResult['status']) => results.filter((r) => r.status === status).length;
  const count = (k: number, word: string, style: Style) => (k > 0 ? paint(style, `${k} ${word}`) : `${k} ${word}`);
  const lines = [
    `${count(n('passed'), 'passed', 'green')}, ${count(n('failed'), 'failed', 'red')}, ${count(n('skipped'), 'skipped', 'yellow')} ${paint('dim', `(${formatDuration(wallMs)})`)}`,
  ];
  for (const r of results) {
    if (r.status === 'passed') continue;
    const why = r.status === 'failed' ? failureReason(r) : (r.reason ?? 'no reason given');
    lines.push(`  ${paint(markStyle[r.status], mark[r.status])} ${scenarioLabel(r, paint)}: ${why.replace(/\s*\n\s*/g, ' ')}`);
  }
  return `${lines.join('\n')}\n`;
}

interface Running {
  name: string;
  file: string;
  startedAt: number;
  step: string | null;
}

const spinner = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const clearLine = '\r\x1b[2K';

function truncate(s: string, width: number): string {
  const chars = Array.from(s);
  return chars.length <= width ? s : `${chars.slice(0, Math.max(0, width - 1)).join('')}…`;
}

/**
 * For a terminal: a line when a scenario starts, its phases with their timings, each step as it
 * ends (a failed one with what was expected, what was seen and its diagnostics folder), and a
 * closing line per scenario. Scenarios run in parallel, so when a line belongs to another
 * scenario than the line above it, a `↳ NAME (FILE)` line says whose it is. With `live`, a
 * status line of the running scenarios stays at the bottom and is redrawn in place; without
 * it, no cursor movement at all. The final text is the summary.
 */
export class PrettyReporter implements Reporter {
  readonly #stream: NodeJS.WritableStream;
  readonly #live: boolean;
  readonly #paint: Paint;
  readonly #color: boolean;
  readonly #now: () => number;
  readonly #startedAt: number;
  readonly #running = new Map<string, Running>();
  /** The file whose line was written last, or null after a top-level line. */
  #last: string | null = null;
  #footerShown = false;
  #frame = 0;
  #timer: ReturnType<typeof setInterval> | null = null;
  #finished = false;

  constructor(opts: ReporterOptions) {
    this.#stream = opts.stream;
    this.#live = opts.live;
    this.#color = opts.color;
    this.#paint = painter(opts.color);
    this.#now = opts.now ?? (() => performance.now());
    this.#startedAt = this.#now();
  }

  event(e: RunEvent): void {
    if (this.#finished) return;
    const p = this.#paint;
    switch (e.type) {
      case 'scenario-start':
        this.#running.set(e.file, { name: e.name, file: e.file, startedAt: this.#now(), step: null });
        this.#write(null, [`${p('cyan', '▶')} ${scenarioLabel(e, p)}`]);
        this.#last = e.file;
        break;
      case 'phase':
        this.#write(e.file, [`  ${e.phase} ${p('dim', formatDuration(e.durationMs))}`]);
        break;
      case 'step-start': {
        const r = this.#running.get(e.file);
        if (r) r.step = e.name;
        if (this.#live) this.#redraw();
        break;
      }
      case 'step-end': {
        const r = this.#running.get(e.file);
        if (r) r.step = null;
        this.#write(e.file, stepLines(e.result, p));
        break;
      }
      case 'scenario-end':
        this.#running.delete(e.result.file);
        this.#write(null, scenarioEndLines(e.result, p));
        break;
    }
  }

  finish(results: ScenarioResult[]): string {
    if (!this.#finished) {
      this.#finished = true;
      this.#stopTimer();
      this.#clearFooter();
    }
    return formatSummary(results, this.#now() - this.#startedAt, this.#color);
  }

  /** Writes lines of a scenario (`file`), or top-level lines (null), keeping the status line below them. */
  #write(file: string | null, lines: string[]): void {
    const out: string[] = [];
    if (file !== null && file !== this.#last) {
      const r = this.#running.get(file);
      out.push(`${this.#paint('dim', '↳')} ${scenarioLabel(r ?? { name: file, file }, this.#paint)}`);
    }
    out.push(...lines);
    this.#last = file;
    let chunk = `${this.#footerShown ? clearLine : ''}${out.join('\n')}\n`;
    this.#footerShown = false;
    if (this.#live) chunk += this.#footer();
    this.#stream.write(chunk);
  }

  #clearFooter(): void {
    if (this.#footerShown) this.#stream.write(clearLine);
    this.#footerShown = false;
  }

  #redraw(): void {
    if (this.#finished) return;
    const shown = this.#footerShown;
    const footer = this.#footer();
    if (footer || shown) this.#stream.write(`${shown ? clearLine : ''}${footer}`);
  }

  /** The status line of the running scenarios (live only), or '' when none runs. Sets #footerShown. */
  #footer(): string {
    if (this.#running.size === 0) {
      this.#stopTimer();
      this.#footerShown = false;
      return '';
    }
    this.#startTimer();
    const now = this.#now();
    const parts = [...this.#running.values()].map((r) => {
      const t = formatDuration(now - r.startedAt);
      return r.step ? `${r.name} ${t} › ${r.step}` : `${r.name} ${t}`;
    });
    const frame = spinner[this.#frame % spinner.length] ?? '';
    const columns = (this.#stream as { columns?: number }).columns ?? 80;
    const text = truncate(`${frame} running ${this.#running.size}: ${parts.join(', ')}`, Math.max(10, columns - 1));
    this.#footerShown = true;
    return this.#paint('dim', text);
  }

  #startTimer(): void {
    if (this.#timer || !this.#live) return;
    this.#timer = setInterval(() => {
      this.#frame++;
      this.#redraw();
    }, 120);
    this.#timer.unref();
  }

  #stopTimer(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }
}
