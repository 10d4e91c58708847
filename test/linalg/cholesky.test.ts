import { describe, expect, it } from 'vitest';
import { choleskyInPlace, extremeEigenvaluesFromCholesky } from '../../src/linalg/cholesky.js';
import { gemm } from '../../src/linalg/gemm.js';
import { solveLowerInPlace, transposeInto } from '../../src/linalg/triangular.js';
import { Float64Workspace, type MatrixView } from '../../src/linalg/workspace.js';
import { normalRng } from '../nn/helpers.js';

function random(length: number, seed: number): Float64Array {
  const next = normalRng(seed);
  return Float64Array.from({ length }, () => next());
}

/** X X^T / k + shift I: symmetric positive definite with a spread spectrum. */
function randomSpd(ws: Float64Workspace, n: number, seed: number, shift = 0.1): MatrixView {
  const k = n + 5;
  const x = ws.matrixFrom(random(n * k, seed), n, k);
  const s = ws.matrix(n, n);
  gemm(ws, x, x, s, { transB: true, alpha: 1 / k });
  const heap = ws.heap;
  for (let i = 0; i < n; i++) heap[s.offset + i * n + i] = heap[s.offset + i * n + i]! + shift;
  return s;
}

function maxAbs(x: Float64Array): number {
  return x.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
}

function difference(a: Float64Array, b: Float64Array): Float64Array {
  return a.map((v, i) => v - b[i]!);
}

describe('choleskyInPlace', () => {
  it('factors the 2x2 and 3x3 closed forms exactly', () => {
    const ws = new Float64Workspace();
    const s = ws.matrixFrom([4, 2, 2, 10], 2, 2);
    expect(choleskyInPlace(ws, s)).toEqual({ ok: true });
    expect(Array.from(ws.read(s))).toEqual([2, 0, 1, 3]);
    // L = [[1,0,0],[2,3,0],[4,5,6]] -> S = L L^T
    const s3 = ws.matrixFrom([1, 2, 4, 2, 13, 23, 4, 23, 77], 3, 3);
    expect(choleskyInPlace(ws, s3).ok).toBe(true);
    expect(Array.from(ws.read(s3))).toEqual([1, 0, 0, 2, 3, 0, 4, 5, 6]);
  });

  it.each([5, 64, 65, 200])('gives a lower-triangular L with L L^T = S (n=%i, across block edges)', (n) => {
    const ws = new Float64Workspace();
    const s = randomSpd(ws, n, n);
    const original = ws.read(s);
    expect(choleskyInPlace(ws, s).ok).toBe(true);
    const l = ws.read(s);
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) expect(l[i * n + j]).toBe(0);
    const product = ws.matrix(n, n);
    gemm(ws, s, s, product, { transB: true });
    expect(maxAbs(difference(ws.read(product), original)) / maxAbs(original)).toBeLessThan(1e-14);
  });

  it('stops at the first pivot that is not above the threshold, naming it', () => {
    const ws = new Float64Workspace();
    // unit 2 is unit 0 + unit 1: the third pivot is zero (up to rounding)
    const s = ws.matrixFrom([2, 1, 3, 1, 2, 3, 3, 3, 6], 3, 3);
    const result = choleskyInPlace(ws, s, 1e-12 * 6);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.index).toBe(2);
      expect(Math.abs(result.pivot)).toBeLessThan(1e-12);
    }
    expect(choleskyInPlace(ws, ws.matrixFrom([1, 2, 2, 1], 2, 2))).toMatchObject({ ok: false, index: 1, pivot: -3 });
  });
});

describe('solveLowerInPlace', () => {
  it.each([
    [7, 3],
    [130, 90],
    [200, 1],
  ])('solves L X = B and L^T X = B (n=%i, %i right-hand sides)', (n, m) => {
    const ws = new Float64Workspace();
    const l = randomSpd(ws, n, 10 + n);
    choleskyInPlace(ws, l);
    const b = random(n * m, 20 + n);
    for (const transpose of [false, true]) {
      const x = ws.matrixFrom(b, n, m);
      solveLowerInPlace(ws, l, x, transpose);
      const back = ws.matrix(n, m);
      // L X (or L^T X) must give B back
      gemm(ws, l, x, back, { transA: transpose, aTriangle: transpose ? 'upper' : 'lower' });
      expect(maxAbs(difference(ws.read(back), b)) / maxAbs(b)).toBeLessThan(1e-12);
    }
  });

  it('transposeInto writes A^T', () => {
    const ws = new Float64Workspace();
    const a = ws.matrixFrom([1, 2, 3, 4, 5, 6], 2, 3);
    const t = ws.matrix(3, 2);
    transposeInto(ws, a, t);
    expect(Array.from(ws.read(t))).toEqual([1, 4, 2, 5, 3, 6]);
  });
});

describe('extremeEigenvaluesFromCholesky', () => {
  it('estimates the extreme eigenvalues of a matrix with a known spectrum', () => {
    // S = Q diag(values) Q^T with Q a product of Householder reflections
    const n = 60;
    const values = Float64Array.from({ length: n }, (_, i) => (i === 0 ? 1e-3 : i === n - 1 ? 50 : 1 + i / n));
    const ws = new Float64Workspace();
    const v = random(n, 7);
    const norm = Math.hypot(...v);
    const q = Float64Array.from({ length: n * n }, (_, k) => (Math.floor(k / n) === k % n ? 1 : 0) - (2 * v[Math.floor(k / n)]! * v[k % n]!) / norm ** 2);
    const s = Float64Array.from({ length: n * n }, (_, k) => {
      const i = Math.floor(k / n);
      const j = k % n;
      let sum = 0;
      for (let p = 0; p < n; p++) sum += q[i * n + p]! * values[p]! * q[j * n + p]!;
      return sum;
    });
    const l = ws.matrixFrom(s, n, n);
    expect(choleskyInPlace(ws, l).ok).toBe(true);
    const { min, max } = extremeEigenvaluesFromCholesky(ws, l, 20);
    expect(min).toBeGreaterThanOrEqual(1e-3 * (1 - 1e-9));
    expect(min).toBeLessThan(1.01e-3);
    expect(max).toBeLessThanOrEqual(50 * (1 + 1e-12));
    expect(max).toBeGreaterThan(49.5);
  });
});
