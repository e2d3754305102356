// What the probe kinds (http, tcp, udp, ping, and dns's source) share: reading `from`/`to`, `count`
// and `timeout`, the response expectations of http and udp, checking names, plan text and naming.
import { resolveAddress, resolveSource, resolveTarget, serviceForName } from '../../cluster/resolve.js';
import type { Model } from '../../cluster/types.js';
import type { Protocol } from '../../scenario/objects.js';
import { formatTarget, parseAddress, parseSource, parseTarget, type AddressRef, type SourceRef, type TargetRef } from '../../scenario/refs.js';
import { formatDuration, parseDuration } from '../../scenario/duration.js';
import type { ResponseExpect } from '../../scenario/steps.js';
import type { CheckContext, ReadContext } from '../kind.js';

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
  backends?: 'all' | 'one' | 'rotate';
  spread?: number;
  sameBackendAs?: string;
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
  if (out.backend && out.backend.kind !== 'pod' && out.backend.kind !== 'node' && out.backend.kind !== 'host') {
    r.problems.error('bad-format', r.expectAt('backend'), `Expected \`${r.exWhere}.backend\` to name who answers: pod/NAME[.NS], node/NAME or host/NAME`);
    ok = false;
  }
  for (const k of ['backends', 'spread'] as const) {
    if (e[k] === undefined) continue;
    if (count < 2) {
      r.problems.error('needs-more-tries', r.expectAt(k), `\`${r.exWhere}.${k}\` cannot be judged from one try: set \`${kind}.count\` to 2 or more`);
      ok = false;
    } else (out as Record<string, unknown>)[k] = e[k];
  }
  if (typeof e.sameBackendAs === 'string') out.sameBackendAs = e.sameBackendAs;
  if (e.backends === 'one' && e.spread !== undefined) {
    r.problems.error('conflicting-fields', r.expectAt('spread'), `\`${r.exWhere}.spread\` contradicts \`backends: one\``);
    ok = false;
  }
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
  if (e.spread !== undefined) out.push(`spread ${e.spread}`);
  if (e.sameBackendAs !== undefined) out.push(`the backend of "${e.sameBackendAs}"`);
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
export const lookupMs = (step: { to: TargetRef; timeoutMs: number }): number => (step.to.kind === 'name' || step.to.kind === 'url' ? step.timeoutMs : 0);

/** Every try timing out; `as`: `N tries of T` when there are several. */
export function triesWorstCase(step: { count: number; timeoutMs: number }, ms = step.count * step.timeoutMs): { ms: number; as?: string } {
  return { ms, ...(step.count > 1 ? { as: `${step.count} tries of ${formatDuration(step.timeoutMs)}` } : {}) };
}
