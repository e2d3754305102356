import { KnetlabError } from '../errors.js';
import { addressBook, named } from '../cluster/address-book.js';
import { resolveAddress, type Place, type Resolved } from '../cluster/resolve.js';
import type { Model } from '../cluster/types.js';
import { machineNetns, podNetns } from '../dataplane/names.js';
import { formatWayIn, wayIn, type WayInRequest } from '../dataplane/way-in.js';
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

/** Who answered an earlier step: the latest one named `name` before step `before`; undefined when it did not run. */
export type AnsweredBy = (name: string, before: number) => readonly string[] | undefined;

/** The rules an http or udp step's answers are judged by, its names resolved in the model as it is now. */
export function responseRules(model: Model, index: number, to: TargetRef, from: Place, e: ResponseExpect, answeredBy: AnsweredBy, req: WayInRequest = { protocol: 'TCP' }) {
  const sourceIp = addr(model, e.sourceIp);
  const sourceIpNot = addr(model, e.sourceIpNot);
  const backend = e.backend ? serverName(e.backend, model) : undefined;
  const names = (list: AddressRef[] | undefined) => list?.map((a) => serverName(a, model)).filter((n): n is string => n !== undefined);
  const backendSet = names(e.backendSet);
  const backendsNot = names(e.backendsNot);
  const book = addressBook(model);
  // The endpoints kube-proxy gives this way in (src/dataplane/way-in.ts), as the rules have them.
  const way = e.backends === 'all' || e.backends === 'rotate' || e.spread !== undefined ? wayIn(model, from, to, req) : undefined;
  return {
    name: (ip: string) => named(book, ip),
    ...(sourceIp ? { sourceIp } : {}),
    ...(sourceIpNot ? { sourceIpNot } : {}),
    ...(backend ? { backend } : {}),
    ...(e.backends ? { backends: e.backends } : {}),
    ...(e.spread !== undefined ? { spread: e.spread } : {}),
    ...(backendSet ? { backendSet } : {}),
    ...(backendsNot ? { backendsNot } : {}),
    ...(e.sameBackendAs !== undefined ? { sameBackendAs: { step: e.sameBackendAs, servers: answeredBy(e.sameBackendAs, index) } } : {}),
    ...(e.differentBackendFrom !== undefined ? { differentBackendFrom: { step: e.differentBackendFrom, servers: answeredBy(e.differentBackendFrom, index) } } : {}),
    ...(e.backends === 'all' || e.backends === 'rotate' || e.spread !== undefined ? { endpoints: way?.endpoints ?? [], ...(way ? { wayIn: formatWayIn(way) } : {}) } : {}),
  };
}
