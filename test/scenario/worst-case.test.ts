import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { loadScenario } from '../../src/scenario/load.js';
import { DEFAULT_SCENARIO_LIMIT_MS } from '../../src/scenario/limits.js';
import { heaviestSteps, stepWorstCaseMs, worstCaseMs } from '../../src/scenario/worst-case.js';
import { head } from '../helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'knetlab-worst-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
async function load(steps: string[], limitMs?: number) {
  const file = join(dir, `s${++n}.yaml`);
  writeFileSync(file, `${head(1)}hosts:\n  - name: client\nsteps:\n${steps.map((s) => `  - ${s}\n`).join('')}`);
  return loadScenario(file, limitMs === undefined ? {} : { limitMs });
}

t.test("each step's worst case: every try timing out, a sleep's length, an exec's timeout", async (t) => {
  const { scenario, problems } = await load([
    'http: {from: host/client, to: "192.168.8.11:80", count: 20, timeout: 3s}',
    'tcp: {from: host/client, to: "192.168.8.11:80"}',
    'udp: {from: host/client, to: "192.168.8.11:53", count: 3, timeout: 500ms}',
    'ping: {from: host/client, to: node/node-1, count: 5, timeout: 1s}',
    'dns: {from: host/client, name: web, timeout: 1500ms}',
    'exec: {on: node/node-1, command: [id]}',
    'sleep: 1m',
    'resync: {}',
  ]);
  t.same(problems.list, []);
  const steps = scenario!.steps;
  t.same(steps.map(stepWorstCaseMs), [60_000, 2000, 1500, 5 * 200 + 1000, 8 * 2000, 30_000, 60_000, 0]);
  t.equal(scenario!.worstCaseMs, worstCaseMs(steps));
  t.equal(scenario!.limitMs, DEFAULT_SCENARIO_LIMIT_MS);
  t.equal(heaviestSteps(steps, 2), 'steps[0] 20 tries of 3s, steps[6] sleep 1m');
});

t.test('a scenario whose worst case is over its limit is refused, naming the limit and --timeout', async (t) => {
  const over = await load(['sleep: 1h', 'sleep: 1h']);
  t.same(
    over.problems.list.map((p) => p.message),
    [
      'The steps may take 2h in the worst case (steps[0] sleep 1h, steps[1] sleep 1h), more than the limit of 30m for a scenario; shorten them, or raise the limit with --timeout DURATION',
    ],
  );
  t.same(over.problems.list[0]!.location, { file: over.problems.list[0]!.location!.file, line: 8, col: 1 }, 'at the steps key');
  const raised = await load(['sleep: 1h', 'sleep: 1h'], 3 * 3600_000);
  t.same(raised.problems.list, [], 'a larger limit lets it through');
  t.equal(raised.scenario!.worstCaseMs, 2 * 3600_000);
  t.equal(raised.scenario!.limitMs, 3 * 3600_000);
});

t.test('every duration has a maximum that fits a timer', async (t) => {
  const { problems } = await load([
    'sleep: 61m',
    'exec: {on: node/node-1, command: [id], timeout: 2147483648ms}',
    'http: {from: host/client, to: "192.168.8.11:80", timeout: 301s}',
    'dns: {from: host/client, name: web, timeout: 1h}',
  ]);
  t.same(
    problems.list.map((p) => p.message),
    [
      'Expected `steps[0].sleep` to be a duration of at most 1h, got `61m`',
      'Expected `steps[1].exec.timeout` to be a duration of at most 1h, got `2147483648ms`',
      'Expected `steps[2].http.timeout` to be a duration of at most 5m, got `301s`',
      'Expected `steps[3].dns.timeout` to be a duration of at most 5m, got `1h`',
    ],
  );
});

t.test('a limit that no timer can hold is a usage error', async (t) => {
  for (const limitMs of [0, -1, Number.NaN, 2 ** 31, 25 * 3600_000]) await t.rejects(load(['sleep: 1s'], limitMs), { code: 'EUSAGE' }, String(limitMs));
});
