import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/backend/selectBackend.js';
import { TensorSet } from '../../src/data/batches.js';
import { evaluateModel } from '../../src/eval/evaluate.js';
import {
  accuracyBarrier,
  DEFAULT_INTERPOLATION_POINTS,
  interpolateModels,
  interpolationWeights,
  lossBarrier,
  type InterpolationPoint,
} from '../../src/merge/interpolation.js';
import { mergeParams } from '../../src/merge/mergeParams.js';
import { disposeParams, initParams } from '../../src/nn/init.js';
import { mlpSpec } from '../../src/nn/mlp.js';
import { resetBatchNormStats } from '../../src/nn/resetBatchNorm.js';
import type { ModelSpec, ParamMap } from '../../src/nn/spec.js';
import { vggSpec } from '../../src/nn/vgg.js';
import { liveTensors, randomParams, separableSet } from '../nn/helpers.js';

/** The evaluation of `params` on `test`, as a curve point reports it. */
function evaluated(spec: ModelSpec, params: ParamMap, test: TensorSet): { testAccuracy: number; testLoss: number } {
  const { accuracy, loss } = evaluateModel(spec, params, test);
  return { testAccuracy: accuracy, testLoss: loss };
}

/** Points at `ts` with the given losses (accuracy 0.5 throughout), or accuracies (loss 1 throughout). */
const withLosses = (ts: number[], losses: number[]): InterpolationPoint[] => ts.map((t, i) => ({ t, testLoss: losses[i]!, testAccuracy: 0.5 }));
const withAccuracies = (ts: number[], accuracies: number[]): InterpolationPoint[] => ts.map((t, i) => ({ t, testLoss: 1, testAccuracy: accuracies[i]! }));

describe('interpolationWeights', () => {
  it('spaces the t evenly from 0 to 1, with 0.5 exactly among the default 11', () => {
    expect(interpolationWeights()).toHaveLength(DEFAULT_INTERPOLATION_POINTS);
    expect(interpolationWeights()[5]).toBe(0.5);
    expect(interpolationWeights(5)).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(interpolationWeights(2)).toEqual([0, 1]);
  });

  it('refuses fewer than two points or a fractional count', () => {
    expect(() => interpolationWeights(1)).toThrow(RangeError);
    expect(() => interpolationWeights(3.5)).toThrow(RangeError);
  });
});

describe('lossBarrier and accuracyBarrier', () => {
  it('give the largest rise above the chord between the ends, wherever it lies', () => {
    // Chord from L(0) = 2 to L(1) = 3: 2 + t. Rises above it: 0.3, 0.2, 0.5 at t = 0.25, 0.5, 0.75.
    const ts = [0, 0.25, 0.5, 0.75, 1];
    expect(lossBarrier(withLosses(ts, [2, 2.25 + 0.3, 2.5 + 0.2, 2.75 + 0.5, 3]))).toBeCloseTo(0.5, 12);
    // The chord between 0.9 and 0.8 is 0.85 at t = 0.5; the curve dips to 0.5 there.
    expect(accuracyBarrier(withAccuracies([0, 0.5, 1], [0.9, 0.5, 0.8]))).toBeCloseTo(0.35, 12);
  });

  it('are 0 for a curve on or below its chord (the ends lie on it), whatever order the points come in', () => {
    expect(lossBarrier(withLosses([1, 0.5, 0], [1, 0.2, 1]))).toBe(0);
    expect(accuracyBarrier(withAccuracies([0.5, 0, 1], [0.99, 0.9, 0.9]))).toBe(0);
  });

  it('are NaN for a curve through a NaN loss, and refuse a curve without both ends', () => {
    expect(lossBarrier(withLosses([0, 0.5, 1], [1, Number.NaN, 1]))).toBeNaN();
    expect(() => lossBarrier(withLosses([0, 0.5], [1, 2]))).toThrow(RangeError);
    expect(() => accuracyBarrier(withAccuracies([0.5, 1], [0.1, 0.2]))).toThrow(RangeError);
  });
});

describe('interpolateModels on an MLP', () => {
  const spec = mlpSpec({ hidden: [16, 12] }, [4, 5], 3);
  let paramsA: ParamMap;
  let paramsB: ParamMap;
  let test: TensorSet;

  beforeAll(async () => {
    await selectBackend('wasm');
    paramsA = initParams(spec, 1);
    paramsB = initParams(spec, 2);
    test = new TensorSet(separableSet(300, [4, 5], 3, 11), [4, 5]);
  });

  afterAll(() => {
    disposeParams(paramsA);
    disposeParams(paramsB);
    test.dispose();
  });

  it('is A at t = 1, B at t = 0 and the plain average at t = 0.5, exactly', () => {
    const points = interpolateModels(spec, paramsA, paramsB, test);
    expect(points.map((p) => p.t)).toEqual(interpolationWeights());
    expect(points.at(-1)).toEqual({ t: 1, ...evaluated(spec, paramsA, test) });
    expect(points[0]).toEqual({ t: 0, ...evaluated(spec, paramsB, test) });
    const average = mergeParams(paramsA, paramsB, 0.5);
    expect(points[5]).toEqual({ t: 0.5, ...evaluated(spec, average, test) });
    disposeParams(average);
    // Two different models: the curve is not flat, and its barrier is the height above the chord.
    expect(new Set(points.map((p) => p.testLoss)).size).toBeGreaterThan(1);
    const chord = (t: number) => t * points.at(-1)!.testLoss + (1 - t) * points[0]!.testLoss;
    expect(lossBarrier(points)).toBe(Math.max(...points.map((p) => p.testLoss - chord(p.t))));
  });

  it('evaluates every interior t as mergeParams(A, B, t) does', () => {
    const points = interpolateModels(spec, paramsA, paramsB, test, { points: 5 });
    for (const point of points.slice(1, -1)) {
      const merged = mergeParams(paramsA, paramsB, point.t);
      expect(point, `t = ${point.t}`).toEqual({ t: point.t, ...evaluated(spec, merged, test) });
      disposeParams(merged);
    }
  });

  it('leaves no tensors behind, and needs no reset examples without BatchNorm', () => {
    const before = liveTensors();
    interpolateModels(spec, paramsA, paramsB, test, { points: 4 });
    expect(liveTensors()).toBe(before);
  });
});

describe('interpolateModels on a VGG with BatchNorm', () => {
  const inputShape = [8, 8, 1];
  const spec = vggSpec({ layout: [4, 'M', 6], batchNorm: true }, inputShape, 3);
  let paramsA: ParamMap;
  let paramsB: ParamMap;
  let test: TensorSet;
  let train: TensorSet;

  beforeAll(async () => {
    await selectBackend('wasm');
    // BatchNorm vectors far from their init, so statistics that were not recomputed show.
    paramsA = randomParams(spec, 1);
    paramsB = randomParams(spec, 2);
    test = new TensorSet(separableSet(200, inputShape, 3, 21), inputShape);
    train = new TensorSet(separableSet(150, inputShape, 3, 22), inputShape);
  });

  afterAll(() => {
    [paramsA, paramsB].forEach(disposeParams);
    [test, train].forEach((set) => set.dispose());
  });

  it('recomputes the statistics of every W(t) on the reset examples, as a merge is reset', () => {
    const points = interpolateModels(spec, paramsA, paramsB, test, { points: 3, resetData: train });
    const merged = mergeParams(paramsA, paramsB, 0.5);
    const reset = resetBatchNormStats(spec, merged, train);
    expect(points[1]).toEqual({ t: 0.5, ...evaluated(spec, reset, test) });
    // The reset changed the answer: the average as it stands scores otherwise.
    expect(points[1]!.testLoss).not.toBe(evaluated(spec, merged, test).testLoss);
    // The ends too, so that the whole curve is measured alike.
    const resetA = resetBatchNormStats(spec, paramsA, train);
    expect(points[2]).toEqual({ t: 1, ...evaluated(spec, resetA, test) });
    [merged, reset, resetA].forEach(disposeParams);
  });

  it('refuses to interpolate without reset examples, and leaves no tensors behind', () => {
    expect(() => interpolateModels(spec, paramsA, paramsB, test)).toThrow(/needs resetData/);
    const before = liveTensors();
    interpolateModels(spec, paramsA, paramsB, test, { points: 3, resetData: train });
    expect(liveTensors()).toBe(before);
  });
});
