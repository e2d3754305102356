import t from 'tap';
import { crossModeDifferences, declaredDifferences } from '../../src/run/cross-mode.js';
import type { ScenarioResult } from '../../src/run/types.js';

const result = (statuses: string[], status: ScenarioResult['status'] = 'passed'): ScenarioResult => ({
  file: 'a.yaml', name: 'a', status, reason: null, durationMs: 1, phases: [],
  steps: statuses.map((s, i) => ({ name: `step ${i + 1}`, status: s as 'passed', expected: 'x', seen: `seen ${i + 1}`, diagnostics: null, durationMs: 1 })),
});

t.test('a step that passes in one mode and fails in another is reported with both', async (t) => {
  const byMode = new Map([
    ['iptables', [result(['passed', 'passed'])]],
    ['nftables', [result(['passed', 'failed'], 'failed')]],
    ['ipvs', [result([], 'skipped')]],
  ]);
  t.same(crossModeDifferences(['a.yaml'], byMode), ['a.yaml: step 2 (step 2) differs between modes: iptables: passed; nftables: failed (saw seen 2)']);
  t.same(crossModeDifferences(['a.yaml'], new Map([['iptables', [result(['passed'])]], ['nftables', [result(['passed'])]]])), [], 'the same outcomes: nothing');
  t.same(crossModeDifferences(['a.yaml'], new Map([['iptables', [result(['passed'])]], ['ipvs', [result([], 'skipped')]]])), [], 'a skipped mode is left out');
});

t.test('steps whose expectIn declares a difference are listed with what each mode expected', async (t) => {
  const step = (name: string, status: 'passed' | 'skipped', expected: string, seen = 'ok') => ({ name, status, expected, seen, diagnostics: null, durationMs: 1 });
  const r = (steps: ReturnType<typeof step>[]): ScenarioResult => ({ file: 'a.yaml', name: 'a', status: 'passed', reason: null, durationMs: 1, phases: [], steps });
  const byMode = new Map([
    ['iptables', [r([step('plain', 'passed', 'x'), step('ping', 'passed', 'unreachable'), step('ipvsadm', 'skipped', '', "not run under kube-proxy's iptables mode (its expectIn says skip)")])]],
    ['ipvs', [r([step('plain', 'passed', 'x'), step('ping [expectIn.ipvs]', 'passed', 'reachable'), step('ipvsadm', 'passed', 'exit 0')])]],
  ]);
  t.same(declaredDifferences(['a.yaml'], byMode), [
    'a.yaml: step 2 (ping) differs by design (expectIn): iptables: unreachable; ipvs: reachable',
    'a.yaml: step 3 (ipvsadm) differs by design (expectIn): iptables: not run; ipvs: exit 0',
  ]);
  t.same(crossModeDifferences(['a.yaml'], byMode), [], 'none of them is a difference found');
});
