// `knetlab up --watch FILE`: once held, the file's steps run; each time the file (or a file it names)
// changes, the lab reloads it (objects applied and deleted, steps run again) and the steps are reported as `run` reports them.
import { Lab } from '../api/lab.js';
import { formatProblem, KnetlabError } from '../errors.js';
import type { Reporter, ReporterKind } from '../report/reporter.js';
import { terminalReporter } from './reporter.js';
import type { SandboxChannel } from '../run/runner.js';
import type { RunEvent, ScenarioResult } from '../run/types.js';
import { readInputFile } from '../scenario/input-file.js';
import { listedFiles } from '../scenario/listed-files.js';
import { isAbsolute, relative } from 'node:path';
import { watchFiles, type Watcher } from './watch.js';

export interface WatchOptions {
  file: string;
  reporter: ReporterKind;
  /** The places after a reload (pods come and go): `knetlab exec` finds them in the held state. */
  onPlaces: (netns: Record<string, string>) => void;
  /** Ends the held scenario (as Ctrl-C does); its result once it is down. */
  stop: (reason: string) => Promise<ScenarioResult>;
}

export class UpWatch {
  private lab: Lab | undefined;
  private watcher: Watcher | undefined;
  private reporter: Reporter | undefined;
  private busy = false;
  private again = false;
  private ended = false;

  constructor(private readonly opts: WatchOptions) {}

  /** The scenario is held: its steps run once, then every change reloads it. */
  held(name: string, netns: Record<string, string>, artifactsDir: string, channel: SandboxChannel): void {
    const { file } = this.opts;
    this.lab = new Lab(name, file, netns, artifactsDir, channel, this.opts.stop, true);
    this.watcher = watchFiles(
      [file],
      (changed) => this.changed(changed),
      (dir, why) => say(`knetlab: cannot watch ${dir} (${why}): its files' changes are not seen`),
    );
    say(`watching ${file} and the files it names: each change is applied, and its steps run again`);
    void this.reload();
  }

  /** Every event of the run: replies go to the lab, a reload's steps to its report. */
  event(e: RunEvent): void {
    if (e.type === 'reply') this.lab?.receive(e.reply);
    // The sandbox names the file by its absolute path; the report names it as the command line did.
    if ((e.type === 'step-start' || e.type === 'step-end') && this.reporter) this.reporter.event({ ...e, file: this.opts.file });
  }

  /** The held scenario ended (Ctrl-C, `knetlab down`, its sandbox gone): nothing more is watched. */
  end(result?: ScenarioResult): void {
    if (this.ended) return;
    this.ended = true;
    this.watcher?.close();
    this.reporter?.finish([]);
    if (result) this.lab?.end(result);
  }

  private changed(files: string[]): void {
    if (this.ended) return;
    say(`\n${files.map(shown).join(', ')} changed`);
    void this.reload();
  }

  /** One reload at a time; changes seen meanwhile lead to one more after it. */
  private async reload(): Promise<void> {
    if (this.busy) {
      this.again = true;
      return;
    }
    this.busy = true;
    try {
      do {
        this.again = false;
        await this.reloadOnce();
      } while (this.again && !this.ended);
    } catch (err) {
      // A bug of knetlab's own: said, and the scenario ended as Ctrl-C ends it.
      say(`knetlab: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      void this.opts.stop('an internal error while reloading');
    } finally {
      this.busy = false;
    }
  }

  private async reloadOnce(): Promise<void> {
    const lab = this.lab;
    if (!lab || this.ended) return;
    const { file } = this.opts;
    const reporter = terminalReporter(this.opts.reporter);
    this.reporter = reporter;
    try {
      reporter.event({ type: 'scenario-start', file, name: lab.name });
      const r = await lab.reload(file);
      const changes = [r.applied.length ? `applied ${r.applied.join(', ')}` : '', r.deleted.length ? `deleted ${r.deleted.join(', ')}` : ''].filter(Boolean);
      say(`${lab.name}: ${changes.length ? changes.join('; ') : 'no object changed'}`);
      for (const p of r.warnings) say(formatProblem(p));
      const result: ScenarioResult = { file, name: lab.name, status: r.status, reason: r.reason, durationMs: r.durationMs, steps: r.steps, phases: [] };
      reporter.event({ type: 'scenario-end', result });
      process.stdout.write(reporter.finish([result]));
      this.opts.onPlaces({ ...lab.places });
    } catch (err) {
      reporter.finish([]);
      if (!(err instanceof KnetlabError) || err.code === 'EINTERNAL') throw err;
      if (this.ended) return; // Ctrl-C while it ran: `up` says it is down
      for (const p of err.problems) say(formatProblem(p));
      say(`knetlab: ${err.message.split('\n')[0]!.replace(/:$/, '')}`);
    } finally {
      this.reporter = undefined;
      await this.follow();
    }
  }

  /** Watches the files the scenario names now (an edit may add or drop one). */
  private async follow(): Promise<void> {
    const read = await readInputFile(this.opts.file);
    if (read.ok && !this.ended) this.watcher?.set(listedFiles(this.opts.file, read.text));
  }
}

const say = (s: string) => void process.stderr.write(`${s}\n`);
/** A path below the working folder relative to it, others as they are. */
const shown = (f: string) => {
  const r = relative(process.cwd(), f);
  return r && !r.startsWith('..') && !isAbsolute(r) ? r : f;
};
