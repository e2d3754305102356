import { endpointsForPort } from '../cluster/service-endpoints.js';
import { resolveAddress, resolveSource, resolveTarget, serviceForName, type Place, type Resolved } from '../cluster/resolve.js';
import type { Model } from '../cluster/types.js';
import { machineNetns, podNetns } from '../dataplane/names.js';
import type { Runner } from '../kernel/exec.js';
import { confined, inNetns } from '../kernel/exec.js';
import type { AddressRef, TargetRef } from '../scenario/refs.js';
import type { ResponseExpect, Step } from '../scenario/steps.js';
import { judgeConnect, judgeExec, judgePing, judgeResponses, type Addr, type Judged } from './judge.js';
import { httpProbe, pingProbe, tcpProbe, udpProbe } from './probes.js';

/** The namespace a place's commands run in: a pod's own, or its node's for hostNetwork pods. */
export function placeNetns(place: Place): string {
  if (place.kind === 'pod') return place.hostNetwork ? machineNetns(place.node) : podNetns(place);
  return machineNetns(place.name);
}

/** How the echo server names a backend: `pod/NAME.NS`, `node/NAME`, `host/NAME`. */
export function serverName(ref: AddressRef, model: Model): string | undefined {
  if (ref.kind === 'pod') return `pod/${ref.name}.${ref.namespace ?? 'default'}`;
  if (ref.kind === 'node' || ref.kind === 'host') return `${ref.kind}/${ref.name}`;
  void model;
  return undefined;
}

function must<T>(r: Resolved<T>): T {
  if (!r.ok) throw new StepError(r.reason);
  return r.value;
}

/** A step that cannot even be tried at this moment (a name that no longer resolves). */
export class StepError extends Error {}

function addr(model: Model, ref: AddressRef | undefined): Addr | undefined {
  if (!ref) return undefined;
  const r = must(resolveAddress(model, ref));
  return { ip: r.ip, shown: r.meaning };
}

/** The ready endpoints a Service target (or a URL naming a Service) leads to, by the names the echo server answers with. */
function endpointServers(model: Model, to: TargetRef, from: Place): string[] {
  let svc;
  let wanted: string | number | undefined;
  if (to.kind === 'url') {
    svc = serviceForName(model, to.host, from.kind === 'pod' ? from.namespace : 'default');
    wanted = to.port ?? (to.scheme === 'https' ? 443 : 80);
  } else if (['service', 'nodeport', 'externalip', 'loadbalancer'].includes(to.kind) && 'name' in to) {
    svc = model.services.find((s) => s.name === to.name && s.namespace === ((to as { namespace?: string }).namespace ?? 'default'));
    wanted = to.port;
  }
  if (!svc) return [];
  const port = wanted === undefined ? svc.ports[0] : svc.ports.find((p) => p.name === wanted || p.port === wanted);
  if (!port) return [];
  return endpointsForPort(model, svc, port)
    .filter((e) => e.ready)
    .map((e) => {
      if (e.pod) return `pod/${e.pod.name}.${e.pod.namespace}`;
      // A hand-written endpoint names no pod: whoever has the address answers.
      const pod = model.pods.find((p) => p.ip === e.ip && !p.hostNetwork);
      if (pod) return `pod/${pod.name}.${pod.namespace}`;
      const node = model.nodes.find((n) => n.ip === e.ip);
      if (node) return `node/${node.name}`;
      const host = model.hosts.find((h) => h.ip === e.ip);
      return host ? `host/${host.name}` : e.ip;
    });
}

/** Who answered an earlier step: the latest one named `name` before step `before`; undefined when it did not run. */
export type AnsweredBy = (name: string, before: number) => readonly string[] | undefined;

/** Runs one probe or exec step against the model as it is now; actions are the runner's. */
export async function runProbe(runner: Runner, model: Model, step: Step, answeredBy: AnsweredBy = () => undefined): Promise<Judged> {
  const rules = (e: ResponseExpect, from: Place, to: TargetRef) => responseRules(model, step.index, to, from, e, answeredBy);
  switch (step.kind) {
    case 'http': {
      const from = must(resolveSource(model, step.from));
      const to = must(resolveTarget(model, step.to, 'TCP'));
      const host = to.hostname ?? to.ip;
      const url = `${step.to.kind === 'url' ? step.to.scheme : 'http'}://${host}:${to.port}${step.path}`;
      const tries = await httpProbe(runner, placeNetns(from), url, { headers: step.headers, count: step.count, timeoutMs: step.timeoutMs });
      const e = step.expect;
      return judgeResponses(tries, {
        ...(e.fail !== undefined ? { fail: e.fail } : { status: e.status ?? 200 }),
        ...rules(e, from, step.to),
      });
    }
    case 'udp': {
      const from = must(resolveSource(model, step.from));
      const to = must(resolveTarget(model, step.to, 'UDP'));
      const tries = await udpProbe(runner, placeNetns(from), to.ip, to.port!, { data: step.data, count: step.count, timeoutMs: step.timeoutMs, ...(step.sourcePort ? { sourcePort: step.sourcePort } : {}) });
      return judgeResponses(tries, { reply: step.expect.reply, ...rules(step.expect, from, step.to) });
    }
    case 'tcp': {
      const from = must(resolveSource(model, step.from));
      const to = must(resolveTarget(model, step.to, 'TCP'));
      const tries = await tcpProbe(runner, placeNetns(from), to.ip, to.port!, { count: step.count, timeoutMs: step.timeoutMs });
      return judgeConnect(tries, step.expect.connect);
    }
    case 'ping': {
      const from = must(resolveSource(model, step.from));
      const to = must(resolveTarget(model, step.to, undefined));
      const r = await pingProbe(runner, placeNetns(from), to.ip, { count: step.count, timeoutMs: step.timeoutMs });
      return judgePing(r.sent, r.received, step.expect.reachable);
    }
    case 'exec': {
      const on = must(resolveSource(model, step.on));
      const r = await runner.run(inNetns(placeNetns(on), confined(step.command)), { reject: false, timeoutMs: step.timeoutMs });
      return judgeExec(r, step.expect);
    }
    default:
      throw new StepError(`${step.kind} is not a probe`);
  }
}

function responseRules(model: Model, index: number, to: TargetRef, from: Place, e: ResponseExpect, answeredBy: AnsweredBy) {
  const sourceIp = addr(model, e.sourceIp);
  const sourceIpNot = addr(model, e.sourceIpNot);
  const backend = e.backend ? serverName(e.backend, model) : undefined;
  return {
    ...(sourceIp ? { sourceIp } : {}),
    ...(sourceIpNot ? { sourceIpNot } : {}),
    ...(backend ? { backend } : {}),
    ...(e.backends ? { backends: e.backends } : {}),
    ...(e.spread !== undefined ? { spread: e.spread } : {}),
    ...(e.sameBackendAs !== undefined ? { sameBackendAs: { step: e.sameBackendAs, servers: answeredBy(e.sameBackendAs, index) } } : {}),
    ...(e.backends === 'all' || e.backends === 'rotate' || e.spread !== undefined ? { endpoints: endpointServers(model, to, from) } : {}),
  };
}

/** A step's name in reports: its own, or what it does. */
export function stepName(step: Step): string {
  if (step.name) return step.name;
  switch (step.kind) {
    case 'http':
    case 'tcp':
    case 'udp':
    case 'ping': {
      const from = `${step.from.kind}/${step.from.name}`;
      const to = step.to.kind === 'url' ? `${step.to.scheme}://${step.to.host}${step.to.path}` : step.to.kind === 'ip' ? `${step.to.ip}${step.to.port ? `:${step.to.port}` : ''}` : `${step.to.kind}/${step.to.name}`;
      return `${step.kind} ${from} -> ${to}`;
    }
    case 'dns':
      return `dns ${step.from.kind}/${step.from.name} ${step.query}`;
    case 'exec':
      return `exec on ${step.on.kind}/${step.on.name}: ${step.command.join(' ')}`;
    case 'apply':
      return `apply ${step.objects.map((o) => `${o.kind.toLowerCase()}/${o.meta.name}`).join(', ')}`;
    case 'patch':
    case 'delete':
      return `${step.kind} ${step.target.kind.toLowerCase()}/${step.target.name}`;
    case 'scale':
      return `scale deployment/${step.deployment} to ${step.replicas}`;
    case 'link':
      return `link node/${step.node} ${step.state}`;
    case 'sleep':
      return `sleep ${step.ms}ms`;
    case 'resync':
      return 'resync kube-proxy';
  }
}
