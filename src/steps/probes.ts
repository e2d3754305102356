import type { Runner } from '../kernel/exec.js';
import { inNetns } from '../kernel/exec.js';

import type { EchoAnswer } from '../workloads/echo.js';
import type { KernelSeen } from '../trace/verdict.js';
import { KnetlabError } from '../errors.js';

export type { EchoAnswer };

export type FailKind = 'timeout' | 'refused' | 'unreachable' | 'error';

/** One try of a probe: an answer, or a failure of a kind. */
export interface Try {
  ok: boolean;
  status?: number;
  answer?: EchoAnswer;
  /** The body when it is not the echo server's JSON (e.g. nginx's 404 page). */
  body?: string;
  failure?: FailKind;
  error?: string;
  /** http: the bytes of the body received (also of a try that failed part way). */
  bytes?: number;
  /** What the kernel did with it, when the step traced each try. */
  kernel?: KernelSeen;
}

const MARK = '@@knetlab-try';
// Before each try's MARK line: the body's size, and with `size` the echo server's answer from its header.
const SIZE_MARK = '@@knetlab-size';
/** The header an echo answer of a requested size carries (its body is filler past the answer's line). */
const ECHO_HEADER = 'x-knetlab-echo';

function parseAnswer(text: string): EchoAnswer | undefined {
  try {
    const v = JSON.parse(text) as EchoAnswer;
    return v && typeof v === 'object' && typeof v.clientIP === 'string' ? v : undefined;
  } catch {
    return undefined;
  }
}

/** The most an http step's `size` asks of the echo server (its own bound, echo-server.py MAX_BODY). */
export const MAX_RESPONSE_SIZE = 16 * 1024 * 1024;

/** A request path asking the echo server for a body of `size` bytes (its query parameter size=BYTES). */
export function withSize(path: string, size: number | undefined): string {
  return size === undefined ? path : `${path}${path.includes('?') ? '&' : '?'}size=${size}`;
}

/** curl's exit status and message, sorted into what the format's `fail:` names. */
export function classifyCurl(exitCode: number, message: string): FailKind {
  if (exitCode === 28) return 'timeout';
  if (exitCode === 7)
    return /no route|unreachable/i.test(message) ? 'unreachable' : /refused/i.test(message) ? 'refused' : /timed? ?out/i.test(message) ? 'timeout' : 'unreachable';
  if (exitCode === 56 && /reset/i.test(message)) return 'refused';
  return 'error';
}

/**
 * `count` HTTP requests with real curl inside the source namespace, one process for all of them;
 * `Connection: close` makes each a new connection, so each is load-balanced anew.
 */
export async function httpProbe(
  runner: Runner,
  netns: string,
  url: string,
  opts: { headers: Record<string, string>; count: number; timeoutMs: number; sourcePort?: number; signal?: AbortSignal; sized?: boolean },
): Promise<Try[]> {
  const headers = Object.entries({ Connection: 'close', ...opts.headers }).flatMap(([k, v]) => ['-H', `${k}: ${v}`]);
  // -v with --stderr -: curl 7.88 says only "Couldn't connect to server" in %{errormsg}; the
  // verbose line "connect to ... failed: Connection refused" (or "No route to host") tells which.
  const argv = inNetns(netns, [
    'curl',
    '--silent',
    '--show-error',
    '--verbose',
    '--stderr',
    '-',
    '--max-time',
    (opts.timeoutMs / 1000).toFixed(3),
    ...(opts.sourcePort ? ['--local-port', String(opts.sourcePort)] : []),
    ...headers,
    '--write-out',
    `\n${SIZE_MARK} %{size_download}${opts.sized ? ` %header{${ECHO_HEADER}}` : ''}\n${MARK} %{http_code} %{exitcode} %{errormsg}\n`,
    // A requested size (up to 16 MiB a try) is counted, not read: the answer comes in its header.
    ...Array.from({ length: opts.count }, () => (opts.sized ? ['--output', '/dev/null', url] : [url])).flat(),
  ]);
  const r = await runner.run(argv, { reject: false, timeoutMs: opts.count * opts.timeoutMs + 10_000, ...(opts.signal ? { signal: opts.signal } : {}) });
  const tries: Try[] = [];
  let body: string[] = [];
  let cause = '';
  let size: { bytes: number; answer?: string } | undefined;
  for (const line of r.stdout.split('\n')) {
    if (/^[*<>{}] |^[<>]$/.test(line)) {
      const failed = /connect to .* failed: (.*)$|Immediate connect fail for [^:]*: (.*)$/.exec(line);
      if (failed) cause = (failed[1] ?? failed[2] ?? '').trim();
      continue; // curl's verbose lines, not the body
    }
    if (line.startsWith('curl: (')) continue; // --show-error's line, the same as %{errormsg}
    if (line.startsWith(`${SIZE_MARK} `)) {
      const [, bytes, ...answer] = line.split(' ');
      size = { bytes: Number(bytes), ...(answer.join(' ').trim() ? { answer: answer.join(' ').trim() } : {}) };
      continue;
    }
    if (!line.startsWith(MARK)) {
      body.push(line);
      continue;
    }
    const [, code, exit, ...msg] = line.split(' ');
    const text = body.join('\n').trim();
    body = [];
    const exitCode = Number(exit);
    const why = cause;
    cause = '';
    const bytes = size && Number.isInteger(size.bytes) ? { bytes: size.bytes } : {};
    const sizedAnswer = size?.answer;
    size = undefined;
    if (exitCode === 0) {
      const answer = parseAnswer(sizedAnswer ?? text);
      tries.push({ ok: true, status: Number(code), ...(answer ? { answer } : { body: text.slice(0, 500) }), ...bytes });
    } else {
      const message = msg.join(' ') + (why && !msg.join(' ').includes(why) ? ` (${why})` : '');
      tries.push({ ok: false, failure: classifyCurl(exitCode, message), error: `curl: (${exitCode}) ${message}`, ...bytes });
    }
  }
  if (tries.length !== opts.count) {
    throw new KnetlabError('EINTERNAL', `curl gave ${tries.length} results for ${opts.count} tries (exit ${r.exitCode}): ${r.stderr.trim() || r.stdout.slice(-300)}`);
  }
  return tries;
}

/** TCP connects: bash's /dev/tcp under timeout; 124 is a timeout, any other failure refused or unreachable by the message. */
export async function tcpProbe(
  runner: Runner,
  netns: string,
  ip: string,
  port: number,
  opts: { count: number; timeoutMs: number; sourcePort?: number; signal?: AbortSignal },
): Promise<Try[]> {
  if (opts.sourcePort) return tcpProbeFrom(runner, netns, ip, port, { ...opts, sourcePort: opts.sourcePort });
  const secs = (opts.timeoutMs / 1000).toFixed(3);
  const script = `for i in $(seq ${opts.count}); do err=$(timeout ${secs} bash -c 'exec 3<>/dev/tcp/${ip}/${port}' 2>&1); s=$?; echo "${MARK} $s $(printf %s "$err" | head -c 200 | tr '\\n' ' ')"; done`;
  const r = await runner.run(inNetns(netns, ['bash', '-c', script]), { reject: false, timeoutMs: opts.count * opts.timeoutMs + 10_000 });
  return r.stdout
    .split('\n')
    .filter((l) => l.startsWith(MARK))
    .map((l) => {
      const [, status, ...msg] = l.split(' ');
      const s = Number(status);
      const message = msg.join(' ').trim();
      if (s === 0) return { ok: true };
      if (s === 124) return { ok: false, failure: 'timeout' as const, error: 'connect timed out' };
      return { ok: false, failure: /no route|unreachable/i.test(message) ? ('unreachable' as const) : ('refused' as const), error: message || `exit ${s}` };
    });
}

/** TCP connects from one source port (a traced probe is told by it); python3 binds it. */
async function tcpProbeFrom(
  runner: Runner,
  netns: string,
  ip: string,
  port: number,
  opts: { count: number; timeoutMs: number; sourcePort: number; signal?: AbortSignal },
): Promise<Try[]> {
  const script = [
    'import errno, json, socket, sys',
    'ip, port, count, timeout, sport = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])',
    'for _ in range(count):',
    '    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM); s.settimeout(timeout)',
    '    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("", sport))',
    '    try: s.connect((ip, port)); print(json.dumps({"ok": True}))',
    '    except socket.timeout: print(json.dumps({"ok": False, "failure": "timeout", "error": "connect timed out"}))',
    '    except OSError as e: print(json.dumps({"ok": False, "failure": "refused" if e.errno == errno.ECONNREFUSED else "unreachable", "error": str(e)}))',
    '    finally: s.close()',
  ].join('\n');
  const lines = await socketScript(runner, netns, script, [ip, String(port), String(opts.count), String(opts.timeoutMs / 1000), String(opts.sourcePort)], opts);
  return lines.map((v) => (v.ok ? { ok: true } : failedTry(v)));
}

/** What the socket scripts print for a try: one JSON line each. */
interface SocketLine {
  ok: boolean;
  reply?: string;
  failure?: FailKind;
  error?: string;
}

/** Runs a python socket script of `count` tries in a namespace; the JSON line each try printed. */
async function socketScript(
  runner: Runner,
  netns: string,
  script: string,
  args: string[],
  opts: { count: number; timeoutMs: number; signal?: AbortSignal },
): Promise<SocketLine[]> {
  const r = await runner.run(inNetns(netns, ['python3', '-c', script, ...args]), {
    reject: false,
    timeoutMs: opts.count * opts.timeoutMs + 10_000,
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  return r.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as SocketLine);
}

const failedTry = (v: SocketLine): Try => ({ ok: false, failure: v.failure ?? 'error', ...(v.error ? { error: v.error } : {}) });

/** UDP datagrams, each answered (or not) within the timeout; python3 does the socket work. */
export async function udpProbe(
  runner: Runner,
  netns: string,
  ip: string,
  port: number,
  opts: { data: string; count: number; timeoutMs: number; sourcePort?: number; signal?: AbortSignal },
): Promise<Try[]> {
  const script = [
    'import json, socket, sys',
    'ip, port, data, count, timeout, sport = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode(), int(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6])',
    'for _ in range(count):',
    '    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(timeout)',
    '    if sport: s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("", sport))',
    '    try:',
    '        s.sendto(data, (ip, port)); reply, _ = s.recvfrom(65535); print(json.dumps({"ok": True, "reply": reply.decode("utf-8", "replace")}))',
    '    except socket.timeout: print(json.dumps({"ok": False, "failure": "timeout"}))',
    '    except OSError as e: print(json.dumps({"ok": False, "failure": "refused" if e.errno == 111 else "unreachable", "error": str(e)}))',
    '    finally: s.close()',
  ].join('\n');
  const lines = await socketScript(runner, netns, script, [ip, String(port), opts.data, String(opts.count), String(opts.timeoutMs / 1000), String(opts.sourcePort ?? 0)], opts);
  return lines.map((v) => {
    if (!v.ok) return failedTry(v);
    const answer = parseAnswer(v.reply ?? '');
    return { ok: true, ...(answer ? { answer } : { body: v.reply ?? '' }) };
  });
}

/** iputils ping: how many of count echo requests were answered. */
export async function pingProbe(
  runner: Runner,
  netns: string,
  ip: string,
  opts: { count: number; timeoutMs: number; intervalMs: number; identifier?: number; signal?: AbortSignal },
): Promise<{ sent: number; received: number; output: string }> {
  const id = opts.identifier ? ['-e', String(opts.identifier)] : [];
  const r = await runner.run(inNetns(netns, ['ping', '-n', ...id, '-c', String(opts.count), '-i', String(opts.intervalMs / 1000), '-W', (opts.timeoutMs / 1000).toFixed(3), ip]), {
    reject: false,
    timeoutMs: opts.count * (opts.timeoutMs + opts.intervalMs) + 10_000,
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  const m = /(\d+) packets transmitted, (\d+) (?:packets )?received/.exec(r.stdout);
  return { sent: m ? Number(m[1]) : opts.count, received: m ? Number(m[2]) : 0, output: (r.stdout + r.stderr).trim() };
}

/** One echo request as a try: answered, or the error ping printed (unreachable, prohibited), else no reply. */
export async function pingTry(runner: Runner, netns: string, ip: string, opts: { timeoutMs: number; intervalMs: number; identifier: number; signal?: AbortSignal }): Promise<Try> {
  const r = await pingProbe(runner, netns, ip, { count: 1, ...opts });
  return r.received > 0 ? { ok: true } : { ok: false, failure: 'timeout', error: r.output.split('\n').find((l) => /unreachable|prohibited|error/i.test(l)) ?? 'no echo reply' };
}
