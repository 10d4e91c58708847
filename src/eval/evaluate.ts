import * as tf from '@tensorflow/tfjs-core';
import type { TensorSet } from '../data/batches.js';
import { countCorrect, crossEntropy } from '../nn/loss.js';
import type { ModelSpec, ParamMap } from '../nn/spec.js';

/** A model's accuracy (a fraction) and mean cross-entropy on a set. */
export interface Evaluation {
  accuracy: number;
  loss: number;
}

/** Loss and accuracy at one step of an optimisation (training batches, or a held-out check). */
export interface CurvePoint {
  step: number;
  loss: number;
  accuracy: number;
}

/**
 * Accuracy and mean cross-entropy of a logits function over a whole set, batch by batch. The sums
 * stay on the backend and are read back once, so a GPU backend is not stalled after every batch.
 */
export function evaluateLogits(logitsOf: (x: tf.Tensor) => tf.Tensor2D, data: TensorSet, batchSize = 1000): Evaluation {
  let sums: tf.Tensor1D = tf.zeros([2]); // [loss sum, correct count]
  for (const batch of data.batches(batchSize)) {
    const next = tf.tidy(() => {
      const logits = logitsOf(batch.x);
      const loss = tf.mul(crossEntropy(logits, batch.y), batch.y.shape[0]);
      return tf.add(sums, tf.stack([loss, countCorrect(logits, batch.y)])) as tf.Tensor1D;
    });
    tf.dispose([sums, batch.x, batch.y]);
    sums = next;
  }
  const [lossSum, correct] = sums.dataSync();
  sums.dispose();
  return { accuracy: correct! / data.count, loss: lossSum! / data.count };
}

/** Accuracy and mean cross-entropy of a model on `data`. */
export function evaluateModel(spec: ModelSpec, params: ParamMap, data: TensorSet): Evaluation {
  return evaluateLogits((x) => spec.forward(params, x), data);
}

/** The logit ensemble: the mean of the models' logits. */
export function evaluateEnsemble(spec: ModelSpec, members: ParamMap[], data: TensorSet): Evaluation {
  return evaluateLogits((x) => tf.tidy(() => tf.mean(tf.stack(members.map((p) => spec.forward(p, x))), 0) as tf.Tensor2D), data);
}
