import { gemm } from './gemm.js';
import { subMatrix, type Float64Workspace, type MatrixView } from './workspace.js';

/** Outcome of {@link choleskyInPlace}: success, or the first pivot that was not positive enough. */
export type CholeskyResult = { ok: true } | { ok: false; index: number; pivot: number };

/** Columns per block: the diagonal blocks and panel solves run in JavaScript, the rest in gemm. */
const BLOCK = 64;

/**
 * Cholesky factorisation S = L L^T of a symmetric positive-definite matrix, in place: the lower
 * triangle of `s` (which is all that is read) becomes L, and the strict upper triangle is zeroed so
 * that `s` is L as a full matrix. Left-looking and blocked, so nearly all the work is in {@link gemm}.
 *
 * A pivot (the diagonal of the Schur complement, L_jj^2 before the square root) that is not above
 * `minPivot` stops the factorisation: the matrix is then not positive definite to that tolerance,
 * and `s` is left partly factorised.
 */
export function choleskyInPlace(ws: Float64Workspace, s: MatrixView, minPivot = 0): CholeskyResult {
  const n = s.rows;
  if (s.cols !== n) throw new Error(`cholesky: expected a square matrix, got ${n}x${s.cols}`);
  for (let kb = 0; kb < n; kb += BLOCK) {
    const nb = Math.min(BLOCK, n - kb);
    const diagonal = subMatrix(s, kb, kb, nb, nb);
    const below = n - kb - nb;
    if (kb > 0) {
      // Left-looking: subtract the contributions of the columns already factorised.
      const left = subMatrix(s, kb, 0, nb, kb);
      gemm(ws, left, left, diagonal, { transB: true, alpha: -1, beta: 1 });
      if (below > 0) gemm(ws, subMatrix(s, kb + nb, 0, below, kb), left, subMatrix(s, kb + nb, kb, below, nb), { transB: true, alpha: -1, beta: 1 });
    }
    const heap = ws.heap;
    const { dot } = ws.kernels;
    const stride = s.stride;
    const d0 = diagonal.offset;
    // Unblocked Cholesky of the diagonal block, then the panel below: each of its rows x solves
    // x L_D^T = row. Row-major, so both are dot products of contiguous row prefixes.
    for (let j = 0; j < nb; j++) {
      const rowJ = d0 + j * stride;
      const pivot = heap[rowJ + j]! - dot(rowJ * 8, rowJ * 8, j);
      if (!(pivot > minPivot)) return { ok: false, index: kb + j, pivot };
      const ljj = Math.sqrt(pivot);
      heap[rowJ + j] = ljj;
      for (let i = j + 1; i < nb; i++) {
        const rowI = d0 + i * stride;
        heap[rowI + j] = (heap[rowI + j]! - dot(rowI * 8, rowJ * 8, j)) / ljj;
      }
    }
    for (let i = 0; i < below; i++) {
      const row = s.offset + (kb + nb + i) * stride + kb;
      for (let j = 0; j < nb; j++) {
        const rowJ = d0 + j * stride;
        heap[row + j] = (heap[row + j]! - dot(row * 8, rowJ * 8, j)) / heap[rowJ + j]!;
      }
    }
  }
  const heap = ws.heap;
  for (let i = 0; i < n; i++) heap.fill(0, s.offset + i * s.stride + i + 1, s.offset + i * s.stride + n);
  return { ok: true };
}

/**
 * Estimates of the extreme eigenvalues of S = L L^T from its Cholesky factor L (a workspace matrix,
 * zero above the diagonal): Rayleigh quotients after `steps` power (largest) and inverse (smallest)
 * iterations, O(n^2) each. They err towards a better-conditioned S (the largest from below, the
 * smallest from above), by little after a few steps unless the extreme eigenvalues are clustered.
 */
export function extremeEigenvaluesFromCholesky(ws: Float64Workspace, l: MatrixView, steps = 6): { min: number; max: number } {
  const n = l.rows;
  const mark = ws.mark();
  const x = ws.allocate(n);
  const { dot, axpy } = ws.kernels;
  const row = (i: number): number => (l.offset + i * l.stride) * 8;
  const start = (): void => {
    const heap = ws.heap;
    // A fixed, generic start vector (deterministic results); scaled to unit length.
    for (let i = 0; i < n; i++) heap[x + i] = 1 + ((i * 7919) % 13) / 13;
    normalise();
  };
  const normalise = (): number => {
    const norm = Math.sqrt(dot(x * 8, x * 8, n));
    const heap = ws.heap;
    for (let i = x; i < x + n; i++) heap[i] = heap[i]! / norm;
    return norm;
  };
  // x <- L x (from the bottom up, so each x_i is read before it is overwritten)
  const multiply = (): void => {
    const heap = ws.heap;
    for (let i = n - 1; i >= 0; i--) heap[x + i] = dot(row(i), x * 8, i + 1);
  };
  // x <- L^T x, as a sum of scaled rows of L (x_i is final once row i has been added)
  const multiplyTransposed = (): void => {
    const heap = ws.heap;
    for (let i = 0; i < n; i++) {
      const xi = heap[x + i]!;
      heap[x + i] = 0;
      axpy(xi, row(i), x * 8, i + 1);
    }
  };
  const solve = (): void => {
    const heap = ws.heap;
    for (let i = 0; i < n; i++) heap[x + i] = (heap[x + i]! - dot(row(i), x * 8, i)) / heap[l.offset + i * l.stride + i]!;
  };
  const solveTransposed = (): void => {
    const heap = ws.heap;
    for (let i = n - 1; i >= 0; i--) {
      const xi = heap[x + i]! / heap[l.offset + i * l.stride + i]!;
      heap[x + i] = xi;
      axpy(-xi, row(i), x * 8, i);
    }
  };
  // Power iteration on F F^T, applied as F^T then F: with |x| = 1 the squared norm after the first
  // half estimates the largest eigenvalue (F = L: |L^T x|^2 = x^T S x; F = L^-T: x^T S^-1 x).
  const largestEigenvalue = (half: () => void, otherHalf: () => void): number => {
    let estimate = 0;
    start();
    for (let step = 0; step < steps; step++) {
      half();
      estimate = normalise() ** 2;
      otherHalf();
      normalise();
    }
    return estimate;
  };
  const max = largestEigenvalue(multiplyTransposed, multiply);
  const inverseMax = largestEigenvalue(solve, solveTransposed);
  ws.release(mark);
  return { min: 1 / inverseMax, max };
}
