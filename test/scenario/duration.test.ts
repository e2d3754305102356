import t from 'tap';
import { formatDuration, parseDuration } from '../../src/scenario/duration.js';

t.test('durations in ms, s, m and h', async (t) => {
  t.equal(parseDuration('500ms'), 500);
  t.equal(parseDuration('2s'), 2000);
  t.equal(parseDuration('1.5s'), 1500);
  t.equal(parseDuration('1m'), 60_000);
  t.equal(parseDuration('1h'), 3_600_000);
  t.equal(parseDuration(' 2s '), 2000);
});

t.test('what is not a duration', async (t) => {
  for (const s of ['2', '2 seconds', '-1s', '1.5.s', '', '1d', '1e3s', 'NaN', 5, null]) t.equal(parseDuration(s), undefined, String(s));
});

t.test('a number too large to hold is infinite, so that a bound refuses it', async (t) => {
  t.equal(parseDuration(`${'9'.repeat(400)}h`), Number.POSITIVE_INFINITY);
  t.equal(parseDuration('100000000m'), 6_000_000_000_000, 'finite, and far past any bound');
});

t.test('durations as a person writes them', async (t) => {
  t.equal(formatDuration(500), '500ms');
  t.equal(formatDuration(1500), '1.5s');
  t.equal(formatDuration(30 * 60_000), '30m');
  t.equal(formatDuration(3_600_000 + 6 * 60_000 + 40_000), '1h 6m 40s');
  t.equal(formatDuration(Number.POSITIVE_INFINITY), 'forever');
});
