import { KnetlabError } from '../errors.js';
import { addressBook, named } from '../cluster/address-book.js';
import { endpointsForPort } from '../cluster/service-endpoints.js';
import { resolveAddress, serviceForName, type Place, type Resolved } from '../cluster/resolve.js';
import type { Model } from '../cluster/types.js';
import { machineNetns, podNetns } from '../dataplane/names.js';
import type { AddressRef, TargetRef } from '../scenario/refs.js';
import type { ResponseExpect } from '../scenario/steps.js';
import type { Addr } from './judge.js';

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

export function must<T>(r: Resolved<T>): T {
  if (!r.ok) throw new StepError(r.reason);
  return r.value;
}

/** A step that cannot even be tried at this moment (a name that no longer resolves). */
export class StepError extends KnetlabError {
  constructor(message: string) {
    super('ESTEP', message);
    this.name = 'StepError';
  }
}

export function addr(model: Model, ref: AddressRef | undefined): Addr | undefined {
  if (!ref) return undefined;
  const r = must(resolveAddress(model, ref));
  return { ip: r.ip, shown: r.meaning };
}

/** The ready endpoints a Service target (or a URL naming a Service) leads to, by the names the echo server answers with. */
function endpointServers(model: Model, to: TargetRef, from: Place): string[] {
  let svc;
  let wanted: string | number | undefined;
  if (to.kind === 'url' || to.kind === 'name') {
    svc = serviceForName(model, to.host, from.kind === 'pod' ? from.namespace : 'default');
    wanted = to.port ?? (to.kind === 'url' && to.scheme === 'https' ? 443 : 80);
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

/** The rules an http or udp step's answers are judged by, its names resolved in the model as it is now. */
export function responseRules(model: Model, index: number, to: TargetRef, from: Place, e: ResponseExpect, answeredBy: AnsweredBy) {
  const sourceIp = addr(model, e.sourceIp);
  const sourceIpNot = addr(model, e.sourceIpNot);
  const backend = e.backend ? serverName(e.backend, model) : undefined;
  const book = addressBook(model);
  return {
    name: (ip: string) => named(book, ip),
    ...(sourceIp ? { sourceIp } : {}),
    ...(sourceIpNot ? { sourceIpNot } : {}),
    ...(backend ? { backend } : {}),
    ...(e.backends ? { backends: e.backends } : {}),
    ...(e.spread !== undefined ? { spread: e.spread } : {}),
    ...(e.sameBackendAs !== undefined ? { sameBackendAs: { step: e.sameBackendAs, servers: answeredBy(e.sameBackendAs, index) } } : {}),
    ...(e.backends === 'all' || e.backends === 'rotate' || e.spread !== undefined ? { endpoints: endpointServers(model, to, from) } : {}),
  };
}
