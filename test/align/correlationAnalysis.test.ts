import { inverse, Matrix } from 'ml-matrix';
import { describe, expect, it } from 'vitest';
import { ccaTransform } from '../../src/align/cca.js';
import { correlationAnalysis } from '../../src/align/correlationAnalysis.js';
import type { SpaceMoments } from '../../src/align/moments.js';
import { permutationTransform, type SpaceTransform } from '../../src/align/transform.js';
import { derangement, momentsOf, normalRng } from '../nn/helpers.js';

/** [rows, cols] of independent standard normals. */
function gaussian(rows: number, cols: number, seed: number): Matrix {
  const next = normalRng(seed);
  return Matrix.from1DArray(rows, cols, Array.from({ length: rows * cols }, () => next()));
}

/** Correlated activations: standard normals mixed by I + 0.7 N(0, 1), so units share variance. */
function correlatedActivations(rows: number, cols: number, seed: number): Matrix {
  const mixing = gaussian(cols, cols, seed + 1).mul(0.7).add(Matrix.eye(cols));
  return gaussian(rows, cols, seed).mmul(mixing);
}

/** Pearson correlation of two columns, straight from the samples (not through any moments code). */
function pearson(x: number[], y: number[]): number {
  const mean = (v: number[]) => v.reduce((s, a) => s + a, 0) / v.length;
  const mx = mean(x);
  const my = mean(y);
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let k = 0; k < x.length; k++) {
    sxy += (x[k]! - mx) * (y[k]! - my);
    sxx += (x[k]! - mx) ** 2;
    syy += (y[k]! - my) ** 2;
  }
  // A constant column correlates with nothing.
  return sxx < 1e-20 || syy < 1e-20 ? 0 : sxy / Math.sqrt(sxx * syy);
}

/** For each column of a: the sorted |corr| with b's columns, largest first (brute force). */
function sortedAbsCorrelations(a: Matrix, b: Matrix): number[][] {
  return Array.from({ length: a.columns }, (_, i) =>
    Array.from({ length: b.columns }, (_, j) => Math.abs(pearson(a.getColumn(i), b.getColumn(j)))).sort((p, q) => q - p),
  );
}

/** A transform with the given T (row-major) and its inverse, as aligners return them. */
function transformOf(rows: number[][]): SpaceTransform {
  const m = new Matrix(rows);
  return { size: m.rows, matrix: Float32Array.from(m.to1DArray()), inverse: Float32Array.from(inverse(m).to1DArray()) };
}

/** Moments written out by hand, for closed-form cases. */
function handMoments(covAA: number[][], covBB: number[][], covAB: number[][]): SpaceMoments {
  const n = covAA.length;
  return {
    space: 'hand',
    count: 100,
    size: n,
    meanA: new Float64Array(n),
    meanB: new Float64Array(n),
    covAA: Float64Array.from(covAA.flat()),
    covBB: Float64Array.from(covBB.flat()),
    covAB: Float64Array.from(covAB.flat()),
  };
}

/**
 * 8 samples of n <= 7 Walsh functions (+-1 patterns of the sample index's bits): every column has
 * mean 0 and the columns are exactly orthogonal, so the sample covariance is exactly (8/7) I.
 */
function walshActivations(n: number): Matrix {
  const bitCount = (v: number) => v.toString(2).split('').filter((c) => c === '1').length;
  return Matrix.from1DArray(
    8,
    n,
    Array.from({ length: 8 * n }, (_, k) => (bitCount(Math.floor(k / n) & ((k % n) + 1)) % 2 === 0 ? 1 : -1)),
  );
}

describe('correlationAnalysis: correlations', () => {
  it('matches the brute-force top-1 and top-2 |Pearson r| of each of A\'s units', () => {
    const a = correlatedActivations(300, 6, 11);
    const b = a.mmul(gaussian(6, 6, 13)).add(gaussian(300, 6, 17).mul(0.5));
    const result = correlationAnalysis(momentsOf('fc1', a, b));
    const expected = sortedAbsCorrelations(a, b);
    for (let i = 0; i < 6; i++) {
      expect(result.top1Correlation[i]).toBeCloseTo(expected[i]![0]!, 12);
      expect(result.top2Correlation[i]).toBeCloseTo(expected[i]![1]!, 12);
    }
  });

  it('gives top-1 = 1 and the true runner-up when B is an exact permutation of A', () => {
    const n = 7;
    const a = correlatedActivations(250, n, 23);
    const perm = derangement(n, 29);
    // B's unit j is A's unit perm[j].
    const b = new Matrix(a.rows, n);
    for (let j = 0; j < n; j++) b.setColumn(j, a.getColumn(perm[j]!));
    const result = correlationAnalysis(momentsOf('fc1', a, b));
    // The runner-up of A's unit i is its largest |corr| with any other unit of A.
    const withinA = sortedAbsCorrelations(a, a);
    for (let i = 0; i < n; i++) {
      expect(result.top1Correlation[i]).toBeCloseTo(1, 12);
      expect(result.top1Correlation[i]).toBeLessThanOrEqual(1);
      expect(result.top2Correlation[i]).toBeCloseTo(withinA[i]![1]!, 12);
      expect(result.top2Correlation[i]).toBeLessThan(0.999);
    }
  });

  it('computes a hand-made 2x2 case exactly', () => {
    // sd(A) = (2, 1), sd(B) = (1, 3); r = [[0.8, -0.5], [0.3, 0.8]] (a valid joint covariance:
    // I - r r^T = [[0.11, 0.16], [0.16, 0.27]] is positive definite).
    const moments = handMoments(
      [
        [4, 0],
        [0, 1],
      ],
      [
        [1, 0],
        [0, 9],
      ],
      [
        [1.6, -3],
        [0.3, 2.4],
      ],
    );
    const result = correlationAnalysis(moments);
    expect(result.top1Correlation[0]).toBeCloseTo(0.8, 15);
    expect(result.top2Correlation[0]).toBeCloseTo(0.5, 15);
    expect(result.top1Correlation[1]).toBeCloseTo(0.8, 15);
    expect(result.top2Correlation[1]).toBeCloseTo(0.3, 15);
  });

  it('gives dead units (constant activations, on either side) correlation 0, never NaN', () => {
    const a = correlatedActivations(120, 5, 31);
    const b = correlatedActivations(120, 5, 37).add(a.clone().mul(0.8));
    a.setColumn(2, Array.from({ length: a.rows }, () => 3.5)); // a dead ReLU stuck at a constant
    b.setColumn(0, Array.from({ length: b.rows }, () => 0)); // a dead ReLU at zero
    const result = correlationAnalysis(momentsOf('fc1', a, b), transformOf([
      [1, 0, 0, 0, 0],
      [0, 1, 0, 0, 0],
      [0, 0, 1, 0, 0],
      [0, 0, 0, 1, 0],
      [0, 0, 0, 0, 1],
    ]));
    for (const values of Object.values(result) as number[][]) {
      expect(values.every((v) => Number.isFinite(v))).toBe(true);
    }
    expect(result.top1Correlation[2]).toBe(0);
    expect(result.top2Correlation[2]).toBe(0);
    // Live units see the dead B unit as 0: their top-2 come from the four live B units.
    const expected = sortedAbsCorrelations(a, b);
    for (const i of [0, 1, 3, 4]) {
      expect(result.top1Correlation[i]).toBeCloseTo(expected[i]![0]!, 12);
      expect(result.top2Correlation[i]).toBeCloseTo(expected[i]![1]!, 12);
    }
  });

  it('treats a variance of round-off size as dead: exactly 0, even with stray covariance', () => {
    // Streamed float32 sums leave a dead unit a variance of ~1e-14 and covariances of ~1e-9; dividing
    // them would report a correlation of ~1e-2 (or more) for a unit that never moves.
    const moments = handMoments(
      [
        [1e-14, 0],
        [0, 1],
      ],
      [
        [1, 0],
        [0, 1],
      ],
      [
        [1e-9, -1e-9],
        [0.6, 0.2],
      ],
    );
    const result = correlationAnalysis(moments);
    expect(result.top1Correlation).toEqual([0, 0.6]);
    expect(result.top2Correlation).toEqual([0, 0.2]);
  });

  it('clamps a round-off correlation past 1 to 1', () => {
    const result = correlationAnalysis(handMoments([[2]], [[2]], [[2.000000000000001]]));
    expect(result.top1Correlation).toEqual([1]);
  });

  it('refuses NaN moments, naming the space', () => {
    const moments = handMoments([[1]], [[1]], [[Number.NaN]]);
    expect(() => correlationAnalysis(moments)).toThrow(/space hand: covAB is NaN/);
  });
});

describe('correlationAnalysis: transform coefficients', () => {
  it('gives top-1 = 1 and top-2 = 0 for a permutation', () => {
    const n = 9;
    const a = correlatedActivations(200, n, 41);
    const result = correlationAnalysis(momentsOf('fc1', a, a), permutationTransform(derangement(n, 43)));
    expect(result.top1Coefficient).toEqual(Array.from({ length: n }, () => 1));
    expect(result.top2Coefficient).toEqual(Array.from({ length: n }, () => 0));
  });

  it('normalises each row of T (one aligned unit) to unit Euclidean norm: a hand-made 3x3 case', () => {
    const a = correlatedActivations(50, 3, 47);
    const transform = transformOf([
      [3, -4, 0], // norm 5: 0.8, 0.6
      [1, 1, 1], // norm sqrt 3: both 1/sqrt 3
      [0, 0, -2], // one B unit: 1, 0
    ]);
    const result = correlationAnalysis(momentsOf('fc1', a, a), transform);
    const expectedTop1 = [0.8, 1 / Math.sqrt(3), 1];
    const expectedTop2 = [0.6, 1 / Math.sqrt(3), 0];
    for (let i = 0; i < 3; i++) {
      expect(result.top1Coefficient![i]).toBeCloseTo(expectedTop1[i]!, 7);
      expect(result.top2Coefficient![i]).toBeCloseTo(expectedTop2[i]!, 7);
    }
  });

  it('reads rows, not columns: a row spread over B units scores low even when its column is one-hot', () => {
    // Column 0 is the only one with weight in row 1, but row 0 spreads over two B units.
    const transform = transformOf([
      [1, 1],
      [0, 2],
    ]);
    const a = correlatedActivations(40, 2, 53);
    const result = correlationAnalysis(momentsOf('fc1', a, a), transform);
    expect(result.top1Coefficient![0]).toBeCloseTo(Math.SQRT1_2, 7);
    expect(result.top2Coefficient![0]).toBeCloseTo(Math.SQRT1_2, 7);
    expect(result.top1Coefficient![1]).toBe(1);
    expect(result.top2Coefficient![1]).toBe(0);
  });

  it('with ccaTransform: a permuted copy gives a one-hot T, a feature spread over two neurons gives 1/sqrt 2 twice', () => {
    const n = 4;
    const a = walshActivations(n);
    const c = Math.SQRT1_2;
    // B's units mix A's in pairs (an orthogonal Q, B = A Q): each A feature lives on two B neurons.
    const q = new Matrix([
      [c, -c, 0, 0],
      [c, c, 0, 0],
      [0, 0, c, -c],
      [0, 0, c, c],
    ]);
    const spread = momentsOf('fc1', a, a.mmul(q));
    const spreadResult = correlationAnalysis(spread, ccaTransform(spread, { gamma: 1e-6 }).transform);
    for (let i = 0; i < n; i++) {
      // corr(A_i, B_j) = Q[i, j] exactly, since the sample covariance is a multiple of I.
      expect(spreadResult.top1Correlation[i]).toBeCloseTo(c, 12);
      expect(spreadResult.top2Correlation[i]).toBeCloseTo(c, 12);
      // CCA recovers T = Q^-T = Q, whose rows each draw equally on two B units.
      expect(spreadResult.top1Coefficient![i]).toBeCloseTo(c, 5);
      expect(spreadResult.top2Coefficient![i]).toBeCloseTo(c, 5);
    }

    const perm = derangement(n, 59);
    const b = new Matrix(a.rows, n);
    for (let j = 0; j < n; j++) b.setColumn(j, a.getColumn(perm[j]!));
    const permuted = momentsOf('fc1', a, b);
    const permutedResult = correlationAnalysis(permuted, ccaTransform(permuted, { gamma: 1e-6 }).transform);
    for (let i = 0; i < n; i++) {
      expect(permutedResult.top1Correlation[i]).toBeCloseTo(1, 12);
      expect(permutedResult.top2Correlation[i]).toBeCloseTo(0, 12);
      expect(permutedResult.top1Coefficient![i]).toBeCloseTo(1, 5);
      expect(permutedResult.top2Coefficient![i]).toBeCloseTo(0, 5);
    }
  });

  it('refuses a transform of another size, naming the space', () => {
    const a = correlatedActivations(30, 3, 61);
    expect(() => correlationAnalysis(momentsOf('conv2', a, a), permutationTransform(Int32Array.from([1, 0])))).toThrow(
      /space conv2: the transform is 2x2 .* the space has 3 units/,
    );
  });
});

describe('correlationAnalysis: output shape', () => {
  it('has one plain number per unit in every array, and no coefficients without a transform', () => {
    const n = 5;
    const a = correlatedActivations(80, n, 67);
    const b = correlatedActivations(80, n, 71);
    const moments = momentsOf('fc1', a, b);
    const bare = correlationAnalysis(moments);
    expect(Object.keys(bare).sort()).toEqual(['top1Correlation', 'top2Correlation']);
    const full = correlationAnalysis(moments, permutationTransform(derangement(n, 73)));
    expect(Object.keys(full).sort()).toEqual(['top1Coefficient', 'top1Correlation', 'top2Coefficient', 'top2Correlation']);
    for (const values of Object.values(full) as number[][]) {
      expect(Array.isArray(values)).toBe(true);
      expect(values).toHaveLength(n);
    }
    // Top-2 never exceeds top-1, and both lie in [0, 1].
    for (const [top1, top2] of [
      [full.top1Correlation, full.top2Correlation],
      [full.top1Coefficient!, full.top2Coefficient!],
    ] as const) {
      for (let i = 0; i < n; i++) {
        expect(top2[i]!).toBeLessThanOrEqual(top1[i]!);
        expect(top2[i]!).toBeGreaterThanOrEqual(0);
        expect(top1[i]!).toBeLessThanOrEqual(1);
      }
    }
    // Survives a JSON round trip unchanged (it goes into metrics.json).
    expect(JSON.parse(JSON.stringify(full))).toEqual(full);
  });

  it('reports top-2 = 0 for a one-unit space', () => {
    const a = correlatedActivations(30, 1, 79);
    const result = correlationAnalysis(momentsOf('fc1', a, a.clone().mul(-2)), transformOf([[-3]]));
    expect(result).toEqual({ top1Correlation: [1], top2Correlation: [0], top1Coefficient: [1], top2Coefficient: [0] });
  });
});
