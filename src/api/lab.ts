// The library's `up`: a scenario built and held, as `knetlab up` holds one, whose steps a program runs one by one.
import { resolve } from 'node:path';
import { formatProblem, KnetlabError, type Problem } from '../errors.js';
import { readInputFile } from '../scenario/input-file.js';
import type { SandboxChannel } from '../run/runner.js';
import type { ExecResult, LabAsk, LabReply, LabRequest, ReloadOutcome, ScenarioResult } from '../run/types.js';
import { MAX_EXEC_TIMEOUT_MS } from '../scenario/limits.js';
import type { StepKindName } from '../scenario/schema.js';
import { stepKinds } from '../steps/kinds/index.js';
import { checkedOptions, checkedScenario, stepReport } from './run.js';
import type { LabStepReport, RunScenarioOptions, StepExtras, StepInput, StepOptions, StepReport } from './types.js';

const DEFAULT_EXEC_TIMEOUT_MS = 60_000;

export interface ExecOptions {
  /** Ends the command after this many ms (default 60000). */
  timeoutMs?: number;
  /** Written to its standard input. */
  input?: string;
}

/** What `lab.reload()` did: the objects applied and deleted, then the file's steps, run in order. */
export interface ReloadReport extends Omit<ReloadOutcome, 'steps' | 'netns'> {
  steps: StepReport[];
}

/**
 * A held scenario. Each method runs a step of that kind, checked as a scenario file's step would be
 * (an invalid one throws a KnetlabError EINVALID with its problems, and nothing runs). A probe's outcome
 * is returned, passed or failed, for the caller to judge; an action that fails (apply, patch, ...) throws.
 */
export class Lab {
  private next = 1;
  private readonly pending = new Map<number, { resolve: (r: LabReply) => void; reject: (e: Error) => void }>();
  private ended: ScenarioResult | undefined;
  private placesNow: Readonly<Record<string, string>>;

  /** @internal made by `up` (and `knetlab up --watch`, whose process the sandbox keeps alive: `holdsProcess`) */
  constructor(
    /** The scenario's name (its metadata.name). */
    readonly name: string,
    readonly file: string,
    places: Readonly<Record<string, string>>,
    /** Where files the scenario's commands write to $KNETLAB_ARTIFACTS are kept. */
    readonly artifactsDir: string,
    private readonly channel: SandboxChannel,
    private readonly stop: (reason: string) => Promise<ScenarioResult>,
    private readonly holdsProcess = false,
  ) {
    this.placesNow = places;
    if (!holdsProcess) channel.keepAlive(false);
  }

  /** Every place by the names steps use (`node/node-1`, `pod/web-0.default`, ...) and its network namespace inside the sandbox (as of the last reload). */
  get places(): Readonly<Record<string, string>> {
    return this.placesNow;
  }

  http(options: StepOptions<'http'>, extras?: StepExtras<'http'>) {
    return this.run('http', options, extras);
  }
  tcp(options: StepOptions<'tcp'>, extras?: StepExtras<'tcp'>) {
    return this.run('tcp', options, extras);
  }
  udp(options: StepOptions<'udp'>, extras?: StepExtras<'udp'>) {
    return this.run('udp', options, extras);
  }
  ping(options: StepOptions<'ping'>, extras?: StepExtras<'ping'>) {
    return this.run('ping', options, extras);
  }
  dns(options: StepOptions<'dns'>, extras?: StepExtras<'dns'>) {
    return this.run('dns', options, extras);
  }
  flows(options: StepOptions<'flows'>, extras?: StepExtras<'flows'>) {
    return this.run('flows', options, extras);
  }
  /** Objects (one, a list, or a path relative to the scenario's folder) applied as `kubectl apply` would; the dataplane follows. */
  apply(objects: StepOptions<'apply'>, extras?: StepExtras<'apply'>) {
    return this.run('apply', objects, extras);
  }
  patch(options: StepOptions<'patch'>, extras?: StepExtras<'patch'>) {
    return this.run('patch', options, extras);
  }
  delete(options: StepOptions<'delete'>, extras?: StepExtras<'delete'>) {
    return this.run('delete', options, extras);
  }
  scale(options: StepOptions<'scale'>, extras?: StepExtras<'scale'>) {
    return this.run('scale', options, extras);
  }
  link(options: StepOptions<'link'>, extras?: StepExtras<'link'>) {
    return this.run('link', options, extras);
  }
  sleep(duration: StepOptions<'sleep'>, extras?: StepExtras<'sleep'>) {
    return this.run('sleep', duration, extras);
  }
  resync(options: StepOptions<'resync'>, extras?: StepExtras<'resync'>) {
    return this.run('resync', options, extras);
  }
  restart(options: StepOptions<'restart'>, extras?: StepExtras<'restart'>) {
    return this.run('restart', options, extras);
  }
  reboot(options: StepOptions<'reboot'>, extras?: StepExtras<'reboot'>) {
    return this.run('reboot', options, extras);
  }

  /** A command in a place (`node/node-1`, `pod/web-0`, ...): its exit status and whole output (never throws for a non-zero exit). */
  exec(place: string, argv: readonly string[], opts?: ExecOptions): Promise<ExecResult>;
  /** The exec step kind, judged by its expectation (`{exitCode: 0, stdoutMatches: ...}`). */
  exec(options: StepOptions<'exec'>, extras?: StepExtras<'exec'>): Promise<LabStepReport>;
  exec(a: string | StepOptions<'exec'>, b?: readonly string[] | StepExtras<'exec'>, opts: ExecOptions = {}): Promise<ExecResult | LabStepReport> {
    if (typeof a !== 'string') return this.run('exec', a, b as StepExtras<'exec'> | undefined);
    const argv = b as readonly string[];
    const timeoutMs = opts.timeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS;
    if (!Number.isInteger(timeoutMs) || timeoutMs <= 0 || timeoutMs > MAX_EXEC_TIMEOUT_MS)
      return Promise.reject(new KnetlabError('EUSAGE', `timeoutMs must be a whole number of ms from 1 to ${MAX_EXEC_TIMEOUT_MS}, got ${timeoutMs}`));
    return this.ask({ op: 'exec', place: a, argv: [...argv], timeoutMs, ...(opts.input !== undefined ? { input: opts.input } : {}) }).then((r) => {
      if (!('exec' in r)) throw new KnetlabError('EINTERNAL', 'a lab command was answered with something else');
      return r.exec;
    });
  }

  /** Any step as a scenario file writes it, with its expectation: `{http: {from, to}, expect: {status: 200}}`. */
  async step(step: StepInput): Promise<LabStepReport> {
    const r = await this.ask({ op: 'step', step: plain(step) });
    if (!('step' in r)) throw new KnetlabError('EINTERNAL', 'a lab step was answered with something else');
    const report = { ...stepReport(r.step), warnings: r.warnings };
    const kind = r.step.kind;
    // An action has nothing to expect: when it fails, the lab is not what the caller thinks it is.
    if (report.status === 'failed' && stepKinds[kind].expect === undefined) throw new KnetlabError('ESTEP', `${report.name} failed: ${report.seen}`);
    return report;
  }

  /**
   * The scenario file edited (`path`, default the held file, read as the held file: its manifest
   * paths lead from the held file's folder): checked as a whole, its objects that are new or changed
   * applied and those it no longer has deleted, then its steps run in order. An invalid file throws
   * EINVALID with its problems, one that changes the cluster's settings, nodes, hosts or name throws
   * EUSAGE; either way nothing changed. Later steps are checked against the new file.
   */
  async reload(path: string = this.file): Promise<ReloadReport> {
    const read = await readInputFile(path);
    if (!read.ok) {
      const message = `cannot read ${path}: ${read.reason}`;
      const at = { file: path, line: read.line ?? 1, col: read.col ?? 1 };
      throw new KnetlabError('EREAD', message, { problems: [{ code: 'unreadable-file', severity: 'error', message, location: at }] });
    }
    const held = resolve(this.file);
    // Problems in the text are the file's given here, as the command line names it.
    const shown = (p: Problem): Problem => (p.location?.file === held ? { ...p, location: { ...p.location, file: path } } : p);
    const r = await this.ask({ op: 'reload', text: read.text }, shown);
    if (!('reload' in r)) throw new KnetlabError('EINTERNAL', 'a reload was answered with something else');
    const { netns, ...outcome } = r.reload;
    this.placesNow = netns;
    return { ...outcome, steps: outcome.steps.map(stepReport), warnings: outcome.warnings.map(shown) };
  }

  /** Ends the scenario: every process stopped, every namespace gone. Its result says how the hold ended. */
  async down(): Promise<ScenarioResult> {
    return this.ended ?? this.stop('lab.down()');
  }

  private run<K extends StepKindName>(kind: K, options: StepOptions<K>, extras: StepExtras<K> = {}): Promise<LabStepReport> {
    return this.step({ ...extras, [kind]: options } as StepInput);
  }

  private ask(req: LabAsk, shown: (p: Problem) => Problem = (p) => p): Promise<LabReply & { ok: true }> {
    if (this.ended) return Promise.reject(new KnetlabError('EUSAGE', `${this.name} is down: ${this.ended.reason ?? 'lab.down() was called'}`));
    const id = this.next++;
    const answered = new Promise<LabReply>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    if (this.pending.size === 1 && !this.holdsProcess) this.channel.keepAlive(true);
    this.channel.send(JSON.stringify({ ...req, id } satisfies LabRequest));
    return answered.then((r) => {
      if (r.ok) return r;
      const problems = r.error.problems.map(shown);
      throw new KnetlabError(r.error.code, r.error.message + (problems.length ? `:\n${problems.map(formatProblem).join('\n')}` : ''), { problems });
    });
  }

  /** @internal a reply from the sandbox */
  receive(r: LabReply): void {
    const p = this.pending.get(r.id);
    if (!p) return;
    this.pending.delete(r.id);
    if (this.pending.size === 0 && !this.holdsProcess) this.channel.keepAlive(false);
    p.resolve(r);
  }

  /** @internal the held scenario ended (down, a signal, its sandbox gone) */
  end(result: ScenarioResult): void {
    this.ended = result;
    for (const p of this.pending.values()) p.reject(new KnetlabError('ECOMMAND', `${this.name} ended before answering: ${result.reason ?? 'it was ended'}`));
    this.pending.clear();
  }
}

/** The step as JSON carries it (what a YAML file could say): undefined fields dropped, no functions or classes. */
function plain(step: StepInput): unknown {
  const text = JSON.stringify(step);
  if (text === undefined) throw new KnetlabError('EUSAGE', 'a step is an object such as {http: {from: "host/client", to: "service/web"}}');
  return JSON.parse(text);
}

/**
 * Builds a scenario and holds it, as `knetlab up FILE` does (its own steps are not run). Resolves
 * once it is up. It ends with `lab.down()`, when `signal` aborts, or when this process ends.
 */
export async function up(file: string, opts: RunScenarioOptions = {}): Promise<Lab> {
  const { validation, run } = await checkedOptions(opts);
  await checkedScenario(file, validation);
  const controller = new AbortController();
  const abort = () => controller.abort(String(opts.signal?.reason ?? 'aborted'));
  if (opts.signal?.aborted) abort();
  opts.signal?.addEventListener('abort', abort, { once: true });
  const { runFiles } = await import('../run/runner.js');
  let lab: Lab | undefined;
  let held: { pid: number; dir: string; channel: SandboxChannel } | undefined;
  return new Promise<Lab>((resolve, reject) => {
    const done: Promise<ScenarioResult> = runFiles([file], {
      ...run,
      jobs: 1,
      signal: controller.signal,
      hold: {
        onSandbox: (pid, dir, channel) => {
          held = { pid, dir, channel };
        },
      },
      onEvent: (e) => {
        if (e.type === 'held' && held) {
          lab = new Lab(e.name, file, e.netns, held.dir, held.channel, (reason) => {
            controller.abort(reason);
            return done;
          });
          resolve(lab);
        }
        if (e.type === 'reply') lab?.receive(e.reply);
        opts.onEvent?.(e);
      },
    }).then(([result]) => result!);
    done.then((result) => {
      opts.signal?.removeEventListener('abort', abort);
      if (lab) lab.end(result);
      else reject(new KnetlabError(result.status === 'skipped' ? 'ECAPABILITY' : 'ECOMMAND', `${file} could not be held: ${result.reason ?? 'its run ended'}`));
    }, reject);
  });
}

/** Holds a scenario for the length of `fn`, and ends it however `fn` ends. */
export async function withLab<T>(file: string, fn: (lab: Lab) => Promise<T>, opts: RunScenarioOptions = {}): Promise<T> {
  const lab = await up(file, opts);
  try {
    return await fn(lab);
  } finally {
    await lab.down();
  }
}

// Every step kind of the one list (stepKindNames) is a method of Lab: a kind added without one does not compile.
type NoneMissing<T extends never> = T;
export type LabHasEveryStepKind = NoneMissing<Exclude<StepKindName, keyof Lab>>;
