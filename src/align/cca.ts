import { Matrix } from 'ml-matrix';
import { symmetricSqrtAndInverse, polarFactor } from '../linalg/dense.js';
import type { SpaceMoments } from './moments.js';
import type { SpaceTransform } from './transform.js';

export interface CcaOptions {
  /** Ridge added to both covariances, S + gamma * I, so dead or collinear units stay invertible. */
  gamma: number;
}

export interface CcaResult {
  transform: SpaceTransform;
  /** Canonical correlations, largest first. */
  correlations: Float64Array;
}

/** Eigenvalues below this fraction of the largest count as zero (float64 round-off is ~1e-16). */
const SINGULAR_RATIO = 1e-12;

function square(data: Float64Array, n: number): Matrix {
  const m = new Matrix(n, n);
  for (let i = 0; i < n; i++) m.setRow(i, data.subarray(i * n, (i + 1) * n));
  return m;
}

function ridge(m: Matrix, gamma: number): Matrix {
  const out = m.clone();
  for (let i = 0; i < out.rows; i++) out.set(i, i, out.get(i, i) + gamma);
  return out;
}

function toFloat32(m: Matrix): Float32Array {
  return Float32Array.from(m.to1DArray());
}

/**
 * CCA Merge's alignment of one feature space ("Harmony in Diversity", Horoi et al., ICML 2024,
 * https://arxiv.org/abs/2407.15845). With canonical directions P_A = S_AA^-1/2 U and
 * P_B = S_BB^-1/2 V from the SVD U S V^T of M = S_AA^-1/2 S_AB S_BB^-1/2, model B's units map to
 * model A's by T = (P_B P_A^-1)^T, which simplifies to T = S_AA^1/2 (U V^T) S_BB^-1/2 and
 * T^-1 = S_BB^1/2 (V U^T) S_AA^-1/2: no explicit inverse is ever formed.
 */
export function ccaTransform(moments: SpaceMoments, options: CcaOptions): CcaResult {
  const n = moments.size;
  const sAA = ridge(square(moments.covAA, n), options.gamma);
  const sBB = ridge(square(moments.covBB, n), options.gamma);
  const sAB = square(moments.covAB, n);
  const a = symmetricSqrtAndInverse(sAA);
  const b = symmetricSqrtAndInverse(sBB);
  for (const [which, eig] of [['S_AA', a], ['S_BB', b]] as const) {
    // Relative to the largest: a zero eigenvalue comes out as +-1e-17 in float64, not as 0.
    if (!(eig.minEigenvalue > SINGULAR_RATIO * eig.maxEigenvalue)) {
      throw new Error(
        `CCA on space ${moments.space}: ${which} + gamma*I is not positive definite (min eigenvalue ${eig.minEigenvalue.toExponential(2)}); raise gamma`,
      );
    }
  }
  const m = a.invSqrt.mmul(sAB).mmul(b.invSqrt);
  const { orthogonal: polar, singularValues } = polarFactor(m);
  const matrix = a.sqrt.mmul(polar).mmul(b.invSqrt);
  const inverse = b.sqrt.mmul(polar.transpose()).mmul(a.invSqrt);
  // The canonical correlations are the singular values of M.
  const correlations = singularValues.sort().reverse();
  return { transform: { size: n, matrix: toFloat32(matrix), inverse: toFloat32(inverse) }, correlations };
}
