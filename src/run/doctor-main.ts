// The first process of `knetlab doctor`'s sandbox (made as a run's is, kernel/sandbox.ts): probes
// the kernel features named on its command line, as a run does, and prints what it found as one
// JSON line. When it ends, the kernel removes the sandbox and its probe namespace.
import { probeCapabilities, type Feature } from '../kernel/capabilities.js';
import { execaRunner } from '../kernel/exec.js';
import { prepareSandbox, SANDBOX_ENV } from '../kernel/sandbox.js';
import type { ProbedFeature } from './doctor.js';

const FEATURE = /^[a-z][a-z0-9_-]{0,40}$/;
let features: Feature[] | undefined;
try {
  const list = JSON.parse(process.argv[2] ?? '') as unknown;
  if (Array.isArray(list) && list.length <= 100 && list.every((f) => typeof f === 'string' && FEATURE.test(f))) features = list as Feature[];
} catch {
  features = undefined;
}
if (process.env[SANDBOX_ENV] !== '1' || !features) {
  process.stderr.write('usage: KNETLAB_SANDBOX=1 doctor-main FEATURES_JSON (started by knetlab doctor)\n');
  process.exit(2);
}
const wanted = features;
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => process.exit(130));

try {
  await prepareSandbox(execaRunner);
  const caps = await probeCapabilities(execaRunner, wanted);
  const found: ProbedFeature[] = wanted.map((f) => ({ feature: f, ok: caps.has(f), why: caps.why(f) }));
  process.stdout.write(`${JSON.stringify(found)}\n`);
  process.exit(0);
} catch (err) {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
