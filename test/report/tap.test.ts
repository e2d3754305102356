import t from 'tap';
import { failed, passed, results, skipped } from './samples.js';
import { Parser, type Result } from 'tap-parser';
import type { FinalResults } from 'tap-parser';
import { createReporter } from '../../src/report/reporter.js';
import { formatTap } from '../../src/report/tap.js';
import type { ScenarioResult } from '../../src/run/types.js';

interface Parsed {
  final: FinalResults;
  version: number | null;
  asserts: Result[];
  children: { name: string; final: FinalResults; asserts: Result[] }[];
  extra: string[];
  bailout: boolean;
}

/** Parses TAP strictly (non-TAP lines are errors), recording the top level and each subtest. */
function parse(text: string): Parsed {
  const out: Parsed = { final: undefined as unknown as FinalResults, version: null, asserts: [], children: [], extra: [], bailout: false };
  const parser = new Parser({ strict: true }, (final) => (out.final = final));
  parser.on('version', (v: number) => (out.version = v));
  parser.on('assert', (r: Result) => out.asserts.push(r));
  parser.on('extra', (s: string) => out.extra.push(s));
  parser.on('bailout', () => (out.bailout = true));
  parser.on('child', (child: Parser) => {
    const c = { name: child.name, final: undefined as unknown as FinalResults, asserts: [] as Result[] };
    out.children.push(c);
    child.on('assert', (r: Result) => c.asserts.push(r));
    child.on('complete', (f: FinalResults) => (c.final = f));
  });
  parser.end(text);
  return out;
}

t.test('tap: a valid TAP 14 document, one test point per scenario', async (t) => {
  const text = formatTap(results);
  const lines = text.split('\n');
  t.equal(lines[0], 'TAP version 14');
  t.equal(lines.at(-2), '1..3', 'the plan comes last');
  t.equal(lines.at(-1), '', 'ends with a newline');

  const p = parse(text);
  t.equal(p.version, 14);
  t.same(p.extra, [], 'no line outside TAP');
  t.notOk(p.bailout);
  t.same(
    p.final.failures.filter((f) => !!f.tapError),
    [],
    'no TAP errors',
  );
  t.same(p.final.plan, { start: 1, end: 3, skipAll: false, skipReason: '', comment: '' });
  t.equal(p.final.count, 3);
  t.equal(p.final.fail, 1);
  t.equal(p.final.skip, 1);
  t.equal(p.final.pass, 2, 'a skip counts as a pass');
  t.equal(p.final.ok, false);

  t.same(
    p.asserts.map((a) => [a.id, a.ok, a.name]),
    [
      [1, true, 'clusterip (scenarios/clusterip.yaml)'],
      [2, false, 'nodeport-local (scenarios/nodeport-local.yaml)'],
      [3, true, 'ipvs-nodeport (scenarios/ipvs.yaml)'],
    ],
  );
  t.equal(p.asserts[2]?.skip, 'kernel lacks ip_vs (modprobe ip_vs: Module ip_vs not found)');
  t.match(p.asserts[1]?.diag, { reason: 'step `keeps the client IP` failed', failedSteps: 1 });
});

t.test('tap: each scenario with steps has them as a subtest; a failed step has a YAML block', async (t) => {
  const p = parse(formatTap(results));
  t.same(
    p.children.map((c) => c.name),
    ['clusterip (scenarios/clusterip.yaml)', 'nodeport-local (scenarios/nodeport-local.yaml)'],
    'no subtest for the skipped scenario, which has no steps',
  );
  const [ok, bad] = p.children;
  t.same([ok?.final.count, ok?.final.pass, ok?.final.fail, ok?.final.ok], [2, 2, 0, true]);
  t.same(
    ok?.asserts.map((a) => a.name),
    ['http pod/client -> service/nginx', 'dns pod/client nginx.default'],
  );
  t.same([bad?.final.count, bad?.final.fail, bad?.final.skip, bad?.final.ok], [2, 1, 1, false]);
  const failedStep = bad?.asserts[0];
  t.equal(failedStep?.ok, false);
  t.equal(failedStep?.name, 'keeps the client IP <&"x"> #1', '`#` in a name is escaped and parsed back');
  t.strictSame(failedStep?.diag, {
    expected: 'status 200, sourceIp host/client (192.168.8.100)',
    seen: 'status 200, sourceIp 10.244.1.1 (node/node-2@cni0) & "<masqueraded>"',
    diagnostics: '/tmp/knetlab/nodeport-local/step-1',
  });
  t.equal(bad?.asserts[1]?.skip, 'not run');
  t.match(formatTap(results), /^ {4}not ok 1 - keeps the client IP <&"x"> \\#1\n {6}---\n/m);
  t.match(formatTap(results), /\nok 3 - ipvs-nodeport \(scenarios\/ipvs\.yaml\) # SKIP kernel lacks ip_vs \(/);
});

t.test('tap: awkward text stays valid: multi-line values, YAML-looking strings, no steps', async (t) => {
  const odd: ScenarioResult = {
    file: 'a#b.yaml',
    name: 'odd',
    status: 'failed',
    reason: 'topology failed:\nip link add: File exists',
    durationMs: 10,
    steps: [
      {
        name: 'exec\nnode/node-1',
        status: 'failed',
        expected: 'stdout matches `KUBE-SVC-`',
        seen: '- a: b\n---\n...\n# not a comment: {x}',
        diagnostics: null,
        durationMs: 1,
        index: 0,
        kind: 'exec',
        tries: [],
        skip: null,
        variant: null,
      },
    ],
    phases: [],
  };
  const noSteps: ScenarioResult = { ...odd, name: 'early', file: 'early.yaml', steps: [] };
  const skippedNoReason: ScenarioResult = { ...skipped, reason: null };
  const p = parse(formatTap([odd, noSteps, skippedNoReason]));
  t.same(p.extra, []);
  t.same(
    p.final.failures.filter((f) => !!f.tapError),
    [],
  );
  t.equal(p.final.count, 3);
  t.equal(p.final.fail, 2);
  t.equal(p.final.skip, 1);
  t.equal(p.asserts[0]?.name, 'odd (a#b.yaml)');
  t.equal(p.asserts[0]?.diag?.reason, 'topology failed:\nip link add: File exists');
  t.equal(p.children.length, 1);
  t.equal(p.children[0]?.asserts[0]?.name, 'exec node/node-1');
  t.equal(p.children[0]?.asserts[0]?.diag?.seen, '- a: b\n---\n...\n# not a comment: {x}');
  t.equal(p.children[0]?.asserts[0]?.diag?.diagnostics, null);
});

t.test('tap: no scenarios is an empty plan', async (t) => {
  t.equal(formatTap([]), 'TAP version 14\n1..0\n');
  const p = parse(formatTap([]));
  t.equal(p.final.count, 0);
  t.same(p.extra, []);
});

t.test('tap reporter: nothing live, the document at the end', async (t) => {
  const written: string[] = [];
  const stream = { write: (s: string) => (written.push(s), true) } as unknown as NodeJS.WritableStream;
  const r = createReporter('tap', { stream, color: false, live: false });
  r.event({ type: 'scenario-start', file: failed.file, name: failed.name });
  r.event({ type: 'step-end', file: failed.file, index: 0, result: failed.steps[0]! });
  r.event({ type: 'scenario-end', result: failed });
  t.same(written, []);
  t.equal(r.finish(results), formatTap(results));
});

t.test('tap: the checks above do catch invalid TAP', async (t) => {
  const garbage = parse('TAP version 14\nthis is not tap\nok 1 - a\n1..1\n');
  t.ok(garbage.extra.length > 0 || garbage.final.failures.some((f) => !!f.tapError));
  const unescaped = parse('TAP version 14\nok 1 - retry # TODO flaky\n1..1\n');
  t.equal(unescaped.asserts[0]?.todo, 'flaky', 'an unescaped # starts a directive');
  const named = { ...passed, name: 'retry # TODO flaky', steps: [{ ...passed.steps[0]!, name: 'a # SKIP b \\ c' }] };
  const escaped = parse(formatTap([named]));
  t.equal(escaped.asserts[0]?.name, 'retry # TODO flaky (scenarios/clusterip.yaml)');
  t.equal(escaped.asserts[0]?.todo, false);
  t.equal(escaped.children[0]?.asserts[0]?.name, 'a # SKIP b \\ c');
  t.equal(escaped.children[0]?.asserts[0]?.skip, false);
  const badPlan = parse('TAP version 14\nok 1 - a\n1..2\n');
  t.equal(badPlan.final.ok, false);
});
