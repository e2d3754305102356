import t, { type Test } from 'tap';
import { KnetlabError } from '../../src/errors.js';
import { estimateMs, fileWeights, MAX_SHARDS, parseDurations, parseShard, splitFiles } from '../../src/run/shard.js';
import { hashNumber } from '../../src/util/hash.js';
import { scenarioFiles, validateScenario } from '../../src/validate.js';

/** f throws a usage error whose message matches. */
function usage(t: Test, f: () => unknown, message: RegExp): void {
  try {
    f();
    t.fail(`no error; expected ${message}`);
  } catch (e) {
    t.ok(e instanceof KnetlabError && e.code === 'EUSAGE', 'a usage error');
    t.match((e as Error).message, message);
  }
}

/** Each file in exactly one share, and each share in the order of the list. */
function checkCover(t: Test, files: readonly string[], shares: string[][]): void {
  t.same(shares.flat().sort(), [...files].sort(), 'every file once');
  for (const s of shares)
    t.same(
      s,
      files.filter((f) => s.includes(f)),
      'a share keeps the list order',
    );
}

const loads = (shares: string[][], weight: (f: string) => number) => shares.map((s) => s.reduce((a, f) => a + weight(f), 0));

t.test('parseShard: I/N from 1 to N, N from 1 to the bound; anything else is a usage error', async (t) => {
  t.same(parseShard('1/2'), { index: 1, total: 2 });
  t.same(parseShard('5/5'), { index: 5, total: 5 });
  t.same(parseShard(`1/${MAX_SHARDS}`), { index: 1, total: MAX_SHARDS });
  usage(t, () => parseShard('0/2'), /I is 0 of 2/);
  usage(t, () => parseShard('3/2'), /I is 3 of 2/);
  usage(t, () => parseShard('1/0'), /N is 0/);
  usage(t, () => parseShard(`1/${MAX_SHARDS + 1}`), new RegExp(`N is ${MAX_SHARDS + 1}`));
  for (const bad of ['', '1', 'a/2', '1/b', '1/2/3', '-1/2', '1.5/2', '1 /2', '0x1/2', '1/1e3']) usage(t, () => parseShard(bad), /must be I\/N/);
});

t.test('the real scenarios/ list, split by recorded durations into 2, 3 and 5: every file once, balanced', async (t) => {
  const files = await scenarioFiles(['scenarios']);
  t.ok(files.length > 20, `${files.length} scenario files`);
  // Made-up but fixed durations from 1 s to 61 s, as a report of an earlier run would give.
  const recorded = new Map(files.map((f) => [f, 1000 + (hashNumber(f) % 60_000)]));
  const { weights, recorded: known } = fileWeights(
    files,
    files.map(() => 1),
    recorded,
  );
  t.equal(known, files.length, 'every file has its recorded time');
  const weight = (f: string) => recorded.get(f)!;
  const sum = files.reduce((a, f) => a + weight(f), 0);
  const heaviest = Math.max(...files.map(weight));
  for (const n of [2, 3, 5]) {
    const shares = splitFiles(files, weights, n);
    t.equal(shares.length, n);
    checkCover(t, files, shares);
    const l = loads(shares, weight);
    // Longest first onto the least loaded: no share exceeds another by more than one file, nor the ideal by a third.
    t.ok(Math.max(...l) - Math.min(...l) <= heaviest, `${n} shares: loads ${l.join(', ')} differ by at most the heaviest file`);
    t.ok(Math.max(...l) <= (4 / 3) * Math.max(sum / n, heaviest), `${n} shares: the longest ${Math.max(...l)} within 4/3 of ideal ${Math.round(sum / n)}`);
    t.same(splitFiles(files, weights, n), shares, 'the same inputs split the same way');
  }
});

t.test('the real scenarios/ list without durations: the estimate from each file covers every file once', async (t) => {
  const files = await scenarioFiles(['scenarios']);
  const estimates: number[] = [];
  for (const f of files) {
    const v = await validateScenario(f);
    if (!v.scenario) throw new Error(`${f} is invalid`);
    estimates.push(estimateMs(v.scenario));
  }
  t.ok(new Set(estimates).size > 5, 'the estimate tells files apart');
  const { weights, recorded } = fileWeights(files, estimates, new Map());
  t.equal(recorded, 0);
  t.same(weights, estimates, 'unscaled without any record');
  for (const n of [2, 3, 5]) checkCover(t, files, splitFiles(files, weights, n));
});

t.test('splitFiles: longest first, ties by path, more shares than files leave some empty', async (t) => {
  t.same(splitFiles(['a', 'b', 'c', 'd'], [1, 1, 1, 1], 2), [
    ['a', 'c'],
    ['b', 'd'],
  ]);
  // Listed in another order, equal weights still go by path, so every job that lists them alike agrees.
  t.same(splitFiles(['d', 'c', 'b', 'a'], [1, 1, 1, 1], 2), [
    ['c', 'a'],
    ['d', 'b'],
  ]);
  t.same(splitFiles(['a', 'b', 'c'], [10, 6, 5], 2), [['a'], ['b', 'c']], 'the two light files together');
  t.same(splitFiles(['a', 'b'], [1, 2], 3), [['b'], ['a'], []]);
  t.same(splitFiles([], [], 2), [[], []]);
});

t.test('fileWeights: recorded times as they are, unrecorded files by their estimate scaled to them', async (t) => {
  const w = fileWeights(['./x.yaml', 'y.yaml', 'z.yaml'], [100, 200, 50], new Map([['x.yaml', 1000]]));
  t.same(w, { weights: [1000, 2000, 500], recorded: 1 }, 'x recorded at 10x its estimate: the others scaled alike');
  t.same(fileWeights(['x.yaml'], [0], new Map()).weights, [1], 'at least 1 ms each');
});

t.test('parseDurations: a json report, a file run under several modes counted once with their sum', async (t) => {
  const report = JSON.stringify({
    scenarios: [
      { file: 'scenarios/a.yaml', name: 'a [iptables]', status: 'passed', durationMs: 1000.4, steps: [] },
      { file: './scenarios/a.yaml', name: 'a [ipvs]', status: 'passed', durationMs: 2000, steps: [] },
      { file: 'scenarios/b.yaml', durationMs: 0 },
    ],
  });
  t.same(
    [...parseDurations(report, 'r.json')],
    [
      ['scenarios/a.yaml', 3000],
      ['scenarios/b.yaml', 0],
    ],
  );
  usage(t, () => parseDurations('{', 'r.json'), /--durations r.json is not JSON/);
  usage(t, () => parseDurations('{"scenarios":[{"file":"a"}]}', 'r.json'), /not a knetlab JSON report.*scenarios\.0\.durationMs/);
  usage(t, () => parseDurations('{"scenarios":[{"file":"a","durationMs":-1}]}', 'r.json'), /not a knetlab JSON report/);
  usage(t, () => parseDurations('[]', 'r.json'), /not a knetlab JSON report/);
});
