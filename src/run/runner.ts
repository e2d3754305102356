import type { KubernetesVersion } from '../dataplane/versions.js';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import PQueue from 'p-queue';
import { sandboxCommand, SANDBOX_ENV } from '../kernel/sandbox.js';
import type { StepKindName } from '../scenario/schema.js';
import type { ProxyMode } from '../cluster/types.js';
import { KnetlabError } from '../errors.js';
import { tryKill } from '../kernel/process-identity.js';
import { addToFeatureCache, readFeatureCache } from './feature-cache.js';
import type { RunEvent, SandboxConfig, ScenarioResult, StepResult } from './types.js';
import type { ValidateOptions } from '../validate.js';
import { formatDuration } from '../scenario/duration.js';
import { DEFAULT_SCENARIO_LIMIT_MS } from '../scenario/limits.js';

const SANDBOX_MAIN = fileURLToPath(new URL('./sandbox-main.js', import.meta.url));
/** What a run may take beyond its steps' worst-case limit: the build (a command pod is waited for up to 2 minutes). */
const BUILD_ALLOWANCE_MS = 2 * 60_000;
/** After the sandbox's stdin ends, how long it may take to go before it is killed. */
const END_GRACE_MS = 300;

export interface RunOptions {
  jobs: number;
  /** Runs every scenario under this kube-proxy mode instead of its own `cluster.proxyMode`. */
  proxyMode?: ProxyMode;
  /** Runs every scenario as this kube-proxy release instead of its own `cluster.kubernetesVersion`. */
  kubernetesVersion?: KubernetesVersion;
  /** `--trace`: the steps (0-based indexes) that trace a try whatever their outcome. */
  traceSteps?: number[];
  /**
   * `knetlab up`: build and hold until `signal` aborts. onSandbox gets the host pid of the sandbox's
   * first process, the run's artifacts folder, and the channel a lab's requests go by.
   */
  hold?: { onSandbox: (pid: number, artifactsDir: string, channel: SandboxChannel) => void };
  /** Diagnostics of failed steps go below it, a folder per scenario run. */
  diagnosticsRoot: string;
  /** Files a scenario keeps go below it, a folder per scenario run (ARTIFACTS_MOUNT inside). */
  artifactsRoot: string;
  /** Aborted (Ctrl-C, SIGTERM): running sandboxes end at once, queued ones never start; the reason names the signal. */
  signal?: AbortSignal;
  onEvent: (e: RunEvent) => void;
  /** `--allow-path` and `--timeout`: the sandbox validates the scenario with them again. */
  validation?: ValidateOptions;
  /** A scenario still running after this long is ended and failed; default its limit and BUILD_ALLOWANCE_MS. */
  timeoutMs?: number;
}

/** A held sandbox's stdin, for a lab's requests (src/run/lab-serve.ts answers them as `reply` events). */
export interface SandboxChannel {
  /** Writes one request line. */
  send(line: string): void;
  /** Whether the sandbox keeps this process alive: a lab lets its process end while nothing is asked (its sandbox then ends with it). */
  keepAlive(on: boolean): void;
}

function sandboxPid(unsharePid: number): number {
  const children = readFileSync(`/proc/${unsharePid}/task/${unsharePid}/children`, 'utf8').trim().split(/\s+/);
  return Number(children[0]);
}

function stamp(): string {
  return new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
}

/** Removes a run's folder when the run put nothing in it (most runs pass and keep nothing). */
function removeIfEmpty(dir: string): void {
  try {
    if (readdirSync(dir).length === 0) rmdirSync(dir);
  } catch {
    // gone already, or not ours to judge
  }
}

/** What is known of a scenario that ended without its own result: the steps that ended, and the one under way. */
class Progress {
  name: string;
  readonly steps: StepResult[] = [];
  current: { name: string; index: number; kind: StepKindName } | undefined;
  constructor(file: string) {
    this.name = basename(file);
  }
  see(e: RunEvent): void {
    if (e.type === 'scenario-start') this.name = e.name;
    if (e.type === 'step-start') this.current = { name: e.name, index: e.index, kind: e.kind };
    if (e.type === 'step-end') {
      this.steps.push(e.result);
      this.current = undefined;
    }
  }
  /** Where the run was when it was cut short, in words. */
  where(): string {
    if (this.current) return `during step "${this.current.name}"`;
    const last = this.steps.at(-1);
    return last ? `after step "${last.name}"` : 'before its steps';
  }
  /** The steps so far, and the one under way marked as cut short. */
  cutShort(why: string): StepResult[] {
    const c = this.current;
    const under: StepResult[] = c
      ? [
          {
            name: c.name,
            index: c.index,
            kind: c.kind,
            status: 'skipped',
            expected: '',
            seen: why,
            diagnostics: null,
            durationMs: 0,
            tries: [],
            skip: { because: 'interrupted' },
            variant: null,
          },
        ]
      : [];
    return [...this.steps, ...under];
  }
}

/** Runs one (valid) scenario file in a sandbox of its own and returns its result. */
export async function runInSandbox(file: string, opts: Omit<RunOptions, 'jobs'>, index = 0): Promise<ScenarioResult> {
  const start = performance.now();
  const progress = new Progress(file);
  const ended = (status: ScenarioResult['status'], reason: string, extra: Partial<ScenarioResult> = {}): ScenarioResult => {
    const result: ScenarioResult = {
      file,
      name: progress.name,
      status,
      reason,
      durationMs: Math.round(performance.now() - start),
      steps: progress.cutShort(reason),
      phases: [],
      ...extra,
    };
    opts.onEvent({ type: 'scenario-end', result });
    return result;
  };
  if (opts.signal?.aborted) return ended('skipped', `not run: ${String(opts.signal.reason)} before it started`, { interrupted: true });
  // Unique per scenario run (two files may share a name); each removed after the run when empty.
  const run = `${basename(file).replace(/\.ya?ml$/, '')}-${stamp()}-${process.pid}-${index + 1}`;
  const diagnosticsDir = resolve(join(opts.diagnosticsRoot, run));
  const artifactsDir = resolve(join(opts.artifactsRoot, run));
  mkdirSync(diagnosticsDir, { recursive: true });
  mkdirSync(artifactsDir, { recursive: true });
  const config: SandboxConfig = {
    file: resolve(file),
    diagnosticsDir,
    artifactsDir,
    hold: Boolean(opts.hold),
    knownFeatures: [...readFeatureCache()],
    ...(opts.proxyMode ? { proxyMode: opts.proxyMode } : {}),
    ...(opts.kubernetesVersion ? { kubernetesVersion: opts.kubernetesVersion } : {}),
    ...(opts.traceSteps ? { traceSteps: opts.traceSteps } : {}),
    validation: { ...opts.validation, ...(opts.validation?.allowPaths ? { allowPaths: opts.validation.allowPaths.map((p) => resolve(p)) } : {}) },
  };
  const argv = sandboxCommand([process.execPath, '--enable-source-maps', SANDBOX_MAIN, JSON.stringify(config)]);
  const child = execa(argv[0]!, argv.slice(1), {
    env: { [SANDBOX_ENV]: '1' },
    stdin: 'pipe',
    stdout: 'pipe',
    stderr: 'pipe',
    reject: false,
    buffer: { stdout: false, stderr: true },
  });
  let result: ScenarioResult | undefined;
  let cut: string | undefined; // why the run was ended from here
  let sandbox: number | undefined;
  const end = (why: string) => {
    if (cut !== undefined || child.exitCode !== null) return;
    cut = why;
    child.stdin?.end(); // the sandbox exits when its stdin ends
    const kill = setTimeout(() => {
      // Still there (its event loop busy): the kernel ends every process of it with its first.
      for (const pid of [sandbox ?? (child.pid ? safeSandboxPid(child.pid) : undefined), child.pid]) if (pid) tryKill(pid);
    }, END_GRACE_MS);
    void child.finally(() => clearTimeout(kill));
  };
  const onAbort = () => end(String(opts.signal?.reason ?? 'interrupted'));
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  const deadline = opts.timeoutMs ?? (opts.validation?.limitMs ?? DEFAULT_SCENARIO_LIMIT_MS) + BUILD_ALLOWANCE_MS;
  const timer = setTimeout(
    () => end(`timed out after ${formatDuration(deadline)} (its steps' limit and ${formatDuration(BUILD_ALLOWANCE_MS)} for the build; --timeout changes it)`),
    deadline,
  );
  const lines = createInterface({ input: child.stdout! });
  const linesDone = new Promise((r) => lines.once('close', r)); // before awaiting the child: it may close first
  lines.on('line', (line) => {
    let e: RunEvent;
    try {
      e = JSON.parse(line) as RunEvent;
    } catch {
      return; // not an event: a stray line from a tool
    }
    if (e.type === 'features') {
      addToFeatureCache(e.found);
      return;
    }
    // The sandbox was given the absolute path; reports name the file as the command line did.
    if (e.type === 'scenario-end') e = { ...e, result: { ...e.result, file } };
    progress.see(e);
    if (e.type === 'scenario-end') result = e.result;
    // unshare --fork's child is the sandbox's first process: `knetlab exec` enters its namespaces.
    if (e.type === 'held' && child.pid) {
      clearTimeout(timer); // a held scenario lasts until it is ended; only its build has a deadline
      sandbox = sandboxPid(child.pid);
      opts.hold?.onSandbox(sandbox, artifactsDir, {
        send: (l) => void child.stdin?.write(`${l}\n`),
        keepAlive: (on) => {
          for (const h of [child, child.stdin, child.stdout, child.stderr] as ({ ref?: () => void; unref?: () => void } | null)[]) (on ? h?.ref : h?.unref)?.call(h);
        },
      });
    }
    opts.onEvent(e);
  });
  try {
    const done = await child;
    await linesDone;
    if (result) return result;
    // Ended from here, or by the signal itself (a terminal's Ctrl-C reaches the sandbox too).
    const why = cut ?? (opts.signal?.aborted ? String(opts.signal.reason) : undefined);
    if (why !== undefined) return ended('failed', `${why} ${progress.where()}`, opts.signal?.aborted ? { interrupted: true } : {});
    const stderr = String(done.stderr ?? '').trim();
    return ended('failed', `the sandbox ended without a result (exit ${done.exitCode ?? done.signal}): ${stderr.split('\n').slice(-8).join(' | ') || 'no message'}`);
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onAbort);
    removeIfEmpty(diagnosticsDir);
    removeIfEmpty(artifactsDir);
  }
}

function safeSandboxPid(unsharePid: number): number | undefined {
  try {
    return sandboxPid(unsharePid) || undefined;
  } catch {
    return undefined;
  }
}

/** Runs scenario files, several at once, each in its own sandbox; results in file order. */
export async function runFiles(files: readonly string[], opts: RunOptions): Promise<ScenarioResult[]> {
  const queue = new PQueue({ concurrency: Math.max(1, opts.jobs) });
  // The roots of the runs' folders, when this made them, go again if no run kept anything.
  const made = [opts.diagnosticsRoot, opts.artifactsRoot].filter((d) => !existsSync(d));
  for (const [root, flag] of [
    [opts.diagnosticsRoot, '--diagnostics'],
    [opts.artifactsRoot, '--artifacts'],
  ] as const) {
    try {
      mkdirSync(root, { recursive: true });
    } catch (err) {
      made.forEach(removeIfEmpty);
      throw new KnetlabError('EUSAGE', `cannot make ${root} (${(err as NodeJS.ErrnoException).code ?? String(err)}): choose a folder you can write with ${flag} DIR`);
    }
  }
  try {
    return await Promise.all(files.map((f, i) => queue.add(() => runInSandbox(f, opts, i)) as Promise<ScenarioResult>));
  } finally {
    made.forEach(removeIfEmpty);
  }
}
