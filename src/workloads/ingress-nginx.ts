// The ingress-nginx workload: Debian's nginx, run in the controller pod's network namespace with
// the configuration renderNginxConf writes from the model's Ingresses, and reloaded (tested first,
// gracefully, only when the text changed) as they or the Services' endpoints change.
import { createWriteStream, existsSync, readFileSync, readdirSync, type WriteStream } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import type { Model, Pod } from '../cluster/types.js';
import { CHECKSUM_PATH, controllerPorts, nginxConfChecksum, renderNginxConf, STATUS_PORT } from '../dataplane/nginx-conf.js';
import { KnetlabError } from '../errors.js';
import { execaRunner, inNetns, type Runner } from '../kernel/exec.js';
import { parentOf, tryKill } from '../kernel/process-identity.js';

/** Debian's nginx; any nginx with the stub_status module will do. */
export const DEBIAN_NGINX = '/usr/sbin/nginx';
const STDERR_KEEP = 16 * 1024;
const POLL_MS = 20;

export interface IngressNginxOptions {
  /** The nginx binary: /usr/sbin/nginx when it exists, else `nginx` on PATH. */
  nginx?: string;
  /** Runs `nginx -t`, `nginx -s reload` and the status probe (curl in the pod's namespace). */
  runner?: Runner;
  /** How long start and reload wait for nginx to serve the new configuration. Default 10 s. */
  timeoutMs?: number;
}

interface Started {
  pod: Pod;
  netns: string;
  /** nginx's -p: the configuration, pid file, logs and temp folders, nothing outside it. */
  prefix: string;
  conf: string;
  /** The configuration nginx runs. */
  text: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * One ingress-nginx controller pod. nginx runs as a direct child (`daemon off;`, `ip netns exec`
 * execs it, so the child is nginx's master): its exit is seen at once and its stderr kept. It is
 * not restarted: an nginx that dies is a finding, reported by reload() and by `failure`.
 */
export class IngressNginx {
  private readonly nginx: string;
  private readonly runner: Runner;
  private readonly timeoutMs: number;
  private child?: ResultPromise;
  private started?: Started;
  private exit?: KnetlabError;
  private done: Promise<void> = Promise.resolve();
  private stopping = false;
  private stderr = '';
  private log?: WriteStream;
  private queue: Promise<unknown> = Promise.resolve();
  /** How many reloads nginx was sent (a reload whose text is unchanged is not sent). */
  reloads = 0;

  constructor(opts: IngressNginxOptions = {}) {
    this.nginx = opts.nginx ?? (existsSync(DEBIAN_NGINX) ? DEBIAN_NGINX : 'nginx');
    this.runner = opts.runner ?? execaRunner;
    this.timeoutMs = opts.timeoutMs ?? 10_000;
  }

  /** nginx's master process. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** The folder nginx runs in (its -p): nginx.conf, nginx.pid, error.log, access.log, stderr.log. */
  get prefix(): string | undefined {
    return this.started?.prefix;
  }

  /** The configuration nginx runs now. */
  get config(): string | undefined {
    return this.started?.text;
  }

  /** Why nginx ended when nobody asked it to; undefined while it runs, or after stop(). */
  get failure(): KnetlabError | undefined {
    return this.stopping ? undefined : this.exit;
  }

  /**
   * Writes the configuration, has nginx test it, starts nginx in the pod's namespace and waits until
   * it serves that configuration. Everything nginx writes stays in scratchDir/ingress-nginx/POD.NS.
   */
  async start(model: Model, pod: Pod, netns: string, scratchDir: string): Promise<void> {
    if (this.child) throw new KnetlabError('EINTERNAL', `ingress-nginx of pod ${pod.namespace}/${pod.name} is already started`);
    if (!pod.ip) throw new KnetlabError('EINTERNAL', `pod ${pod.namespace}/${pod.name} has no address yet: ingress-nginx cannot start`);
    const prefix = join(scratchDir, 'ingress-nginx', `${pod.name}.${pod.namespace}`);
    await mkdir(prefix, { recursive: true });
    const conf = join(prefix, 'nginx.conf');
    const text = this.render(model, pod, prefix);
    await writeFile(conf, text);
    await this.test(conf, prefix, pod, netns);
    this.started = { pod, netns, prefix, conf, text };
    this.log = createWriteStream(join(prefix, 'stderr.log'), { flags: 'a' });
    const [file, ...args] = inNetns(netns, [this.nginx, '-c', conf, '-p', `${prefix}/`]);
    const child = execa(file!, args, { stdin: 'ignore', stdout: 'ignore', stderr: 'pipe', buffer: false, reject: false });
    this.child = child;
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      this.stderr = (this.stderr + chunk).slice(-STDERR_KEEP);
      this.log?.write(chunk);
    });
    this.done = child.then((r) => {
      const why = r.exitCode !== undefined ? `code ${r.exitCode}` : (r.signal ?? r.shortMessage);
      const stderr = this.stderr.trim();
      this.exit = new KnetlabError(
        'ECOMMAND',
        `nginx of ingress controller pod ${pod.namespace}/${pod.name} ${this.stopping ? 'stopped' : 'exited unexpectedly'} (${why})${stderr ? `: ${lastLines(stderr)}` : ''}`,
        { command: [file!, ...args], ...(r.exitCode !== undefined ? { exitCode: r.exitCode } : {}), stderr: this.stderr },
      );
      this.log?.end();
    });
    try {
      await this.waitServing(text, []);
    } catch (err) {
      this.stop();
      throw err;
    }
  }

  /**
   * Renders the configuration again; when the text changed, has nginx test it and reloads
   * gracefully (`nginx -s reload`), then waits until every worker serves it. Resolves true when it
   * reloaded. A configuration nginx rejects is kept as nginx.conf.rejected and thrown; the old one
   * keeps running, as ingress-nginx does.
   */
  reload(model: Model): Promise<boolean> {
    const next = this.queue.then(() => this.reloadNow(model));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async reloadNow(model: Model): Promise<boolean> {
    const s = this.started;
    if (!s || !this.child) throw new KnetlabError('EINTERNAL', 'ingress-nginx is not started');
    if (this.exit) throw this.exit;
    const text = this.render(model, s.pod, s.prefix);
    if (text === s.text) return false;
    const candidate = `${s.conf}.next`;
    await writeFile(candidate, text);
    try {
      await this.test(candidate, s.prefix, s.pod, s.netns);
    } catch (err) {
      await rename(candidate, `${s.conf}.rejected`);
      throw err;
    }
    await rename(candidate, s.conf);
    const before = this.workers();
    await this.runner.run([this.nginx, '-c', s.conf, '-p', `${s.prefix}/`, '-s', 'reload'], { timeoutMs: this.timeoutMs });
    s.text = text;
    this.reloads++;
    await this.waitServing(text, before);
    return true;
  }

  /**
   * Asks nginx to quit gracefully (SIGQUIT: in-flight requests finish, as ingress-nginx shuts down
   * on SIGTERM); its master and workers are killed if they are still there 5 s later.
   */
  stop(): void {
    const child = this.child;
    if (!child || this.exit || this.stopping) return;
    this.stopping = true;
    const pids = [child.pid, ...this.workers()].filter((p): p is number => p !== undefined);
    child.kill('SIGQUIT');
    const timer = setTimeout(() => {
      for (const pid of pids) if (isNginx(pid)) tryKill(pid);
    }, 5000);
    timer.unref();
    void this.done.then(() => clearTimeout(timer));
  }

  /** Resolves once nginx's master has exited (after stop(), or on its own). */
  stopped(): Promise<void> {
    return this.done;
  }

  private render(model: Model, pod: Pod, prefix: string): string {
    // The pod's ports as it was started: a running pod's ports do not change.
    return renderNginxConf(model, { namespace: pod.namespace, name: pod.name, podIP: pod.ip!, ports: controllerPorts(pod) }, { prefix });
  }

  // In the pod's namespace: nginx -t binds the listening sockets for a moment (a port in use is fine, one it may not bind is not).
  private async test(conf: string, prefix: string, pod: Pod, netns: string): Promise<void> {
    const r = await this.runner.run(inNetns(netns, [this.nginx, '-t', '-q', '-c', conf, '-p', `${prefix}/`]), { reject: false, timeoutMs: this.timeoutMs });
    if (r.exitCode === 0) return;
    throw new KnetlabError(
      'ECOMMAND',
      `nginx -t rejected the configuration of ingress controller pod ${pod.namespace}/${pod.name} (${conf}): ${lastLines(r.stderr.trim()) || `exit ${r.exitCode}`}`,
      {
        command: r.command,
        exitCode: r.exitCode,
        stderr: r.stderr,
      },
    );
  }

  /** Until the status server answers the checksum of text and none of the workers of before still accepts. */
  private async waitServing(text: string, before: readonly number[]): Promise<void> {
    const s = this.started!;
    const sum = nginxConfChecksum(text);
    const deadline = performance.now() + this.timeoutMs;
    const probe = inNetns(s.netns, ['curl', '-s', '-m', '1', `http://127.0.0.1:${STATUS_PORT}${CHECKSUM_PATH}`]);
    let seen = '';
    for (;;) {
      if (this.exit) throw this.exit;
      const r = await this.runner.run(probe, { reject: false, timeoutMs: 3000 });
      seen = r.exitCode === 0 ? r.stdout.trim() : `curl exit ${r.exitCode}`;
      const [answer, worker] = seen.split(' ');
      // Our own worker (another nginx in the namespace may answer the same sum), and no worker of
      // before still accepting: one that got the quit signal closes its listening sockets first.
      if (answer === sum && parentOf(Number(worker)) === this.child?.pid && !before.some(isAcceptingWorker)) return;
      if (this.exit) throw this.exit;
      if (performance.now() > deadline) {
        throw new KnetlabError(
          'ECOMMAND',
          `nginx of ingress controller pod ${s.pod.namespace}/${s.pod.name} does not serve configuration ${sum} after ${this.timeoutMs} ms (its status server answers: ${seen || 'nothing'})`,
        );
      }
      await sleep(POLL_MS);
    }
  }

  /** The master's worker processes. */
  private workers(): number[] {
    const pid = this.child?.pid;
    if (pid === undefined) return [];
    let children: number[];
    try {
      children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    } catch {
      children = childrenByScan(pid);
    }
    return children.filter((c) => cmdline(c).startsWith('nginx: worker process'));
  }
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0+$/, '').replaceAll('\0', ' ');
  } catch {
    return ''; // it ended
  }
}

const isAcceptingWorker = (pid: number) => {
  const c = cmdline(pid);
  return c.startsWith('nginx: worker process') && !c.includes('is shutting down');
};

const isNginx = (pid: number) => cmdline(pid).startsWith('nginx: ');

/** Children of a process by their stat's ppid, where /proc/PID/task/PID/children is not there. */
function childrenByScan(ppid: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    if (parentOf(Number(d)) === ppid) out.push(Number(d));
  }
  return out;
}

function lastLines(s: string, n = 5): string {
  const lines = s.split('\n');
  return lines.slice(-n).join(' | ');
}
