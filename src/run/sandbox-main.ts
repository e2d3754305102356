// The first process of a sandbox (see kernel/sandbox.ts): runs one scenario and writes its events
// as JSON lines on stdout. When it ends, the kernel ends the whole run with it.
import { execaRunner } from '../kernel/exec.js';
import { SANDBOX_ENV } from '../kernel/sandbox.js';
import { createInterface } from 'node:readline';
import { LabServer } from './lab-serve.js';
import { runScenario, type Live } from './scenario.js';
import type { RunEvent, SandboxConfig } from './types.js';

const emit = (e: RunEvent) => process.stdout.write(`${JSON.stringify(e)}\n`);

let config: SandboxConfig | undefined;
try {
  config = JSON.parse(process.argv[2] ?? '') as SandboxConfig;
} catch {
  config = undefined;
}
if (process.env[SANDBOX_ENV] !== '1' || !config?.file || !config.diagnosticsDir || !config.artifactsDir) {
  process.stderr.write('usage: KNETLAB_SANDBOX=1 sandbox-main CONFIG_JSON (started by knetlab run)\n');
  process.exit(2);
}
const { hold } = config;

// As PID 1 of its namespace, a process gets no default signal handling: exit on them explicitly.
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => process.exit(130));
// The runner outside holds our stdin: when it ends (the runner asks, or dies, even by SIGKILL), so
// do we, at once: the kernel then ends every process of the run. A held scenario (`knetlab up`)
// that is built ends its own way (its steps' workloads stopped, its result sent).
let held = false;
let released: () => void = () => undefined;
const until = new Promise<void>((r) => (released = r));
const end = () => (hold && held ? released() : process.exit(137));
process.stdin.on('end', end);
process.stdin.on('error', end);
// Once held, each line on stdin is a lab's request (the library's `up`), answered on stdout.
let lab: LabServer | undefined;
createInterface({ input: process.stdin }).on('line', (line) => lab?.take(line));

const emitting = (e: RunEvent) => {
  if (e.type === 'held') held = true;
  emit(e);
};

const onHeld = (live: Live, name: string) => {
  lab = new LabServer(live, config, name, emitting);
};
runScenario(config, { runner: execaRunner, emit: emitting, ...(hold ? { hold: { until, onHeld } } : {}) }).then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
