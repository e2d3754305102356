import t from 'tap';
import { crossModeDifferences, declaredDifferences } from '../../src/run/cross-mode.js';
import type { ScenarioResult, StepResult } from '../../src/run/types.js';

const result = (statuses: string[], status: ScenarioResult['status'] = 'passed'): ScenarioResult => ({
  file: 'a.yaml',
  name: 'a',
  status,
  reason: null,
  durationMs: 1,
  phases: [],
  steps: statuses.map((s, i) => ({
    name: `step ${i + 1}`,
    index: i,
    kind: 'http',
    status: s as 'passed',
    expected: 'x',
    seen: `seen ${i + 1}`,
    diagnostics: null,
    durationMs: 1,
    tries: [],
    skip: null,
    variant: null,
  })),
});

t.test('a step that passes in one mode and fails in another is reported with both', async (t) => {
  const byMode = new Map([
    ['iptables', [result(['passed', 'passed'])]],
    ['nftables', [result(['passed', 'failed'], 'failed')]],
    ['ipvs', [result([], 'skipped')]],
  ]);
  t.same(crossModeDifferences(['a.yaml'], byMode), ['a.yaml: step 2 (step 2) differs between modes: iptables: passed; nftables: failed (saw seen 2)']);
  t.same(
    crossModeDifferences(
      ['a.yaml'],
      new Map([
        ['iptables', [result(['passed'])]],
        ['nftables', [result(['passed'])]],
      ]),
    ),
    [],
    'the same outcomes: nothing',
  );
  t.same(
    crossModeDifferences(
      ['a.yaml'],
      new Map([
        ['iptables', [result(['passed'])]],
        ['ipvs', [result([], 'skipped')]],
      ]),
    ),
    [],
    'a skipped mode is left out',
  );
});

t.test('steps whose expectIn declares a difference are listed with what each mode expected', async (t) => {
  const step = (index: number, name: string, status: 'passed' | 'skipped', expected: string, more: Partial<StepResult> = {}): StepResult => ({
    name,
    index,
    kind: 'ping',
    status,
    expected,
    seen: 'ok',
    diagnostics: null,
    durationMs: 1,
    tries: [],
    skip: null,
    variant: null,
    ...more,
  });
  const r = (steps: StepResult[]): ScenarioResult => ({ file: 'a.yaml', name: 'a', status: 'passed', reason: null, durationMs: 1, phases: [], steps });
  const skipped = { seen: "not run under kube-proxy's iptables mode (its expectIn says skip)", skip: { because: 'mode', mode: 'iptables' } } as const;
  const byMode = new Map([
    ['iptables', [r([step(0, 'plain', 'passed', 'x'), step(1, 'ping', 'passed', 'unreachable'), step(2, 'ipvsadm', 'skipped', '', skipped)])]],
    ['ipvs', [r([step(0, 'plain', 'passed', 'x'), step(1, 'ping [expectIn.ipvs]', 'passed', 'reachable', { variant: 'ipvs' }), step(2, 'ipvsadm', 'passed', 'exit 0')])]],
  ]);
  t.same(declaredDifferences(['a.yaml'], byMode), [
    'a.yaml: step 2 (ping) differs by design (expectIn): iptables: unreachable; ipvs: reachable',
    'a.yaml: step 3 (ipvsadm) differs by design (expectIn): iptables: not run; ipvs: exit 0',
  ]);
  t.same(crossModeDifferences(['a.yaml'], byMode), [], 'none of them is a difference found');
});

t.test('what a step is comes from its data, not from its name or seen text', async (t) => {
  const st = (name: string, expected: string, seen: string): StepResult => ({
    name,
    index: 0,
    kind: 'exec',
    status: 'passed',
    expected,
    seen,
    diagnostics: null,
    durationMs: 1,
    tries: [],
    skip: null,
    variant: null,
  });
  const r = (s: StepResult): ScenarioResult => ({ file: 'a.yaml', name: 'a', status: 'passed', reason: null, durationMs: 1, phases: [], steps: [s] });
  // A name that looks like a variant, and output that reads like a skip: neither is one.
  const byMode = new Map([
    ['iptables', [r(st('echo [expectIn.ipvs]', 'exit 0', "not run under kube-proxy's iptables mode"))]],
    ['ipvs', [r(st('echo [expectIn.ipvs]', 'exit 1', 'ok'))]],
  ]);
  t.same(declaredDifferences(['a.yaml'], byMode), []);
});
