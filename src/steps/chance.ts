// How likely a random choice of endpoints fails an expectation that wants each of some endpoints
// to answer: kube-proxy's iptables and nftables modes pick an endpoint at random for every new
// connection (statistic --probability, numgen random), so `backends: all` over 2 endpoints in 4
// tries misses one in 1 run of 8.

/** Runs in which an expectation may fail by chance alone: at most 1 in 1000. */
export const FLAKY_CHANCE = 1e-3;

function binomial(n: number, k: number): number {
  let r = 1;
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
  return r;
}

/**
 * The chance that some of `wanted` given endpoints never answers in `tries` tries, each try going
 * to one of `total` endpoints at random (inclusion-exclusion over the endpoints missed).
 */
export function missChance(tries: number, total: number, wanted: number): number {
  if (wanted <= 0 || total <= 0 || wanted > total) return 0;
  let p = 0;
  for (let j = 1; j <= wanted; j++) p += (j % 2 ? 1 : -1) * binomial(wanted, j) * (1 - j / total) ** tries;
  return Math.min(1, Math.max(0, p));
}

/** The fewest tries that bring missChance to FLAKY_CHANCE or below (capped: a bound on the search). */
export function triesFor(total: number, wanted: number, cap = 10_000): number {
  let n = wanted;
  while (n < cap && missChance(n, total, wanted) > FLAKY_CHANCE) n++;
  return n;
}

/** `1 run in 8`: a chance as people say it. */
export function oneIn(p: number): string {
  return `1 run in ${Math.max(1, Math.round(1 / p))}`;
}
