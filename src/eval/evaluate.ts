import * as tf from '@tensorflow/tfjs-core';
import type { TensorSet } from '../data/batches.js';
import { countCorrect, crossEntropy } from '../nn/loss.js';
import type { ModelSpec, ParamMap } from '../nn/spec.js';

export interface Evaluation {
  accuracy: number;
  loss: number;
}

/** Accuracy and mean cross-entropy of a logits function over a whole set, batch by batch. */
export function evaluateLogits(logitsOf: (x: tf.Tensor) => tf.Tensor2D, data: TensorSet, batchSize = 1000): Evaluation {
  let lossSum = 0;
  let correct = 0;
  for (const batch of data.batches(batchSize)) {
    const [loss, right] = tf.tidy(() => {
      const logits = logitsOf(batch.x);
      return [tf.mul(crossEntropy(logits, batch.y), batch.y.shape[0]), countCorrect(logits, batch.y)];
    });
    lossSum += loss.dataSync()[0]!;
    correct += right.dataSync()[0]!;
    tf.dispose([loss, right, batch.x, batch.y]);
  }
  return { accuracy: correct / data.count, loss: lossSum / data.count };
}

export function evaluateModel(spec: ModelSpec, params: ParamMap, data: TensorSet): Evaluation {
  return evaluateLogits((x) => spec.forward(params, x), data);
}

/** The logit ensemble: the mean of the models' logits. */
export function evaluateEnsemble(spec: ModelSpec, members: ParamMap[], data: TensorSet): Evaluation {
  return evaluateLogits((x) => tf.tidy(() => tf.mean(tf.stack(members.map((p) => spec.forward(p, x))), 0) as tf.Tensor2D), data);
}
