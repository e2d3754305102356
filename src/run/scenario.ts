import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { podListenPorts } from '../cluster/service-endpoints.js';
import type { Model, Pod } from '../cluster/types.js';
import { machineNetns, podNetns, LAN_NETNS } from '../dataplane/names.js';
import { removePod, renderPods, renderTopology, podsWithNetns } from '../dataplane/topology.js';
import { KnetlabError } from '../errors.js';
import { applyTopology, removePods } from '../kernel/apply.js';
import { missingReason, neededFeatures, probeCapabilities } from '../kernel/capabilities.js';
import { KubeProxy } from '../kernel/kube-proxy.js';
import { HostPorts } from '../kernel/host-ports.js';
import { NetworkPolicies } from '../kernel/network-policy.js';
import type { Runner } from '../kernel/exec.js';
import { prepareSandbox, SCRATCH } from '../kernel/sandbox.js';
import { systemPython } from '../kernel/python.js';
import { modeUnavailable } from '../dataplane/versions.js';
import { skippedUnderMode, stepUnderMode, variantSuffix, type Step } from '../scenario/steps.js';
import { renderDnsZone } from '../dataplane/dns-records.js';
import type { Judged } from '../steps/judge.js';
import { kindOf, stepName } from '../steps/kinds/index.js';
import type { AnsweredBy } from '../steps/run.js';
import { namerFor, traceProbe, traceRequestOf } from '../steps/trace-probe.js';
import { graphOf } from '../report/graph-model.js';
import { graphSvg } from '../report/graph-svg.js';
import { traceOverlay } from '../report/graph-trace.js';
import { renderTrace, traceSummary, type TraceReport } from '../trace/report.js';
import { loadModel, type ValidateOptions } from '../validate.js';
import { CommandWorkloads } from '../workloads/command.js';
import { IngressNginx } from '../workloads/ingress-nginx.js';
import { EchoServer, type EchoListener } from '../workloads/echo.js';
import { writeDiagnostics } from './diagnostics.js';
import { rebootNode } from './reboot.js';
import type { PhaseTiming, RunEvent, SandboxConfig, ScenarioResult, StepResult } from './types.js';
import { ARTIFACTS_ENV, ARTIFACTS_MOUNT } from '../kernel/sandbox-fs.js';

export interface ScenarioRunOptions {
  runner: Runner;
  /** `knetlab up`: build, then hold (until `until` resolves) instead of running the steps; onHeld gets what runs (a lab's steps run on it). */
  hold?: { until: Promise<void>; onHeld?: (live: Live, name: string) => void };
  emit: (e: RunEvent) => void;
}

/** Every echo socket the model asks for: pods' listen ports, nodes' and hosts' `serve`. */
export function echoListeners(model: Model, pods: readonly Pod[] = model.pods): EchoListener[] {
  const out: EchoListener[] = [];
  for (const p of pods) {
    if (p.phase !== 'Running' || !p.node || !p.ip) continue;
    const netns = p.hostNetwork ? machineNetns(p.node) : podNetns(p);
    if (p.workload === 'dns') {
      // Cluster DNS on 53, UDP and TCP, answering from the zone (the metrics port gets nothing).
      const identity = { server: `pod/${p.name}.${p.namespace}`, pod: p.name, namespace: p.namespace, node: p.node, podIP: p.ip };
      for (const protocol of ['UDP', 'TCP'] as const) out.push({ netns, port: 53, protocol, kind: 'dns', identity });
      continue;
    }
    if (p.workload !== 'echo') continue;
    for (const l of podListenPorts(model, p)) {
      if (l.protocol !== 'TCP' && l.protocol !== 'UDP') continue;
      out.push({ netns, port: l.port, protocol: l.protocol, identity: { server: `pod/${p.name}.${p.namespace}`, pod: p.name, namespace: p.namespace, node: p.node, podIP: p.ip } });
    }
  }
  if (pods === model.pods) {
    for (const n of model.nodes)
      for (const s of n.serve)
        if (s.protocol !== 'SCTP') out.push({ netns: machineNetns(n.name), port: s.port, protocol: s.protocol, identity: { server: `node/${n.name}`, node: n.name } });
    for (const h of model.hosts)
      for (const s of h.serve) if (s.protocol !== 'SCTP') out.push({ netns: machineNetns(h.name), port: s.port, protocol: s.protocol, identity: { server: `host/${h.name}` } });
    // cluster.upstreamDNS: the LAN gateway's resolver, on 53 of its own namespace.
    if (model.config.upstreamDNS)
      for (const protocol of ['UDP', 'TCP'] as const) out.push({ netns: LAN_NETNS, port: 53, protocol, kind: 'dns', identity: { server: 'lan/gateway', dns: 'upstream' } });
  }
  return out;
}

const podKey = (p: Pod) => `${p.namespace}/${p.name}`;

/** Every place a person may enter, by the names steps use, and its namespace. */
export function placesNetns(model: Model): Record<string, string> {
  const out: Record<string, string> = { lan: LAN_NETNS };
  for (const n of model.nodes) out[`node/${n.name}`] = machineNetns(n.name);
  for (const h of model.hosts) out[`host/${h.name}`] = machineNetns(h.name);
  for (const p of model.pods) {
    if (!p.node || !p.ip) continue;
    out[`pod/${p.name}.${p.namespace}`] = p.hostNetwork ? machineNetns(p.node) : podNetns(p);
  }
  return out;
}

/** The ingress-nginx controllers of a run, by pod: one real nginx each, in its pod's namespace. */
export class IngressControllers {
  private readonly running = new Map<string, IngressNginx>();

  async start(model: Model, pods: readonly Pod[]): Promise<void> {
    for (const p of pods) {
      if (p.workload !== 'ingress-nginx' || p.phase !== 'Running' || !p.node || !p.ip || this.running.has(podKey(p))) continue;
      const c = new IngressNginx();
      this.running.set(podKey(p), c);
      await c.start(model, p, p.hostNetwork ? machineNetns(p.node) : podNetns(p), SCRATCH);
    }
  }

  async stop(pods: readonly Pod[]): Promise<void> {
    for (const p of pods) {
      const c = this.running.get(podKey(p));
      if (!c) continue;
      this.running.delete(podKey(p));
      c.stop();
      await c.stopped();
    }
  }

  /** After any change: Ingresses and endpoints both shape nginx's configuration. */
  async reload(model: Model): Promise<void> {
    await Promise.all([...this.running.values()].map((c) => c.reload(model)));
  }

  async stopAll(): Promise<void> {
    const all = [...this.running.values()];
    this.running.clear();
    for (const c of all) c.stop();
    await Promise.all(all.map((c) => c.stopped()));
  }
}

/** Brings the kernel from one model to the next after an action: pods made and removed. */
async function syncPods(runner: Runner, echo: EchoServer, commands: CommandWorkloads, ingress: IngressControllers, prev: Model, next: Model, etcNetns: boolean): Promise<void> {
  const before = new Map(podsWithNetns(prev).map((p) => [podKey(p), p]));
  const after = new Map(podsWithNetns(next).map((p) => [podKey(p), p]));
  const gone = [...before.values()].filter((p) => !after.has(podKey(p)) || after.get(podKey(p))!.ip !== p.ip);
  const made = [...after.values()].filter((p) => !before.has(podKey(p)) || before.get(podKey(p))!.ip !== p.ip);
  if (gone.length) {
    commands.stop(gone);
    await ingress.stop(gone);
    await echo.close(echoListeners(prev, gone));
    await removePods(
      runner,
      gone.map((p) => removePod(prev, p)),
      { etcNetns },
    );
  }
  if (made.length) await applyTopology(runner, renderPods(next, made), { etcNetns });
  // Listen ports also follow Services (a new targetPort) and hostNetwork pods: listening is idempotent.
  await echo.listen(echoListeners(next));
  // Records follow the model as it changes, as CoreDNS follows the API.
  if (next.config.dns || next.config.upstreamDNS) await echo.setDnsZone(renderDnsZone(next));
  commands.start(made);
  await commands.listening(made);
  await ingress.start(next, made);
}

/** Phase timings as the run goes: each `phase(name)` closes the phase that ran since the last one. */
function phaseClock(file: string, emit: (e: RunEvent) => void) {
  const phases: PhaseTiming[] = [];
  let mark = performance.now();
  const phase = (name: string) => {
    const now = performance.now();
    const t = { name, durationMs: Math.round(now - mark) };
    mark = now;
    phases.push(t);
    emit({ type: 'phase', file, phase: name, durationMs: t.durationMs });
  };
  return { phases, phase };
}

/** What runs for the whole scenario once the topology is up, and what steps change. */
export interface Live {
  runner: Runner;
  echo: EchoServer;
  commands: CommandWorkloads;
  kubeProxy: KubeProxy;
  ingress: IngressControllers;
  policies: NetworkPolicies;
  hostPorts: HostPorts;
  etcNetns: boolean;
  echoLog: string;
  /** The model as it is now (actions change it). */
  model: Model;
}

/** How the sandbox reads its scenario (and a lab's steps and reloads): as the command line did, under the run's mode and release. */
export function sandboxValidation(config: SandboxConfig): ValidateOptions {
  const overrides = { ...(config.proxyMode ? { proxyMode: config.proxyMode } : {}), ...(config.kubernetesVersion ? { kubernetesVersion: config.kubernetesVersion } : {}) };
  return { ...config.validation, overrides };
}

/** Runs one scenario inside its sandbox: capabilities, topology, workloads, steps. */
export async function runScenario(config: SandboxConfig, opts: ScenarioRunOptions): Promise<ScenarioResult> {
  const { runner, emit } = opts;
  const { file } = config;
  const start = performance.now();
  const { phases, phase } = phaseClock(file, emit);
  const v = await loadModel(file, sandboxValidation(config));
  const model: Model = v.model;
  const name = v.scenario.name;
  emit({ type: 'scenario-start', file, name });
  const steps: StepResult[] = [];
  const finish = (status: ScenarioResult['status'], reason: string | null): ScenarioResult => {
    const result = { file, name, status, reason, durationMs: Math.round(performance.now() - start), steps, phases };
    emit({ type: 'scenario-end', result });
    return result;
  };
  phase('validate');
  // A scenario about some modes only is not built under the others (a bug of one mode, the VM's time).
  if (!model.config.proxyModes.includes(model.config.proxyMode))
    return finish(
      'skipped',
      `the scenario is about kube-proxy's ${model.config.proxyModes.join(' and ')} mode${model.config.proxyModes.length > 1 ? 's' : ''} (cluster.proxyModes), not ${model.config.proxyMode}`,
    );
  // Run under another mode (--proxy-mode), the scenario's release may not have that mode at all.
  const noSuchMode = modeUnavailable(model.config.kubernetesVersion, model.config.proxyMode);
  const versionFrom = config.kubernetesVersion ? '--kubernetes-version' : 'cluster.kubernetesVersion';
  if (noSuchMode) return finish('skipped', `${noSuchMode}: ${versionFrom} is "${model.config.kubernetesVersion}"`);

  const prepared = await prepareKernel(runner, config, model, emit);
  phase('capabilities');
  if (!prepared.ok) return finish('skipped', prepared.missing);
  const live = await buildCluster(runner, model, prepared.etcNetns, phase);
  try {
    await startWorkloads(live);
    phase('workloads');
    if (opts.hold) {
      opts.hold.onHeld?.(live, name);
      emit({ type: 'held', file, name, netns: placesNetns(live.model) });
      await opts.hold.until;
      return finish('passed', null);
    }
    const failed = await runSteps(live, v.scenario.steps, config, emit, steps);
    phase('steps');
    return finish(failed ? 'failed' : 'passed', failed ? `step "${failed.name}" failed: expected ${failed.expected}; saw ${failed.seen}` : null);
  } finally {
    live.commands.stopAll();
    await live.ingress.stopAll();
    await live.echo.stop();
  }
}

/** The sandbox made, and the kernel features the model needs probed: what is missing, if any. */
async function prepareKernel(
  runner: Runner,
  config: SandboxConfig,
  model: Model,
  emit: (e: RunEvent) => void,
): Promise<{ ok: true; etcNetns: boolean } | { ok: false; missing: string }> {
  const { etcNetns } = await prepareSandbox(runner, { writable: [config.diagnosticsDir], artifacts: config.artifactsDir });
  // Everything the run starts from here inherits it: where a scenario's commands keep files.
  process.env[ARTIFACTS_ENV] = ARTIFACTS_MOUNT;
  const features = neededFeatures(model);
  const caps = await probeCapabilities(runner, features, { known: new Set(config.knownFeatures) });
  if (caps.found.length) emit({ type: 'features', found: caps.found });
  const missing = missingReason(caps, features);
  return missing ? { ok: false, missing } : { ok: true, etcNetns };
}

/** The topology, the echo server, kube-proxy's rules and the NetworkPolicies, as the model has them. */
async function buildCluster(runner: Runner, model: Model, etcNetns: boolean, phase: (name: string) => void): Promise<Live> {
  // Logs stay in the sandbox's private /run; a failed step's diagnostics copy them out.
  const echoLog = join(SCRATCH, 'echo-log.jsonl');
  // The echo server starts while the topology is built; it listens once the namespaces exist.
  const echoStarting = EchoServer.start({ logFile: echoLog, python: systemPython() });
  echoStarting.catch(() => undefined); // awaited below; a failure then is reported there
  await applyTopology(runner, renderTopology(model), { etcNetns });
  phase('topology');
  const echo = await echoStarting;
  const kubeProxy = new KubeProxy(runner, { clearStaleConntrack: model.config.clearStaleConntrack, serveHealth: (l) => echo.listen(l) });
  await kubeProxy.sync(undefined, model);
  const policies = new NetworkPolicies(runner);
  await policies.sync(model);
  const hostPorts = new HostPorts(runner);
  await hostPorts.sync(model);
  phase('kube-proxy');
  return { runner, echo, commands: new CommandWorkloads(SCRATCH), kubeProxy, ingress: new IngressControllers(), policies, hostPorts, etcNetns, echoLog, model };
}

/** The pods' workloads: echo sockets, DNS records, commands (waited for until they listen), ingress controllers. */
async function startWorkloads(live: Live): Promise<void> {
  const { model, echo, commands, ingress } = live;
  await echo.listen(echoListeners(model));
  if (model.config.dns || model.config.upstreamDNS) await echo.setDnsZone(renderDnsZone(model));
  const notRunnable = commands.start(model.pods);
  if (notRunnable.length) throw new KnetlabError('EINVALID', notRunnable.join('; '));
  // What still does not listen shows in the steps that reach it (refused), and in its log.
  await commands.listening(model.pods);
  await ingress.start(model, model.pods);
}

/** Who answered each http and udp step that ran, by index, for a later step's sameBackendAs. */
export class Answered {
  private readonly byIndex = new Map<number, readonly string[]>();
  constructor(private readonly written: () => readonly Step[]) {}
  readonly by: AnsweredBy = (ref, before) => {
    const earlier = this.written()
      .filter((s) => s.index < before && s.name === ref)
      .at(-1);
    return earlier ? this.byIndex.get(earlier.index) : undefined;
  };
  set(index: number, servers: readonly string[]): void {
    this.byIndex.set(index, servers);
  }
}

/** A step as written, run under the model's kube-proxy mode: its expectIn applied, or skipped as it says. */
export async function runWrittenStep(live: Live, w: Step, config: SandboxConfig, answered: Answered, emit: (e: RunEvent) => void, after?: StepResult): Promise<StepResult> {
  const { file } = config;
  const mode = live.model.config.proxyMode;
  const step = stepUnderMode(w, mode);
  // A step judged by its expectIn says so: its name may describe another mode's outcome.
  const e = w.expectIn?.[mode];
  const variant = e !== undefined && e !== 'skip' ? mode : null;
  const name = stepName(step) + (variant ? variantSuffix(variant) : '');
  emit({ type: 'step-start', file, index: step.index, kind: step.kind, name });
  const base = { name, index: step.index, kind: step.kind, variant, diagnostics: null, durationMs: 0, tries: [], expected: '' };
  let result: StepResult;
  if (after) result = { ...base, status: 'skipped', seen: 'not run: an earlier step failed', skip: { because: 'earlier-step-failed' } };
  else if (skippedUnderMode(w, mode))
    result = { ...base, status: 'skipped', seen: `not run under kube-proxy's ${mode} mode (its expectIn says skip)`, skip: { because: 'mode', mode } };
  else result = await runOneStep(live, step, base, config, answered.by, (servers) => answered.set(step.index, servers));
  emit({ type: 'step-end', file, index: step.index, result });
  return result;
}

/** Runs the steps in order (after a failure, the rest are reported skipped); the failed one, if any. */
export async function runSteps(live: Live, written: readonly Step[], config: SandboxConfig, emit: (e: RunEvent) => void, results: StepResult[]): Promise<StepResult | undefined> {
  let failed: StepResult | undefined;
  const answered = new Answered(() => written);
  for (const w of written) {
    const result = await runWrittenStep(live, w, config, answered, emit, failed);
    if (result.status === 'failed') failed = result;
    results.push(result);
  }
  return failed;
}

/** One step run by its kind and judged; a failed one gets its diagnostics written. */
async function runOneStep(
  live: Live,
  step: Step,
  base: Pick<StepResult, 'name' | 'index' | 'kind' | 'variant'>,
  config: SandboxConfig,
  answeredBy: AnsweredBy,
  answeredNow: (servers: readonly string[]) => void,
): Promise<StepResult> {
  const t0 = performance.now();
  let judged: Judged;
  try {
    judged = await kindOf(step).run(step, {
      runner: live.runner,
      model: live.model,
      answeredBy,
      commit: (next) => commitModel(live, next),
      resync: () => live.kubeProxy.resync(live.model),
      restartKubeProxy: (node) => live.kubeProxy.restart(live.model, node),
      reboot: (node) => rebootNode(live, node),
      readDnsLog: () => live.echo.readDnsLog(),
    });
    if (judged.servers) answeredNow(judged.servers);
  } catch (err) {
    // A bug (EINTERNAL, or not ours) ends the run; a step that cannot be tried, or a failed command, fails the step.
    if (!(err instanceof KnetlabError) || err.code === 'EINTERNAL') throw err;
    judged = { passed: false, expected: 'the step can run', seen: err.message, tries: [] };
  }
  let diagnostics: string | null = null;
  let trace: string[] | undefined;
  if (!judged.passed) {
    const model = live.model;
    const namespaces = [LAN_NETNS, ...model.nodes.map((n) => machineNetns(n.name)), ...model.hosts.map((h) => machineNetns(h.name)), ...podsWithNetns(model).map(podNetns)];
    diagnostics = await writeDiagnostics(live.runner, join(config.diagnosticsDir, `step-${String(step.index + 1).padStart(2, '0')}`), {
      step: base.name,
      expected: judged.expected,
      seen: judged.seen,
      namespaces,
      echoLog: live.echoLog,
      logsFrom: SCRATCH,
    });
    trace = await explainFailure(live, step, diagnostics, judged.traced);
  } else if (step.trace || config.traceSteps?.includes(step.index)) trace = await explainFailure(live, step, undefined, judged.traced);
  return {
    ...base,
    status: judged.passed ? 'passed' : 'failed',
    expected: judged.expected,
    seen: judged.seen,
    diagnostics,
    durationMs: Math.round(performance.now() - t0),
    tries: judged.tries,
    skip: null,
    ...(trace ? { trace } : {}),
    ...(judged.cases ? { cases: judged.cases } : {}),
  };
}

/**
 * A failed probe step (or one with `trace: true`) traces one more try through the kernel: the few
 * lines that say where it was NATed or dropped go in the report, the whole trace (text, JSON, picture) in
 * a failed one's diagnostics folder.
 */
async function explainFailure(live: Live, step: Step, dir: string | undefined, traced: TraceReport | undefined): Promise<string[] | undefined> {
  const req = traceRequestOf(step);
  if (!req) return undefined;
  try {
    // A step with kernel expectations traced its tries already: the one that broke one explains it.
    const report = traced ?? (await traceProbe(live.runner, live.model, req));
    const namer = namerFor(live.model);
    if (dir) {
      await writeFile(join(dir, 'trace.txt'), `${renderTrace(report, namer).join('\n')}\n`);
      await writeFile(join(dir, 'trace.json'), `${JSON.stringify(report, null, 2)}\n`);
      await writeFile(join(dir, 'trace.svg'), graphSvg(graphOf(live.model), traceOverlay(report, namer)));
    }
    return [`a traced try: ${traceSummary(report, namer)[0]}`, ...traceSummary(report, namer).slice(1)];
  } catch (err) {
    if (!(err instanceof KnetlabError) || err.code === 'EINTERNAL') throw err;
    return [`not traced: ${err.message.replace(/\s*\n\s*/g, ' | ')}`];
  }
}

/** After an action: pods made and removed, kube-proxy, policies and ingress brought to the next model. */
export async function commitModel(live: Live, next: Model): Promise<void> {
  const prev = live.model;
  await syncPods(live.runner, live.echo, live.commands, live.ingress, prev, next, live.etcNetns);
  await live.kubeProxy.sync(prev, next);
  await live.policies.sync(next);
  await live.hostPorts.sync(next);
  await live.ingress.reload(next);
  live.model = next;
}
