import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/backend/selectBackend.js';
import { SIGMOID_MERGE_GRAD_KERNEL, WEIGHTED_ADD_KERNEL, mergeEntries } from '../../src/merge/mergeParams.js';
import { createRng } from '../../src/util/random.js';

/**
 * Learned alpha's per-entry merge (mergeEntries) must give the value and the logit gradients of the
 * tf ops it replaces bit for bit, through the fused 'wasm' kernels and through tf ops alike, for two
 * models (a sigmoid) and several (a softmax), and leave nothing alive.
 */

function values(size: number, seed: number, scale = 1): Float32Array {
  const rng = createRng(seed);
  return Float32Array.from({ length: size }, () => (rng() + rng() + rng() - 1.5) * scale);
}

const live = (): [number, number] => [tf.memory().numTensors, tf.backend().numDataIds()];

/** Softmax over the model axis with the last logit pinned at 0 (learnAlpha's form, written out). */
function softmaxWeights(logits: tf.Tensor[]): tf.Tensor[] {
  const shift = logits.reduce((largest, l) => tf.maximum(largest, l), tf.zerosLike(logits[0]!));
  const exponentials = logits.map((l) => tf.exp(tf.sub(l, shift)));
  const total = exponentials.reduce((sum, e) => tf.add(sum, e), tf.exp(tf.neg(shift)));
  return exponentials.map((e) => tf.div(e, total));
}

/** The merge as plain tf ops: last + sum_k w_k d_k, w from the logits. */
function reference(last: tf.Tensor, differences: tf.Tensor[], logits: tf.Tensor[]): tf.Tensor {
  const weights = logits.length === 1 ? [tf.sigmoid(logits[0]!)] : softmaxWeights(logits);
  return weights.reduce((sum, w, k) => tf.add(sum, tf.mul(w, differences[k]!)), last);
}

/** Value and logit gradients of sum(merge * upstream), read back. */
function valueAndGradients(shape: number[], models: number, merge: (last: tf.Tensor, d: tf.Tensor[], l: tf.Tensor[]) => tf.Tensor): Float32Array[] {
  return tf.tidy(() => {
    const size = tf.util.sizeFromShape(shape);
    const last = tf.tensor(values(size, 1), shape);
    const differences = Array.from({ length: models - 1 }, (_, k) => tf.tensor(values(size, 10 + k), shape));
    const logits = Array.from({ length: models - 1 }, (_, k) => tf.tensor(values(size, 20 + k, 3), shape));
    const upstream = tf.tensor(values(size, 30), shape);
    const value = merge(last, differences, logits);
    const gradients = tf.grads((...l: tf.Tensor[]) => tf.sum(tf.mul(merge(last, differences, l), upstream)))(logits);
    return [value, ...gradients].map((t) => t.dataSync() as Float32Array);
  });
}

const shapes = [[], [3], [4], [5, 7], [2, 3, 3, 4]];

describe.each(['wasm', 'cpu'] as const)('mergeEntries on the %s backend', (backend) => {
  beforeAll(async () => {
    expect(await selectBackend(backend)).toBe(backend);
  });

  it('registers the fused kernels on wasm only', () => {
    for (const name of [WEIGHTED_ADD_KERNEL, SIGMOID_MERGE_GRAD_KERNEL]) expect(tf.getKernel(name, backend) !== undefined).toBe(backend === 'wasm');
  });

  it.each([2, 3, 4])('gives the bits of the tf ops, value and gradients, for %i models, fused or not, leaking nothing', (models) => {
    for (const shape of shapes) {
      const before = live();
      const want = valueAndGradients(shape, models, reference);
      const fused = valueAndGradients(shape, models, (last, d, l) => mergeEntries(last, d, l, softmaxWeights));
      const unfused = valueAndGradients(shape, models, (last, d, l) => mergeEntries(last, d, l, softmaxWeights, false));
      expect(live()).toEqual(before);
      expect(fused, `[${shape.join(',')}]`).toEqual(want);
      expect(unfused, `[${shape.join(',')}]`).toEqual(want);
      expect(want[1]!.some((g) => g !== 0)).toBe(true);
    }
  });
});

describe('the wasm merge kernels', () => {
  it('refuse inputs of different shapes in one line', async () => {
    await selectBackend('wasm');
    const [a, b, ints] = [tf.zeros([2, 2]), tf.zeros([4]), tf.zeros([2, 2], 'int32')];
    expect(() => tf.engine().runKernel(WEIGHTED_ADD_KERNEL, { a, w: a, d: b })).toThrow(/^MergeTrainWeightedAdd: shapes differ: \[4\] and \[2,2\]$/);
    expect(() => tf.engine().runKernel(SIGMOID_MERGE_GRAD_KERNEL, { dy: a, d: a, s: ints })).toThrow(/^MergeTrainSigmoidMergeGrad: expected float32 tensors, got int32$/);
    tf.dispose([a, b, ints]);
  });
});
