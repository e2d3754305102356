import type { Runner } from '../kernel/exec.js';
import { inNetns } from '../kernel/exec.js';
import type { Addr, Judged } from './judge.js';
import type { DnsLogEntry } from '../workloads/echo.js';
import type { DnsRcodeExpect } from './kinds/dns.js';

/** A DNS status as dig reports it; `timeout`: no answer at all; `error`: dig failed otherwise, or another rcode (see detail). */
export type DnsStatus = 'NOERROR' | 'NXDOMAIN' | 'REFUSED' | 'SERVFAIL' | 'timeout' | 'error';

/** One record of the answer section: names without the final dot. */
export interface DnsAnswerRecord {
  name: string;
  type: string;
  data: string;
}

export interface DnsResult {
  status: DnsStatus;
  answers: DnsAnswerRecord[];
  /** The name of the last query dig sent (with +search, the search-list candidate that answered). */
  question?: string;
  /** Every query dig sent, in order (the search list's candidates, then maybe the name as is), its status and its id. */
  tried?: { name: string; status: string; id?: number }[];
  /** The names the DNS servers received from this lookup, in order, as their log has them (expect.queries). */
  queries?: string[];
  /** dig's output when the status alone does not say what happened. */
  detail?: string;
}

export interface DnsExpect {
  /** The A records must be exactly these (headless Services have several). */
  addresses?: Addr[];
  /** A CNAME to this name must be in the answer (ExternalName). */
  cname?: string;
  /** true: NXDOMAIN; false: the name exists (NOERROR). */
  nxdomain?: boolean;
  /** The status of the lookup's last answer. */
  rcode?: DnsRcodeExpect;
  /** The names the resolver asked, in order (lower case, no final dot), as the DNS servers logged them. */
  queries?: string[];
}

/** The cluster has an upstream resolver (cluster.upstreamDNS): a REFUSED is its own, not "no upstream". */
export interface DnsJudgeOptions {
  upstream?: boolean;
}

const STATUSES = new Set(['NOERROR', 'NXDOMAIN', 'REFUSED', 'SERVFAIL']);
const trimDot = (s: string) => (s.endsWith('.') ? s.slice(0, -1) : s);

/** Reads dig's output (+showsearch: one block per query sent): the last block's status and answer section, every block's question and status. */
export function parseDig(exitCode: number, stdout: string, stderr: string): DnsResult {
  const lines = stdout.split('\n');
  const heads = lines.flatMap((l, i) => (l.includes('->>HEADER<<-') ? [i] : []));
  if (heads.length === 0) {
    // dig exits 9 when no server answered (timed out, or refused over TCP) and prints why.
    const out = `${stdout}\n${stderr}`.trim();
    const timedOut = exitCode === 9 && !/refused/i.test(out);
    return { status: timedOut ? 'timeout' : 'error', answers: [], detail: out.slice(0, 500) || `dig exited ${exitCode}` };
  }
  const tried = heads.map((h, i) => {
    const block = lines.slice(h, heads[i + 1] ?? lines.length);
    const status = /status: ([A-Z]+)/.exec(lines[h]!)?.[1] ?? '?';
    const id = /\bid: (\d+)/.exec(lines[h]!)?.[1];
    const q = block.find((l) => /^;[^;]\S*\s+IN\s+\S+/.test(l));
    return { name: q ? trimDot(q.slice(1).split(/\s+/)[0]!.toLowerCase()) : '?', status, ...(id !== undefined ? { id: Number(id) } : {}) };
  });
  const answers: DnsAnswerRecord[] = [];
  let inAnswer = false;
  for (const line of lines.slice(heads.at(-1))) {
    if (line.startsWith(';; ANSWER SECTION:')) inAnswer = true;
    else if (inAnswer && (line.trim() === '' || line.startsWith(';'))) inAnswer = false;
    else if (inAnswer) {
      const [name, , , type, ...data] = line.trim().split(/\s+/);
      if (name && type) answers.push({ name: trimDot(name.toLowerCase()), type, data: trimDot(data.join(' ')) });
    }
  }
  const last = tried.at(-1)!;
  const result: DnsResult = { status: STATUSES.has(last.status) ? (last.status as DnsStatus) : 'error', answers, question: last.name, tried };
  if (result.status === 'error') result.detail = `status ${last.status}`;
  return result;
}

/**
 * One lookup with real dig inside a namespace. `ip netns exec` bind-mounts /etc/netns/NS/resolv.conf
 * over /etc/resolv.conf, which gives the nameserver, the search list and ndots. With +search, a name with
 * fewer than ndots (5, as kubelet writes for pods) dots tries every search domain first, then the name as
 * is; one with more is tried as is first (glibc's and musl's order). dig moves on only after NXDOMAIN; +showsearch prints every
 * candidate's answer, so a judge can tell "NXDOMAIN everywhere in the cluster" from other failures.
 */
export async function dnsProbe(runner: Runner, netns: string, name: string, type: string, timeoutMs: number, opts: { tcp?: boolean } = {}): Promise<DnsResult> {
  const secs = Math.max(1, Math.ceil(timeoutMs / 1000)); // dig's +time is whole seconds
  const argv = inNetns(netns, ['dig', '+search', `+time=${secs}`, '+tries=1', ...(opts.tcp ? ['+tcp'] : []), '+showsearch', '+nocmd', '+nostats', name, type]);
  // A search list of up to 6 domains, each tried once, then the name itself.
  const r = await runner.run(argv, { reject: false, timeoutMs: 8 * secs * 1000 + 5000 });
  if (r.timedOut) return { status: 'timeout', answers: [], detail: `dig did not finish in ${8 * secs + 5} s` };
  if (r.exitCode !== 0 && r.exitCode !== 9 && !r.stdout.includes('->>HEADER<<-')) {
    return { status: 'error', answers: [], detail: (r.stderr || r.stdout).trim().slice(0, 500) || `dig exited ${r.exitCode}` };
  }
  return parseDig(r.exitCode, r.stdout, r.stderr);
}

/**
 * The names the DNS servers received from one lookup, in order: the log entries of dig's queries (by
 * their ids, logged since `since`) of the first server asked, the cluster DNS when it logged any (a
 * pod's nameserver; what it forwarded shows again in the upstream's log, with the same id), else the
 * upstream resolver (a node's or host's nameserver).
 */
export function serverQueries(log: readonly DnsLogEntry[], tried: DnsResult['tried'], since: number): string[] {
  const ids = new Set((tried ?? []).flatMap((t) => (t.id !== undefined ? [t.id] : [])));
  const mine = log.filter((e) => e.id !== undefined && ids.has(e.id) && e.name !== null && Date.parse(e.time) >= since);
  const cluster = mine.filter((e) => (e.role ?? 'cluster') === 'cluster');
  return (cluster.length ? cluster : mine).map((e) => trimDot(e.name!.toLowerCase()));
}

const shownAddr = (a: Addr) => (a.shown === a.ip ? a.ip : `${a.ip} (${a.shown})`);

function describe(r: DnsResult, name: (ip: string) => string = (ip) => ip, opts: DnsJudgeOptions = {}): string {
  if (r.status === 'timeout' || r.status === 'error') return `${r.status}${r.detail ? `: ${r.detail}` : ''}`;
  const what = r.answers.map((a) => `${a.type} ${a.type === 'A' ? name(a.data) : a.data}`).join(', ');
  const parts = [`${r.status}${r.question ? ` for ${r.question}` : ''}${r.detail ? ` (${r.detail})` : ''}: ${what || 'no records'}`];
  if (r.tried && r.tried.length > 1) parts.push(`tried ${r.tried.map((t) => `${t.name} ${t.status}`).join(', ')}`);
  if (r.queries) parts.push(`the DNS servers received ${r.queries.length ? r.queries.join(', ') : 'no query'}`);
  if (r.status === 'REFUSED' && !opts.upstream) parts.push('the cluster DNS has no upstream, so it refuses names outside the cluster domain');
  return parts.join('; ');
}

/**
 * NXDOMAIN, or how a search ends without an upstream: every candidate in the cluster domain
 * NXDOMAIN, then the name itself REFUSED (a real cluster's upstream would say NXDOMAIN there).
 */
export function isNxdomain(r: DnsResult, opts: DnsJudgeOptions = {}): boolean {
  if (r.status === 'NXDOMAIN') return true;
  if (opts.upstream) return false; // a REFUSED then is the upstream's own answer
  const tried = r.tried ?? [];
  return r.status === 'REFUSED' && tried.length > 1 && tried.slice(0, -1).every((t) => t.status === 'NXDOMAIN');
}

/** dns: judges one lookup against its expectations; with none, the name must resolve to something. */
export function judgeDns(result: DnsResult, expect: DnsExpect, name?: (ip: string) => string, opts: DnsJudgeOptions = {}): Judged {
  const expected: string[] = [];
  const problems: string[] = [];
  const ok = result.status === 'NOERROR';
  if (expect.queries !== undefined) {
    const want = expect.queries.map((q) => trimDot(q.toLowerCase()));
    expected.push(`the queries ${want.join(', ')}`);
    const got = result.queries ?? [];
    if (got.length !== want.length || got.some((q, i) => q !== want[i])) problems.push(got.length ? 'other queries' : "no query in the DNS servers' log");
  }
  if (expect.rcode !== undefined && expect.rcode !== 'NOERROR') {
    expected.push(expect.rcode);
    if (result.status !== expect.rcode) problems.push(`status ${result.status}, not ${expect.rcode}`);
  } else if (expect.nxdomain === true) {
    expected.push('NXDOMAIN');
    if (!isNxdomain(result, opts)) problems.push(`status ${result.status}, not NXDOMAIN`);
  } else if (expect.rcode === undefined && expect.queries !== undefined && expect.addresses === undefined && expect.cname === undefined && expect.nxdomain === undefined) {
    // Only the queries: what the resolver asked is judged, not how the lookup ended.
  } else {
    if (expect.rcode === 'NOERROR') expected.push('NOERROR');
    if (expect.nxdomain === false) expected.push('the name exists (NOERROR)');
    if (!ok) problems.push(`status ${result.status}`);
    if (expect.cname !== undefined) {
      const want = trimDot(expect.cname.toLowerCase());
      expected.push(`a CNAME to ${want}`);
      const cnames = result.answers.filter((a) => a.type === 'CNAME').map((a) => a.data.toLowerCase());
      if (ok && !cnames.includes(want)) problems.push(cnames.length ? `CNAME to ${cnames.join(', ')} instead` : 'no CNAME');
    }
    if (expect.addresses !== undefined) {
      const want = [...new Set(expect.addresses.map((a) => a.ip))];
      expected.push(`${want.length === 1 ? 'the address' : 'exactly the addresses'} ${expect.addresses.map(shownAddr).join(', ')}`);
      const got = [...new Set(result.answers.filter((a) => a.type === 'A').map((a) => a.data))];
      const missing = want.filter((ip) => !got.includes(ip));
      const extra = got.filter((ip) => !want.includes(ip));
      const named = (ips: string[]) => ips.map((ip) => (name ? name(ip) : ip)).join(', ');
      if (ok && missing.length) problems.push(`missing ${named(missing)}`);
      if (ok && extra.length) problems.push(`also ${named(extra)}`);
    }
    if (expected.length === 0) {
      expected.push('an answer (NOERROR with at least one record)');
      if (ok && result.answers.length === 0) problems.push('no records');
    }
  }
  return {
    passed: problems.length === 0,
    expected: expected.join('; '),
    seen: `${problems.length ? `${problems.join('; ')}. ` : ''}${describe(result, name, opts)}`,
    tries: [
      {
        ok: ok,
        ...(result.status === 'timeout' || result.status === 'error' ? { failure: result.status } : {}),
        dns: {
          status: result.status,
          ...(result.question !== undefined ? { question: result.question } : {}),
          answers: result.answers,
          ...(result.tried ? { tried: result.tried } : {}),
          ...(result.queries ? { queries: result.queries } : {}),
        },
        ...(result.detail !== undefined ? { error: result.detail } : {}),
      },
    ],
  };
}
