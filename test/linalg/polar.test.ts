import { Matrix, SingularValueDecomposition } from 'ml-matrix';
import { describe, expect, it } from 'vitest';
import { gemm } from '../../src/linalg/gemm.js';
import { polarFactor } from '../../src/linalg/polar.js';
import { Float64Workspace } from '../../src/linalg/workspace.js';
import { normalRng } from '../nn/helpers.js';
import { randomOrthogonal } from './helpers.js';

/** Q diag(s) W^T, plain JS. */
function fromSvd(q: Float64Array, s: ArrayLike<number>, w: Float64Array, n: number): Float64Array {
  const m = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    let sum = 0;
    for (let p = 0; p < n; p++) sum += q[i * n + p]! * s[p]! * w[j * n + p]!;
    m[i * n + j] = sum;
  }
  return m;
}

function polar(m: Float64Array, n: number): { p: Float64Array; singularValues: Float64Array } {
  const ws = new Float64Workspace();
  const out = ws.matrix(n, n);
  const singularValues = polarFactor(ws, ws.matrixFrom(m, n, n), out);
  return { p: ws.read(out), singularValues };
}

function maxAbsDiff(a: Float64Array, b: Float64Array): number {
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
}

/** max |P^T P - I| */
function orthogonalityError(p: Float64Array, n: number): number {
  const ws = new Float64Workspace();
  const pm = ws.matrixFrom(p, n, n);
  const ptp = ws.matrix(n, n);
  gemm(ws, pm, pm, ptp, { transA: true });
  const identity = Float64Array.from({ length: n * n }, (_, k) => (Math.floor(k / n) === k % n ? 1 : 0));
  return maxAbsDiff(ws.read(ptp), identity);
}

describe('polarFactor', () => {
  it.each([
    ['well conditioned (direct M (M^T M)^-1/2)', 60, (i: number) => 0.2 + 0.8 * Math.abs(Math.sin(i))],
    ['a small singular value (re-orthogonalised U)', 60, (i: number) => (i === 7 ? 1e-6 : 0.5 + 0.5 * Math.abs(Math.sin(i)))],
    ['across the leaf and block sizes', 140, (i: number) => 0.01 + Math.abs(Math.cos(3 * i))],
  ])('recovers P = Q W^T and the singular values from M = Q S W^T: %s (n=%i)', (_, n, singular) => {
    const q = randomOrthogonal(n, 1);
    const w = randomOrthogonal(n, 2);
    const s = Float64Array.from({ length: n }, (__, i) => singular(i));
    const { p, singularValues } = polar(fromSvd(q, s, w, n), n);
    const expected = fromSvd(q, new Float64Array(n).fill(1), w, n);
    // P itself is well determined (its condition is 2 / (s_min + s_next)), whatever s_min is.
    expect(maxAbsDiff(p, expected)).toBeLessThan(1e-12);
    expect(orthogonalityError(p, n)).toBeLessThan(1e-12);
    const sorted = Float64Array.from(s).sort().reverse();
    for (let i = 0; i < n; i++) expect(singularValues[i]).toBeCloseTo(sorted[i]!, 12);
  });

  it('agrees with ml-matrix SVD (U V^T) on a random Gaussian matrix', () => {
    const n = 50;
    const next = normalRng(3);
    const m = Float64Array.from({ length: n * n }, () => next());
    const svd = new SingularValueDecomposition(Matrix.from1DArray(n, n, Array.from(m)));
    const reference = Float64Array.from(svd.leftSingularVectors.mmul(svd.rightSingularVectors.transpose()).to1DArray());
    const { p, singularValues } = polar(m, n);
    // Gaussian matrices have s_min ~ 1/n of s_max: still far inside the direct path's accuracy.
    expect(maxAbsDiff(p, reference)).toBeLessThan(1e-9);
    const referenceValues = [...svd.diagonal].sort((a, b) => b - a);
    for (let i = 0; i < n; i++) expect(singularValues[i]).toBeCloseTo(referenceValues[i]!, 11);
  });

  it('gives an orthogonal P with P^T M = (M^T M)^1/2 for a rank-deficient M', () => {
    const n = 40;
    const q = randomOrthogonal(n, 5);
    const w = randomOrthogonal(n, 6);
    // rank 30: ten exact zeros (P is not unique, but must still be orthogonal and a polar factor)
    const s = Float64Array.from({ length: n }, (_, i) => (i % 4 === 1 ? 0 : 1 + i / n));
    const m = fromSvd(q, s, w, n);
    const { p, singularValues } = polar(m, n);
    expect(p.every(Number.isFinite)).toBe(true);
    expect(orthogonalityError(p, n)).toBeLessThan(1e-12);
    // P^T M must be the symmetric positive semi-definite W S W^T
    const ws = new Float64Workspace();
    const ptm = ws.matrix(n, n);
    gemm(ws, ws.matrixFrom(p, n, n), ws.matrixFrom(m, n, n), ptm, { transA: true });
    expect(maxAbsDiff(ws.read(ptm), fromSvd(w, s, w, n))).toBeLessThan(1e-12);
    expect(singularValues.filter((x) => x < 1e-7)).toHaveLength(10);
  });

  it('gives an orthogonal P for the zero matrix', () => {
    const { p, singularValues } = polar(new Float64Array(9), 3);
    expect(orthogonalityError(p, 3)).toBeLessThan(1e-15);
    expect(Array.from(singularValues)).toEqual([0, 0, 0]);
  });
});
