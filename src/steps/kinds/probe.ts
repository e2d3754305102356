// What the probe kinds (http, tcp, udp, ping, and dns's source) share: reading `from`/`to`, `count`
// and `timeout`, the response expectations of http and udp, checking names, plan text and naming.
import { resolveAddress, resolveSource, resolveTarget, serviceForName } from '../../cluster/resolve.js';
import type { Model } from '../../cluster/types.js';
import type { Protocol } from '../../scenario/objects.js';
import { formatTarget, parseAddress, parseSource, parseTarget, type AddressRef, type SourceRef, type TargetRef } from '../../scenario/refs.js';
import { formatDuration, parseDuration } from '../../scenario/duration.js';
import type { ResponseExpect } from '../../scenario/steps.js';
import type { CheckContext, PlanRow, ReadContext } from '../kind.js';
import { wayIn, type WayInRequest } from '../../dataplane/way-in.js';
import { LOOKUP_MIN_MS } from '../name-lookup.js';
import { FLAKY_CHANCE, missChance, oneIn, triesFor } from '../chance.js';

/** The fields a probe's body may have in common. */
interface ProbeBody {
  from?: string;
  to?: string;
  on?: string;
  count?: number;
  timeout?: string;
}

/** A place a command runs in (`from`, `on`), or undefined after reporting why it is not one. */
export function readPlace<B extends ProbeBody>(r: ReadContext<B, unknown>, kind: string, key: 'from' | 'on' = 'from'): SourceRef | undefined {
  const v = r.body[key] as string;
  return r.parsed(parseSource(v), r.field(key), `${r.where}.${kind}.${key}`, v);
}

export function readTarget<B extends ProbeBody>(r: ReadContext<B, unknown>, kind: string): TargetRef | undefined {
  const v = r.body.to as string;
  return r.parsed(parseTarget(v), r.field('to'), `${r.where}.${kind}.to`, v);
}

/** A try's timeout (2 s unless written). */
export const probeTimeoutMs = (b: ProbeBody, fallback = 2000): number => parseDuration(b.timeout) ?? fallback;
export const probeCount = (b: ProbeBody): number => b.count ?? 1;

/** The response expectations of http and udp as written (schema-checked), before their names are parsed. */
export interface ResponseExpectInput {
  sourceIp?: string;
  sourceIpNot?: string;
  backend?: string;
  backends?: 'all' | 'one' | 'rotate' | string[];
  backendsNot?: string[];
  spread?: number;
  sameBackendAs?: string;
  differentBackendFrom?: string;
}

/** Who answers, as `backend`, `backends: [..]` and `backendsNot` name it. */
const answerer = (a: AddressRef) => a.kind === 'pod' || a.kind === 'node' || a.kind === 'host';
const ANSWERER = 'to name who answers: pod/NAME[.NS], node/NAME or host/NAME';
const sameAnswerer = (a: AddressRef, b: AddressRef) => formatAddress(a) === formatAddress(b);
function formatAddress(a: AddressRef): string {
  if (a.kind === 'ip') return a.ip;
  return `${a.kind}/${a.name}${'namespace' in a ? `.${a.namespace ?? 'default'}` : ''}`;
}

/** A list of who answers (`backends: [..]`, `backendsNot`), each item parsed and placed; undefined after reporting. */
function readAnswerers(r: ReadContext<ProbeBody, unknown>, list: readonly string[], key: string): AddressRef[] | undefined {
  const out: AddressRef[] = [];
  let ok = true;
  list.forEach((v, i) => {
    const at = r.expectAt(key, i);
    const a = r.parsed(parseAddress(v), at, `${r.exWhere}.${key}[${i}]`, v);
    if (!a) ok = false;
    else if (!answerer(a)) {
      r.problems.error('bad-format', at, `Expected \`${r.exWhere}.${key}[${i}]\` ${ANSWERER}`);
      ok = false;
    } else if (out.some((b) => sameAnswerer(a, b))) {
      r.problems.error('duplicate-entry', at, `\`${r.exWhere}.${key}[${i}]\` lists ${v} again`);
      ok = false;
    } else out.push(a);
  });
  return ok ? out : undefined;
}

/** Reads the expectations every answer of an http or udp probe must meet; every problem is reported, not only the first. */
export function readResponseExpect(r: ReadContext<ProbeBody, unknown>, e: ResponseExpectInput, kind: string): ResponseExpect | undefined {
  const count = probeCount(r.body);
  const out: ResponseExpect = {};
  let ok = true;
  for (const k of ['sourceIp', 'sourceIpNot', 'backend'] as const) {
    const v = e[k];
    if (v === undefined) continue;
    const a = r.parsed(parseAddress(v), r.expectAt(k), `${r.exWhere}.${k}`, v);
    if (a) out[k] = a;
    else ok = false;
  }
  if (out.backend && !answerer(out.backend)) {
    r.problems.error('bad-format', r.expectAt('backend'), `Expected \`${r.exWhere}.backend\` ${ANSWERER}`);
    ok = false;
  }
  const set = Array.isArray(e.backends) ? readAnswerers(r, e.backends, 'backends') : undefined;
  const not = e.backendsNot ? readAnswerers(r, e.backendsNot, 'backendsNot') : undefined;
  if ((Array.isArray(e.backends) && !set) || (e.backendsNot && !not)) ok = false;
  if (set) {
    // Each of them answers at least once: as many tries as places, at least.
    if (count < set.length) {
      r.problems.error(
        'needs-more-tries',
        r.expectAt('backends'),
        `\`${r.exWhere}.backends\` lists ${set.length} places, each to answer at least once: set \`${kind}.count\` to ${set.length} or more`,
      );
      ok = false;
    } else out.backendSet = set;
  }
  if (not) out.backendsNot = not;
  for (const k of ['backends', 'spread'] as const) {
    if (e[k] === undefined || (k === 'backends' && Array.isArray(e[k]))) continue;
    if (count < 2) {
      r.problems.error('needs-more-tries', r.expectAt(k), `\`${r.exWhere}.${k}\` cannot be judged from one try: set \`${kind}.count\` to 2 or more`);
      ok = false;
    } else (out as Record<string, unknown>)[k] = e[k];
  }
  if (typeof e.sameBackendAs === 'string') out.sameBackendAs = e.sameBackendAs;
  if (typeof e.differentBackendFrom === 'string') out.differentBackendFrom = e.differentBackendFrom;
  if (e.backends === 'one' && e.spread !== undefined) {
    r.problems.error('conflicting-fields', r.expectAt('spread'), `\`${r.exWhere}.spread\` contradicts \`backends: one\``);
    ok = false;
  }
  const conflict = (k: string, why: string) => {
    r.problems.error('conflicting-fields', r.expectAt(k), `\`${r.exWhere}.${k}\` ${why}`);
    ok = false;
  };
  if (set && out.backend && !(set.length === 1 && sameAnswerer(set[0]!, out.backend)))
    conflict('backends', `contradicts \`backend: ${e.backend}\` (every try answered by that one)`);
  if (set && set.length > 1 && e.sameBackendAs !== undefined) conflict('backends', `lists ${set.length} places, but \`sameBackendAs\` wants one endpoint to answer every try`);
  if (not && out.backend && not.some((a) => sameAnswerer(a, out.backend!))) conflict('backendsNot', `lists ${e.backend}, which \`backend\` expects to answer`);
  if (not && set) {
    const both = not.filter((a) => set.some((b) => sameAnswerer(a, b)));
    if (both.length) conflict('backendsNot', `lists ${both.map(formatAddress).join(', ')}, which \`backends\` expects to answer`);
  }
  if (e.sameBackendAs !== undefined && e.sameBackendAs === e.differentBackendFrom)
    conflict('differentBackendFrom', `names the step \`sameBackendAs\` names: a try cannot be answered by the same endpoint and another`);
  return ok ? out : undefined;
}

/** Checks a probe's `from` and `to` against the model (protocol: the one its target port must have). */
export function checkEnds(step: { kind: string; from: SourceRef; to: TargetRef }, c: CheckContext, protocol: Protocol | undefined): void {
  c.need(resolveSource(c.model, step.from), c.field('from'), `${c.where}.${step.kind}.from`, step.from);
  c.need(resolveTarget(c.model, step.to, protocol), c.field('to'), `${c.where}.${step.kind}.to`, 'name' in step.to ? step.to : undefined);
}

/** Checks the addresses of an http or udp step's expectations (its expect and every expectIn). */
export function checkResponseAddresses(expect: ResponseExpect, c: CheckContext): void {
  for (const [path, e] of c.expectations(expect)) {
    c.address('sourceIp', e.sourceIp, path);
    c.address('sourceIpNot', e.sourceIpNot, path);
    c.address('backend', e.backend, path);
    (e.backendSet ?? []).forEach((a, i) => c.address(`backends[${i}]`, a, path, c.at(...path, 'backends', i)));
    (e.backendsNot ?? []).forEach((a, i) => c.address(`backendsNot[${i}]`, a, path, c.at(...path, 'backendsNot', i)));
  }
}

/**
 * Warns where kube-proxy's random choice of endpoint (iptables and nftables modes) fails `backends:
 * all` or `backends: [..]` in more than 1 run in 1000 by chance alone; expectIn.ipvs (round-robin)
 * is left alone, as is a scenario about IPVS only.
 */
export function checkChance(step: { kind: string; from: SourceRef; to: TargetRef; count: number; expect: ResponseExpect }, c: CheckContext, req: WayInRequest): void {
  if (c.model.config.proxyModes.every((m) => m === 'ipvs')) return;
  const total = planWayIn(c.model, step, req).wayIn?.endpoints.length ?? 0;
  if (total < 2) return;
  for (const [path, e] of c.expectations(step.expect)) {
    if (path.at(-1) === 'ipvs') continue;
    const wanted = e.backends === 'all' ? total : Math.min(total, e.backendSet?.length ?? 0);
    if (wanted < 2) continue;
    const p = missChance(step.count, total, wanted);
    if (p <= FLAKY_CHANCE) continue;
    c.problems.warn(
      'flaky-expectation',
      c.at(...path, 'backends'),
      `\`${c.where}.${path.join('.')}.backends\` wants ${wanted === total ? `each of the ${total} endpoints` : `${wanted} of the ${total} endpoints each`} to answer in ${step.count} tries, and kube-proxy picks one at random for each (iptables and nftables modes): ${oneIn(p)} fails by chance alone; \`${step.kind}.count: ${triesFor(total, wanted)}\` makes that 1 in 1000 or rarer`,
    );
  }
}

/** `pod/client (10.244.1.5)`: a place with its address in the plan. */
export function placeText(m: Model, ref: SourceRef): string {
  const ns = 'namespace' in ref && ref.namespace ? `.${ref.namespace}` : '';
  const r = resolveSource(m, ref);
  return `${ref.kind}/${ref.name}${ns}${r.ok ? ` (${r.value.ip})` : ''}`;
}

/** `node/node-1@cni0 = 10.244.0.1`: an address of an expectation with what it stands for. */
export function addressText(m: Model, ref: AddressRef): string {
  const r = resolveAddress(m, ref);
  const shown =
    ref.kind === 'ip'
      ? ref.ip
      : `${ref.kind}/${ref.name}${'namespace' in ref && ref.namespace ? `.${ref.namespace}` : ''}${ref.kind === 'node' && ref.device ? `@${ref.device}` : ''}`;
  return r.ok && ref.kind !== 'ip' ? `${shown} = ${r.value.ip}` : shown;
}

export function responseExpectText(m: Model, e: ResponseExpect): string[] {
  const out: string[] = [];
  if (e.sourceIp) out.push(`sourceIp ${addressText(m, e.sourceIp)}`);
  if (e.sourceIpNot) out.push(`sourceIpNot ${addressText(m, e.sourceIpNot)}`);
  if (e.backend) out.push(`backend ${addressText(m, e.backend)}`);
  if (e.backends) out.push(`backends ${e.backends}`);
  if (e.backendSet) out.push(`backends [${e.backendSet.map((a) => addressText(m, a)).join(', ')}]`);
  if (e.backendsNot) out.push(`backendsNot [${e.backendsNot.map((a) => addressText(m, a)).join(', ')}]`);
  if (e.spread !== undefined) out.push(`spread ${e.spread}`);
  if (e.sameBackendAs !== undefined) out.push(`the backend of "${e.sameBackendAs}"`);
  if (e.differentBackendFrom !== undefined) out.push(`not the backend of "${e.differentBackendFrom}"`);
  return out;
}

/** A probe's TO column: `service/web = 10.96.0.10:80/TCP x3` (extra: what else the kind sends). */
export function targetText(m: Model, step: { kind: string; from?: SourceRef; to: TargetRef; count: number }, protocol: Protocol | undefined, extra: string[] = []): string {
  const to = resolveTarget(m, step.to, protocol);
  const port = step.kind !== 'ping' && to.ok && to.value.port ? `:${to.value.port}` : '';
  const proto = step.kind === 'tcp' || step.kind === 'udp' ? `/${step.kind.toUpperCase()}` : '';
  const dest = !to.ok ? '?' : step.to.kind === 'name' ? nameText(m, step, `${port}${proto}`) : `${to.value.hostname ?? to.value.ip}${port}${proto}`;
  const all = [...extra, ...(step.count > 1 ? [`x${step.count}`] : [])];
  return `${formatTarget(step.to)} = ${dest}${all.length ? ` ${all.join(' ')}` : ''}`;
}

/** A name target in the plan: what the cluster DNS answers the source for it, when the model can say (a Service's name asked from a pod). */
function nameText(m: Model, step: { to: TargetRef; from?: SourceRef }, portProto: string): string {
  const host = (step.to as { host: string }).host;
  const asked = `${host}${portProto} (looked up in the source)`;
  const src = step.from ? resolveSource(m, step.from) : undefined;
  if (!m.config.dns || !src?.ok || src.value.kind !== 'pod' || src.value.hostNetwork) return asked;
  // An absolute name skips the search list: only a whole Service name is one.
  if (host.endsWith('.') && !host.endsWith(`.svc.${m.config.clusterDomain}.`)) return asked;
  const svc = serviceForName(m, host, src.value.namespace);
  if (!svc) return asked;
  const shown = `service/${svc.name}${svc.namespace === 'default' ? '' : `.${svc.namespace}`}`;
  if (svc.clusterIP) return `${svc.clusterIP}${portProto} (${shown}, by cluster DNS)`;
  if (svc.spec.type === 'ExternalName') return `${svc.spec.externalName}${portProto} (the CNAME of ${shown}, by cluster DNS)`;
  return `the pods of ${shown}${portProto} (headless, by cluster DNS)`;
}

/** `http pod/client -> service/web`. */
export function probeName(step: { kind: string; from: SourceRef; to: TargetRef }): string {
  const from = `${step.from.kind}/${step.from.name}`;
  const to =
    step.to.kind === 'url'
      ? `${step.to.scheme}://${step.to.host}${step.to.path}`
      : step.to.kind === 'ip' || step.to.kind === 'name'
        ? formatTarget(step.to)
        : `${step.to.kind}/${step.to.name}`;
  return `${step.kind} ${from} -> ${to}`;
}

/** tcp, udp and ping look a name target up first (name-lookup.ts), for up to one try's timeout. */
export const lookupMs = (step: { to: TargetRef; timeoutMs: number }): number => (step.to.kind === 'name' || step.to.kind === 'url' ? Math.max(step.timeoutMs, LOOKUP_MIN_MS) : 0);

/** Every try timing out; `as`: `N tries of T` when there are several. */
export function triesWorstCase(step: { count: number; timeoutMs: number }, ms = step.count * step.timeoutMs): { ms: number; as?: string } {
  return { ms, ...(step.count > 1 ? { as: `${step.count} tries of ${formatDuration(step.timeoutMs)}` } : {}) };
}

/** What a probe's target stands for at this step (the Service port, the node, the endpoints kube-proxy gives it), for the plan. */
export function planWayIn(m: Model, step: { from: SourceRef; to: TargetRef }, req: WayInRequest): Pick<PlanRow, 'wayIn'> {
  const from = resolveSource(m, step.from);
  const w = from.ok ? wayIn(m, from.value, step.to, req) : undefined;
  return w ? { wayIn: w } : {};
}
