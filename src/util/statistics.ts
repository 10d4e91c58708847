/**
 * Statistics of samples: mean and standard deviation, quantiles, and the Pearson and Spearman
 * correlations of paired samples (large samples of alpha in typed arrays: sums are accumulated in
 * float64, so a few hundred thousand float32 entries lose nothing visible).
 */

/** Any array of numbers these functions read. */
export type Sample = ArrayLike<number>;

/**
 * The `p`-quantile (p in [0, 1]) of `sorted` (ascending, no NaN), interpolating linearly between order
 * statistics: position p (n - 1), as numpy's default and R's type 7. NaN for an empty sample.
 */
export function quantileOfSorted(sorted: Sample, p: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const position = Math.min(1, Math.max(0, p)) * (n - 1);
  const below = Math.floor(position);
  const above = Math.min(n - 1, below + 1);
  const t = position - below;
  return sorted[below]! + (sorted[above]! - sorted[below]!) * t;
}

/**
 * Ranks of `values` from 1 (smallest) to n, ties sharing the mean of the ranks they span (1, 2.5, 2.5, 4),
 * as Spearman's correlation needs them.
 */
export function averageRanks(values: Sample): Float64Array {
  const n = values.length;
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => values[a]! - values[b]!);
  const ranks = new Float64Array(n);
  for (let start = 0; start < n; ) {
    let end = start + 1;
    while (end < n && values[order[end]!] === values[order[start]!]) end++;
    // Positions start .. end - 1 hold equal values: each gets the mean of ranks start + 1 .. end.
    const rank = (start + 1 + end) / 2;
    for (let k = start; k < end; k++) ranks[order[k]!] = rank;
    start = end;
  }
  return ranks;
}

/**
 * Pearson's correlation of the paired samples `x` and `y` (equal lengths, no NaN): covariance over the
 * product of standard deviations, computed about the means for accuracy. NaN when either sample is
 * constant or there are fewer than two pairs, since no correlation is defined then.
 */
export function pearson(x: Sample, y: Sample): number {
  const n = x.length;
  if (n !== y.length) throw new RangeError(`paired samples must have equal lengths, got ${n} and ${y.length}`);
  if (n < 2) return NaN;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i]!;
    my += y[i]!;
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i]! - mx;
    const dy = y[i]! - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  if (sxx === 0 || syy === 0) return NaN;
  // Rounding can carry |r| a hair past 1 for perfectly linear samples.
  return Math.max(-1, Math.min(1, sxy / Math.sqrt(sxx * syy)));
}

/**
 * Spearman's rank correlation of the paired samples `x` and `y` (no NaN): Pearson's correlation of
 * their average ranks, so ties are handled exactly. NaN when either sample is constant.
 */
export function spearman(x: Sample, y: Sample): number {
  if (x.length !== y.length) throw new RangeError(`paired samples must have equal lengths, got ${x.length} and ${y.length}`);
  return pearson(averageRanks(x), averageRanks(y));
}

/** Mean and sample standard deviation (0 for a single value). */
export function meanAndStd(values: readonly number[]): { mean: number; std: number } {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const variance = values.length > 1 ? values.reduce((sum, v) => sum + (v - mean) ** 2, 0) / (values.length - 1) : 0;
  return { mean, std: Math.sqrt(variance) };
}
