import { join } from 'node:path';
import { applyObjects, deleteObject, patchObject, scaleDeployment, type ActionResult } from '../cluster/actions.js';
import { podListenPorts } from '../cluster/service-endpoints.js';
import type { Model, Pod } from '../cluster/types.js';
import { machineNetns, podNetns, LAN_NETNS } from '../dataplane/names.js';
import { removePod, renderPods, renderTopology, podsWithNetns } from '../dataplane/topology.js';
import { KnetlabError } from '../errors.js';
import { applyTopology, removePods } from '../kernel/apply.js';
import { missingReason, neededFeatures, probeCapabilities } from '../kernel/capabilities.js';
import { KubeProxy } from '../kernel/kube-proxy.js';
import { NetworkPolicies } from '../kernel/network-policy.js';
import type { Runner } from '../kernel/exec.js';
import { prepareSandbox, SCRATCH } from '../kernel/sandbox.js';
import { systemPython } from '../kernel/python.js';
import { Problems } from '../scenario/problems.js';
import { skippedUnderMode, stepUnderMode, type Step } from '../scenario/steps.js';
import { resolveAddress, resolveSource } from '../cluster/resolve.js';
import { renderDnsZone } from '../dataplane/dns-records.js';
import { dnsProbe, judgeDns } from '../steps/dns-probe.js';
import type { Judged } from '../steps/judge.js';
import { placeNetns, runProbe, stepName, StepError, type AnsweredBy } from '../steps/run.js';
import { loadModel } from '../validate.js';
import { CommandWorkloads } from '../workloads/command.js';
import { IngressNginx } from '../workloads/ingress-nginx.js';
import { EchoServer, type EchoListener } from '../workloads/echo.js';
import { writeDiagnostics } from './diagnostics.js';
import type { PhaseTiming, RunEvent, SandboxConfig, ScenarioResult, StepResult } from './types.js';
import { ARTIFACTS_ENV, ARTIFACTS_MOUNT } from '../kernel/sandbox-fs.js';

export interface ScenarioRunOptions {
  runner: Runner;
  /** `knetlab up`: build, then hold (until `until` resolves) instead of running the steps. */
  hold?: { until: Promise<void> };
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
    for (const n of model.nodes) for (const s of n.serve) if (s.protocol !== 'SCTP') out.push({ netns: machineNetns(n.name), port: s.port, protocol: s.protocol, identity: { server: `node/${n.name}`, node: n.name } });
    for (const h of model.hosts) for (const s of h.serve) if (s.protocol !== 'SCTP') out.push({ netns: machineNetns(h.name), port: s.port, protocol: s.protocol, identity: { server: `host/${h.name}` } });
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
class IngressControllers {
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
    await removePods(runner, gone.map((p) => removePod(prev, p)), { etcNetns });
  }
  if (made.length) await applyTopology(runner, renderPods(next, made), { etcNetns });
  // Listen ports also follow Services (a new targetPort) and hostNetwork pods: listening is idempotent.
  await echo.listen(echoListeners(next));
  // Records follow the model as it changes, as CoreDNS follows the API.
  if (next.config.dns) await echo.setDnsZone(renderDnsZone(next));
  commands.start(made);
  await commands.listening(made);
  await ingress.start(next, made);
}

function actionOf(model: Model, step: Step, problems: Problems): ActionResult | undefined {
  switch (step.kind) {
    case 'apply':
      return { ok: true, model: applyObjects(model, step.objects, problems) };
    case 'patch':
      return patchObject(model, step.target, step.patch, step.origin, problems);
    case 'delete':
      return deleteObject(model, step.target, problems);
    case 'scale':
      return scaleDeployment(model, step.deployment, step.namespace, step.replicas, step.origin, problems);
    default:
      return undefined;
  }
}

/** Runs one scenario inside its sandbox: capabilities, topology, workloads, steps. */
export async function runScenario(config: SandboxConfig, opts: ScenarioRunOptions): Promise<ScenarioResult> {
  const { runner, emit } = opts;
  const { file } = config;
  const start = performance.now();
  const phases: PhaseTiming[] = [];
  let mark = performance.now();
  const phase = (name: string) => {
    const now = performance.now();
    const t = { name, durationMs: Math.round(now - mark) };
    mark = now;
    phases.push(t);
    emit({ type: 'phase', file, phase: name, durationMs: t.durationMs });
  };
  const v = await loadModel(file, config.validation);
  const override = config.proxyMode;
  let model: Model = override ? { ...v.model, config: { ...v.model.config, proxyMode: override } } : v.model;
  const name = v.scenario.name;
  emit({ type: 'scenario-start', file, name });
  const steps: StepResult[] = [];
  const finish = (status: ScenarioResult['status'], reason: string | null): ScenarioResult => {
    const result = { file, name, status, reason, durationMs: Math.round(performance.now() - start), steps, phases };
    emit({ type: 'scenario-end', result });
    return result;
  };
  phase('validate');

  const { etcNetns } = await prepareSandbox(runner, { writable: [config.diagnosticsDir], artifacts: config.artifactsDir });
  // Everything the run starts from here inherits it: where a scenario's commands keep files.
  process.env[ARTIFACTS_ENV] = ARTIFACTS_MOUNT;
  const features = neededFeatures(model);
  const caps = await probeCapabilities(runner, features, { known: new Set(config.knownFeatures) });
  if (caps.found.length) emit({ type: 'features', found: caps.found });
  phase('capabilities');
  const missing = missingReason(caps, features);
  if (missing) return finish('skipped', missing);

  // Logs stay in the sandbox's private /run; a failed step's diagnostics copy them out.
  const echoLog = join(SCRATCH, 'echo-log.jsonl');
  // The echo server starts while the topology is built; it listens once the namespaces exist.
  const echoStarting = EchoServer.start({ logFile: echoLog, python: systemPython() });
  echoStarting.catch(() => undefined); // awaited below; a failure then is reported there
  const plan = renderTopology(model);
  await applyTopology(runner, plan, { etcNetns });
  phase('topology');
  const echo = await echoStarting;
  const kubeProxy = new KubeProxy(runner, { clearStaleConntrack: model.config.clearStaleConntrack, serveHealth: (l) => echo.listen(l) });
  await kubeProxy.sync(undefined, model);
  const policies = new NetworkPolicies(runner);
  await policies.sync(model);
  phase('kube-proxy');
  const commands = new CommandWorkloads(SCRATCH);
  const ingress = new IngressControllers();
  try {
    await echo.listen(echoListeners(model));
    if (model.config.dns) await echo.setDnsZone(renderDnsZone(model));
    const notRunnable = commands.start(model.pods);
    if (notRunnable.length) throw new KnetlabError('EINVALID', notRunnable.join('; '));
    // What still does not listen shows in the steps that reach it (refused), and in its log.
    await commands.listening(model.pods);
    await ingress.start(model, model.pods);
    phase('workloads');
    if (opts.hold) {
      emit({ type: 'held', file, name, netns: placesNetns(model) });
      await opts.hold.until;
      return finish('passed', null);
    }

    let failed: StepResult | undefined;
    // Who answered each http and udp step that ran, by index, for sameBackendAs.
    const answered = new Map<number, readonly string[]>();
    const answeredBy: AnsweredBy = (ref, before) => {
      const earlier = v.scenario.steps.filter((s) => s.index < before && s.name === ref).at(-1);
      return earlier ? answered.get(earlier.index) : undefined;
    };
    for (const written of v.scenario.steps) {
      const step = stepUnderMode(written, model.config.proxyMode);
      // A step judged by its expectIn says so: its name may describe another mode's outcome.
      const variant = written.expectIn?.[model.config.proxyMode];
      const sname = stepName(step) + (variant !== undefined && variant !== 'skip' ? ` [expectIn.${model.config.proxyMode}]` : '');
      emit({ type: 'step-start', file, index: step.index, name: sname });
      const t0 = performance.now();
      let result: StepResult;
      if (failed) {
        result = { name: sname, status: 'skipped', expected: '', seen: 'not run: an earlier step failed', diagnostics: null, durationMs: 0 };
      } else if (skippedUnderMode(written, model.config.proxyMode)) {
        result = { name: sname, status: 'skipped', expected: '', seen: `not run under kube-proxy's ${model.config.proxyMode} mode (its expectIn says skip)`, diagnostics: null, durationMs: 0 };
      } else {
        let judged: Judged;
        try {
          judged = await runStep(runner, { echo, commands, kubeProxy, ingress, policies }, step, () => model, (m) => (model = m), etcNetns, answeredBy);
          if (judged.servers) answered.set(step.index, judged.servers);
        } catch (err) {
          if (!(err instanceof StepError) && !(err instanceof KnetlabError)) throw err;
          judged = { passed: false, expected: 'the step can run', seen: err.message };
        }
        let diagnostics: string | null = null;
        if (!judged.passed) {
          const namespaces = [LAN_NETNS, ...model.nodes.map((n) => machineNetns(n.name)), ...model.hosts.map((h) => machineNetns(h.name)), ...podsWithNetns(model).map(podNetns)];
          diagnostics = await writeDiagnostics(runner, join(config.diagnosticsDir, `step-${String(step.index + 1).padStart(2, '0')}`), {
            step: sname,
            expected: judged.expected,
            seen: judged.seen,
            namespaces,
            echoLog,
            logsFrom: SCRATCH,
          });
        }
        result = { name: sname, status: judged.passed ? 'passed' : 'failed', expected: judged.expected, seen: judged.seen, diagnostics, durationMs: Math.round(performance.now() - t0) };
        if (!judged.passed) failed = result;
      }
      steps.push(result);
      emit({ type: 'step-end', file, index: step.index, result });
    }
    phase('steps');
    return finish(failed ? 'failed' : 'passed', failed ? `step "${failed.name}" failed: expected ${failed.expected}; saw ${failed.seen}` : null);
  } finally {
    commands.stopAll();
    await ingress.stopAll();
    await echo.stop();
  }
}

interface Live {
  echo: EchoServer;
  commands: CommandWorkloads;
  kubeProxy: KubeProxy;
  ingress: IngressControllers;
  policies: NetworkPolicies;
}

async function runStep(runner: Runner, live: Live, step: Step, get: () => Model, set: (m: Model) => void, etcNetns: boolean, answeredBy: AnsweredBy): Promise<Judged> {
  const model = get();
  switch (step.kind) {
    case 'sleep':
      await new Promise((r) => setTimeout(r, step.ms));
      return { passed: true, expected: `wait ${step.ms} ms`, seen: 'waited' };
    case 'link': {
      // The node's cable: its port on the LAN bridge, so the node keeps its own addresses and routes.
      await runner.run(['ip', '-n', LAN_NETNS, 'link', 'set', 'dev', step.node, step.state]);
      return { passed: true, expected: `node/${step.node}'s LAN link ${step.state}`, seen: step.state };
    }
    case 'apply':
    case 'patch':
    case 'delete':
    case 'scale': {
      const problems = new Problems();
      const r = actionOf(model, step, problems)!;
      const errors = problems.list.filter((p) => p.severity === 'error').map((p) => p.message);
      if (!r.ok || errors.length) return { passed: false, expected: `${step.kind} is accepted`, seen: r.ok ? errors.join('; ') : r.reason };
      await syncPods(runner, live.echo, live.commands, live.ingress, model, r.model, etcNetns);
      await live.kubeProxy.sync(model, r.model);
      await live.policies.sync(r.model);
      await live.ingress.reload(r.model);
      set(r.model);
      return { passed: true, expected: `${step.kind} is accepted`, seen: 'applied' };
    }
    case 'resync':
      await live.kubeProxy.resync(model);
      return { passed: true, expected: 'kube-proxy resyncs every node', seen: 'resynced' };
    case 'dns': {
      const from = resolveSource(model, step.from);
      if (!from.ok) throw new StepError(from.reason);
      const addresses = step.expect.addresses?.map((a) => {
        const r = resolveAddress(model, a);
        if (!r.ok) throw new StepError(r.reason);
        return { ip: r.value.ip, shown: r.value.meaning };
      });
      const result = await dnsProbe(runner, placeNetns(from.value), step.query, step.type, step.timeoutMs);
      return judgeDns(result, {
        ...(addresses ? { addresses } : {}),
        ...(step.expect.cname !== undefined ? { cname: step.expect.cname } : {}),
        ...(step.expect.nxdomain !== undefined ? { nxdomain: step.expect.nxdomain } : {}),
      });
    }
    default:
      return runProbe(runner, model, step, answeredBy);
  }
}
