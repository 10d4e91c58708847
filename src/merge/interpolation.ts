import type { TensorSet } from '../data/batches.js';
import { evaluateModel } from '../eval/evaluate.js';
import { disposeParams } from '../nn/init.js';
import { hasBatchNorm, resetBatchNormStats } from '../nn/resetBatchNorm.js';
import type { ModelSpec, ParamMap } from '../nn/spec.js';
import { mergeParams } from './mergeParams.js';

/**
 * Linear interpolation between two models of one architecture: W(t) = t W_A + (1 - t) W_B', evaluated
 * at evenly spaced t, and the loss barrier along that path (Frankle et al., "Linear Mode Connectivity
 * and the Lottery Ticket Hypothesis", 2020; Entezari et al., 2022). A small barrier after alignment
 * says the two models lie in one basin, where averaging their weights works.
 */

/** Test accuracy (fraction correct) and mean cross-entropy (nats) of W(t). */
export interface InterpolationPoint {
  /** The weight on model A: 1 is A, 0 is B'. */
  t: number;
  testAccuracy: number;
  testLoss: number;
}

/** How many t a curve is evaluated at by default: 0, 0.1, ..., 1, so that t = 0.5 (the uniform merge) is one of them. */
export const DEFAULT_INTERPOLATION_POINTS = 11;

/**
 * `points` evenly spaced weights from 0 to 1, ascending. Each is i / (points - 1), so the ends are
 * exactly 0 and 1, and with an odd count the middle is exactly 0.5.
 */
export function interpolationWeights(points: number = DEFAULT_INTERPOLATION_POINTS): number[] {
  if (!Number.isInteger(points) || points < 2) throw new RangeError(`an interpolation needs an integer number of points >= 2, got ${points}`);
  return Array.from({ length: points }, (_, i) => i / (points - 1));
}

/** Options of {@link interpolateModels}. */
export interface InterpolationOptions {
  /** Evenly spaced t in [0, 1] (default {@link DEFAULT_INTERPOLATION_POINTS}). */
  points?: number;
  /**
   * For a spec with BatchNorm, required: the examples on which every W(t) has its running statistics
   * recomputed, as the merge stage does for a merge (its first `resetExamples` training examples).
   * Ignored for a spec without BatchNorm.
   */
  resetData?: TensorSet;
}

/**
 * Evaluates W(t) = t W_A + (1 - t) W_B' on `test` at evenly spaced t, ascending from 0 (B') to 1 (A).
 * `paramsB` must already be aligned to A and in the same form (the BatchNorm mode of its alignment).
 * Interior points are {@link mergeParams}(A, B', t), the very arithmetic of a merge, so the point at
 * t = 0.5 is the uniform merge; the ends are A and B' themselves (a merge with alpha 1 is A only up
 * to a rounding). A BatchNorm network has its statistics recomputed at every t, the ends included,
 * so that the whole curve is measured alike. Leaves no tensors behind.
 */
export function interpolateModels(spec: ModelSpec, paramsA: ParamMap, paramsB: ParamMap, test: TensorSet, options: InterpolationOptions = {}): InterpolationPoint[] {
  const weights = interpolationWeights(options.points);
  const resetData = hasBatchNorm(spec) ? options.resetData : undefined;
  if (hasBatchNorm(spec) && !resetData) {
    throw new Error('interpolateModels: a network with BatchNorm needs resetData, the examples its merges recompute their statistics on');
  }
  return weights.map((t) => {
    const owned: ParamMap[] = [];
    try {
      let params = t === 1 ? paramsA : t === 0 ? paramsB : mergeParams(paramsA, paramsB, t);
      if (params !== paramsA && params !== paramsB) owned.push(params);
      if (resetData) {
        params = resetBatchNormStats(spec, params, resetData);
        owned.push(params);
      }
      const { accuracy, loss } = evaluateModel(spec, params, test);
      return { t, testAccuracy: accuracy, testLoss: loss };
    } finally {
      owned.forEach(disposeParams);
    }
  });
}

/**
 * The largest gap between the chord through a curve's ends and the curve: max over t of
 * `sign` * (value(t) - (t value(1) + (1 - t) value(0))). The ends lie on the chord, so it is >= 0
 * unless a value is NaN (then NaN: a curve through a model that computes NaN has no barrier to give).
 */
function largestGapFromChord(points: readonly InterpolationPoint[], value: (point: InterpolationPoint) => number, sign: 1 | -1): number {
  const end = (t: number) => {
    const point = points.find((p) => p.t === t);
    if (!point) throw new RangeError(`a barrier needs the curve's end at t = ${t}; the points have t = ${points.map((p) => p.t).join(', ')}`);
    return value(point);
  };
  const [atB, atA] = [end(0), end(1)];
  const chord = (t: number) => t * atA + (1 - t) * atB;
  // Differences, not a product with the sign: the ends give +0, never -0.
  return Math.max(...points.map((p) => (sign === 1 ? value(p) - chord(p.t) : chord(p.t) - value(p))));
}

/**
 * The loss barrier of a curve: max over t of L(t) - (t L(1) + (1 - t) L(0)), in the loss's units
 * (nats). 0 when the loss never rises above the straight line between the two models.
 */
export function lossBarrier(points: readonly InterpolationPoint[]): number {
  return largestGapFromChord(points, (p) => p.testLoss, 1);
}

/**
 * The accuracy barrier of a curve: max over t of (t acc(1) + (1 - t) acc(0)) - acc(t), as a fraction
 * (0.05 is 5 percentage points below the straight line between the two models).
 */
export function accuracyBarrier(points: readonly InterpolationPoint[]): number {
  return largestGapFromChord(points, (p) => p.testAccuracy, -1);
}
