import * as tf from '@tensorflow/tfjs-core';
import type { ParamMap } from '../nn/spec.js';

/** Per-entry merge weights: alpha = 1 takes model A's entry, alpha = 0 model B's. */
export type AlphaMasks = ParamMap;

/**
 * W = alpha * W_A + (1 - alpha) * W_B', entry by entry, for every parameter. `alpha` is one number
 * for all entries or one mask per parameter. Returns new tensors the caller owns.
 */
export function mergeParams(paramsA: ParamMap, paramsB: ParamMap, alpha: number | AlphaMasks): ParamMap {
  return tf.tidy(() => {
    const merged: ParamMap = {};
    for (const [name, a] of Object.entries(paramsA)) {
      const b = paramsB[name];
      if (!b) throw new Error(`merge: model B lacks parameter ${name}`);
      const weight = typeof alpha === 'number' ? tf.scalar(alpha) : alpha[name];
      if (!weight) throw new Error(`merge: no alpha mask for parameter ${name}`);
      // b + alpha * (a - b) is the same formula with one multiply fewer.
      merged[name] = tf.add(b, tf.mul(weight, tf.sub(a, b)));
    }
    return merged;
  });
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
