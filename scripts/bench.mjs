#!/usr/bin/env node
// `npm run bench` (as root): how fast scenarios come up and go down, and how much memory they
// take, knetlab's way (a batch per namespace, in parallel) beside a naive baseline measured in the
// same run (one `ip` process per change). Not a test: it prints numbers and ratios.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
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
const cases = [
  { name: '3 nodes, 6 pods, 3 Services', file: join(dir, 'small.yaml'), text: scenario('bench-small', 3, 6, 3) },
  { name: '4 nodes, 200 pods, 10 Services', file: join(dir, 'large.yaml'), text: scenario('bench-large', 4, 200, 10) },
];
for (const c of cases) writeFileSync(c.file, c.text);

/** One sandbox: up (as bench-main measures it inside), then down (end of stdin to exit, seen from here). */
function once(file, mode) {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn('unshare', ['--pid', '--fork', '--mount-proc', '--mount', '--net', '--propagation', 'private', '--', process.execPath, 'dist/run/bench-main.js', file, mode], {
      env: { ...process.env, KNETLAB_SANDBOX: '1' },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
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
const rows = [];
for (const c of cases) {
  const results = { bulk: [], naive: [] };
  for (let i = 0; i < runs; i++) {
    // Alternate, so that a busy moment of the machine does not favour one side.
    results.bulk.push(await once(c.file, 'bulk'));
    results.naive.push(await once(c.file, 'naive'));
  }
  const m = (mode, key) => median(results[mode].map((r) => r[key]));
  rows.push({ c, m });
  const ns = results.bulk[0].namespaces;
  echo(`\n${c.name} (${ns} namespaces, ${results.bulk[0].listeners} echo sockets), median of ${runs}:`);
  echo(`  up (topology + workloads)   knetlab ${m('bulk', 'upMs')} ms   naive ${m('naive', 'upMs')} ms   ${(m('naive', 'upMs') / m('bulk', 'upMs')).toFixed(1)}x faster`);
  echo(`    of which topology         knetlab ${m('bulk', 'topologyMs')} ms   naive ${m('naive', 'topologyMs')} ms   ${(m('naive', 'topologyMs') / m('bulk', 'topologyMs')).toFixed(1)}x`);
  echo(`  start to up (with sandbox)  knetlab ${m('bulk', 'startToUpMs')} ms   naive ${m('naive', 'startToUpMs')} ms`);
  echo(`  down                        knetlab ${m('bulk', 'downMs')} ms   naive ${m('naive', 'downMs')} ms   ${(m('naive', 'downMs') / Math.max(1, m('bulk', 'downMs'))).toFixed(1)}x faster`);
  echo(`  peak memory (runner + echo) knetlab ${(m('bulk', 'rssKb') / 1024).toFixed(0)} MB   naive ${(m('naive', 'rssKb') / 1024).toFixed(0)} MB`);
}
echo('\nbudget (DESIGN.md §5): small up < 500 ms and down < 200 ms; 200 pods up < 2 s and >= 4x the naive baseline');
const [small, large] = rows;
echo(`  small up ${small.m('bulk', 'upMs')} ms ${small.m('bulk', 'upMs') < 500 ? 'ok' : 'OVER'}; small down ${small.m('bulk', 'downMs')} ms ${small.m('bulk', 'downMs') < 200 ? 'ok' : 'OVER'}; large up ${large.m('bulk', 'upMs')} ms ${large.m('bulk', 'upMs') < 2000 ? 'ok' : 'OVER'}; ratio ${(large.m('naive', 'upMs') / large.m('bulk', 'upMs')).toFixed(1)}x ${large.m('naive', 'upMs') / large.m('bulk', 'upMs') >= 4 ? 'ok' : 'UNDER'}`);
