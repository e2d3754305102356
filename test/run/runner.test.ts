// The runner ends a scenario that runs past its deadline, and reports where it was (real kernel).
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { RunEvent } from '../../src/run/types.js';

const notRoot = process.getuid?.() !== 0 ? 'runs a scenario in a sandbox: needs root' : false;

t.test('a run past its deadline is ended, failed, and says where it was', { skip: notRoot }, async (t) => {
  if (!existsSync('dist/run/runner.js')) throw new Error('dist/ is missing: run `npm run build` first (npm test does)');
  // The built runner: it starts dist/run/sandbox-main.js beside it.
  const { runInSandbox } = (await import('../../dist/run/runner.js')) as typeof import('../../src/run/runner.js');
  const dir = mkdtempSync(join(tmpdir(), 'knetlab-test-runner-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const events: RunEvent[] = [];
  const start = performance.now();
  const r = await runInSandbox('test/kernel/fixtures/sandbox-sleep.yaml', {
    diagnosticsRoot: join(dir, 'diag'),
    artifactsRoot: join(dir, 'art'),
    timeoutMs: 8000,
    onEvent: (e) => events.push(e),
  });
  const ms = performance.now() - start;
  t.ok(ms < 15_000, `ended soon after its 8 s deadline, not after the 30 s sleep (${Math.round(ms)} ms)`);
  t.equal(r.status, 'failed');
  t.match(r.reason, /^timed out after 8s \(its steps' limit and 2m for the build; --timeout changes it\) during step "sleep 30000ms"$/);
  t.same(
    r.steps.map((s) => s.status),
    ['passed', 'skipped'],
    'the step that passed, and the sleep cut short',
  );
  t.notOk(r.interrupted, 'a deadline is not an interruption');
  t.equal(events.filter((e) => e.type === 'scenario-end').length, 1, 'one scenario-end event');
  t.same(
    readdirSync(dir).filter((d) => existsSync(join(dir, d)) && readdirSync(join(dir, d)).length > 0),
    [],
    'the run left no diagnostics or artifacts',
  );
});
