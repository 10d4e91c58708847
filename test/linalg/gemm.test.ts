import { describe, expect, it } from 'vitest';
import { gemm, type GemmOptions } from '../../src/linalg/gemm.js';
import { Float64Workspace, subMatrix, type MatrixView } from '../../src/linalg/workspace.js';
import { normalRng } from '../nn/helpers.js';

/** Naive float64 C = alpha op(A) op(B) + beta C on plain arrays. */
function reference(a: Float64Array, b: Float64Array, c: Float64Array, m: number, n: number, k: number, o: GemmOptions): Float64Array {
  const opA = (i: number, p: number): number => (o.transA ? a[p * m + i]! : a[i * k + p]!);
  const opB = (p: number, j: number): number => (o.transB ? b[j * k + p]! : b[p * n + j]!);
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let sum = 0;
      for (let p = 0; p < k; p++) sum += opA(i, p) * opB(p, j);
      out[i * n + j] = (o.alpha ?? 1) * sum + (o.beta ?? 0) * c[i * n + j]!;
    }
  }
  return out;
}

function random(length: number, seed: number): Float64Array {
  const next = normalRng(seed);
  return Float64Array.from({ length }, () => next());
}

/** Zeroes the part of a rows x cols row-major matrix that a triangle says is zero. */
function keepTriangle(x: Float64Array, rows: number, cols: number, triangle: 'lower' | 'upper'): Float64Array {
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) if (triangle === 'lower' ? j > i : j < i) x[i * cols + j] = 0;
  return x;
}

function maxRelativeDiff(actual: Float64Array, expected: Float64Array): number {
  let diff = 0;
  let scale = 1e-300;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i]! - expected[i]!));
    scale = Math.max(scale, Math.abs(expected[i]!));
  }
  return diff / scale;
}

describe('gemm', () => {
  // Sizes around the 4x4 register tile and the 128/256/2048 cache blocks, and degenerate ones.
  const shapes: [number, number, number][] = [
    [1, 1, 1], [3, 5, 2], [4, 4, 4], [7, 9, 13], [33, 17, 65], [130, 6, 300], [5, 260, 129], [257, 131, 3],
  ];
  const variants: GemmOptions[] = [
    {}, { transA: true }, { transB: true }, { transA: true, transB: true },
    { alpha: -0.5, beta: 2 }, { transA: true, alpha: 3, beta: -1 },
  ];

  it.each(shapes)('op(A) %ix%i times op(B) with k=%i matches the naive product in every variant', (m, n, k) => {
    variants.forEach((options, v) => {
      const a = random(m * k, 1 + v);
      const b = random(k * n, 100 + v);
      const c0 = random(m * n, 200 + v);
      const ws = new Float64Workspace();
      const av = options.transA ? ws.matrixFrom(a, k, m) : ws.matrixFrom(a, m, k);
      const bv = options.transB ? ws.matrixFrom(b, n, k) : ws.matrixFrom(b, k, n);
      const cv = ws.matrixFrom(c0, m, n);
      gemm(ws, av, bv, cv, options);
      expect(maxRelativeDiff(ws.read(cv), reference(a, b, c0, m, n, k, options))).toBeLessThan(1e-14);
    });
  });

  it('works on sub-matrix views with their parent stride, leaving the rest alone', () => {
    const ws = new Float64Workspace();
    const big = ws.matrixFrom(random(40 * 50, 3), 40, 50);
    const before = ws.read(big);
    const a = subMatrix(big, 0, 0, 9, 11);
    const b = subMatrix(big, 10, 20, 11, 7);
    const c = subMatrix(big, 25, 30, 9, 7);
    gemm(ws, a, b, c);
    const after = ws.read(big);
    const expected = reference(ws.read(a), ws.read(b), new Float64Array(63), 9, 7, 11, {});
    expect(maxRelativeDiff(ws.read(c), expected)).toBeLessThan(1e-14);
    for (let i = 0; i < 40; i++) {
      for (let j = 0; j < 50; j++) if (!(i >= 25 && i < 34 && j >= 30 && j < 37)) expect(after[i * 50 + j]).toBe(before[i * 50 + j]);
    }
  });

  it.each([
    ['aTriangle lower', { aTriangle: 'lower' }, 'a', 'lower'],
    ['aTriangle upper, transposed', { aTriangle: 'upper', transA: true }, 'a', 'upper'],
    ['bTriangle upper, transposed', { bTriangle: 'upper', transB: true }, 'b', 'upper'],
    ['bTriangle lower', { bTriangle: 'lower' }, 'b', 'lower'],
  ] as const)('skipping the zero blocks of a triangular operand (%s) gives the full product', (_, options, which, triangle) => {
    const n = 262; // more than one 256-wide k block
    const ws = new Float64Workspace();
    // The operand as used, op(X), is triangular; store X accordingly.
    const transposed = which === 'a' ? (options as GemmOptions).transA : (options as GemmOptions).transB;
    const storedTriangle = transposed ? (triangle === 'lower' ? 'upper' : 'lower') : triangle;
    const a = which === 'a' ? keepTriangle(random(n * n, 5), n, n, storedTriangle) : random(n * n, 5);
    const b = which === 'b' ? keepTriangle(random(n * n, 6), n, n, storedTriangle) : random(n * n, 6);
    const c = ws.matrix(n, n);
    gemm(ws, ws.matrixFrom(a, n, n), ws.matrixFrom(b, n, n), c, options);
    expect(maxRelativeDiff(ws.read(c), reference(a, b, new Float64Array(n * n), n, n, n, options))).toBeLessThan(1e-14);
  });

  it('upperOnly computes the upper triangle of a symmetric product', () => {
    const n = 270;
    const ws = new Float64Workspace();
    const x = random(n * 40, 8);
    const xv = ws.matrixFrom(x, n, 40);
    const c: MatrixView = ws.matrix(n, n);
    gemm(ws, xv, xv, c, { transB: true, upperOnly: true });
    const got = ws.read(c);
    const expected = reference(x, x, new Float64Array(n * n), n, n, 40, { transB: true });
    for (let i = 0; i < n; i++) for (let j = i; j < n; j++) expect(got[i * n + j]).toBeCloseTo(expected[i * n + j]!, 12);
  });

  it('rejects mismatched shapes', () => {
    const ws = new Float64Workspace();
    expect(() => gemm(ws, ws.matrix(2, 3), ws.matrix(2, 3), ws.matrix(2, 3))).toThrow(/gemm/);
  });
});
