import { describe, expect, it } from 'vitest';

import { averageRanks, meanAndStd, pearson, quantileOfSorted, spearman } from '../../src/util/statistics.js';
import { countingRanks, lcg, sumsPearson } from '../report/referenceStatistics.js';

describe('quantileOfSorted', () => {
  it('interpolates linearly between order statistics (numpy default, R type 7)', () => {
    const sorted = [0, 1, 2, 3, 4];
    expect(quantileOfSorted(sorted, 0)).toBe(0);
    expect(quantileOfSorted(sorted, 0.1)).toBeCloseTo(0.4, 12);
    expect(quantileOfSorted(sorted, 0.5)).toBe(2);
    expect(quantileOfSorted(sorted, 0.95)).toBeCloseTo(3.8, 12);
    expect(quantileOfSorted(sorted, 1)).toBe(4);
    expect(quantileOfSorted([7], 0.3)).toBe(7);
    expect(quantileOfSorted([], 0.5)).toBeNaN();
  });
});

describe('pearson, spearman and averageRanks', () => {
  it('gives ±1 for exact linear relations and matches the sums formula otherwise', () => {
    const x = Float64Array.from({ length: 50 }, (_, i) => i / 49);
    expect(pearson(x, x.map((v) => 0.2 + 0.5 * v))).toBeCloseTo(1, 12);
    expect(pearson(x, x.map((v) => 1 - v))).toBeCloseTo(-1, 12);
    const random = lcg(3);
    const a = Float64Array.from({ length: 200 }, () => random());
    const b = a.map((v) => v * v + 0.3 * random());
    expect(pearson(a, b)).toBeCloseTo(sumsPearson(a, b), 10);
    expect(pearson([1, 1, 1], [1, 2, 3])).toBeNaN();
    expect(pearson([1], [2])).toBeNaN();
    expect(() => pearson([1, 2], [1])).toThrow(RangeError);
  });

  it('gives tied values the mean of their ranks', () => {
    expect(Array.from(averageRanks([0.3, 0.1, 0.3, 0.2, 0.3]))).toEqual([4, 1, 4, 2, 4]);
    expect(Array.from(averageRanks([1, 2, 2, 3]))).toEqual([1, 2.5, 2.5, 4]);
  });

  it('computes Spearman with ties as the closed form and as Pearson of counted mid-ranks', () => {
    // Ranks [1, 2.5, 2.5, 4] and [1, 3, 2, 4]: covariance sum 4.5 over sqrt(4.5 · 5) = 3 / sqrt(10).
    expect(spearman([0.1, 0.2, 0.2, 0.3], [0.1, 0.3, 0.2, 0.4])).toBeCloseTo(3 / Math.sqrt(10), 12);
    // Many ties: alpha rounded to tenths.
    const random = lcg(5);
    const x = Float32Array.from({ length: 300 }, () => Math.round(random() * 10) / 10);
    const y = x.map((v) => Math.round((0.6 * v + 0.4 * random()) * 10) / 10);
    expect(spearman(x, y)).toBeCloseTo(sumsPearson(countingRanks(x), countingRanks(y)), 10);
  });

  it('matches 1 - 6 Σd² / (n (n² - 1)) without ties, and ignores monotone transforms', () => {
    const random = lcg(9);
    const n = 40;
    const x = Float64Array.from({ length: n }, (_, i) => i / n);
    const y = Float64Array.from({ length: n }, () => random());
    const [rx, ry] = [countingRanks(x), countingRanks(y)];
    const d2 = rx.reduce((sum, r, i) => sum + (r - ry[i]!) ** 2, 0);
    expect(spearman(x, y)).toBeCloseTo(1 - (6 * d2) / (n * (n * n - 1)), 10);
    expect(spearman(x, y.map((v) => Math.exp(3 * v)))).toBeCloseTo(spearman(x, y), 12);
  });
});

describe('meanAndStd', () => {
  it('gives the mean and the sample standard deviation (n - 1), and 0 for one value', () => {
    const { mean, std } = meanAndStd([2, 4, 4, 4, 5, 5, 7, 9]);
    expect(mean).toBe(5);
    expect(std).toBeCloseTo(Math.sqrt(32 / 7), 12);
    expect(meanAndStd([3])).toEqual({ mean: 3, std: 0 });
  });
});
