import { z } from 'zod';
import { resolveSource, resolveTarget } from '../../cluster/resolve.js';
import { countSchema, failKinds, headerName, headerValue, ref, REQUEST_TARGET, REQUEST_TARGET_RULE, timeout, backendExpect } from '../../scenario/schema.js';
import type { SourceRef, TargetRef } from '../../scenario/refs.js';
import type { FailKind, KernelExpect, ResponseExpect } from '../../scenario/steps.js';
import { stepKind } from '../kind.js';
import { MAX_RESPONSE_SIZE, withSize, type Try } from '../probes.js';
import { judgeResponses, observed, type Judged } from '../judge.js';
import { checkKernelPlaces, hasKernelKeys, kernelExpectSchema, kernelExpectText, kernelPart, readKernelExpect } from './kernel-expect.js';
import { must, placeNetns, responseRules } from '../run.js';
import {
  checkChance,
  checkEnds,
  checkResponseAddresses,
  placeText,
  planWayIn,
  probeCount,
  probeName,
  probeTimeoutMs,
  readPlace,
  readResponseExpect,
  readTarget,
  responseExpectText,
  targetText,
  triesWorstCase,
} from './probe.js';

export interface HttpSpec {
  from: SourceRef;
  to: TargetRef;
  path: string;
  headers: Record<string, string>;
  count: number;
  timeoutMs: number;
  /** The body size asked of the echo server (bytes), when given. */
  size?: number;
  /** No status nor fail when only kernel expectations are written: the outcome is not judged then. */
  expect: ResponseExpect & KernelExpect & { status?: number; fail?: FailKind; bytes?: number };
}

const sizeRule = `to be a number of bytes from 0 to ${MAX_RESPONSE_SIZE} (16 MiB)`;
const bytes = z.number({ error: sizeRule }).int({ error: sizeRule }).min(0, { error: sizeRule }).max(MAX_RESPONSE_SIZE, { error: sizeRule });

/** `http`: count requests with curl from a place to a target; every answer must meet the expectation. */
export const http = stepKind<'http', HttpSpec>()({
  body: z.strictObject({
    from: ref,
    to: ref,
    path: z.string().regex(/^\//, { error: 'to start with /', abort: true }).regex(REQUEST_TARGET, { error: REQUEST_TARGET_RULE }).optional(),
    headers: z.record(headerName, headerValue).optional(),
    count: countSchema.optional(),
    timeout: timeout.optional(),
    size: bytes.optional(),
  }),
  expect: z.strictObject({
    bytes: bytes.optional(),
    status: z.number().int().min(100, { error: 'to be an HTTP status from 100 to 599' }).max(599, { error: 'to be an HTTP status from 100 to 599' }).optional(),
    fail: z.enum(failKinds).optional(),
    ...backendExpect,
    ...kernelExpectSchema,
  }),
  changesModel: false,
  answeredByEndpoint: true,
  read(r) {
    const b = r.body;
    const from = readPlace(r, 'http');
    const to = readTarget(r, 'http');
    const e = r.expect ?? {};
    const conflict = e.status !== undefined && e.fail !== undefined;
    if (conflict) r.problems.error('conflicting-fields', r.expectAt('fail'), `\`${r.exWhere}\` has both status and fail; a try either answers or fails`);
    const resp = readResponseExpect(r, e, 'http');
    const kernel = readKernelExpect(r, e, e.status !== undefined ? `status: ${e.status}` : undefined);
    if (conflict || !kernel) return undefined;
    const answerKeys = [...Object.keys(resp ?? {}), ...(e.bytes !== undefined ? ['bytes'] : [])];
    if (e.fail !== undefined && answerKeys.length > 0) {
      r.problems.error('nothing-to-expect', r.expectAt('fail'), `\`${r.exWhere}.fail\` leaves nothing to check ${answerKeys.join(', ')} against`);
      return undefined;
    }
    let path = b.path ?? '/';
    if (to?.kind === 'url') {
      if (b.path !== undefined) {
        r.problems.error('conflicting-fields', r.field('path'), `\`${r.where}.http.path\` and a URL in \`to\` both give the path; keep one`);
        return undefined;
      }
      path = to.path;
    }
    if (b.size !== undefined && /[?&]size=/.test(path)) {
      r.problems.error('conflicting-fields', r.field('size'), `\`${r.where}.http.size\` and the path's query parameter size= both ask for a body size; keep one`);
      return undefined;
    }
    if (!from || !to || !resp) return undefined;
    return {
      from,
      to,
      path,
      headers: b.headers ?? {},
      count: probeCount(b),
      timeoutMs: probeTimeoutMs(b),
      ...(b.size !== undefined ? { size: b.size } : {}),
      expect: {
        ...resp,
        ...kernel,
        ...(e.bytes !== undefined ? { bytes: e.bytes } : {}),
        // Kernel expectations alone judge what the kernel did, also where nothing answers.
        ...(e.fail !== undefined ? { fail: e.fail } : e.status !== undefined || !hasKernelKeys(e) || answerKeys.length ? { status: e.status ?? 200 } : {}),
      },
    };
  },
  check(step, c) {
    checkEnds(step, c, 'TCP');
    checkResponseAddresses(step.expect, c);
    checkKernelPlaces(step.expect, c);
    checkChance(step, c, { protocol: 'TCP', headers: step.headers, path: step.path });
  },
  plan(step, m) {
    const extra: string[] = [];
    if (step.path !== '/' && step.to.kind !== 'url') extra.push(step.path);
    if (step.size !== undefined) extra.push(`size ${step.size} bytes`);
    for (const [k, v] of Object.entries(step.headers)) extra.push(`${k}: ${v}`);
    const e = step.expect;
    return {
      from: placeText(m, step.from),
      to: targetText(m, step, 'TCP', extra),
      ...planWayIn(m, step, { protocol: 'TCP', headers: step.headers, path: step.path }),
      expect: [
        ...(e.fail !== undefined ? [`fail ${e.fail}`] : e.status !== undefined ? [`status ${e.status}`] : []),
        ...(e.bytes !== undefined ? [`${e.bytes} bytes`] : []),
        ...responseExpectText(m, e),
        ...kernelExpectText(m, e),
      ],
    };
  },
  async run(step, c) {
    // Loaded when a step runs: validate and plan do not load the process-running code (execa).
    const { httpProbe } = await import('../probes.js');
    const from = must(resolveSource(c.model, step.from));
    const to = must(resolveTarget(c.model, step.to, 'TCP'));
    const host = to.hostname ?? to.ip;
    const url = `${step.to.kind === 'url' ? step.to.scheme : 'http'}://${host}:${to.port}${withSize(step.path, step.size)}`;
    const sized = step.size !== undefined;
    const e = step.expect;
    const rules = {
      ...responseRules(c.model, step.index, step.to, from, e, c.answeredBy, { protocol: 'TCP', headers: step.headers, path: step.path }),
      ...(e.bytes !== undefined ? { bytes: e.bytes } : {}),
    };
    // `name` only names addresses: without status, fail or another rule only the kernel's expectations judge.
    const { name: _name, ...checks } = rules;
    const judge = (tries: Try[]): Judged =>
      e.fail === undefined && e.status === undefined && !Object.keys(checks).length
        ? observed(tries)
        : judgeResponses(tries, { ...(e.fail !== undefined ? { fail: e.fail } : e.status !== undefined ? { status: e.status } : {}), ...rules });
    const kernel = kernelPart(e);
    if (kernel) {
      // The trace arms for the address: a URL's host is looked up in the source first (curl looks it up again, the same way).
      const { addressOf, unresolved, unresolvedTries } = await import('../name-lookup.js');
      const ip = await addressOf(c.runner, from, to, step.timeoutMs);
      if (!ip.ok) return unresolved(judge(unresolvedTries(step.count, ip.error)), ip.error);
      const { runKernelTries } = await import('../traced-tries.js');
      const k = await runKernelTries(
        c,
        kernel,
        {
          kind: 'http',
          from,
          to: step.to,
          address: ip.ip,
          count: step.count,
          send: async (sport, signal) =>
            (await httpProbe(c.runner, placeNetns(from), url, { headers: step.headers, count: 1, timeoutMs: step.timeoutMs, sourcePort: sport, signal, sized }))[0]!,
        },
        'TCP',
      );
      return k.judge(judge(k.tries));
    }
    return judge(await httpProbe(c.runner, placeNetns(from), url, { headers: step.headers, count: step.count, timeoutMs: step.timeoutMs, sized }));
  },
  describe: probeName,
  worstCase: (step) => triesWorstCase(step),
});
