import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/backend/selectBackend.js';
import { TensorSet } from '../../src/data/batches.js';
import { diagonalFisher, fisherCache, fisherWeights, imagePatches, type FisherMode } from '../../src/merge/fisher.js';
import { disposeParams, initParams } from '../../src/nn/init.js';
import { mlpSpec } from '../../src/nn/mlp.js';
import { resnetSpec } from '../../src/nn/resnet.js';
import { trainableParams, type ModelSpec, type ParamMap } from '../../src/nn/spec.js';
import { vggSpec } from '../../src/nn/vgg.js';
import { liveTensors, normalRng, randomSet, readParams, relativeError } from '../nn/helpers.js';

const inputShape = [3, 4];
const numClasses = 3;
const spec = mlpSpec({ hidden: [8, 6] }, inputShape, numClasses);
const count = 23;

/**
 * The diagonal Fisher by brute force: one example at a time (inference mode), the gradient of
 * log p(c | x) with respect to every trained parameter, squared, weighted by p(c | x) over all classes
 * (expected) or taken at the true label (empirical), averaged over examples in float64. Untrained
 * parameters (running statistics) are 0.
 */
function bruteForceFisher(model: ModelSpec, params: ParamMap, set: TensorSet, mode: FisherMode): Record<string, Float64Array> {
  const names = trainableParams(model);
  const sums = Object.fromEntries(Object.keys(params).map((n) => [n, new Float64Array(params[n]!.size)]));
  const labels = set.y.dataSync();
  for (let i = 0; i < set.count; i++) {
    tf.tidy(() => {
      const x = tf.slice(set.x, i, 1);
      const probabilities = tf.softmax(model.forward(params, x)).dataSync();
      const classes = mode === 'expected' ? Array.from({ length: model.numClasses }, (_, c) => c) : [labels[i]!];
      for (const c of classes) {
        const grads = tf.grads((...values: tf.Tensor[]) => {
          const p = { ...params, ...Object.fromEntries(names.map((n, k) => [n, values[k]!])) };
          return tf.slice(tf.logSoftmax(model.forward(p, x)), [0, c], [1, 1]).sum();
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
      const reference = bruteForceFisher(spec, params, set, mode);
      const fisher = diagonalFisher(spec, params, set, mode, { batchSize });
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
    const fisher = diagonalFisher(spec, params, set, 'expected', { batchSize: 10 });
    expect(liveTensors()).toBe(before + Object.keys(params).length);
    disposeParams(fisher);
    expect(liveTensors()).toBe(before);
  });
});

/**
 * Parameters with BatchNorm far from its identity init (non-trivial running statistics) and non-zero
 * biases and shifts; the logits spread by a few units, so predictions are confident but not saturated.
 */
function convParams(model: ModelSpec, seed: number): ParamMap {
  const params = initParams(model, seed);
  const next = normalRng(seed + 100);
  for (const [name, p] of Object.entries(model.params)) {
    const old = params[name]!;
    if (p.shape.length === 1 && !name.endsWith('.bias')) {
      const values = Float32Array.from({ length: p.shape[0]! }, () => next());
      const positive = name.endsWith('running_var') || name.endsWith('.weight');
      params[name] = tf.tensor1d(positive ? values.map((v) => 0.5 + Math.abs(v)) : values);
    } else if (p.shape.length === 1) {
      params[name] = tf.tensor1d(Float32Array.from({ length: p.shape[0]! }, () => 0.3 * next()));
    } else {
      continue;
    }
    old.dispose();
  }
  return params;
}

const convInput = [8, 8, 2];
// Layers with fewer than 10 input channels get their patches from a one-hot convolution, the others
// from a gather: both are covered, the gather with stride 2 and 1x1 kernels (the ResNet's shortcut).
const convModels: [string, ModelSpec][] = [
  ['vgg with BatchNorm', vggSpec({ layout: [4, 'M', 10, 'M', 5], batchNorm: true }, convInput, 3)],
  ['vgg without BatchNorm (conv biases)', vggSpec({ layout: [10, 'M', 6], batchNorm: false }, convInput, 3)],
  ['resnet', resnetSpec({ blocks: [1, 2], widths: [10, 12] }, convInput, 3)],
];

describe.each(['wasm', 'cpu'] as const)('diagonalFisher of conv nets on the %s backend', (backend) => {
  let set: TensorSet;

  beforeAll(async () => {
    expect(await selectBackend(backend)).toBe(backend);
    set = new TensorSet(randomSet(9, convInput, 3, 5), convInput);
  });

  afterAll(() => set.dispose());

  describe.each(convModels)('%s', (_name, model) => {
    let params: ParamMap;
    beforeAll(() => {
      params = convParams(model, 7);
    });
    afterAll(() => disposeParams(params));

    it.each([
      ['expected', 4],
      ['empirical', 4],
      ['expected', 250],
    ] as const)('%s mode equals the per-example brute force (batch size %s)', (mode, batchSize) => {
      const reference = bruteForceFisher(model, params, set, mode);
      const before = liveTensors();
      const fisher = diagonalFisher(model, params, set, mode, { batchSize });
      expect(liveTensors()).toBe(before + Object.keys(params).length);
      const values = readParams(fisher);
      expect(Object.keys(values)).toEqual(Object.keys(params));
      const trained = new Set(trainableParams(model));
      for (const [name, expected] of Object.entries(reference)) {
        expect(fisher[name]!.shape).toEqual(params[name]!.shape);
        if (!trained.has(name)) {
          expect(values[name]!.every((v) => v === 0), name).toBe(true);
          continue;
        }
        expect(expected.some((v) => v > 0), name).toBe(true);
        // float32 sums of squares over positions, examples and classes (measured: < 5e-7)
        expect(relativeError(values[name]!, expected), `${mode} ${name}`).toBeLessThan(1e-5);
        expect(values[name]!.every((v) => v >= 0)).toBe(true);
      }
      disposeParams(fisher);
      expect(liveTensors()).toBe(before);
    });

    it('uses the first `examples` examples, and all of them when asked for more', () => {
      const first = set.take(5);
      const [part, onFirst, all, beyond] = [
        diagonalFisher(model, params, set, 'expected', { examples: 5, batchSize: 3 }),
        diagonalFisher(model, params, first, 'expected', { batchSize: 3 }),
        diagonalFisher(model, params, set, 'expected', { batchSize: 3 }),
        diagonalFisher(model, params, set, 'expected', { examples: 100, batchSize: 3 }),
      ];
      expect(readParams(part)).toEqual(readParams(onFirst));
      expect(readParams(beyond)).toEqual(readParams(all));
      const [w] = trainableParams(model);
      expect(relativeError(part[w!]!.dataSync(), all[w!]!.dataSync())).toBeGreaterThan(1e-3);
      [part, onFirst, all, beyond].forEach(disposeParams);
      first.dispose();
    });
  });

  it('the two modes differ on a conv net that is not calibrated to the labels', () => {
    const [, model] = convModels[0]!;
    const params = convParams(model, 3);
    const [expected, empirical] = [diagonalFisher(model, params, set, 'expected'), diagonalFisher(model, params, set, 'empirical')];
    expect(relativeError(empirical['conv2.weight']!.dataSync(), expected['conv2.weight']!.dataSync())).toBeGreaterThan(0.05);
    [params, expected, empirical].forEach(disposeParams);
  });

  it('refuses a forward pass that reports no layer for some trained parameters', () => {
    const [, model] = convModels[2]!;
    const params = convParams(model, 3);
    const hidden: ModelSpec = { ...model, forward: (p, x) => model.forward(p, x) }; // drops the context
    const before = liveTensors();
    expect(() => diagonalFisher(hidden, params, set, 'expected')).toThrow(/reports no dense, conv2d or batchNorm layer .* for 26 trained parameters \(conv1\.weight, bn1\.weight, bn1\.bias, \.\.\.\)/);
    expect(liveTensors()).toBe(before);
    disposeParams(params);
  });

  it('hooks that return what they are given leave the logits unchanged (BatchNorm up to rounding)', () => {
    for (const [, model] of convModels) {
      const params = convParams(model, 4);
      tf.tidy(() => {
        const plain = model.forward(params, set.x);
        const hooked = model.forward(params, set.x, { affine: (_l, _i, out) => out, conv: (_l, _i, out) => out, batchNorm: (_l, _i, out) => out });
        expect(relativeError(hooked.dataSync(), plain.dataSync())).toBeLessThan(1e-5);
      });
      disposeParams(params);
    }
  });
});

describe.each(['wasm', 'cpu'] as const)('imagePatches on the %s backend', (backend) => {
  beforeAll(async () => {
    expect(await selectBackend(backend)).toBe(backend);
  });

  /** Patches by definition: x[e, i s + a - top, j s + b - left, c], 0 outside, in (a, b, c) order. */
  function referencePatches(x: Float32Array, [n, h, w, c]: number[], k: number, stride: number, pad: 'same' | 'valid' | number): number[] {
    const out = (size: number) => (pad === 'same' ? Math.ceil(size / stride) : pad === 'valid' ? Math.ceil((size - k + 1) / stride) : Math.floor((size + 2 * pad - k) / stride) + 1);
    const before = (size: number) => (pad === 'same' ? Math.floor(Math.max((out(size) - 1) * stride + k - size, 0) / 2) : pad === 'valid' ? 0 : pad);
    const values: number[] = [];
    for (let e = 0; e < n!; e++)
      for (let i = 0; i < out(h!); i++)
        for (let j = 0; j < out(w!); j++)
          for (let a = 0; a < k; a++)
            for (let b = 0; b < k; b++)
              for (let ch = 0; ch < c!; ch++) {
                const [y, z] = [i * stride + a - before(h!), j * stride + b - before(w!)];
                values.push(y < 0 || y >= h! || z < 0 || z >= w! ? 0 : x[((e * h! + y) * w! + z) * c! + ch]!);
              }
    return values;
  }

  it.each([
    [3, 3, 1, 'same'],
    [12, 3, 1, 'same'],
    [12, 3, 2, 'same'],
    [3, 3, 2, 'same'],
    [12, 1, 2, 'same'],
    [12, 3, 2, 'valid'],
    [3, 3, 1, 'valid'],
    [12, 3, 1, 1],
  ] as const)('%s channels, kernel %s, stride %s, pad %s: the windows a convolution sees', (channels, k, stride, pad) => {
    for (const [h, w] of [
      [7, 6],
      [6, 5],
    ]) {
      const shape = [2, h!, w!, channels];
      const x = Float32Array.from({ length: 2 * h! * w! * channels }, (_, i) => ((i * 37) % 101) - 50);
      const input = tf.tensor4d(x, shape as [number, number, number, number]);
      const before = liveTensors();
      const patches = imagePatches(input, k, k, { strides: stride, pad });
      expect(liveTensors()).toBe(before + 1);
      const expected = referencePatches(x, shape, k, stride, pad);
      expect(patches.shape[2]).toBe(k * k * channels);
      expect(Array.from(patches.dataSync())).toEqual(expected);
      tf.dispose([input, patches]);
    }
  });
});

describe.each(['wasm', 'cpu'] as const)('fisherWeights on the %s backend', (backend) => {
  beforeAll(async () => {
    expect(await selectBackend(backend)).toBe(backend);
  });

  it('is F_A / (F_A + F_B) elementwise for two models, 1/2 where both are 0, bit for bit the two-model formula', () => {
    const fa = Float32Array.from([0.5, 0.01, 1, 0, 0, 0.3, 2e-3, 0]);
    const fb = Float32Array.from([0.5, 0.99, 3, 0.2, 0, 0, 8e-3, 0]);
    const fisherA = { w: tf.tensor(fa, [2, 4]), b: tf.tensor1d([0, 1]) };
    const fisherB = { w: tf.tensor(fb, [2, 4]), b: tf.tensor1d([0, 3]) };
    const before = liveTensors();
    const [alpha, beta] = fisherWeights([fisherA, fisherB]);
    expect(liveTensors()).toBe(before + 4);
    expect(alpha!.w!.shape).toEqual([2, 4]);
    const w = alpha!.w!.dataSync();
    for (let i = 0; i < fa.length; i++) {
      const expected = fa[i]! + fb[i]! === 0 ? 0.5 : fa[i]! / (fa[i]! + fb[i]!);
      expect(w[i]).toBeCloseTo(expected, 6);
    }
    expect(Array.from(alpha!.b!.dataSync())).toEqual([0.5, 0.25]);
    expect(Array.from(beta!.b!.dataSync())).toEqual([0.5, 0.75]);
    // the former fisherAlpha(fa, fb): (fa + eps) / ((fa + fb) + 2 eps)
    const twoModel = tf.tidy(() => tf.div(tf.add(fisherA.w, 1e-10), tf.add(tf.add(fisherA.w, fisherB.w), 2e-10)));
    expect(w).toEqual(twoModel.dataSync());
    [alpha!, beta!, fisherA, fisherB, { twoModel }].forEach(disposeParams);
  });

  it('gives N models weights (F_k + eps) / (sum F + N eps) that sum to 1, 1/N where all are 0', () => {
    const values = [
      [0.5, 0, 2, 1e-3],
      [0.25, 0, 0, 4e-3],
      [0.25, 0, 6, 5e-3],
    ];
    const fishers = values.map((v) => ({ w: tf.tensor1d(v) }));
    const weights = fisherWeights(fishers);
    expect(weights).toHaveLength(3);
    const read = weights.map((m) => m.w!.dataSync());
    for (let i = 0; i < 4; i++) {
      const total = values.reduce((sum, v) => sum + v[i]!, 0);
      expect(read.reduce((sum, r) => sum + r[i]!, 0)).toBeCloseTo(1, 6);
      values.forEach((v, k) => expect(read[k]![i]).toBeCloseTo(total === 0 ? 1 / 3 : v[i]! / total, 6));
    }
    [...weights, ...fishers].forEach(disposeParams);
  });

  it('on real Fisher values of two models stays in [0, 1]', () => {
    const a = initParams(spec, 1);
    const b = initParams(spec, 2);
    const set = new TensorSet(randomSet(20, inputShape, numClasses, 4), inputShape);
    const [fa, fb] = [diagonalFisher(spec, a, set, 'expected'), diagonalFisher(spec, b, set, 'expected')];
    const [alpha, other] = fisherWeights([fa, fb]);
    const [va, vb, vAlpha] = [readParams(fa), readParams(fb), readParams(alpha!)];
    for (const name of Object.keys(va)) {
      const expected = va[name]!.map((x, i) => (x + vb[name]![i]! === 0 ? 0.5 : x / (x + vb[name]![i]!)));
      expect(vAlpha[name]!.every((v) => v >= 0 && v <= 1)).toBe(true);
      // epsilon = 1e-10 only matters for Fisher values near it
      expect(relativeError(vAlpha[name]!, expected), name).toBeLessThan(1e-4);
    }
    [a, b, fa, fb, alpha!, other!].forEach(disposeParams);
    set.dispose();
  });

  it('names a parameter a model has no Fisher for, and refuses an empty list', () => {
    const fa = { w: tf.ones([2]) };
    const before = liveTensors();
    expect(() => fisherWeights([fa, {}])).toThrow(/model 1 has no Fisher for w/);
    expect(() => fisherWeights([])).toThrow(/no Fisher information/);
    expect(liveTensors()).toBe(before);
    disposeParams(fa);
  });
});

describe('fisherCache', () => {
  beforeAll(async () => {
    expect(await selectBackend('wasm')).toBe('wasm');
  });

  it('computes once per parameter set, mode and number of examples used, and frees what it computed', () => {
    const params = initParams(spec, 5);
    const set = new TensorSet(randomSet(12, inputShape, numClasses, 6), inputShape);
    const before = liveTensors();
    const cache = fisherCache(set);
    const all = cache.fisherOf(spec, params, 'expected');
    expect(cache.fisherOf(spec, params, 'expected')).toBe(all);
    expect(cache.fisherOf(spec, params, 'expected', 12)).toBe(all); // every example, as when absent
    expect(cache.fisherOf(spec, params, 'expected', 50)).toBe(all);
    const some = cache.fisherOf(spec, params, 'expected', 5);
    expect(some).not.toBe(all);
    expect(cache.fisherOf(spec, params, 'expected', 5)).toBe(some);
    expect(cache.fisherOf(spec, params, 'empirical', 5)).not.toBe(some);
    const reference = diagonalFisher(spec, params, set, 'expected', { examples: 5 });
    expect(readParams(some)).toEqual(readParams(reference));
    disposeParams(reference);
    expect(liveTensors()).toBe(before + 3 * Object.keys(params).length);
    cache.forget(params);
    expect(liveTensors()).toBe(before);
    cache.fisherOf(spec, params, 'expected', 5);
    cache.dispose();
    expect(liveTensors()).toBe(before);
    disposeParams(params);
    set.dispose();
  });
});
