import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { execa, type ResultPromise } from 'execa';
import type { DnsZone } from '../dataplane/dns-records.js';
import { KnetlabError, type Problem } from '../errors.js';

/** Who answers on a socket: echoed back in every answer. */
export interface EchoIdentity {
  server: string;
  pod?: string;
  namespace?: string;
  node?: string;
  podIP?: string;
  /** A `dns` listener that is the LAN's upstream resolver (cluster.upstreamDNS), not the cluster DNS. */
  dns?: 'upstream';
  /** A `healthz` listener: kube-proxy's health check answer for one Service on this node. */
  health?: { service: { namespace: string; name: string }; localEndpoints: number };
}

/** One echo socket: a port in a network namespace (`null`: the server's own namespace). */
export interface EchoListener {
  netns: string | null;
  port: number;
  protocol: 'TCP' | 'UDP';
  identity: EchoIdentity;
  /** `dns`: cluster DNS (src/workloads/dns.py) answering from the zone of setDnsZone. Default `echo`. */
  kind?: 'echo' | 'dns' | 'healthz';
}

/** What the echo server answers (HTTP body, raw TCP line, or UDP datagram). */
export interface EchoAnswer {
  pod: string | null;
  namespace: string | null;
  node: string | null;
  podIP: string | null;
  server: string;
  serverIP: string;
  serverPort: number;
  clientIP: string;
  clientPort: number;
  host: string | null;
  path: string | null;
  time: string;
  data?: string;
}

/** One line of the server's log: an answer, and on which socket it was given. */
export type EchoLogEntry = EchoAnswer & { protocol: string; netns: string | null };

/** A log line of a dns listener: one query, its answer's rcode and how many answer records it had. */
export interface DnsLogEntry {
  kind: 'dns';
  server: string;
  pod: string | null;
  namespace: string | null;
  node: string | null;
  podIP: string | null;
  serverIP: string;
  serverPort: number;
  clientIP: string;
  clientPort: number;
  /** null for a message that could not be read (answered FORMERR). */
  name: string | null;
  type: string | null;
  rcode: string | null;
  answers: number;
  /** The query's id (absent for a message that could not be read). */
  id?: number;
  /** `cluster`: the cluster DNS; `upstream`: the LAN's upstream resolver. */
  role?: 'cluster' | 'upstream';
  /** The cluster DNS sent this query on to that upstream address, and relays its answer. */
  forwardedTo?: string;
  time: string;
  protocol: string;
  netns: string | null;
}

interface Reply {
  id: number | null;
  ok: boolean;
  error?: string;
  errors?: { listener: Omit<EchoListener, 'identity'>; error: string }[];
  listeners?: number;
  names?: number;
}

interface Pending {
  resolve: (reply: Reply) => void;
  reject: (error: Error) => void;
}

// tsc does not copy .py files: scripts/copy-assets.mjs puts this one next to the compiled module.
const SCRIPT = fileURLToPath(new URL('./echo-server.py', import.meta.url));
const STOP_GRACE_MS = 2000;
const STDERR_KEEP = 64 * 1024;

/**
 * The one echo-server process of a run: it serves every echo socket, in any number of
 * network namespaces (a socket stays in the namespace it was created in).
 */
export class EchoServer {
  readonly logFile: string;
  readonly command: string[];
  private readonly child: ResultPromise;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private stderr = '';
  private exited?: KnetlabError;
  private stopping = false;
  private readonly done: Promise<void>;

  private constructor(command: string[], logFile: string) {
    this.command = command;
    this.logFile = logFile;
    const [file, ...args] = command as [string, ...string[]];
    this.child = execa(file, args, { stdin: 'pipe', stdout: 'pipe', stderr: 'pipe', buffer: false, reject: false });
    this.child.stdin?.on('error', () => {}); // EPIPE after an exit: the exit itself is reported
    this.child.stderr?.setEncoding('utf8');
    this.child.stderr?.on('data', (chunk: string) => {
      this.stderr = (this.stderr + chunk).slice(-STDERR_KEEP);
    });
    if (this.child.stdout) {
      createInterface({ input: this.child.stdout }).on('line', (line) => this.onReply(line));
    }
    this.done = this.child.then((result) => {
      // execa settles once stdout and stderr have ended, so stderr is complete here.
      const why = result.failed && result.exitCode === undefined ? (result.signal ?? result.shortMessage) : `code ${result.exitCode}`;
      const stderr = this.stderr.trim();
      this.exited = new KnetlabError('ECOMMAND', `Echo server ${this.stopping ? 'stopped' : 'exited unexpectedly'} (${why})${stderr ? `: ${stderr}` : ''}`, {
        command: this.command,
        exitCode: result.exitCode,
        stderr: this.stderr,
      });
      for (const p of this.pending.values()) p.reject(this.exited);
      this.pending.clear();
    });
  }

  /** Starts the server and waits until it answers. `python` defaults to `python3` on PATH. */
  static async start(opts: { logFile: string; python?: string }): Promise<EchoServer> {
    const server = new EchoServer([opts.python ?? 'python3', SCRIPT, '--log', opts.logFile], opts.logFile);
    await server.ping();
    return server;
  }

  /** The server's process id (for diagnostics). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Opens every listener it can; throws listing every one that failed. Listening twice is a no-op. */
  async listen(listeners: EchoListener[]): Promise<void> {
    if (listeners.length === 0) return;
    const reply = await this.request({ op: 'listen', listeners });
    if (reply.ok) return;
    const errors = reply.errors ?? [{ listener: undefined, error: reply.error ?? 'unknown error' }];
    const problems: Problem[] = errors.map((e) => ({ code: 'cannot-listen', severity: 'error', message: e.error }));
    throw new KnetlabError('ECOMMAND', `Echo server could not listen on ${errors.length} of ${listeners.length} sockets: ${problems.map((p) => p.message).join('; ')}`, {
      command: this.command,
      problems,
      stderr: this.stderr,
    });
  }

  /** Closes these listeners; connections in flight may finish. Unknown ones are ignored. */
  async close(listeners: Omit<EchoListener, 'identity'>[]): Promise<void> {
    if (listeners.length === 0) return;
    const reply = await this.request({
      op: 'close',
      listeners: listeners.map(({ netns, port, protocol }) => ({ netns, port, protocol })),
    });
    if (!reply.ok) {
      const message = reply.errors?.map((e) => e.error).join('; ') ?? reply.error ?? 'unknown error';
      throw new KnetlabError('ECOMMAND', `Echo server could not close sockets: ${message}`, { command: this.command });
    }
  }

  /** Replaces the zone every dns listener answers from (before it, they answer SERVFAIL). */
  async setDnsZone(zone: DnsZone): Promise<void> {
    const reply = await this.request({ op: 'zone', zone });
    if (!reply.ok) throw new KnetlabError('ECOMMAND', `Echo server could not take the DNS zone: ${reply.error ?? 'unknown error'}`, { command: this.command });
  }

  /** How many listeners the server holds. */
  async ping(): Promise<number> {
    const reply = await this.request({ op: 'ping' });
    return reply.listeners ?? 0;
  }

  /** Every request the echo listeners served so far, in order. */
  async readLog(): Promise<EchoLogEntry[]> {
    return (await this.readLogLines()).filter((e): e is EchoLogEntry => (e as { kind?: string }).kind !== 'dns');
  }

  /** Every query the dns listeners answered so far, in order. */
  async readDnsLog(): Promise<DnsLogEntry[]> {
    return (await this.readLogLines()).filter((e): e is DnsLogEntry => (e as { kind?: string }).kind === 'dns');
  }

  private async readLogLines(): Promise<(EchoLogEntry | DnsLogEntry)[]> {
    let text: string;
    try {
      text = await readFile(this.logFile, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const lines = text.split('\n').filter((l) => l !== '');
    const entries: (EchoLogEntry | DnsLogEntry)[] = [];
    lines.forEach((line, i) => {
      try {
        entries.push(JSON.parse(line) as EchoLogEntry | DnsLogEntry);
      } catch (error) {
        // The last line may be half-written while the server is serving.
        if (i < lines.length - 1 || text.endsWith('\n')) {
          throw new KnetlabError('EINTERNAL', `Bad line ${i + 1} in echo log ${this.logFile}`, { cause: error });
        }
      }
    });
    return entries;
  }

  /** Closes the server's stdin (it exits at once) and waits; kills it after 2 s. */
  async stop(): Promise<void> {
    if (this.exited) return;
    this.stopping = true;
    this.child.stdin?.end();
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), STOP_GRACE_MS);
    });
    const outcome = await Promise.race([this.done, late]);
    clearTimeout(timer);
    if (outcome === 'late') {
      this.child.kill('SIGKILL');
      await this.done;
    }
  }

  private request(body: Record<string, unknown>): Promise<Reply> {
    if (this.exited) return Promise.reject(this.exited);
    const id = this.nextId++;
    return new Promise<Reply>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.child.stdin?.write(`${JSON.stringify({ id, ...body })}\n`);
    });
  }

  private onReply(line: string): void {
    let reply: Reply;
    try {
      reply = JSON.parse(line) as Reply;
    } catch {
      this.stderr = `${this.stderr}stdout: ${line}\n`.slice(-STDERR_KEEP); // not a reply: keep it for the error message
      return;
    }
    if (typeof reply.id !== 'number') {
      // Only a line we did not send can have no id: a bug in this client.
      this.stderr = `${this.stderr}${reply.error ?? line}\n`.slice(-STDERR_KEEP);
      return;
    }
    const p = this.pending.get(reply.id);
    if (!p) return;
    this.pending.delete(reply.id);
    p.resolve(reply);
  }
}
