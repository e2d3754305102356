// The first process of a sandbox (see kernel/sandbox.ts): runs one scenario and writes its events
// as JSON lines on stdout. When it ends, the kernel ends the whole run with it.
import { execaRunner } from '../kernel/exec.js';
import { SANDBOX_ENV } from '../kernel/sandbox.js';
import { runScenario } from './scenario.js';
import type { RunEvent } from './types.js';
import { validationFromEnv } from './validation-env.js';

const [file, diagnosticsDir, mode] = process.argv.slice(2);
const emit = (e: RunEvent) => process.stdout.write(`${JSON.stringify(e)}\n`);

// As PID 1 of its namespace, a process gets no default signal handling: exit on them explicitly.
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => process.exit(130));
// The runner outside holds our stdin: when it dies (even by SIGKILL), stdin ends, and so do we.
// A held scenario (`knetlab up`) ends the same way, when `up` is stopped.
let released: () => void = () => undefined;
const until = new Promise<void>((r) => (released = r));
const end = () => (mode === 'hold' ? released() : process.exit(137));
process.stdin.on('end', end);
process.stdin.on('error', end);
process.stdin.resume();

if (process.env[SANDBOX_ENV] !== '1' || !file || !diagnosticsDir) {
  process.stderr.write('usage: KNETLAB_SANDBOX=1 sandbox-main FILE DIAGNOSTICS_DIR (started by knetlab run)\n');
  process.exit(2);
}

runScenario(file, { runner: execaRunner, diagnosticsDir, emit, validation: validationFromEnv(process.env), ...(mode === 'hold' ? { hold: { until } } : {}) }).then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
