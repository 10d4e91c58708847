import { choleskyInPlace, extremeEigenvaluesFromCholesky } from '../linalg/cholesky.js';
import { gemm } from '../linalg/gemm.js';
import { polarFactor } from '../linalg/polar.js';
import { solveLowerInPlace, transposeInto } from '../linalg/triangular.js';
import { Float64Workspace, type MatrixView } from '../linalg/workspace.js';
import type { SpaceMoments } from './moments.js';
import type { SpaceTransform } from './transform.js';

/** Options of {@link ccaTransform}. */
export interface CcaOptions {
  /** Ridge added to both covariances, S + gamma * I, so dead or collinear units stay invertible. */
  gamma: number;
}

/** CCA's transform of one feature space, and the canonical correlations it found. */
export interface CcaResult {
  transform: SpaceTransform;
  /** Canonical correlations, largest first. */
  correlations: Float64Array;
}

/** S_AA or S_BB plus the ridge is singular: the space has dead or collinear units and gamma is too small. */
export class SingularCovarianceError extends Error {
  override readonly name = 'SingularCovarianceError';
}

/** Eigenvalues below this fraction of the largest count as zero (float64 round-off is ~1e-16). */
const SINGULAR_RATIO = 1e-12;

/** S + gamma I in the workspace, replaced by its Cholesky factor; a clear error if not positive definite. */
function choleskyOfRidged(ws: Float64Workspace, covariance: Float64Array, n: number, gamma: number, which: string, space: string): MatrixView {
  const s = ws.matrixFrom(covariance, n, n);
  const heap = ws.heap;
  let maxDiagonal = 0;
  for (let i = 0; i < n; i++) {
    const index = s.offset + i * n + i;
    heap[index] = heap[index]! + gamma;
    maxDiagonal = Math.max(maxDiagonal, heap[index]!);
  }
  const fail = (detail: string): Error => new SingularCovarianceError(`CCA on space ${space}: ${which} + gamma*I is not positive definite (${detail}); raise gamma`);
  // Every pivot bounds the smallest eigenvalue from above, and the largest diagonal bounds the largest
  // from below, so a pivot under the ratio already fails the eigenvalue test (which then confirms the
  // rest with estimates: pivots can exceed the smallest eigenvalue).
  const factor = choleskyInPlace(ws, s, SINGULAR_RATIO * maxDiagonal);
  if (!factor.ok) throw fail(`Cholesky pivot ${factor.pivot.toExponential(2)} at unit ${factor.index}, largest diagonal ${maxDiagonal.toExponential(2)}`);
  const { min, max } = extremeEigenvaluesFromCholesky(ws, s);
  if (!(min > SINGULAR_RATIO * Math.max(max, maxDiagonal))) {
    throw fail(`min eigenvalue ~${min.toExponential(2)}, max ~${max.toExponential(2)}`);
  }
  return s;
}

/** A^T as a Float32Array, row-major. */
function transposedFloat32(ws: Float64Workspace, a: MatrixView): Float32Array {
  const heap = ws.heap;
  const out = new Float32Array(a.rows * a.cols);
  for (let i = 0; i < a.rows; i++) {
    const row = a.offset + i * a.stride;
    for (let j = 0; j < a.cols; j++) out[j * a.rows + i] = heap[row + j]!;
  }
  return out;
}

/**
 * CCA Merge's alignment of one feature space ("Harmony in Diversity", Horoi et al., ICML 2024,
 * https://arxiv.org/abs/2407.05385). With canonical directions P_A = S_AA^-1/2 U and
 * P_B = S_BB^-1/2 V from the SVD U S V^T of M = S_AA^-1/2 S_AB S_BB^-1/2, model B's units map to
 * model A's by T = (P_B P_A^-1)^T, which simplifies to T = S_AA^1/2 polar(M) S_BB^-1/2 and
 * T^-1 = S_BB^1/2 polar(M)^T S_AA^-1/2.
 *
 * Computed with Cholesky factors L L^T = S instead of symmetric square roots (the same T, at a
 * fraction of the cost): with M' = L_A^-1 S_AB L_B^-T, T = L_A polar(M') L_B^-1 and
 * T^-1 = L_B polar(M')^T L_A^-1, and the canonical correlations are M''s singular values. No
 * inverse is formed; everything is triangular solves, products and one symmetric eigensolve
 * (src/linalg, float64, SIMD kernels).
 */
export function ccaTransform(moments: SpaceMoments, options: CcaOptions): CcaResult {
  const n = moments.size;
  const { gamma } = options;
  // About eleven n x n matrices at the peak (the eigensolver's inside polarFactor included).
  const ws = new Float64Workspace(12 * n * n);
  const lA = choleskyOfRidged(ws, moments.covAA, n, gamma, 'S_AA', moments.space);
  const lB = choleskyOfRidged(ws, moments.covBB, n, gamma, 'S_BB', moments.space);
  // M'^T = L_B^-1 (L_A^-1 S_AB)^T
  const aWhitened = ws.matrixFrom(moments.covAB, n, n);
  solveLowerInPlace(ws, lA, aWhitened);
  const mT = ws.matrix(n, n);
  transposeInto(ws, aWhitened, mT);
  solveLowerInPlace(ws, lB, mT);
  // polar(M'^T) = polar(M')^T
  const polarT = ws.matrix(n, n);
  const correlations = polarFactor(ws, mT, polarT);
  // T^T = L_B^-T (polar^T L_A^T)
  const matrixT = ws.matrix(n, n);
  gemm(ws, polarT, lA, matrixT, { transB: true, bTriangle: 'upper' });
  solveLowerInPlace(ws, lB, matrixT, true);
  // (T^-1)^T = L_A^-T (polar L_B^T)
  const inverseT = ws.matrix(n, n);
  gemm(ws, polarT, lB, inverseT, { transA: true, transB: true, bTriangle: 'upper' });
  solveLowerInPlace(ws, lA, inverseT, true);
  return {
    transform: { size: n, matrix: transposedFloat32(ws, matrixT), inverse: transposedFloat32(ws, inverseT) },
    correlations,
  };
}
