import type { CaseResult, TrySeen } from '../run/types.js';
import type { FailKind as ExpectFail } from '../scenario/steps.js';
import type { TraceReport } from '../trace/report.js';
import type { Try } from './probes.js';

// Expectations judged against what the probes saw: pure, so every rule is tested without a kernel.

export interface Judged {
  passed: boolean;
  /** What was expected, in words, with what each address symbol meant. */
  expected: string;
  /** What was seen, summed up over every try; where it differed first. */
  seen: string;
  /** Who answered (echo server names, each once, in order), for a later step's sameBackendAs. */
  servers?: string[];
  /** What each try saw, as data (what reporters and scripts read instead of `seen`). */
  tries: TrySeen[];
  /** A try traced for kernel expectations (the first that broke one): the report explains with it instead of tracing again. */
  traced?: TraceReport;
  /** A flows step's cases, each a row of the report. */
  cases?: CaseResult[];
}

/** A probe's try as the result records it. */
export function trySeen(t: Try): TrySeen {
  return {
    ok: t.ok,
    ...(t.failure !== undefined ? { failure: t.failure } : {}),
    ...(t.status !== undefined ? { status: t.status } : {}),
    ...(t.answer ? { source: t.answer.clientIP, ...(t.answer.server !== undefined ? { server: t.answer.server } : {}) } : {}),
    ...(t.error !== undefined ? { error: t.error } : {}),
    ...(t.bytes !== undefined ? { bytes: t.bytes } : {}),
    ...(t.kernel ? { kernel: t.kernel } : {}),
  };
}

/** An address of an expectation, resolved: its IP and the symbol it came from. */
export interface Addr {
  ip: string;
  shown: string;
}

export interface ResponseRules {
  status?: number;
  fail?: ExpectFail;
  /** udp: an answer is expected (true) or none (false). */
  reply?: boolean;
  sourceIp?: Addr;
  sourceIpNot?: Addr;
  /** Who must answer, as the echo server names itself: `pod/NAME.NS`, `node/NAME`, `host/NAME`. */
  backend?: string;
  backends?: 'all' | 'one' | 'rotate';
  spread?: number;
  /** The endpoints kube-proxy gives the target's way in, by server name, for backends: all|rotate and spread. */
  endpoints?: string[];
  /** What the target stands for and how its endpoints were chosen (src/dataplane/way-in.ts), in words. */
  wayIn?: string;
  /** `backends: [..]`: exactly these answered, each at least once. */
  backendSet?: string[];
  /** None of these answered. */
  backendsNot?: string[];
  /** An earlier step's name and who answered it (undefined: it did not run). */
  sameBackendAs?: { step: string; servers: readonly string[] | undefined };
  /** An earlier step's name and who answered it: none of them may answer. */
  differentBackendFrom?: { step: string; servers: readonly string[] | undefined };
  /** http: every try's body had exactly these many bytes. */
  bytes?: number;
  /** Names an address the answers saw (`10.244.1.0 (node/node-2@flannel.1)`); bare when absent. */
  name?: (ip: string) => string;
}

function tally(values: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts].map(([v, n]) => (n > 1 ? `${v} x${n}` : v)).join(', ');
}

const shownAddr = (a: Addr) => (a.shown === a.ip ? a.ip : `${a.ip} (${a.shown})`);

function outcome(t: Try): string {
  if (!t.ok) return `failed: ${t.failure}`;
  return t.status !== undefined ? `status ${t.status}` : 'answered';
}

/** Judges the tries of an http or udp probe against its rules; every try must meet every rule. */
export function judgeResponses(tries: readonly Try[], rules: ResponseRules): Judged {
  const expected: string[] = [];
  const problems: string[] = [];
  const n = tries.length;
  const answered = tries.filter((t) => t.ok);
  const seen: string[] = [`${n} tr${n === 1 ? 'y' : 'ies'}: ${tally(tries.map(outcome))}`];
  const errors = tries.filter((t) => !t.ok && t.error).map((t) => t.error!);
  if (errors.length) seen.push(`errors: ${tally(errors)}`);

  if (rules.fail !== undefined) {
    expected.push(rules.fail === 'any' ? 'every try fails' : `every try fails with ${rules.fail}`);
    const bad = tries.filter((t) => t.ok || (rules.fail !== 'any' && t.failure !== rules.fail));
    if (bad.length) problems.push(`${bad.length} of ${n} did not fail with ${rules.fail}`);
  } else if (rules.reply === false) {
    expected.push('no try is answered');
    if (answered.length) problems.push(`${answered.length} of ${n} were answered`);
  } else {
    expected.push(rules.status !== undefined ? `status ${rules.status} on every try` : 'an answer to every try');
    const bad = tries.filter((t) => !t.ok || (rules.status !== undefined && t.status !== rules.status));
    if (bad.length) problems.push(`${bad.length} of ${n} tries ${rules.status !== undefined ? `did not answer ${rules.status}` : 'were not answered'}`);
  }

  if (rules.bytes !== undefined) {
    expected.push(`a body of ${rules.bytes} bytes on every try`);
    const bad = tries.filter((t) => t.ok && t.bytes !== rules.bytes);
    if (bad.length) problems.push(`${bad.length} of ${n} answers had another size than ${rules.bytes} bytes`);
    seen.push(`bodies of ${tally(tries.map((t) => (t.bytes === undefined ? 'unknown size' : `${t.bytes} bytes`)))}`);
  }

  const answers = answered.flatMap((t) => (t.answer ? [t.answer] : []));
  const needsEcho =
    rules.sourceIp ||
    rules.sourceIpNot ||
    rules.backend ||
    rules.backends ||
    rules.spread !== undefined ||
    rules.sameBackendAs ||
    rules.backendSet ||
    rules.backendsNot ||
    rules.differentBackendFrom;
  if (needsEcho) {
    if (answered.length > answers.length) problems.push(`${answered.length - answers.length} answers were not the echo server's, so who answered and what it saw are unknown`);
    if (answers.length) {
      seen.push(`source ${tally(answers.map((a) => (rules.name ? rules.name(a.clientIP) : a.clientIP)))}`);
      seen.push(`answered by ${tally(answers.map((a) => a.server))}`);
    }
  }
  if (rules.sourceIp) {
    expected.push(`source ${shownAddr(rules.sourceIp)}`);
    const bad = answers.filter((a) => a.clientIP !== rules.sourceIp!.ip);
    if (bad.length) problems.push(`${bad.length} answers saw another source than ${shownAddr(rules.sourceIp)}`);
  }
  if (rules.sourceIpNot) {
    expected.push(`source not ${shownAddr(rules.sourceIpNot)}`);
    const bad = answers.filter((a) => a.clientIP === rules.sourceIpNot!.ip);
    if (bad.length) problems.push(`${bad.length} answers saw ${shownAddr(rules.sourceIpNot)}`);
  }
  if (rules.backend) {
    expected.push(`answered by ${rules.backend}`);
    const bad = answers.filter((a) => a.server !== rules.backend);
    if (bad.length) problems.push(`${bad.length} answers came from elsewhere`);
  }
  if (rules.sameBackendAs) {
    const { step, servers } = rules.sameBackendAs;
    const [earlier] = servers ?? [];
    expected.push(`every try answered by the endpoint that answered "${step}"${earlier ? ` (${earlier})` : ''}`);
    if (servers === undefined) problems.push(`"${step}" did not run, so there is no endpoint to compare with`);
    else if (servers.length !== 1) problems.push(`"${step}" was answered by ${servers.length ? servers.join(', ') : 'no echo server'}, not by one endpoint`);
    else {
      const bad = answers.filter((a) => a.server !== earlier);
      if (bad.length) problems.push(`${bad.length} answers came from another endpoint than ${earlier}`);
    }
  }
  if (rules.differentBackendFrom) {
    const { step, servers } = rules.differentBackendFrom;
    expected.push(`no try answered by an endpoint that answered "${step}"${servers?.length ? ` (${servers.join(', ')})` : ''}`);
    if (servers === undefined) problems.push(`"${step}" did not run, so there is no endpoint to compare with`);
    else if (servers.length === 0) problems.push(`"${step}" was answered by no echo server, so there is no endpoint to compare with`);
    else {
      const bad = answers.filter((a) => servers.includes(a.server));
      if (bad.length) problems.push(`${bad.length} answers came from ${[...new Set(bad.map((a) => a.server))].join(', ')}, which answered "${step}"`);
    }
  }
  if (rules.backendSet) {
    const set = rules.backendSet;
    expected.push(`answered by exactly ${set.join(', ')}, each at least once`);
    const missing = set.filter((e) => !answers.some((a) => a.server === e));
    if (missing.length) problems.push(`never answered: ${missing.join(', ')}`);
    const others = [...new Set(answers.map((a) => a.server).filter((s) => !set.includes(s)))];
    if (others.length) problems.push(`also answered by ${others.join(', ')}`);
  }
  if (rules.backendsNot) {
    const not = rules.backendsNot;
    expected.push(`never answered by ${not.join(', ')}`);
    const bad = answers.filter((a) => not.includes(a.server));
    if (bad.length) problems.push(`${bad.length} answers came from ${[...new Set(bad.map((a) => a.server))].join(', ')}`);
  }
  if (rules.backends === 'one') {
    expected.push('every try answered by the same endpoint');
    const servers = new Set(answers.map((a) => a.server));
    if (servers.size > 1) problems.push(`${servers.size} endpoints answered`);
  }
  const endpoints = rules.endpoints ?? [];
  const noEndpoints = `kube-proxy gives the target no endpoints${rules.wayIn ? ` (${rules.wayIn})` : ''}`;
  if (rules.backends === 'all') {
    expected.push(`every endpoint of the way in answers at least once (${endpoints.join(', ') || 'none'})`);
    const missing = endpoints.filter((e) => !answers.some((a) => a.server === e));
    if (missing.length) problems.push(`never answered: ${missing.join(', ')}`);
    if (endpoints.length === 0) problems.push(noEndpoints);
  }
  if (rules.backends === 'rotate') {
    // A round-robin scheduler's mark: the tries go round every endpoint of the way in, in one fixed order.
    const k = endpoints.length;
    expected.push(`the tries go round the ${k} endpoints of the way in, in turn (${endpoints.join(', ') || 'none'})`);
    const order = answers.map((a) => a.server);
    const first = order.slice(0, k);
    if (k === 0) problems.push(noEndpoints);
    else if (answers.length < k) problems.push(`${answers.length} answers cannot go round ${k} endpoints`);
    else if (new Set(first).size !== k || first.some((s) => !endpoints.includes(s))) problems.push(`the first ${k} answers were not each endpoint once: ${first.join(', ')}`);
    else {
      const off = order.findIndex((s, i) => s !== first[i % k]);
      if (off >= 0) problems.push(`try ${off + 1} was answered by ${order[off]}, not ${first[off % k]}`);
    }
    if (problems.length) seen.push(`in order: ${order.join(', ')}`);
  }
  if (rules.spread !== undefined) {
    const fair = endpoints.length ? answers.length / endpoints.length : 0;
    const floor = rules.spread * fair;
    expected.push(`every endpoint gets at least ${Math.round(rules.spread * 100)}% of its fair share (${floor.toFixed(1)} of ${answers.length})`);
    const low = endpoints.filter((e) => answers.filter((a) => a.server === e).length < floor);
    if (low.length) problems.push(`below ${floor.toFixed(1)}: ${low.join(', ')}`);
  }
  if (problems.length && rules.wayIn && rules.endpoints) seen.push(`the target: ${rules.wayIn}`);
  return {
    passed: problems.length === 0,
    expected: expected.join('; '),
    seen: (problems.length ? `${problems.join('; ')}. ` : '') + seen.join('; '),
    servers: [...new Set(answers.map((a) => a.server))],
    tries: tries.map(trySeen),
  };
}

/** Tries with nothing expected of their outcome (only kernel expectations): what they saw, passed. */
export function observed(tries: readonly Try[]): Judged {
  const n = tries.length;
  return { passed: true, expected: '', seen: `${n} tr${n === 1 ? 'y' : 'ies'}: ${tally(tries.map(outcome))}`, tries: tries.map(trySeen) };
}

/** tcp: every connect succeeds (or none does). */
export function judgeConnect(tries: readonly Try[], connect: boolean): Judged {
  const ok = tries.filter((t) => t.ok).length;
  const n = tries.length;
  const passed = connect ? ok === n : ok === 0;
  const failures = tries.filter((t) => !t.ok).map((t) => t.failure ?? 'error');
  return {
    passed,
    expected: connect ? `every connect succeeds (${n})` : `no connect succeeds (${n})`,
    seen: `${ok} of ${n} connected${failures.length ? `; failures: ${tally(failures)}` : ''}`,
    tries: tries.map(trySeen),
  };
}

/** ping: replies to every request (reachable), or to none. */
export function judgePing(sent: number, received: number, reachable: boolean): Judged {
  return {
    passed: reachable ? received === sent && sent > 0 : received === 0,
    expected: reachable ? `replies to all ${sent} echo requests` : `no reply to ${sent} echo requests`,
    seen: `${received} of ${sent} answered`,
    // ping counts replies, not which request each answered: the first `received` stand for them.
    tries: Array.from({ length: sent }, (_, i): TrySeen => (i < received ? { ok: true } : { ok: false, failure: 'timeout' })),
  };
}

/** exec: exit status and output patterns. */
export function judgeExec(
  r: { exitCode: number; stdout: string; stderr: string; timedOut: boolean },
  e: { exitCode?: number; stdoutMatches?: string; stderrMatches?: string },
): Judged {
  const expected: string[] = [];
  const problems: string[] = [];
  if (e.exitCode !== undefined) {
    expected.push(`exit ${e.exitCode}`);
    if (r.exitCode !== e.exitCode) problems.push(r.timedOut ? 'timed out' : `exit ${r.exitCode}`);
  }
  if (e.stdoutMatches !== undefined) {
    expected.push(`stdout matches /${e.stdoutMatches}/`);
    if (!new RegExp(e.stdoutMatches, 'm').test(r.stdout)) problems.push('stdout does not match');
  }
  if (e.stderrMatches !== undefined) {
    expected.push(`stderr matches /${e.stderrMatches}/`);
    if (!new RegExp(e.stderrMatches, 'm').test(r.stderr)) problems.push('stderr does not match');
  }
  const tail = (s: string) => (s.length > 400 ? `...${s.slice(-400)}` : s).trim();
  return {
    passed: problems.length === 0,
    expected: expected.join('; ') || 'it runs',
    seen: `${problems.length ? `${problems.join('; ')}. ` : ''}exit ${r.exitCode}${r.stdout.trim() ? `; stdout: ${tail(r.stdout)}` : ''}${r.stderr.trim() ? `; stderr: ${tail(r.stderr)}` : ''}`,
    tries: [{ ok: !r.timedOut, exitCode: r.exitCode, timedOut: r.timedOut, stdout: tail(r.stdout), stderr: tail(r.stderr) }],
  };
}
