// Inside a sandbox, for `npm run bench`: brings one scenario's topology and workloads up, either
// as knetlab does (bulk: applyTopology, one netns batch and the netns-config helper) or naively
// (one process per change), prints the timings and the processes started as one JSON line, and
// on end of stdin takes it down the same way.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderTopology } from '../dataplane/topology.js';
import type { TopologyPlan } from '../dataplane/types.js';
import { applyTopology } from '../kernel/apply.js';
import { execaRunner, inNetns, type Runner } from '../kernel/exec.js';
import { prepareSandbox, SANDBOX_ENV, SCRATCH } from '../kernel/sandbox.js';
import { loadModel } from '../validate.js';
import { EchoServer } from '../workloads/echo.js';
import { echoListeners } from './scenario.js';
import { systemPython } from '../kernel/python.js';

const [file, mode] = process.argv.slice(2);
if (process.env[SANDBOX_ENV] !== '1' || !file || (mode !== 'bulk' && mode !== 'naive')) {
  process.stderr.write('usage: KNETLAB_SANDBOX=1 bench-main FILE bulk|naive (started by scripts/bench.mjs)\n');
  process.exit(2);
}

/** The baseline: every line of every batch as its own process, one namespace after another. */
async function applyNaive(runner: Runner, plan: TopologyPlan): Promise<void> {
  for (const n of plan.namespaces) await runner.run(['ip', 'netns', 'add', n]);
  for (const stage of plan.stages) {
    for (const ns of stage) {
      for (const [k, v] of Object.entries(ns.sysctls)) await runner.run(inNetns(ns.name, ['sysctl', '-q', '-w', `${k}=${v}`]));
      for (const line of ns.ip) await runner.run(['ip', '-n', ns.name, ...line.split(' ')]);
      for (const line of ns.bridge) await runner.run(['bridge', '-n', ns.name, ...line.split(' ')]);
      if (ns.iptables) await runner.run(inNetns(ns.name, ['iptables-restore']), { input: ns.iptables });
    }
  }
}

function rssPeakKb(pid: number | 'self'): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

/** execaRunner, counting the processes it starts. */
let processes = 0;
const runner: Runner = {
  run: (argv, opts) => {
    processes++;
    return execaRunner.run(argv, opts);
  },
  session: (argv) => {
    processes++;
    return execaRunner.session(argv);
  },
};
const v = await loadModel(file);
const { etcNetns } = await prepareSandbox(runner);
const plan = renderTopology(v.model);
processes = 0; // those of the run itself, not of the sandbox's preparation
const t0 = performance.now();
// As runScenario: the echo server starts while the topology is built. Its log stays on the
// sandbox's private /run, gone with it.
const echoStarting = EchoServer.start({ logFile: join(SCRATCH, 'echo-log.jsonl'), python: systemPython() });
echoStarting.catch(() => undefined); // awaited below
if (mode === 'bulk') await applyTopology(runner, plan, { etcNetns });
else await applyNaive(runner, plan);
const topologyMs = performance.now() - t0;
const echo = await echoStarting;
const listeners = echoListeners(v.model);
await echo.listen(listeners);
const upMs = performance.now() - t0;
const namespaces = plan.namespaces.length;
process.stdout.write(
  `${JSON.stringify({ mode, namespaces, listeners: listeners.length, topologyMs: Math.round(topologyMs), upMs: Math.round(upMs), processes, rssKb: rssPeakKb('self') + (echo.pid ? rssPeakKb(echo.pid) : 0) })}\n`,
);

process.stdin.resume();
process.stdin.on('end', async () => {
  const d0 = performance.now();
  await echo.stop();
  if (mode === 'naive') for (const n of [...plan.namespaces].reverse()) await runner.run(['ip', 'netns', 'del', n]);
  // bulk: nothing to undo; the kernel frees every namespace when this, the sandbox's first process, exits.
  process.stdout.write(`${JSON.stringify({ teardownMs: Math.round(performance.now() - d0) })}\n`);
  process.exit(0);
});
