import * as tf from '@tensorflow/tfjs-core';
import type { ParamMap } from '../nn/spec.js';

/** Per-entry merge weights: alpha = 1 takes model A's entry, alpha = 0 model B's. */
export type AlphaMasks = ParamMap;

/**
 * The merge of N models, W = sum_k w_k W_k with the weights summing to 1 entry by entry, written as
 * W = W_last + sum_{k < last} w_k (W_k - W_last): `weights` holds the weights of every model but the
 * last (one number for all entries or one mask per parameter), the last model's weight is what they
 * leave. For two models this is W = alpha * W_A + (1 - alpha) * W_B'. Returns new tensors the caller owns.
 */
export function mergeModels(models: readonly ParamMap[], weights: readonly (number | AlphaMasks)[]): ParamMap {
  if (models.length < 2 || weights.length !== models.length - 1) {
    throw new Error(`merge: expected weights for all but the last of ${models.length} models, got ${weights.length}`);
  }
  const last = models[models.length - 1]!;
  return tf.tidy(() => {
    const merged: ParamMap = {};
    for (const name of Object.keys(models[0]!)) {
      const base = last[name];
      if (!base) throw new Error(`merge: model ${models.length} lacks parameter ${name}`);
      let sum = base;
      weights.forEach((weight, k) => {
        const value = models[k]![name];
        if (!value) throw new Error(`merge: model ${k + 1} lacks parameter ${name}`);
        const w = typeof weight === 'number' ? tf.scalar(weight) : weight[name];
        if (!w) throw new Error(`merge: no weight mask of model ${k + 1} for parameter ${name}`);
        // last + w * (value - last): the two-model formula, with one multiply fewer than w*a + (1-w)*b.
        sum = tf.add(sum, tf.mul(w, tf.sub(value, base)));
      });
      merged[name] = sum;
    }
    return merged;
  });
}

/** W = alpha * W_A + (1 - alpha) * W_B', entry by entry: {@link mergeModels} of two models. */
export function mergeParams(paramsA: ParamMap, paramsB: ParamMap, alpha: number | AlphaMasks): ParamMap {
  return mergeModels([paramsA, paramsB], [alpha]);
}

/** A mask of the same value for every parameter entry. */
export function constantMasks(params: ParamMap, value: number): AlphaMasks {
  return Object.fromEntries(Object.entries(params).map(([name, p]) => [name, tf.fill(p.shape, value)]));
}

/** Mean alpha over every entry of every mask. */
export function meanAlpha(masks: AlphaMasks): number {
  let sum = 0;
  let count = 0;
  for (const mask of Object.values(masks)) {
    sum += tf.tidy(() => tf.sum(mask).dataSync()[0]!);
    count += mask.size;
  }
  return sum / count;
}
