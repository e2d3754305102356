#!/usr/bin/env node
// `npm run bench` (as root): how fast scenarios come up and go down, and how much memory they
// take, knetlab's way beside a naive baseline measured in the same run (one `ip` process per
// change), and what tracing a step costs (the same step run plain and traced). Not a test: it prints
// numbers, ratios and the budget of DESIGN.md §5 (ok or OVER).
// `--runs N` (default 3) runs of knetlab's way per case; the naive baseline runs that often for the
// small case, once at 200 pods, and not at 1000 (it would take minutes). Leaves nothing behind:
// its scenario files go in a temporary folder removed at the end, everything else in sandboxes.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { argv, echo } from 'zx';

const runs = Number(argv.runs ?? 3);
if (process.getuid() !== 0) {
  echo('npm run bench needs root (it builds real namespaces): sudo npm run bench');
  process.exit(1);
}

function scenario(name, nodes, replicas, services) {
  const nodeList = Array.from({ length: nodes }, (_, i) => `  - name: node-${i + 1}`).join('\n');
  const deps = Array.from({ length: services }, (_, i) => {
    const app = `app-${i}`;
    const n = Math.floor(replicas / services) + (i < replicas % services ? 1 : 0);
    return `  - {apiVersion: apps/v1, kind: Deployment, metadata: {name: ${app}}, spec: {replicas: ${n}, selector: {matchLabels: {app: ${app}}}, template: {metadata: {labels: {app: ${app}}}, spec: {containers: [{name: c, ports: [{containerPort: 80}]}]}}}}
  - {apiVersion: v1, kind: Service, metadata: {name: ${app}}, spec: {selector: {app: ${app}}, ports: [{port: 80}]}}`;
  }).join('\n');
  return `apiVersion: knetlab/v1\nkind: Scenario\nmetadata: {name: ${name}}\ncluster: {dns: false}\nnodes:\n${nodeList}\nmanifests:\n${deps}\n`;
}

const dir = mkdtempSync(join(tmpdir(), 'knetlab-bench-'));
const removeDir = () => rmSync(dir, { recursive: true, force: true });
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    removeDir();
    process.exit(130);
  });
}

const cases = [
  { key: 'small', name: '3 nodes, 6 pods, 3 Services', pods: 6, naiveRuns: runs, text: scenario('bench-small', 3, 6, 3) },
  { key: '200', name: '4 nodes, 200 pods, 10 Services', pods: 200, naiveRuns: 1, text: scenario('bench-200', 4, 200, 10) },
  { key: '1000', name: '8 nodes, 1000 pods, 20 Services', pods: 1000, naiveRuns: 0, text: scenario('bench-1000', 8, 1000, 20) },
];

/** Network namespaces alive on the machine (any user's), as the kernel's slab allocator counts them. */
function liveNetns() {
  const m = /^net_namespace\s+(\d+)/m.exec(readFileSync('/proc/slabinfo', 'utf8'));
  return m ? Number(m[1]) : 0;
}

/**
 * The kernel frees a sandbox's namespaces after it exits, holding the lock every link change
 * needs: after a large run, wait (up to 20 s) until they are gone, so the next run does not pay for it.
 */
async function settle(before, namespaces) {
  if (namespaces < 100) return;
  for (let i = 0; i < 200 && liveNetns() > before + 10; i++) await new Promise((r) => setTimeout(r, 100));
}

/** One sandbox: up (as bench-main measures it inside), then down (end of stdin to exit, seen from here). */
function once(file, mode) {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(
      'unshare',
      ['--pid', '--fork', '--mount-proc', '--mount', '--net', '--propagation', 'private', '--', process.execPath, 'dist/run/bench-main.js', file, mode],
      {
        env: { ...process.env, KNETLAB_SANDBOX: '1' },
        stdio: ['pipe', 'pipe', 'inherit'],
      },
    );
    const lines = createInterface({ input: child.stdout });
    let up;
    let downStart;
    lines.on('line', (line) => {
      const v = JSON.parse(line);
      if (v.upMs !== undefined) {
        up = { ...v, startToUpMs: Math.round(performance.now() - start) };
        downStart = performance.now();
        child.stdin.end();
      }
    });
    child.on('exit', (code) => {
      if (code !== 0 || !up) return reject(new Error(`bench-main ${mode} ${file} exited ${code}`));
      resolve({ ...up, downMs: Math.round(performance.now() - downStart) });
    });
  });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const mb = (kb) => `${(kb / 1024).toFixed(0)} MB`;
const rows = {};
try {
  for (const c of cases) {
    c.file = join(dir, `${c.key}.yaml`);
    writeFileSync(c.file, c.text);
    const results = { bulk: [], naive: [] };
    for (let i = 0; i < Math.max(runs, c.naiveRuns); i++) {
      // Alternate, so that a busy moment of the machine does not favour one side.
      for (const mode of ['bulk', 'naive']) {
        if (i >= (mode === 'bulk' ? runs : c.naiveRuns)) continue;
        const before = liveNetns();
        const r = await once(c.file, mode);
        results[mode].push(r);
        await settle(before, r.namespaces);
      }
    }
    const m = (mode, key) => median(results[mode].map((r) => r[key]));
    const naive = results.naive.length > 0;
    rows[c.key] = { c, m, naive };
    const first = results.bulk[0];
    const vs = (key, unit = ' ms') =>
      naive ? `   naive ${m('naive', key)}${unit}${results.naive.length === 1 ? ' (1 run)' : ''}   ${(m('naive', key) / Math.max(1, m('bulk', key))).toFixed(1)}x` : '';
    echo(`\n${c.name} (${first.namespaces} namespaces, ${first.listeners} echo sockets), median of ${runs}:`);
    echo(`  up (topology + workloads)   knetlab ${m('bulk', 'upMs')} ms${vs('upMs')}`);
    echo(`    of which topology         knetlab ${m('bulk', 'topologyMs')} ms${vs('topologyMs')}`);
    echo(`    per pod                   knetlab ${(m('bulk', 'upMs') / c.pods).toFixed(1)} ms${naive ? `   naive ${(m('naive', 'upMs') / c.pods).toFixed(1)} ms` : ''}`);
    echo(`  processes started           knetlab ${m('bulk', 'processes')}${naive ? `   naive ${m('naive', 'processes')}` : ''}`);
    echo(`  start to up (with sandbox)  knetlab ${m('bulk', 'startToUpMs')} ms${naive ? `   naive ${m('naive', 'startToUpMs')} ms` : ''}`);
    echo(`  down                        knetlab ${m('bulk', 'downMs')} ms${vs('downMs')}`);
    echo(`  peak memory (runner + echo) knetlab ${mb(m('bulk', 'rssKb'))}${naive ? `   naive ${mb(m('naive', 'rssKb'))}` : ''}`);
    if (!naive) {
      const perPod = rows['200']?.naive ? rows['200'].m('naive', 'upMs') / 200 : undefined;
      echo(`  naive baseline not run here (minutes)${perPod ? `: at its 200-pod cost of ${perPod.toFixed(0)} ms a pod, about ${((perPod * c.pods) / 1000).toFixed(0)} s` : ''}`);
    }
  }

  // A traced step's overhead: the same step of a small scenario run plain and with --trace, timed by the junit report.
  const tracedFile = join(dir, 'traced.yaml');
  writeFileSync(tracedFile, `${scenario('bench-trace', 3, 6, 3)}steps:\n  - name: a pod to another Service\n    http: {from: pod/app-1-0, to: service/app-0}\n`);
  const stepMs = async (trace) => {
    const args = ['dist/cli/main.js', 'run', '-r', 'junit', '--diagnostics', join(dir, 'diag'), '--artifacts', join(dir, 'art'), ...(trace ? ['--trace', '1'] : []), tracedFile];
    const out = await new Promise((resolve, reject) => {
      const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
      let text = '';
      child.stdout.on('data', (d) => (text += d));
      child.on('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`knetlab run ${args.slice(2).join(' ')} exited ${code}`))));
    });
    const time = /<testcase [^>]*time="([\d.]+)"/.exec(out);
    if (!time) throw new Error(`no step time in the junit report:\n${out}`);
    return Math.round(Number(time[1]) * 1000);
  };
  const timed = { plain: [], traced: [] };
  for (let i = 0; i < runs; i++) for (const mode of ['plain', 'traced']) timed[mode].push(await stepMs(mode === 'traced'));
  const [plainMs, tracedMs] = [median(timed.plain), median(timed.traced)];
  echo(`\na traced step (http pod to ClusterIP, 3 nodes, 6 pods; trace: true, or --trace), median of ${runs}:`);
  echo(`  step                        traced ${tracedMs} ms   plain ${plainMs} ms   ${(tracedMs / Math.max(1, plainMs)).toFixed(1)}x`);
} finally {
  removeDir();
}

const verdict = (ok) => (ok ? 'ok' : 'OVER');
const { small, 200: p200, 1000: p1000 } = rows;
const memKb = Math.max(...Object.values(rows).map((r) => r.m('bulk', 'rssKb')));
echo('\nbudget (DESIGN.md §5): small up < 500 ms, down < 200 ms; 200 pods up < 1 s; 1000 pods up < 5 s; memory < 300 MB');
echo(`  small up ${small.m('bulk', 'upMs')} ms ${verdict(small.m('bulk', 'upMs') < 500)}; small down ${small.m('bulk', 'downMs')} ms ${verdict(small.m('bulk', 'downMs') < 200)}`);
echo(`  200 pods up ${p200.m('bulk', 'upMs')} ms ${verdict(p200.m('bulk', 'upMs') < 1000)}; 1000 pods up ${p1000.m('bulk', 'upMs')} ms ${verdict(p1000.m('bulk', 'upMs') < 5000)}`);
echo(`  peak memory ${mb(memKb)} ${verdict(memKb < 300 * 1024)}`);
