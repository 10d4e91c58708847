import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/backend/selectBackend.js';
import { countCorrect, crossEntropy } from '../../src/nn/loss.js';

describe('crossEntropy', () => {
  beforeAll(async () => {
    await selectBackend('wasm');
  });

  const logitValues = [
    [2.0, -1.0, 0.5],
    [0.1, 0.2, 0.3],
    [-30, 40, 5],
    [1, 1, 1],
  ];
  const labelValues = [0, 2, 0, 1];

  /** Closed form in float64: mean over rows of logsumexp(z) - z[label]; gradient (softmax - onehot) / n. */
  function reference(): { loss: number; grad: number[][] } {
    const n = logitValues.length;
    let loss = 0;
    const grad = logitValues.map((row, i) => {
      const max = Math.max(...row);
      const sum = row.reduce((s, z) => s + Math.exp(z - max), 0);
      loss += max + Math.log(sum) - row[labelValues[i]!]!;
      return row.map((z, j) => (Math.exp(z - max) / sum - (j === labelValues[i] ? 1 : 0)) / n);
    });
    return { loss: loss / n, grad };
  }

  it('gives the mean softmax cross-entropy and its closed-form gradient, scaled by the upstream gradient', () => {
    const before = tf.memory().numTensors;
    const initial = tf.tensor2d(logitValues);
    const logits = tf.variable(initial, true, 'z');
    initial.dispose();
    const labels = tf.tensor1d(labelValues, 'int32');
    const { value, grads } = tf.variableGrads(() => tf.mul(crossEntropy(logits, labels), 3) as tf.Scalar, [logits]);
    const want = reference();
    expect(value.dataSync()[0]! / 3).toBeCloseTo(want.loss, 5);
    const got = grads.z!.arraySync() as number[][];
    got.forEach((row, i) => row.forEach((g, j) => expect(g).toBeCloseTo(3 * want.grad[i]![j]!, 6)));
    tf.dispose([logits, labels, value, ...Object.values(grads)]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('counts rows whose arg-max is the label', () => {
    const count = tf.tidy(() => countCorrect(tf.tensor2d(logitValues), tf.tensor1d(labelValues, 'int32')).dataSync()[0]);
    expect(count).toBe(2);
  });

  it('counts no row with a NaN or infinite logit as correct, whatever its arg-max', () => {
    const logits = [
      [NaN, 0, 0],
      [5, Infinity, 0],
      [3, 1, 0],
    ];
    const count = tf.tidy(() => countCorrect(tf.tensor2d(logits), tf.tensor1d([0, 1, 0], 'int32')).dataSync()[0]);
    expect(count).toBe(1);
  });
});
