import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/backend/selectBackend.js';
import { TensorSet } from '../../src/data/batches.js';
import { diagonalFisher, fisherAlpha, type FisherMode } from '../../src/merge/fisher.js';
import { disposeParams, initParams } from '../../src/nn/init.js';
import { mlpSpec } from '../../src/nn/mlp.js';
import type { ParamMap } from '../../src/nn/spec.js';
import { liveTensors, randomSet, readParams, relativeError } from '../nn/helpers.js';

const inputShape = [3, 4];
const numClasses = 3;
const spec = mlpSpec({ hidden: [8, 6] }, inputShape, numClasses);
const count = 23;

/**
 * The diagonal Fisher by brute force: one example at a time, the gradient of log p(c | x) with respect
 * to every parameter, squared, weighted by p(c | x) over all classes (expected) or taken at the true
 * label (empirical), averaged over examples in float64.
 */
function bruteForceFisher(params: ParamMap, set: TensorSet, mode: FisherMode): Record<string, Float64Array> {
  const names = Object.keys(params);
  const sums = Object.fromEntries(names.map((n) => [n, new Float64Array(params[n]!.size)]));
  const labels = set.y.dataSync();
  for (let i = 0; i < set.count; i++) {
    tf.tidy(() => {
      const x = tf.slice(set.x, [i, 0, 0], [1, ...inputShape]);
      const probabilities = tf.softmax(spec.forward(params, x)).dataSync();
      const classes = mode === 'expected' ? Array.from({ length: numClasses }, (_, c) => c) : [labels[i]!];
      for (const c of classes) {
        const grads = tf.grads((...values: tf.Tensor[]) => {
          const p = Object.fromEntries(names.map((n, k) => [n, values[k]!]));
          return tf.slice(tf.logSoftmax(spec.forward(p, x)), [0, c], [1, 1]).sum();
        })(names.map((n) => params[n]!));
        const weight = mode === 'expected' ? probabilities[c]! : 1;
        names.forEach((n, k) => {
          const g = grads[k]!.dataSync();
          const sum = sums[n]!;
          for (let j = 0; j < g.length; j++) sum[j] = sum[j]! + (weight * g[j]! * g[j]!) / set.count;
        });
      }
    });
  }
  return sums;
}

describe.each(['wasm', 'cpu'] as const)('diagonalFisher on the %s backend', (backend) => {
  let params: ParamMap;
  let set: TensorSet;

  beforeAll(async () => {
    expect(await selectBackend(backend)).toBe(backend);
    params = initParams(spec, 3);
    // larger weights than the default init make the predictions confident and the two modes differ
    for (const [name, t] of Object.entries(params)) {
      params[name] = tf.mul(t, 3);
      t.dispose();
    }
    set = new TensorSet(randomSet(count, inputShape, numClasses, 17), inputShape);
  });

  afterAll(() => {
    disposeParams(params);
    set.dispose();
  });

  describe.each(['expected', 'empirical'] as const)('%s mode', (mode) => {
    it.each([7, 250])('equals the per-example brute force (batch size %s)', (batchSize) => {
      const reference = bruteForceFisher(params, set, mode);
      const fisher = diagonalFisher(spec, params, set, mode, batchSize);
      const values = readParams(fisher);
      expect(Object.keys(values)).toEqual(Object.keys(params));
      for (const [name, expected] of Object.entries(reference)) {
        expect(fisher[name]!.shape).toEqual(params[name]!.shape);
        expect(expected.some((v) => v > 0)).toBe(true);
        expect(relativeError(values[name]!, expected), `${mode} ${name}`).toBeLessThan(1e-4);
        expect(values[name]!.every((v) => v >= 0)).toBe(true);
      }
      disposeParams(fisher);
    });
  });

  it('expected Fisher of the output bias is E_x[p_k (1 - p_k)] (closed form)', () => {
    const fisher = diagonalFisher(spec, params, set, 'expected');
    const p = tf.tidy(() => tf.softmax(spec.forward(params, set.x)).dataSync());
    const expected = new Float64Array(numClasses);
    for (let i = 0; i < count; i++) for (let k = 0; k < numClasses; k++) expected[k] = expected[k]! + (p[i * numClasses + k]! * (1 - p[i * numClasses + k]!)) / count;
    expect(relativeError(fisher['fc3.bias']!.dataSync(), expected)).toBeLessThan(1e-5);
    disposeParams(fisher);
  });

  it('the two modes differ on a model that is not calibrated to the labels', () => {
    const expected = diagonalFisher(spec, params, set, 'expected');
    const empirical = diagonalFisher(spec, params, set, 'empirical');
    expect(relativeError(empirical['fc1.weight']!.dataSync(), expected['fc1.weight']!.dataSync())).toBeGreaterThan(0.05);
    disposeParams(expected);
    disposeParams(empirical);
  });

  it('leaks no tensors beyond those it returns', () => {
    const before = liveTensors();
    const fisher = diagonalFisher(spec, params, set, 'expected', 10);
    expect(liveTensors()).toBe(before + Object.keys(params).length);
    disposeParams(fisher);
    expect(liveTensors()).toBe(before);
  });
});

describe.each(['wasm', 'cpu'] as const)('fisherAlpha on the %s backend', (backend) => {
  beforeAll(async () => {
    expect(await selectBackend(backend)).toBe(backend);
  });

  it('is F_A / (F_A + F_B) elementwise and 1/2 where both are 0', () => {
    const fa = Float32Array.from([0.5, 0.01, 1, 0, 0, 0.3, 2e-3, 0]);
    const fb = Float32Array.from([0.5, 0.99, 3, 0.2, 0, 0, 8e-3, 0]);
    const fisherA = { w: tf.tensor(fa, [2, 4]), b: tf.tensor1d([0, 1]) };
    const fisherB = { w: tf.tensor(fb, [2, 4]), b: tf.tensor1d([0, 3]) };
    const before = liveTensors();
    const alpha = fisherAlpha(fisherA, fisherB);
    expect(liveTensors()).toBe(before + 2);
    expect(alpha.w!.shape).toEqual([2, 4]);
    const w = alpha.w!.dataSync();
    for (let i = 0; i < fa.length; i++) {
      const expected = fa[i]! + fb[i]! === 0 ? 0.5 : fa[i]! / (fa[i]! + fb[i]!);
      expect(w[i]).toBeCloseTo(expected, 6);
    }
    expect(Array.from(alpha.b!.dataSync())).toEqual([0.5, 0.25]);
    disposeParams(alpha);
    disposeParams(fisherA);
    disposeParams(fisherB);
  });

  it('on real Fisher values of two models stays in [0, 1]', () => {
    const a = initParams(spec, 1);
    const b = initParams(spec, 2);
    const set = new TensorSet(randomSet(20, inputShape, numClasses, 4), inputShape);
    const [fa, fb] = [diagonalFisher(spec, a, set, 'expected'), diagonalFisher(spec, b, set, 'expected')];
    const alpha = fisherAlpha(fa, fb);
    const [va, vb, vAlpha] = [readParams(fa), readParams(fb), readParams(alpha)];
    for (const name of Object.keys(va)) {
      const expected = va[name]!.map((x, i) => (x + vb[name]![i]! === 0 ? 0.5 : x / (x + vb[name]![i]!)));
      expect(vAlpha[name]!.every((v) => v >= 0 && v <= 1)).toBe(true);
      // epsilon = 1e-10 only matters for Fisher values near it
      expect(relativeError(vAlpha[name]!, expected), name).toBeLessThan(1e-4);
    }
    [a, b, fa, fb, alpha].forEach(disposeParams);
    set.dispose();
  });

  it('names a parameter model B has no Fisher for', () => {
    const fa = { w: tf.ones([2]) };
    expect(() => fisherAlpha(fa, {})).toThrow(/no Fisher for w/);
    disposeParams(fa);
  });
});
