import { readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import PQueue from 'p-queue';
import { sandboxCommand, SANDBOX_ENV } from '../kernel/sandbox.js';
import type { ProxyMode } from '../cluster/types.js';
import { PROXY_MODE_ENV } from './scenario.js';
import type { RunEvent, ScenarioResult } from './types.js';
import type { ValidateOptions } from '../validate.js';
import { validationEnv } from './validation-env.js';

const SANDBOX_MAIN = fileURLToPath(new URL('./sandbox-main.js', import.meta.url));

export interface RunOptions {
  jobs: number;
  /** Runs every scenario under this kube-proxy mode instead of its own `cluster.proxyMode`. */
  proxyMode?: ProxyMode;
  /** `knetlab up`: build and hold; the sandbox ends when release resolves. onSandbox gets the host pid of its first process. */
  hold?: { release: Promise<void>; onSandbox: (pid: number) => void };
  /** Diagnostics of failed steps go below it, a folder per scenario run. */
  diagnosticsRoot: string;
  onEvent: (e: RunEvent) => void;
  /** `--allow-path` and `--timeout`: the sandbox validates the scenario with them again. */
  validation?: ValidateOptions;
}

function sandboxPid(unsharePid: number): number {
  const children = readFileSync(`/proc/${unsharePid}/task/${unsharePid}/children`, 'utf8').trim().split(/\s+/);
  return Number(children[0]);
}

function stamp(): string {
  return new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
}

/** Runs one (valid) scenario file in a sandbox of its own and returns its result. */
export async function runInSandbox(file: string, opts: Omit<RunOptions, 'jobs'>, index = 0): Promise<ScenarioResult> {
  // Unique per scenario run (two files may share a name); made only when a step fails.
  const diagnosticsDir = resolve(join(opts.diagnosticsRoot, `${basename(file).replace(/\.ya?ml$/, '')}-${stamp()}-${process.pid}-${index + 1}`));
  const argv = sandboxCommand([process.execPath, '--enable-source-maps', SANDBOX_MAIN, resolve(file), diagnosticsDir, ...(opts.hold ? ['hold'] : [])]);
  const start = performance.now();
  const child = execa(argv[0]!, argv.slice(1), {
    env: { [SANDBOX_ENV]: '1', ...(opts.proxyMode ? { [PROXY_MODE_ENV]: opts.proxyMode } : {}), ...validationEnv(opts.validation) },
    stdin: 'pipe',
    stdout: 'pipe',
    stderr: 'pipe',
    reject: false,
    buffer: { stdout: false, stderr: true },
  });
  let result: ScenarioResult | undefined;
  if (opts.hold) {
    const hold = opts.hold;
    void hold.release.then(() => child.stdin?.end());
  }
  const lines = createInterface({ input: child.stdout! });
  const linesDone = new Promise((r) => lines.once('close', r)); // before awaiting the child: it may close first
  lines.on('line', (line) => {
    let e: RunEvent;
    try {
      e = JSON.parse(line) as RunEvent;
    } catch {
      return; // not an event: a stray line from a tool
    }
    if (e.type === 'scenario-end') result = e.result;
    // unshare --fork's child is the sandbox's first process: `knetlab exec` enters its namespaces.
    if (e.type === 'held' && opts.hold && child.pid) opts.hold.onSandbox(sandboxPid(child.pid));
    opts.onEvent(e);
  });
  const done = await child;
  await linesDone;
  if (result) return result;
  const stderr = String(done.stderr ?? '').trim();
  const failed: ScenarioResult = {
    file,
    name: basename(file),
    status: 'failed',
    reason: `the sandbox ended without a result (exit ${done.exitCode ?? done.signal}): ${stderr.split('\n').slice(-8).join(' | ') || 'no message'}`,
    durationMs: Math.round(performance.now() - start),
    steps: [],
    phases: [],
  };
  opts.onEvent({ type: 'scenario-end', result: failed });
  return failed;
}

/** Runs scenario files, several at once, each in its own sandbox; results in file order. */
export async function runFiles(files: readonly string[], opts: RunOptions): Promise<ScenarioResult[]> {
  const queue = new PQueue({ concurrency: Math.max(1, opts.jobs) });
  return Promise.all(files.map((f, i) => queue.add(() => runInSandbox(f, opts, i)) as Promise<ScenarioResult>));
}
