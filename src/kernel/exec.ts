import { createInterface } from 'node:readline';
import { execa } from 'execa';
import { KnetlabError } from '../errors.js';

export interface RunOptions {
  /** Written to the command's standard input (bulk state: `ip -batch -`, `iptables-restore`). */
  input?: string;
  timeoutMs?: number;
  /** When false, a non-zero exit is returned, not thrown. Default true. */
  reject?: boolean;
  /** Ends the command early when aborted (a traced try the kernel already dropped); it returns as failed. */
  signal?: AbortSignal;
}

export interface RunResult {
  command: string[];
  exitCode: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/**
 * A helper process that answers every line written to its standard input with one line on its
 * standard output, in order (kernel/netns-config.py): one process for many requests.
 */
export interface LineSession {
  /** Sends one request line (no newline in it); resolves with its answer line. */
  ask(line: string): Promise<string>;
  /** Ends its standard input and waits for it to exit; rejects if it failed. */
  end(): Promise<RunResult>;
}

/** The one way knetlab runs a command: argv arrays, never shell strings. Tests record it. */
export interface Runner {
  run(argv: readonly string[], opts?: RunOptions): Promise<RunResult>;
  /** Starts argv as a line-answering helper. */
  session(argv: readonly string[]): LineSession;
}

export const execaRunner: Runner = {
  async run(argv, opts = {}) {
    const [file, ...args] = argv;
    if (!file) throw new KnetlabError('EINTERNAL', 'empty command');
    const r = await execa(file, args, {
      input: opts.input ?? '',
      reject: false,
      stripFinalNewline: false,
      ...(opts.timeoutMs ? { timeout: opts.timeoutMs } : {}),
      ...(opts.signal ? { cancelSignal: opts.signal } : {}),
    });
    const result: RunResult = {
      command: [...argv],
      exitCode: r.exitCode ?? (r.timedOut ? 124 : 1),
      stdout: String(r.stdout ?? ''),
      stderr: String(r.stderr ?? ''),
      timedOut: Boolean(r.timedOut),
    };
    if (opts.reject !== false && result.exitCode !== 0) {
      const why = result.timedOut ? `timed out after ${opts.timeoutMs} ms` : `exit ${result.exitCode}`;
      const cause = r.failed && r.exitCode === undefined && !r.timedOut ? `: ${r.shortMessage}` : '';
      throw new KnetlabError('ECOMMAND', `${argv.join(' ')} failed (${why})${cause}${result.stderr.trim() ? `: ${firstLines(result.stderr)}` : ''}`, {
        command: [...argv],
        exitCode: result.exitCode,
        stderr: result.stderr,
      });
    }
    return result;
  },

  session(argv) {
    const [file, ...args] = argv;
    if (!file) throw new KnetlabError('EINTERNAL', 'empty command');
    const child = execa(file, args, { stdin: 'pipe', stdout: 'pipe', stderr: 'pipe', buffer: { stdout: false, stderr: true }, reject: false, stripFinalNewline: false });
    child.stdin?.on('error', () => {}); // EPIPE after an early exit: the exit itself is reported
    const waiting: { resolve: (line: string) => void; reject: (e: Error) => void }[] = [];
    let ended: KnetlabError | undefined;
    if (child.stdout) createInterface({ input: child.stdout }).on('line', (line) => waiting.shift()?.resolve(line));
    const done = child.then((r): RunResult => {
      const result = { command: [...argv], exitCode: r.exitCode ?? 1, stdout: '', stderr: String(r.stderr ?? ''), timedOut: false };
      const why = r.exitCode === undefined ? (r.signal ?? r.shortMessage) : `exit ${r.exitCode}`;
      const error = new KnetlabError('ECOMMAND', `${argv.join(' ')} ended (${why})${result.stderr.trim() ? `: ${firstLines(result.stderr)}` : ''}`, {
        command: [...argv],
        exitCode: result.exitCode,
        stderr: result.stderr,
      });
      ended = error;
      for (const w of waiting.splice(0)) w.reject(error);
      if (result.exitCode !== 0) throw error;
      return result;
    });
    done.catch(() => {}); // seen by ask() or end()
    return {
      ask(line) {
        return new Promise((resolve, reject) => {
          if (ended) return reject(ended);
          waiting.push({ resolve, reject });
          child.stdin?.write(`${line}\n`);
        });
      },
      end() {
        child.stdin?.end();
        return done;
      },
    };
  },
};

function firstLines(s: string, n = 5): string {
  const lines = s.trim().split('\n');
  return lines.slice(0, n).join(' | ') + (lines.length > n ? ` | ... (${lines.length - n} more lines)` : '');
}

/**
 * Records every command instead of running it, answering from a table (for tests). A session is
 * one call whose input grows by a line per request; each is answered by `answerLine`.
 */
export class RecordingRunner implements Runner {
  readonly calls: { argv: string[]; input: string }[] = [];
  constructor(
    private readonly answer: (argv: readonly string[]) => Partial<RunResult> = () => ({}),
    private readonly answerLine: (argv: readonly string[], line: string) => string = () => '',
  ) {}
  async run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    this.calls.push({ argv: [...argv], input: opts.input ?? '' });
    return { command: [...argv], exitCode: 0, stdout: '', stderr: '', timedOut: false, ...this.answer(argv) };
  }
  session(argv: readonly string[]): LineSession {
    const call = { argv: [...argv], input: '' };
    this.calls.push(call);
    return {
      ask: async (line) => {
        call.input += `${line}\n`;
        return this.answerLine(argv, line);
      },
      end: async () => ({ command: [...argv], exitCode: 0, stdout: '', stderr: '', timedOut: false }),
    };
  }
}

// Pure, so the modules that only describe commands (src/proxy/) need not import the kernel.
export { inNetns } from '../dataplane/names.js';

/**
 * What a scenario's own commands (exec steps, command pods) may do as root in the sandbox: the
 * capabilities a container gets by default, less mknod and setfcap, plus net_admin. Enough for ip,
 * iptables, nft, ping, tcpdump and servers; not to remount the read-only host filesystem, enter
 * other namespaces, load modules, set the clock or reach raw devices.
 */
export const SCENARIO_CAPABILITIES = [
  'chown',
  'dac_override',
  'fowner',
  'fsetid',
  'kill',
  'setgid',
  'setuid',
  'setpcap',
  'net_bind_service',
  'net_broadcast',
  'net_admin',
  'net_raw',
  'sys_chroot',
  'audit_write',
  'ipc_lock',
] as const;

/** argv of a scenario's own command, run with SCENARIO_CAPABILITIES only (its children too). */
export function confined(argv: readonly string[]): string[] {
  return ['setpriv', '--bounding-set', `-all,${SCENARIO_CAPABILITIES.map((c) => `+${c}`).join(',')}`, '--', ...argv];
}
