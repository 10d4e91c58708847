import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/backend/selectBackend.js';
import { BATCH_NORM_EPSILON, batchNorm } from '../../src/nn/layers.js';
import { maxAbsDiff, normalInputs } from './helpers.js';

/** Training-mode BatchNorm in plain ops, differentiated automatically: the reference. */
function reference(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor): tf.Tensor {
  const axes = x.shape.map((_, i) => i).slice(0, -1);
  const mean = tf.mean(x, axes, true);
  const variance = tf.mean(tf.square(tf.sub(x, mean)), axes, true);
  return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, BATCH_NORM_EPSILON))), gamma), beta);
}

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`training-mode BatchNorm on ${backend}`, () => {
    beforeAll(async () => {
      await selectBackend(backend);
    });

    for (const shape of [[6, 5, 4, 3], [9, 7]]) {
      it(`has the closed-form gradient of the same function, shape [${shape}]`, () => {
        const channels = shape[shape.length - 1]!;
        const size = shape.reduce((a, b) => a * b, 1);
        const x = tf.tensor(normalInputs(size, 1, 1, 0.5), shape);
        const gamma = tf.tensor1d(normalInputs(channels, 1, 2, 1));
        const beta = tf.tensor1d(normalInputs(channels, 1, 3));
        const dy = tf.tensor(normalInputs(size, 1, 4), shape);
        const stats: tf.Tensor[] = [];
        const ours = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
          batchNorm({ x: a, g, b }, { weight: 'g', bias: 'b', runningMean: 'm', runningVar: 'v' }, a, {
            training: true,
            batchStats: (_, mean, variance) => stats.push(tf.keep(mean), tf.keep(variance)),
          });
        const objective = (f: typeof reference) => (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(f(a, g, b), dy));
        const got = tf.grads(objective(ours))([x, gamma, beta]);
        const want = tf.grads(objective(reference))([x, gamma, beta]);
        got.forEach((g, i) => expect(maxAbsDiff(g.dataSync(), want[i]!.dataSync()), ['dx', 'dgamma', 'dbeta'][i]).toBeLessThan(1e-4));
        expect(maxAbsDiff(ours(x, gamma, beta).dataSync(), reference(x, gamma, beta).dataSync())).toBeLessThan(1e-5);
        // reported: the batch mean and the unbiased variance
        const axes = shape.map((_, i) => i).slice(0, -1);
        const n = size / channels;
        expect(maxAbsDiff(stats[0]!.dataSync(), tf.mean(x, axes).dataSync())).toBeLessThan(1e-6);
        expect(maxAbsDiff(stats[1]!.dataSync(), tf.mul(tf.moments(x, axes).variance, n / (n - 1)).dataSync())).toBeLessThan(1e-5);
        tf.dispose([x, gamma, beta, dy, ...got, ...want, ...stats]);
      });
    }

    it('leaves no tensors behind', () => {
      const x = tf.tensor(normalInputs(60, 1, 5), [5, 4, 3]);
      const gamma = tf.ones([3]);
      const beta = tf.zeros([3]);
      const before = tf.memory().numTensors;
      const grads = tf.grads((a: tf.Tensor) => tf.sum(batchNorm({ g: gamma, b: beta }, { weight: 'g', bias: 'b', runningMean: 'm', runningVar: 'v' }, a, { training: true })))([x]);
      tf.dispose(grads);
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([x, gamma, beta]);
    });
  });
}
