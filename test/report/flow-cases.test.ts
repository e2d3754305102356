// A flows step's cases are rows of every report: a subtest in tap, a test case each in junit, a line
// each under the step in pretty, and `cases` in json.
import t from 'tap';
import { formatJson } from '../../src/report/json.js';
import { formatJunit } from '../../src/report/junit.js';
import { stepLines } from '../../src/report/pretty.js';
import { formatTap } from '../../src/report/tap.js';
import type { ScenarioResult, StepResult } from '../../src/run/types.js';

const step: StepResult = {
  name: 'flows on node/test-node (3 cases)',
  index: 0,
  kind: 'flows',
  status: 'failed',
  expected: '2 packet flows as written, on node/test-node',
  seen: '1 of 2 differ: "DROP": output "", masq false: no DROP by any rule',
  diagnostics: '/d/step-01',
  durationMs: 3000,
  tries: [],
  skip: null,
  variant: null,
  cases: [
    { name: 'single endpoint', status: 'passed', expected: 'output "10.180.0.1:80", masq false', seen: 'output "10.180.0.1:80", masq false', durationMs: 1000 },
    {
      name: 'DROP',
      status: 'failed',
      expected: 'output "DROP", masq false',
      seen: 'output "", masq false: no DROP by any rule',
      durationMs: 1500,
      trace: ['no answer (no answer); no traced rule dropped it, last seen in node/test-node', 'no NAT on the way'],
    },
    { name: 'ACCEPT', status: 'skipped', expected: '', seen: "not run under kube-proxy's nftables mode (its expectIn says skip)", durationMs: 0 },
  ],
};
const result: ScenarioResult = { file: 'f.yaml', name: 'flows', status: 'failed', reason: 'x', durationMs: 4000, steps: [step], phases: [] };

t.test('tap: the cases are a subtest before the step point', async (t) => {
  const tap = formatTap([result]);
  t.match(
    tap,
    / {4}# Subtest: flows on node\/test-node \(3 cases\)\n {8}1\.\.3\n {8}ok 1 - single endpoint\n {8}not ok 2 - DROP\n {10}---\n {10}expected: output "DROP", masq false\n/,
  );
  t.match(tap, / {8}ok 3 - ACCEPT # SKIP not run under kube-proxy's nftables mode/);
  t.match(tap, /\n {4}not ok 1 - flows on node\/test-node \(3 cases\)\n/);
});

t.test('junit: a test case per case, named after its step', async (t) => {
  const xml = formatJunit([result]);
  t.match(xml, /<testcase name="flows on node\/test-node \(3 cases\): single endpoint"/);
  t.match(xml, /<testcase name="flows on node\/test-node \(3 cases\): DROP"[^>]*>\s*<failure message="expected output &quot;DROP&quot;, masq false; seen output &quot;&quot;/);
  t.match(xml, /<testcase name="flows on node\/test-node \(3 cases\): ACCEPT"[^>]*>\s*<skipped/);
  t.notMatch(xml, /<testcase name="flows on node\/test-node \(3 cases\)"/, 'the step itself is not a case of its own');
});

t.test('pretty: a line per case under the step, a failed one with what was expected and seen and why', async (t) => {
  const lines = stepLines(step, (_s, x) => x);
  t.ok(lines.includes('      ✓ single endpoint output "10.180.0.1:80", masq false'));
  t.ok(lines.includes('      ✗ DROP'));
  t.ok(lines.includes('          expected: output "DROP", masq false'));
  t.ok(lines.some((l) => l.includes('why: no NAT on the way')));
  t.ok(lines.some((l) => l.startsWith('      - ACCEPT (not run under')));
});

t.test('json: the cases as data', async (t) => {
  const json = JSON.parse(formatJson([result])) as { scenarios: { steps: { cases?: unknown[] }[] }[] };
  t.same(json.scenarios[0]!.steps[0]!.cases, step.cases);
});
