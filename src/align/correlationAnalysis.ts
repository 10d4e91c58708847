import type { SpaceMoments } from './moments.js';
import type { SpaceTransform } from './transform.js';

/**
 * How one feature space's units relate across models A and B: one entry per unit in every array.
 * Plain data, shaped like the `spaceCorrelations` record of metrics.json (that schema lives in a
 * higher layer, so the shape is repeated here rather than imported).
 */
export interface SpaceCorrelationAnalysis {
  /** For A's unit i: the largest |corr(A_i, B_j)| over B's units j. */
  top1Correlation: number[];
  /** For A's unit i: the second largest |corr(A_i, B_j)| (0 when the space has one unit). */
  top2Correlation: number[];
  /** For aligned unit i (row i of T): the largest |T[i, j]| after scaling the row to unit Euclidean norm. */
  top1Coefficient?: number[];
  /** For aligned unit i: the second largest normalised |T[i, j]| (0 when the space has one unit). */
  top2Coefficient?: number[];
}

/**
 * A variance at or below this is a dead unit (a ReLU that never fires): it correlates with nothing.
 * The same floor as activation matching (permutation.ts), so both treat the same units as dead.
 */
const DEAD_VARIANCE = 1e-12;

/** The largest and second largest of |values[offset + k]|, k < count, in one pass (ties count twice). */
function topTwoAbs(values: ArrayLike<number>, offset: number, count: number): [number, number] {
  let first = 0;
  let second = 0;
  for (let k = 0; k < count; k++) {
    const v = Math.abs(values[offset + k]!);
    if (v > first) {
      second = first;
      first = v;
    } else if (v > second) {
      second = v;
    }
  }
  return [first, second];
}

function assertFinite(values: ArrayLike<number>, name: string, space: string, n: number): void {
  for (let k = 0; k < values.length; k++) {
    if (!Number.isFinite(values[k]!)) {
      const where = values.length === n ? `unit ${k}` : `(${Math.floor(k / n)}, ${k % n})`;
      throw new Error(`correlation analysis of space ${space}: ${name} is ${values[k]} at ${where}; the activations or moments hold NaN/Infinity`);
    }
  }
}

/**
 * The correlation analysis with which CCA Merge argues that a feature of one model is spread over
 * several neurons of the other ("Harmony in Diversity: Merging Neural Networks with Canonical
 * Correlation Analysis", Horoi et al., ICML 2024, https://arxiv.org/abs/2407.05385; reference code
 * https://github.com/shoroi/align-n-merge).
 *
 * - Correlations: for each unit i of model A, the two largest of |r_ij| over B's units j, where
 *   r_ij = cov(A_i, B_j) / (sd(A_i) sd(B_j)) is the Pearson correlation from the moments. If units
 *   matched one to one, top-1 would be near 1 and top-2 near 0. A dead unit (variance <= 1e-12, on
 *   either side) has correlation 0 with everything, never NaN.
 * - Coefficients (only when `transform` is given): T maps B's units to A's, z_B' = T z_B, so aligned
 *   unit i is the combination sum_j T[i, j] z_B[j] of B's units: row i of T here, which is column i of
 *   the reference code's map from B to A (`y_map`, [B units, A units]). Each row is scaled to unit
 *   Euclidean norm, then its two largest absolute entries are taken. A permutation gives 1 and 0; a
 *   unit drawing equally on k of B's neurons gives 1/sqrt(k) for both. An all-zero row gives 0 and 0.
 *   The coefficients are T's own entries, in B's raw units (not standardised): a high-variance unit
 *   of B enters with a smaller coefficient than a low-variance one that carries the same signal.
 *   The unit Euclidean norm is this module's choice: the reference repository holds no code for
 *   this analysis, and any normalisation gives 1 and 0 for a permutation.
 *
 * With one unit, there is no second-best, and every top-2 is 0.
 *
 * @example
 * const { transform } = ccaTransform(moments, { gamma: 1e-4 });
 * const { top1Correlation, top2Correlation, top1Coefficient } = correlationAnalysis(moments, transform);
 */
export function correlationAnalysis(moments: SpaceMoments, transform?: SpaceTransform): SpaceCorrelationAnalysis {
  const { size: n, space, covAA, covBB, covAB } = moments;
  if (covAA.length !== n * n || covBB.length !== n * n || covAB.length !== n * n) {
    throw new Error(`correlation analysis of space ${space}: covariances must be ${n}x${n} (${n * n} entries), got ${covAA.length}, ${covBB.length}, ${covAB.length}`);
  }
  assertFinite(covAB, 'covAB', space, n);
  const deviations = (cov: Float64Array, name: string): Float64Array => {
    const variances = Float64Array.from({ length: n }, (_, i) => cov[i * n + i]!);
    assertFinite(variances, `the variance in ${name}`, space, n);
    return variances.map((v) => (v > DEAD_VARIANCE ? Math.sqrt(v) : 0));
  };
  const sdA = deviations(covAA, 'covAA');
  const sdB = deviations(covBB, 'covBB');

  const top1Correlation: number[] = [];
  const top2Correlation: number[] = [];
  const row = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const sdAi = sdA[i]!;
    for (let j = 0; j < n; j++) {
      const sdBj = sdB[j]!;
      // Round-off can push |r| a hair past 1 for an exact copy: clamp so the report never shows 1.0000000002.
      row[j] = sdAi === 0 || sdBj === 0 ? 0 : Math.max(-1, Math.min(1, covAB[i * n + j]! / (sdAi * sdBj)));
    }
    const [first, second] = topTwoAbs(row, 0, n);
    top1Correlation.push(first);
    top2Correlation.push(second);
  }
  if (!transform) return { top1Correlation, top2Correlation };

  if (transform.size !== n || transform.matrix.length !== n * n) {
    throw new Error(`correlation analysis of space ${space}: the transform is ${transform.size}x${transform.size} (${transform.matrix.length} entries), the space has ${n} units`);
  }
  const t = transform.matrix;
  assertFinite(t, 'the transform', space, n);
  const top1Coefficient: number[] = [];
  const top2Coefficient: number[] = [];
  for (let i = 0; i < n; i++) {
    let squares = 0;
    for (let j = 0; j < n; j++) squares += t[i * n + j]! * t[i * n + j]!;
    const norm = Math.sqrt(squares);
    const [first, second] = topTwoAbs(t, i * n, n);
    top1Coefficient.push(norm > 0 ? first / norm : 0);
    top2Coefficient.push(norm > 0 ? second / norm : 0);
  }
  return { top1Correlation, top2Correlation, top1Coefficient, top2Coefficient };
}
