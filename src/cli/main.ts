#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { networks } from '../cni/networks.js';
import { formatProblem, KnetlabError, type Problem } from '../errors.js';
import { formatPlan } from '../report/plan.js';
import { planJson } from '../report/plan-json.js';
import { validateJson } from '../report/validate-json.js';
import { writeFileSync } from 'node:fs';
import { reporterKinds } from '../report/reporter.js';
import { claimHeld, enterCommand, findHeld, listHeld, ownId, placeNetns, removeHeld, saveHeld, signalHolder } from '../run/hold.js';
import { processId } from '../kernel/process-identity.js';
import { proxyModes } from '../proxy/modes.js';
import { KUBERNETES_VERSION_RANGE } from '../dataplane/versions.js';
import { crossModeDifferences, declaredDifferences } from '../run/cross-mode.js';
import type { RunEvent, ScenarioResult } from '../run/types.js';
import type { SandboxChannel } from '../run/runner.js';
import { isRoot } from '../kernel/sandbox.js';
import { tracedKinds, type Step } from '../scenario/steps.js';
import { stepName } from '../steps/kinds/index.js';
import type { TraceFlags } from './trace.js';
import { shardShare } from './shard.js';
import { parseShard } from '../run/shard.js';
import type { LoadedScenario } from '../scenario/load.js';
import type { GraphFlags } from './graph.js';
import { ARTIFACTS_ENV, ARTIFACTS_MOUNT } from '../kernel/sandbox-fs.js';
import { checkedNetwork, checkedVersion, validationOptions as checkedValidation } from '../run/options.js';
import { reporterKind, terminalReporter } from './reporter.js';
import { findScenarioFiles, hasErrors, loadModel, scenarioFiles, validateScenario, type ValidateOptions } from '../validate.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

// Exit statuses of the contract: 0 all passed (or skipped), 1 a scenario failed, 2 bad input or usage.
const EXIT_INVALID = 2;

function printProblems(problems: readonly Problem[], stream: NodeJS.WriteStream): void {
  for (const p of problems) stream.write(`${formatProblem(p)}\n`);
}

/** What validation takes from the command line, shared by validate, plan, run and up. */
interface ValidationFlags {
  allowPath: string[];
  timeout?: string;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** --allow-path and --timeout, checked: a folder that does not exist or a bad duration is a usage error. */
function validationOptions(flags: ValidationFlags): Promise<ValidateOptions> {
  return checkedValidation(flags.allowPath, flags.timeout);
}

async function validateCommand(paths: string[], opts: { quiet?: boolean; output: string } & ValidationFlags): Promise<number> {
  const vopts = await validationOptions(opts);
  const found = await findScenarioFiles(paths);
  const { files } = found;
  if (files.length === 0 && found.problems.length === 0) throw new KnetlabError('EUSAGE', `no scenario files in ${paths.join(' ')}`);
  const json = opts.output === 'json';
  // Files that could not even be read are reported first, and count as files with errors.
  const checked: { file: string; problems: Problem[] }[] = found.problems.map((p) => ({ file: p.location?.file ?? '', problems: [p] }));
  if (!json) printProblems(found.problems, process.stdout);
  let bad = found.problems.length;
  for (const file of files) {
    const v = await validateScenario(file, vopts);
    const shown = opts.quiet ? v.problems.filter((p) => p.severity === 'error') : v.problems;
    if (json) checked.push({ file, problems: shown });
    else printProblems(shown, process.stdout);
    if (hasErrors(v.problems)) bad++;
  }
  if (json) process.stdout.write(`${JSON.stringify(validateJson(checked), null, 2)}\n`);
  const total = files.length + found.problems.length;
  const errors = bad === 1 ? '1 file has errors' : `${bad} files have errors`;
  // The summary follows the problems on stdout; with -o json stdout holds the one JSON document, so it goes to stderr.
  (json ? process.stderr : process.stdout).write(bad ? `${errors} (of ${total})\n` : `${files.length} scenario file${files.length === 1 ? '' : 's'} valid\n`);
  return bad ? EXIT_INVALID : 0;
}

async function planCommand(file: string, opts: { output: string } & ValidationFlags): Promise<number> {
  const v = await loadModel(file, await validationOptions(opts));
  printProblems(v.problems, process.stderr); // warnings only: errors would have thrown
  process.stdout.write(opts.output === 'json' ? `${JSON.stringify(planJson(v.model, v.scenario.steps), null, 2)}\n` : formatPlan(v.model, v.scenario.steps));
  return 0;
}

interface RunFlags extends ValidationFlags {
  jobs: string;
  proxyMode?: string;
  kubernetesVersion?: string;
  network?: string;
  reporter?: string;
  output?: string;
  diagnostics: string;
  artifacts: string;
  trace: string[];
  shard?: string;
  durations?: string;
}

/** Exit status of a command ended by a signal, as a shell reports one (128 + SIGINT). */
const EXIT_INTERRUPTED = 130;

/**
 * Ctrl-C, SIGTERM or SIGHUP abort the controller's signal (the run ends what it started, at once,
 * and reports); a second one while that happens exits at once.
 */
function abortOnSignals(): { signal: AbortSignal; dispose: () => void; abort: (reason: string) => void } {
  const controller = new AbortController();
  const handlers = (['SIGINT', 'SIGTERM', 'SIGHUP'] as const).map((sig) => {
    const h = () => {
      if (controller.signal.aborted) process.exit(EXIT_INTERRUPTED);
      controller.abort(`interrupted by ${sig}`);
    };
    process.on(sig, h);
    return [sig, h] as const;
  });
  return { signal: controller.signal, dispose: () => handlers.forEach(([sig, h]) => process.off(sig, h)), abort: (reason) => controller.abort(reason) };
}

/** `--trace STEP` (a step's number from 1, or its name): the 0-based indexes of the probe steps named, in the one file run. */
function stepsToTrace(wanted: readonly string[], file: string, fileCount: number, steps: readonly Step[]): number[] {
  if (fileCount !== 1) throw new KnetlabError('EUSAGE', `--trace names steps of one scenario: run one file with it, not ${fileCount}`);
  const listed = steps.map((s, i) => `${i + 1} ${stepName(s)}`).join('; ');
  return wanted.map((w) => {
    const i = /^\d+$/.test(w) ? Number(w) - 1 : steps.findIndex((s) => s.name === w);
    const step = steps[i];
    if (!step) throw new KnetlabError('EUSAGE', `--trace ${w}: ${file} has no such step (its steps: ${listed})`);
    if (!(tracedKinds as readonly string[]).includes(step.kind))
      throw new KnetlabError('EUSAGE', `--trace ${w}: step ${i + 1} is a ${step.kind} step, which sends no probe (${tracedKinds.join(', ')} steps can be traced)`);
    return i;
  });
}

async function runCommand(paths: string[], flags: RunFlags): Promise<number> {
  const kind = reporterKind(flags.reporter, Boolean(flags.output));
  const jobs = Number(flags.jobs);
  if (!Number.isInteger(jobs) || jobs < 1) throw new KnetlabError('EUSAGE', `--jobs must be a whole number from 1, got ${flags.jobs}`);
  // The network changes the model (subnets, addresses, devices): scenarios are validated and built under it.
  const network = flags.network === undefined ? undefined : checkedNetwork(flags.network, '--network');
  const validation = { ...(await validationOptions(flags)), ...(network ? { network } : {}) };
  if (flags.durations !== undefined && flags.shard === undefined) throw new KnetlabError('EUSAGE', '--durations balances --shard I/N: give both, or neither');
  if (flags.shard !== undefined) parseShard(flags.shard); // a bad I/N is told before any file is read
  const allFiles = await scenarioFiles(paths);
  if (allFiles.length === 0) throw new KnetlabError('EUSAGE', `no scenario files in ${paths.join(' ')}`);
  // Every file is checked before anything is built (each shard checks them all): one bad file, and nothing runs.
  let invalid = 0;
  let traceSteps: number[] = [];
  const loaded: LoadedScenario[] = [];
  for (const file of allFiles) {
    const v = await validateScenario(file, validation);
    printProblems(v.problems, process.stderr);
    if (hasErrors(v.problems) || !v.scenario) invalid++;
    else {
      loaded.push(v.scenario);
      if (flags.trace.length) traceSteps = stepsToTrace(flags.trace, file, allFiles.length, v.scenario.steps);
    }
  }
  if (invalid) throw new KnetlabError('EINVALID', `${invalid} of ${allFiles.length} scenario files are invalid; nothing was run`);
  const sharded = flags.shard === undefined ? undefined : await shardShare(allFiles, loaded, { shard: flags.shard, ...(flags.durations ? { durations: flags.durations } : {}) });
  if (sharded) process.stderr.write(`${sharded.note}\n`);
  const files = sharded ? sharded.share : allFiles;
  const modes = proxyModes;
  if (flags.proxyMode !== undefined && flags.proxyMode !== 'all' && !(modes as readonly string[]).includes(flags.proxyMode)) {
    throw new KnetlabError('EUSAGE', `--proxy-mode must be one of ${modes.join(', ')} or all, got ${flags.proxyMode}`);
  }
  const runModes = flags.proxyMode === 'all' ? [...modes] : flags.proxyMode ? [flags.proxyMode as (typeof modes)[number]] : [undefined];
  // A shard's json report says which shard it is, for merge-reports.
  const shard = sharded && { index: sharded.index, total: sharded.total, files: allFiles, share: sharded.share, proxyModes: runModes.filter((m) => m !== undefined) };
  const reporter = terminalReporter(kind, shard ? { shard } : {});
  const kubernetesVersion = flags.kubernetesVersion === undefined ? undefined : checkedVersion(flags.kubernetesVersion, '--kubernetes-version');
  // Loaded once the files are valid: execa and the runner take longer to load than validating does.
  const { runFiles } = await import('../run/runner.js');
  const results: ScenarioResult[] = [];
  const byMode = new Map<string, ScenarioResult[]>();
  const { signal, dispose } = abortOnSignals();
  // A shard with no files runs nothing and passes: its report still tells merge-reports it was there.
  for (const proxyMode of files.length ? runModes : []) {
    // Under --proxy-mode all, each result is named with its mode, so reports tell them apart.
    const tag = (r: ScenarioResult): ScenarioResult => (flags.proxyMode === 'all' ? { ...r, name: `${r.name} [${proxyMode}]` } : r);
    const onEvent = (e: RunEvent) =>
      reporter.event(
        e.type === 'scenario-end'
          ? { ...e, result: tag(e.result) }
          : e.type === 'scenario-start' || e.type === 'held'
            ? { ...e, name: flags.proxyMode === 'all' ? `${e.name} [${proxyMode}]` : e.name }
            : e,
      );
    const rs = (
      await runFiles(files, {
        jobs,
        diagnosticsRoot: flags.diagnostics,
        artifactsRoot: flags.artifacts,
        signal,
        ...(proxyMode ? { proxyMode } : {}),
        ...(kubernetesVersion ? { kubernetesVersion } : {}),
        ...(traceSteps.length ? { traceSteps } : {}),
        onEvent,
        validation,
      })
    ).map(tag);
    byMode.set(proxyMode ?? 'own', rs);
    results.push(...rs);
  }
  dispose();
  const report = reporter.finish(results);
  if (flags.output) writeFileSync(flags.output, report);
  else process.stdout.write(report);
  if (signal.aborted) {
    process.stderr.write(`knetlab: ${String(signal.reason)}: the report above shows what finished\n`);
    return EXIT_INTERRUPTED;
  }
  const differences = flags.proxyMode === 'all' ? crossModeDifferences(files, byMode) : [];
  for (const d of differences) process.stderr.write(`${d}\n`);
  // Declared by the scenarios themselves: shown, and no failure.
  if (flags.proxyMode === 'all') for (const d of declaredDifferences(files, byMode)) process.stderr.write(`${d}\n`);
  return results.some((r) => r.status === 'failed') || differences.length ? 1 : 0;
}

interface UpFlags extends ValidationFlags {
  diagnostics: string;
  artifacts: string;
  watch?: boolean;
  reporter?: string;
}

/** `knetlab up`: builds one scenario and holds it until Ctrl-C or `knetlab down`; with --watch, reloads it as its file changes. */
async function upCommand(file: string, flags: UpFlags): Promise<number> {
  if (flags.reporter !== undefined && !flags.watch) throw new KnetlabError('EUSAGE', '--reporter reports the steps --watch runs: give --watch too');
  const kind = reporterKind(flags.reporter);
  const validation = await validationOptions(flags);
  const v = await validateScenario(file, validation);
  printProblems(v.problems, process.stderr);
  if (hasErrors(v.problems) || !v.scenario) throw new KnetlabError('EINVALID', `${file} is not a valid scenario; nothing was built`);
  const name = v.scenario.name;
  const claim = { name, file, up: ownId(), rootless: !isRoot() };
  // One `up` per name, claimed before anything is built.
  claimHeld(claim);
  const { signal, dispose, abort } = abortOnSignals();
  let sandbox: number | undefined;
  let artifacts = '';
  let channel: SandboxChannel | undefined;
  let running: Promise<ScenarioResult[]> | undefined;
  let id: ReturnType<typeof processId>;
  const { UpWatch } = flags.watch ? await import('./up-watch.js') : { UpWatch: undefined };
  const watching =
    UpWatch &&
    new UpWatch({
      file,
      reporter: kind,
      onPlaces: (netns) => id && saveHeld({ ...claim, sandbox: id, netns }),
      stop: (reason) => {
        abort(reason);
        return (running ?? Promise.resolve([])).then(([r]) => r!);
      },
    });
  try {
    const { runFiles } = await import('../run/runner.js');
    running = runFiles([file], {
      jobs: 1,
      diagnosticsRoot: flags.diagnostics,
      artifactsRoot: flags.artifacts,
      signal,
      validation,
      // A signal ends it: while it builds at once, once held the gentle way (its result is sent).
      hold: {
        onSandbox: (pid, dir, ch) => {
          sandbox = pid;
          artifacts = dir;
          channel = ch;
        },
      },
      onEvent: (e) => {
        if (e.type === 'phase') process.stderr.write(`  ${e.phase} ${e.durationMs}ms\n`);
        if (e.type === 'held') {
          id = sandbox ? processId(sandbox) : undefined;
          if (id) saveHeld({ ...claim, sandbox: id, netns: e.netns });
          else process.stderr.write(`knetlab: the sandbox of ${name} (pid ${sandbox}) cannot be found: exec and shell cannot enter it\n`);
          const places = Object.keys(e.netns).filter((k) => k !== 'lan');
          process.stderr.write(
            `${name} is up: ${places.join(', ')}\n  knetlab exec ${places[0] ?? 'node/NAME'} -- ip route\n  knetlab shell ${places[0] ?? 'node/NAME'}\n` +
              `  files written to $${ARTIFACTS_ENV} (${ARTIFACTS_MOUNT}) inside are kept in ${artifacts}\n  Ctrl-C or \`knetlab down\` ends it\n`,
          );
          if (watching && channel) watching.held(e.name, e.netns, artifacts, channel);
        }
        watching?.event(e);
      },
    });
    const [result] = await running;
    watching?.end(result);
    // Held, then ended by Ctrl-C or `knetlab down`: the way a held scenario ends.
    if (sandbox !== undefined && signal.aborted) {
      process.stderr.write(`${name} is down\n`);
      return 0;
    }
    if (result?.interrupted) {
      process.stderr.write(`knetlab: ${name}: ${String(signal.reason)} while it was being built; nothing is left of it\n`);
      return EXIT_INTERRUPTED;
    }
    if (result?.status === 'skipped' || result?.status === 'failed') {
      process.stderr.write(`knetlab: ${name} could not be held: ${result.reason}\n`);
      return 1;
    }
    process.stderr.write(`${name} is down\n`);
    return 0;
  } finally {
    watching?.end();
    dispose();
    removeHeld(name);
  }
}

async function execInHeld(place: string, argv: string[], scenario?: string): Promise<number> {
  const h = findHeld(scenario);
  const cmd = enterCommand(h, placeNetns(h, place), argv);
  const { execa } = await import('execa');
  // As the scenario's own commands have it: where files that should outlive the run go.
  const r = await execa(cmd[0]!, cmd.slice(1), { stdio: 'inherit', reject: false, env: { [ARTIFACTS_ENV]: ARTIFACTS_MOUNT } });
  return r.exitCode ?? 1;
}

async function downCommand(scenario?: string): Promise<number> {
  const h = findHeld(scenario);
  signalHolder(h);
  for (let i = 0; i < 50; i++) {
    if (!listHeld().some((x) => x.name === h.name)) return 0;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new KnetlabError('ECOMMAND', `${h.name} did not end within 5 s (knetlab up is pid ${h.up.pid})`);
}

export async function main(argv: string[]): Promise<number> {
  const program = new Command('knetlab')
    .description('Reproduce Kubernetes Service networking on one Linux machine, for real.')
    .version(pkg.version)
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  let status = 0;
  program
    .command('validate')
    .description('check scenario files (or every scenario under a folder) without building anything')
    .argument('<paths...>', 'scenario files or folders')
    .option('-q, --quiet', 'print errors only, not warnings')
    .option('-o, --output <format>', 'text or json (every problem with its code, file, line and column)', 'text')
    .option('--allow-path <dir>', "a folder (besides the scenario's own) that manifest and apply paths may lead into; repeatable", collect, [] as string[])
    .option('--timeout <duration>', "the most a scenario's steps may take in the worst case, such as 45m or 2h (default 30m)")
    .action(async (paths: string[], opts: { quiet?: boolean; output: string } & ValidationFlags) => {
      if (opts.output !== 'text' && opts.output !== 'json') throw new KnetlabError('EUSAGE', `--output must be text or json, got ${opts.output}`);
      status = await validateCommand(paths, opts);
    });
  program
    .command('plan')
    .description('print every address the scenario will use (nodes, pods, Services, endpoints, steps), as kubectl get -o wide would')
    .argument('<file>', 'a scenario file')
    .option('-o, --output <format>', 'text or json', 'text')
    .option('--allow-path <dir>', "a folder (besides the scenario's own) that manifest and apply paths may lead into; repeatable", collect, [] as string[])
    .option('--timeout <duration>', "the most a scenario's steps may take in the worst case, such as 45m or 2h (default 30m)")
    .action(async (file: string, opts: { output: string } & ValidationFlags) => {
      if (opts.output !== 'text' && opts.output !== 'json') throw new KnetlabError('EUSAGE', `--output must be text or json, got ${opts.output}`);
      status = await planCommand(file, opts);
    });
  program
    .command('graph')
    .description('draw the topology (nodes, pods, bridges, the overlay, the LAN and its hosts, with addresses) of a scenario file or of the held one')
    .argument('[file]', 'a scenario file (default: the held scenario)')
    .option('-o, --output <format>', 'svg or mermaid', 'svg')
    .option('--out <file>', 'write the drawing to a file instead of stdout')
    .option('-s, --scenario <name>', 'which held scenario, when several are (without FILE)')
    .option('--network <name>', `draw it on this network (${networks.join(', ')}) instead of its own cluster.network`)
    .option('--allow-path <dir>', "a folder (besides the scenario's own) that manifest and apply paths may lead into; repeatable", collect, [] as string[])
    .option('--timeout <duration>', "the most a scenario's steps may take in the worst case, such as 45m or 2h (default 30m)")
    .action(async (file: string | undefined, flags: GraphFlags & ValidationFlags & { network?: string }) => {
      const network = flags.network === undefined ? undefined : checkedNetwork(flags.network, '--network');
      const validation = { ...(await validationOptions(flags)), ...(network ? { network } : {}) };
      const { graphCommand } = await import('./graph.js');
      status = await graphCommand(file, flags, validation, (p) => printProblems(p, process.stderr));
    });
  program
    .command('run')
    .description('build and run scenario files (or every scenario under a folder), each in its own sandbox, several at once')
    .argument('<paths...>', 'scenario files or folders')
    .option('-j, --jobs <n>', 'scenarios run at once', String(Math.max(1, Math.min(4, (await import('node:os')).availableParallelism()))))
    .option('-r, --reporter <kind>', `${reporterKinds.join(', ')} (default: pretty on a terminal, tap otherwise)`)
    .option('-o, --output <file>', 'write the report to a file instead of stdout')
    .option('--diagnostics <dir>', 'where failed steps leave their diagnostics', 'knetlab-diagnostics')
    .option('--artifacts <dir>', `where scenarios keep files (a folder per run, at ${ARTIFACTS_MOUNT} inside; empty ones are removed)`, 'knetlab-artifacts')
    .option(
      '--proxy-mode <mode>',
      `run every scenario under this kube-proxy mode (${proxyModes.join(', ')}) instead of its own; \`all\`: under each, reporting steps whose outcome differs`,
    )
    .option('--kubernetes-version <release>', `run every scenario as this kube-proxy release (${KUBERNETES_VERSION_RANGE}) instead of its own cluster.kubernetesVersion`)
    .option('--trace <step>', 'trace one try of this step (its number from 1, or its name) through the kernel, whatever its outcome; repeatable', collect, [] as string[])
    .option('--network <name>', `run every scenario on this network (${networks.join(', ')}) instead of its own cluster.network`)
    .option('--allow-path <dir>', "a folder (besides the scenario's own) that manifest and apply paths may lead into; repeatable", collect, [] as string[])
    .option('--timeout <duration>', "the most a scenario's steps may take in the worst case, such as 45m or 2h (default 30m)")
    .option('--shard <I/N>', 'run only shard I of N: a share of the files that every job computes alike, balanced by --durations or an estimate')
    .option('--durations <file>', 'a json report of an earlier run (scenarios[].file, durationMs): --shard balances the shares by these times')
    .action(async (paths: string[], flags: RunFlags) => {
      status = await runCommand(paths, flags);
    });
  program
    .command('up')
    .description('build a scenario and hold it for exploring (exec, shell); Ctrl-C or `knetlab down` ends it')
    .argument('<file>', 'a scenario file')
    .option('--diagnostics <dir>', "where the echo servers' log goes", 'knetlab-diagnostics')
    .option('--artifacts <dir>', `where the scenario keeps files (at ${ARTIFACTS_MOUNT} inside)`, 'knetlab-artifacts')
    .option('--allow-path <dir>', "a folder (besides the scenario's own) that manifest and apply paths may lead into; repeatable", collect, [] as string[])
    .option('--timeout <duration>', "the most a scenario's steps may take in the worst case, such as 45m or 2h (default 30m)")
    .option('-w, --watch', 'run its steps once up, and each time the file (or a manifest file it names) changes apply the objects that changed and run its steps again')
    .option('-r, --reporter <kind>', `how --watch reports the steps: ${reporterKinds.join(', ')} (default: pretty on a terminal, tap otherwise)`)
    .action(async (file: string, flags: UpFlags) => {
      status = await upCommand(file, flags);
    });
  program
    .command('exec')
    .description('run a command in a node, host or pod of the held scenario: knetlab exec node/node-1 -- ip route')
    .argument('<place>', 'node/NAME, host/NAME, pod/NAME[.NS] (or a bare name)')
    .argument('<command...>', 'the command and its arguments (after --)')
    .option('-s, --scenario <name>', 'which held scenario, when several are')
    .action(async (place: string, command: string[], flags: { scenario?: string }) => {
      status = await execInHeld(place, command, flags.scenario);
    });
  program
    .command('shell')
    .description('an interactive shell in a node, host or pod of the held scenario')
    .argument('<place>', 'node/NAME, host/NAME, pod/NAME[.NS] (or a bare name)')
    .option('-s, --scenario <name>', 'which held scenario, when several are')
    .action(async (place: string, flags: { scenario?: string }) => {
      status = await execInHeld(place, ['env', `PS1=[knetlab ${place}] \\w\\$ `, process.env.SHELL?.endsWith('bash') ? process.env.SHELL : 'bash', '--norc', '-i'], flags.scenario);
    });
  program
    .command('trace')
    .description('send one probe in the held scenario and show its path through the kernel: every namespace, chain and rule, where it was NATed or dropped')
    .argument('<from>', 'where the probe starts: host/NAME, node/NAME, pod/NAME[.NS], deployment/NAME[.NS]')
    .argument('<to>', 'where it goes, as steps name it: service/NAME[:PORT], nodeport/NAME@NODE, pod/NAME:PORT, IP:PORT, ...')
    .option('-k, --kind <kind>', 'the probe: http, tcp, udp or ping (default: http; with --proto, its first)')
    .option('--proto <proto>', 'tcp (a TCP connect), udp or icmp (a ping): the same as -k tcp, udp or ping')
    .option('--port <port>', 'the port on TO, for a TO without one (service/web --port 8080)')
    .option('-o, --output <format>', 'text or json', 'text')
    .option('-s, --scenario <name>', 'which held scenario, when several are')
    .option('--timeout <seconds>', 'how long the probe waits for its answer', '2')
    .option('--svg <file>', 'also draw the traced path (hops, NAT points, the drop) on the topology, as SVG, into this file')
    .option('--allow-path <dir>', "a folder (besides the scenario's own) that manifest and apply paths may lead into; repeatable", collect, [] as string[])
    .action(async (from: string, to: string, flags: TraceFlags & { allowPath: string[] }) => {
      const { traceCommand } = await import('./trace.js'); // loaded when used: validate and plan load no process-running code
      status = await traceCommand(from, to, flags, await validationOptions({ allowPath: flags.allowPath }));
    });
  program
    .command('down')
    .description('end the held scenario')
    .argument('[scenario]', 'which one, when several are held')
    .option('-s, --scenario <name>', 'which held scenario, when several are (as exec and shell take it)')
    .action(async (scenario: string | undefined, flags: { scenario?: string }) => {
      status = await downCommand(scenario ?? flags.scenario);
    });
  program
    .command('doctor')
    .description('say what this machine has and lacks for knetlab: root or user namespaces, each command and kernel feature, which proxy modes and networks can run')
    .option('-o, --output <format>', 'text or json', 'text')
    .action(async (flags: { output: string }) => {
      const { doctorCommand } = await import('./doctor.js'); // loaded when used, as trace is
      status = await doctorCommand(flags);
    });
  program
    .command('schema')
    .description('print the JSON Schema of scenario files, for editors (`# yaml-language-server: $schema=...`)')
    .option('--out <file>', 'write it to a file instead of stdout')
    .action(async (flags: { out?: string }) => {
      const { schemaCommand } = await import('./schema.js');
      status = schemaCommand(flags);
    });
  program
    .command('merge-reports')
    .description('join the json reports of every shard (run --shard I/N -r json) into the report of the whole run')
    .argument('<reports...>', 'the json report of each shard')
    .option('-r, --reporter <kind>', `${reporterKinds.join(', ')} (default: pretty on a terminal, tap otherwise)`)
    .option('-o, --output <file>', 'write the report to a file instead of stdout')
    .action(async (reports: string[], flags: { reporter?: string; output?: string }) => {
      const { mergeReportsCommand } = await import('./shard.js');
      status = await mergeReportsCommand(reports, flags);
    });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return status;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : EXIT_INVALID;
    if (err instanceof KnetlabError && err.code !== 'EINTERNAL') {
      if (err.problems.length) printProblems(err.problems, process.stderr);
      process.stderr.write(`knetlab: ${err.message}\n`);
      return err.code === 'EINVALID' || err.code === 'EUSAGE' ? EXIT_INVALID : 1;
    }
    throw err;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`knetlab: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
