import * as tf from '@tensorflow/tfjs-core';
import { Matrix } from 'ml-matrix';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectSpaceMoments, type SpaceMoments } from '../../src/align/moments.js';
import { selectBackend } from '../../src/backend/selectBackend.js';
import { TensorSet } from '../../src/data/batches.js';
import { disposeParams, initParams } from '../../src/nn/init.js';
import { mlpSpec } from '../../src/nn/mlp.js';
import type { ModelSpec, ParamMap } from '../../src/nn/spec.js';
import { liveTensors, momentsOf, randomSet, relativeError } from '../nn/helpers.js';

const inputShape = [4, 5];
const spec = mlpSpec({ hidden: [16, 12] }, inputShape, 3);

/** Every example's activations per space, probed in one forward pass, as float64 [count, units]. */
function probeAll(model: ModelSpec, params: ParamMap, x: tf.Tensor): Map<string, Matrix> {
  const out = new Map<string, Matrix>();
  tf.tidy(() => {
    model.forward(params, x, {
      probe: (space, activations) => {
        const [rows, cols] = activations.shape;
        out.set(space, Matrix.from1DArray(rows, cols, Array.from(activations.dataSync())));
      },
    });
  });
  return out;
}

function reference(set: TensorSet, paramsA: ParamMap, paramsB: ParamMap): SpaceMoments[] {
  const a = probeAll(spec, paramsA, set.x);
  const b = probeAll(spec, paramsB, set.x);
  return ['fc1', 'fc2'].map((space) => momentsOf(space, a.get(space)!, b.get(space)!));
}

function expectClose(actual: SpaceMoments, expected: SpaceMoments, tolerance: number): void {
  expect(actual.space).toBe(expected.space);
  expect(actual.count).toBe(expected.count);
  expect(actual.size).toBe(expected.size);
  for (const key of ['meanA', 'meanB', 'covAA', 'covBB', 'covAB'] as const) {
    expect(actual[key]).toBeInstanceOf(Float64Array);
    expect(actual[key]).toHaveLength(key.startsWith('mean') ? expected.size : expected.size ** 2);
    expect(relativeError(actual[key], expected[key]), `${expected.space} ${key}`).toBeLessThan(tolerance);
  }
}

describe.each(['wasm', 'cpu'] as const)('collectSpaceMoments on the %s backend', (backend) => {
  let paramsA: ParamMap;
  let paramsB: ParamMap;
  let set: TensorSet;
  /** Inputs offset by +20: activation means far larger than their spreads. */
  let offsetSet: TensorSet;

  beforeAll(async () => {
    expect(await selectBackend(backend)).toBe(backend);
    paramsA = initParams(spec, 1);
    paramsB = initParams(spec, 2);
    set = new TensorSet(randomSet(301, inputShape, 3, 42), inputShape);
    const shifted = randomSet(301, inputShape, 3, 43);
    offsetSet = new TensorSet({ ...shifted, x: shifted.x.map((v) => v + 20) }, inputShape);
  });

  afterAll(() => {
    disposeParams(paramsA);
    disposeParams(paramsB);
    set.dispose();
    offsetSet.dispose();
  });

  it('equals means and (cross-)covariances computed in float64 from all activations at once', () => {
    const expected = reference(set, paramsA, paramsB);
    const actual = collectSpaceMoments(spec, paramsA, paramsB, set, 64);
    expect(actual.map((m) => m.space)).toEqual(['fc1', 'fc2']);
    expect(actual.map((m) => m.size)).toEqual([16, 12]);
    actual.forEach((m, i) => expectClose(m, expected[i]!, 1e-4));
    // the fixture is not trivial: B differs from A and the spaces are cross-correlated
    expect(relativeError(actual[0]!.covAA, actual[0]!.covBB)).toBeGreaterThan(0.1);
    expect(actual[0]!.covAB.some((v) => Math.abs(v) > 1e-3)).toBe(true);
  });

  it('is independent of the batch size (7, 1 and 1000 against one pass)', () => {
    const expected = reference(set, paramsA, paramsB);
    const small = collectSpaceMoments(spec, paramsA, paramsB, set, 7);
    const single = collectSpaceMoments(spec, paramsA, paramsB, set, 1);
    const large = collectSpaceMoments(spec, paramsA, paramsB, set, 1000);
    for (let i = 0; i < 2; i++) {
      expectClose(small[i]!, expected[i]!, 1e-4);
      expectClose(single[i]!, expected[i]!, 1e-4);
      expectClose(large[i]!, expected[i]!, 1e-4);
      expectClose(small[i]!, large[i]!, 1e-4);
    }
  });

  it('stays accurate when activation means dwarf their spreads', () => {
    const expected = reference(offsetSet, paramsA, paramsB);
    // mean/std of the first space's units is large here: the shift must keep float32 sums accurate
    const m = expected[0]!;
    const ratio = Math.max(...Array.from(m.meanA, (mean, i) => Math.abs(mean) / Math.sqrt(m.covAA[i * m.size + i]! + 1e-12)));
    expect(ratio).toBeGreaterThan(10);
    for (const batchSize of [7, 1000]) {
      const actual = collectSpaceMoments(spec, paramsA, paramsB, offsetSet, batchSize);
      actual.forEach((moments, i) => expectClose(moments, expected[i]!, 1e-4));
    }
  });

  it('of a model with itself, covAB = covAA = covBB and means agree', () => {
    const [first] = collectSpaceMoments(spec, paramsA, paramsA, set, 50);
    expect(first!.covAB).toEqual(first!.covAA);
    expect(first!.covBB).toEqual(first!.covAA);
    expect(first!.meanB).toEqual(first!.meanA);
    // covariances are symmetric
    const n = first!.size;
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) expect(first!.covAA[i * n + j]).toBeCloseTo(first!.covAA[j * n + i]!, 10);
  });

  it('holds the same backend memory between batches whatever the number of examples', () => {
    /** The most backend bytes alive (beyond the set itself) whenever the next batch is handed out. */
    const peakBytes = (count: number): number => {
      const data = new TensorSet(randomSet(count, inputShape, 3, 44), inputShape);
      const base = tf.memory().numBytes;
      let peak = 0;
      const batches = data.batches.bind(data);
      data.batches = function* (...args: Parameters<TensorSet['batches']>) {
        for (const batch of batches(...args)) {
          peak = Math.max(peak, tf.memory().numBytes - base);
          yield batch;
        }
      };
      collectSpaceMoments(spec, paramsA, paramsB, data, 100);
      data.dispose();
      return peak;
    };
    expect(peakBytes(2000)).toBe(peakBytes(200));
  });

  it('leaks no tensors and leaves its inputs alive', () => {
    const before = liveTensors();
    collectSpaceMoments(spec, paramsA, paramsB, set, 7);
    expect(liveTensors()).toBe(before);
    expect(paramsA['fc1.weight']!.isDisposed).toBe(false);
    expect(set.x.isDisposed).toBe(false);
  });
});
