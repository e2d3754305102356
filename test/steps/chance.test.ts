import t from 'tap';
import { FLAKY_CHANCE, missChance, oneIn, triesFor } from '../../src/steps/chance.js';

t.test('missChance: the chance some wanted endpoint never answers', async (t) => {
  t.equal(missChance(4, 2, 2), 1 / 8, 'two endpoints, four tries: 2 x (1/2)^4');
  t.equal(missChance(1, 2, 2), 1, 'one try cannot reach two');
  t.equal(missChance(5, 1, 1), 0, 'one endpoint always answers');
  t.ok(Math.abs(missChance(3, 3, 3) - (1 - 6 / 27)) < 1e-12, 'three tries reach all three in 3!/3^3 of runs');
  t.ok(Math.abs(missChance(10, 3, 2) - (2 * (2 / 3) ** 10 - (1 / 3) ** 10)) < 1e-12, 'two given of three endpoints');
  t.equal(missChance(4, 2, 3), 0, 'more wanted than there are: not a chance question');
});

t.test('triesFor: the fewest tries within 1 run in 1000', async (t) => {
  t.same(
    [2, 3, 4].map((k) => triesFor(k, k)),
    [11, 20, 29],
  );
  for (const k of [2, 3, 4, 6]) {
    const n = triesFor(k, k);
    t.ok(missChance(n, k, k) <= FLAKY_CHANCE && missChance(n - 1, k, k) > FLAKY_CHANCE, `${k} endpoints: ${n} tries is the least`);
  }
  t.equal(oneIn(1 / 8), '1 run in 8');
});
