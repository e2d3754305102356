import t from 'tap';
import { failed, passed, results, skipped } from './samples.js';
import { formatDuration, formatSummary } from '../../src/report/pretty.js';
import { createReporter, type Reporter } from '../../src/report/reporter.js';
import type { RunEvent } from '../../src/run/types.js';

/** A stream that records what is written, optionally with terminal columns. */
function capture(columns?: number) {
  const chunks: string[] = [];
  const stream = { write: (s: string) => (chunks.push(s), true), columns } as unknown as NodeJS.WritableStream;
  return { stream, chunks, text: () => chunks.join('') };
}

/** A clock the test moves by hand. */
function clock() {
  let ms = 1000;
  return { now: () => ms, advance: (d: number) => (ms += d) };
}

/** Two scenarios run at once (their events interleave); a third is skipped before it starts. */
const interleaved: RunEvent[] = [
  { type: 'scenario-start', file: passed.file, name: passed.name },
  { type: 'scenario-start', file: failed.file, name: failed.name },
  { type: 'phase', file: passed.file, phase: 'topology', durationMs: 312 },
  { type: 'phase', file: failed.file, phase: 'topology', durationMs: 400 },
  { type: 'step-start', file: passed.file, index: 0, kind: 'http', name: passed.steps[0]!.name },
  { type: 'step-end', file: passed.file, index: 0, result: passed.steps[0]! },
  { type: 'step-start', file: failed.file, index: 0, kind: 'http', name: failed.steps[0]!.name },
  { type: 'step-start', file: passed.file, index: 1, kind: 'dns', name: passed.steps[1]!.name },
  { type: 'step-end', file: passed.file, index: 1, result: passed.steps[1]! },
  { type: 'phase', file: passed.file, phase: 'steps', durationMs: 57 },
  { type: 'scenario-end', result: passed },
  { type: 'step-end', file: failed.file, index: 0, result: failed.steps[0]! },
  { type: 'step-end', file: failed.file, index: 1, result: failed.steps[1]! },
  { type: 'scenario-end', result: failed },
  { type: 'scenario-end', result: skipped },
];

function run(r: Reporter, c: ReturnType<typeof clock>, events = interleaved): void {
  for (const e of events) {
    c.advance(100);
    r.event(e);
  }
}

const sgr = /\x1b\[\d+(?:;\d+)*m/g;
/** What a terminal would show at the end: each `\r ESC[2K` erases the partial line it is on. */
const screen = (text: string) => text.replace(/[^\n]*\r\x1b\[2K/g, '');

const expectedLive = `▶ clusterip (scenarios/clusterip.yaml)
▶ nodeport-local (scenarios/nodeport-local.yaml)
↳ clusterip (scenarios/clusterip.yaml)
  topology 312ms
↳ nodeport-local (scenarios/nodeport-local.yaml)
  topology 400ms
↳ clusterip (scenarios/clusterip.yaml)
  ✓ http pod/client -> service/nginx (45ms)
  ✓ dns pod/client nginx.default (12ms)
  steps 57ms
✓ clusterip (scenarios/clusterip.yaml) passed: 2 steps in 1.2s
↳ nodeport-local (scenarios/nodeport-local.yaml)
  ✗ keeps the client IP <&"x"> #1 (2.0s)
      expected:    status 200, sourceIp host/client (192.168.8.100)
      seen:        status 200, sourceIp 10.244.1.1 (node/node-2@cni0) & "<masqueraded>"
      diagnostics: /tmp/knetlab/nodeport-local/step-1
  - drops on node-2 (not run)
✗ nodeport-local (scenarios/nodeport-local.yaml) failed: 1 of 2 steps failed in 2.5s
  reason: step \`keeps the client IP\` failed
- ipvs-nodeport (scenarios/ipvs.yaml) skipped: kernel lacks ip_vs (modprobe ip_vs: Module ip_vs not found)
`;

const expectedSummary = `1 passed, 1 failed, 1 skipped (1.5s)
  ✗ nodeport-local (scenarios/nodeport-local.yaml): step \`keeps the client IP\` failed
  - ipvs-nodeport (scenarios/ipvs.yaml): kernel lacks ip_vs (modprobe ip_vs: Module ip_vs not found)
`;

t.test('pretty, not a terminal: a line per event, plain text, no escape codes at all', async (t) => {
  const out = capture(80);
  const c = clock();
  const r = createReporter('pretty', { stream: out.stream, color: false, live: false, now: c.now });
  run(r, c);
  const summary = r.finish(results);
  t.notMatch(out.text(), /\x1b/, 'no ANSI codes in the live output');
  t.notMatch(summary, /\x1b/, 'nor in the summary');
  t.equal(out.text(), expectedLive);
  t.equal(summary, expectedSummary);
});

t.test('pretty: the lines of each event', async (t) => {
  const out = capture();
  const c = clock();
  const r = createReporter('pretty', { stream: out.stream, color: false, live: false, now: c.now });
  const lines = () => out.chunks.splice(0).join('').split('\n').slice(0, -1);

  r.event({ type: 'scenario-start', file: 'a.yaml', name: 'a' });
  t.same(lines(), ['▶ a (a.yaml)'], 'a line when a scenario starts');
  r.event({ type: 'phase', file: 'a.yaml', phase: 'topology', durationMs: 312 });
  t.same(lines(), ['  topology 312ms'], 'a phase with its timing');
  r.event({ type: 'step-start', file: 'a.yaml', index: 0, kind: 'http', name: 's' });
  t.same(lines(), [], 'nothing when a step starts (not a terminal)');
  r.event({ type: 'step-end', file: 'a.yaml', index: 0, result: { ...passed.steps[0]!, durationMs: 1500 } });
  t.same(lines(), ['  ✓ http pod/client -> service/nginx (1.5s)'], 'a passed step with its duration');
  r.event({
    type: 'step-end',
    file: 'a.yaml',
    index: 1,
    result: {
      name: 'exec',
      index: 1,
      kind: 'exec',
      status: 'failed',
      expected: 'exit code 0',
      seen: 'exit code 1\nstderr: boom',
      diagnostics: '/tmp/d/1',
      durationMs: 70,
      tries: [{ ok: true, exitCode: 1, timedOut: false }],
      skip: null,
      variant: null,
    },
  });
  t.same(
    lines(),
    ['  ✗ exec (70ms)', '      expected:    exit code 0', '      seen:        exit code 1', '                   stderr: boom', '      diagnostics: /tmp/d/1'],
    'a failed step: expected, seen (multi-line aligned) and its diagnostics folder, indented',
  );
  r.event({ type: 'step-end', file: 'a.yaml', index: 2, result: failed.steps[1]! });
  t.same(lines(), ['  - drops on node-2 (not run)'], 'a skipped step');
  r.event({ type: 'scenario-end', result: { ...failed, file: 'a.yaml', name: 'a', reason: null, durationMs: 65_000 } });
  t.same(lines(), ['✗ a (a.yaml) failed: 1 of 2 steps failed in 1m05s'], 'the closing line of a failed scenario without a reason');
  r.event({ type: 'scenario-end', result: { ...passed, steps: [passed.steps[0]!], durationMs: 999.6 } });
  t.same(lines(), ['✓ clusterip (scenarios/clusterip.yaml) passed: 1 step in 1.0s'], 'a scenario that ends without having started');
  r.event({ type: 'phase', file: 'b.yaml', phase: 'teardown', durationMs: 4 });
  t.same(lines(), ['↳ b.yaml (b.yaml)', '  teardown 4ms'], 'a line of an unknown scenario still says whose it is');

  c.advance(500);
  t.equal(
    r.finish([{ ...failed, reason: null }]),
    '0 passed, 1 failed, 0 skipped (500ms)\n  ✗ nodeport-local (scenarios/nodeport-local.yaml): step `keeps the client IP <&"x"> #1` failed: status 200, sourceIp 10.244.1.1 (node/node-2@cni0) & "<masqueraded>"\n',
    'without a reason, the summary names the first failed step',
  );
  r.event({ type: 'scenario-start', file: 'late.yaml', name: 'late' });
  t.same(lines(), [], 'nothing after finish');
});

t.test('pretty on a terminal: a status line redrawn in place, the same lines otherwise', async (t) => {
  const out = capture(60);
  const c = clock();
  const r = createReporter('pretty', { stream: out.stream, color: false, live: true, now: c.now });
  run(r, c, interleaved.slice(0, 7));
  t.match(out.text(), /\r\x1b\[2K/, 'the status line is erased before lines are written');
  t.notMatch(out.text(), sgr, 'no colors when color is false');
  const status = screen(out.text()).split('\n').at(-1);
  t.equal(status, '⠋ running 2: clusterip 600ms, nodeport-local 500ms › keeps…', 'the running scenarios and their current step, cut to the width');
  for (const chunk of out.text().split(/\r\x1b\[2K|\n/)) t.ok(Array.from(chunk).length < 60, 'never wider than the terminal');
  run(r, c, interleaved.slice(7));
  const summary = r.finish(results);
  t.equal(screen(out.text()), expectedLive, 'what stays on the screen is the plain output');
  t.equal(summary, expectedSummary);
});

t.test('pretty with colors: ANSI styles around the same text', async (t) => {
  const out = capture();
  const c = clock();
  const r = createReporter('pretty', { stream: out.stream, color: true, live: false, now: c.now });
  run(r, c);
  const summary = r.finish(results);
  t.match(out.text(), '\x1b[32m✓\x1b[39m');
  t.match(out.text(), '\x1b[31m✗\x1b[39m');
  t.match(summary, '\x1b[31m1 failed\x1b[39m');
  t.notMatch(out.text(), /\r|\x1b\[\d*[A-HJK]/, 'no cursor movement without live');
  t.equal(out.text().replace(sgr, ''), expectedLive);
  t.equal(summary.replace(sgr, ''), expectedSummary);
});

t.test('pretty on a terminal: the status line ticks while scenarios run, and stops at finish', async (t) => {
  const out = capture(80);
  const r = createReporter('pretty', { stream: out.stream, color: false, live: true });
  r.event({ type: 'scenario-start', file: 'a.yaml', name: 'a' });
  const before = out.chunks.length;
  await new Promise((resolve) => setTimeout(resolve, 400));
  t.ok(out.chunks.length > before, 'redrawn while running');
  t.match(screen(out.text()).split('\n').at(-1), /^. running 1: a \d+ms$/);
  r.finish([]);
  t.equal(screen(out.text()), '▶ a (a.yaml)\n', 'the status line is erased at the end');
  const after = out.chunks.length;
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.equal(out.chunks.length, after, 'nothing is written after finish');
});

t.test('formatDuration and formatSummary', async (t) => {
  t.same([0, 312, 999.4, 999.6, 1234, 59_949, 59_950, 65_000, 3_600_000].map(formatDuration), ['0ms', '312ms', '999ms', '1.0s', '1.2s', '59.9s', '1m00s', '1m05s', '60m00s']);
  t.equal(formatSummary([], 0), '0 passed, 0 failed, 0 skipped (0ms)\n');
  t.equal(formatSummary([passed, passed], 2500), '2 passed, 0 failed, 0 skipped (2.5s)\n');
  t.equal(
    formatSummary([{ ...skipped, reason: 'kernel lacks\nip_vs' }], 10),
    '0 passed, 0 failed, 1 skipped (10ms)\n  - ipvs-nodeport (scenarios/ipvs.yaml): kernel lacks ip_vs\n',
  );
});
