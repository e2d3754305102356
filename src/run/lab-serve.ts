// Inside a held scenario's sandbox: answers a lab's requests (the library's `up`), one at a time, in order.
import { KnetlabError, type Problem } from '../errors.js';
import { readInputFile } from '../scenario/input-file.js';
import { MAX_STEPS } from '../scenario/limits.js';
import { kindOf } from '../steps/kinds/index.js';
import { netnsOfPlace } from './hold.js';
import { reloadLab } from './lab-reload.js';
import { readLabStep } from './lab-steps.js';
import { Answered, placesNetns, runWrittenStep, sandboxValidation, type Live } from './scenario.js';
import type { Model } from '../cluster/types.js';
import type { ExecResult, LabReply, LabRequest, ReloadOutcome, RunEvent, SandboxConfig, StepResult } from './types.js';

/** The most output a lab's command may return (iptables-save of a large cluster fits). */
const MAX_EXEC_OUTPUT = 64 * 1024 * 1024;

export class LabServer {
  /** The lab's steps that changed the cluster (as written): every later step is checked after them. */
  private history: unknown[] = [];
  private count = 0;
  private reloads = 0;
  private queue: Promise<unknown> = Promise.resolve();
  private text: Promise<string> | undefined;
  /** The model as built from the file (or its last reload): a reload's machines are compared with it. */
  private base: Model;

  constructor(
    private readonly live: Live,
    private readonly config: SandboxConfig,
    private readonly name: string,
    private readonly emit: (e: RunEvent) => void,
  ) {
    this.base = live.model;
  }

  /** One request line: answered (a `reply` event) after the ones before it. */
  take(line: string): void {
    let req: LabRequest;
    try {
      req = JSON.parse(line) as LabRequest;
    } catch {
      return; // not ours: the lab writes one JSON object a line
    }
    if (typeof req !== 'object' || req === null || !Number.isSafeInteger(req.id)) return;
    this.queue = this.queue.then(() => this.answer(req).then((r) => this.emit({ type: 'reply', reply: r })));
  }

  private async answer(req: LabRequest): Promise<LabReply> {
    try {
      if (req.op === 'step') return { id: req.id, ...(await this.step(req.step)) };
      if (req.op === 'exec') return { id: req.id, ok: true, exec: await this.exec(req) };
      if (req.op === 'reload') return { id: req.id, ok: true, reload: await this.reload(req.text) };
      throw new KnetlabError('EUSAGE', `a lab asks for a step, a command or a reload, not ${JSON.stringify((req as { op?: unknown }).op)}`);
    } catch (err) {
      const e = err instanceof KnetlabError ? err : new KnetlabError('EINTERNAL', err instanceof Error ? (err.stack ?? err.message) : String(err));
      return { id: req.id, ok: false, error: { code: e.code, message: e.message, problems: e.problems } };
    }
  }

  private async step(raw: unknown): Promise<{ ok: true; step: StepResult; warnings: Problem[] }> {
    if (this.history.length >= MAX_STEPS - 1)
      throw new KnetlabError('EUSAGE', `this lab has run ${this.history.length} steps that change the cluster, the most a scenario may have`);
    this.text ??= readInputFile(this.config.file).then((r) => {
      if (!r.ok) throw new KnetlabError('EREAD', `cannot read ${this.config.file} again: ${r.reason}`);
      return r.text;
    });
    const n = ++this.count;
    const label = `lab step ${n}`;
    const read = await readLabStep(this.config.file, await this.text, this.history, raw, label, sandboxValidation(this.config));
    if (!read.ok) {
      const why = read.problems.length ? `${read.problems.length} problem${read.problems.length === 1 ? '' : 's'}` : 'it could not be read as a step';
      throw new KnetlabError('EINVALID', `${label} is not a valid step of ${this.name} (${why}); nothing was run`, { problems: read.problems });
    }
    // Numbered as the lab counts them: each failed step's diagnostics get a folder of their own.
    const step = { ...read.step, index: n - 1 };
    const result = await runWrittenStep(this.live, step, this.config, new Answered(() => []), this.emit);
    if (kindOf(step).changesModel && result.status === 'passed') this.history.push(raw);
    return { ok: true, step: result, warnings: read.warnings };
  }

  /** The file's new text: on success it is the lab's base, and later lab steps are checked after its steps. */
  private async reload(text: unknown): Promise<ReloadOutcome> {
    const r = await reloadLab(this.live, this.config, { name: this.name, base: this.base }, text, sandboxValidation(this.config), ++this.reloads, this.emit);
    this.base = r.base;
    this.text = Promise.resolve(r.text);
    this.history = r.history;
    return r.outcome;
  }

  private async exec(req: Extract<LabRequest, { op: 'exec' }>): Promise<ExecResult> {
    if (!Array.isArray(req.argv) || req.argv.length === 0 || req.argv.some((a) => typeof a !== 'string'))
      throw new KnetlabError('EUSAGE', 'a lab command is a non-empty list of strings (argv), such as ["iptables-save", "-t", "nat"]');
    const netns = netnsOfPlace(this.name, placesNetns(this.live.model), String(req.place));
    const r = await this.live.runner.run(['ip', 'netns', 'exec', netns, ...req.argv], {
      reject: false,
      timeoutMs: req.timeoutMs,
      ...(req.input !== undefined ? { input: req.input } : {}),
    });
    const cut = (s: string) => (s.length > MAX_EXEC_OUTPUT ? `${s.slice(0, MAX_EXEC_OUTPUT)}\n[knetlab: cut at ${MAX_EXEC_OUTPUT} characters]\n` : s);
    return { exitCode: r.exitCode, stdout: cut(r.stdout), stderr: cut(r.stderr), timedOut: r.timedOut };
  }
}
