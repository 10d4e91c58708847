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

/**
 * The names under which a backend may register learned alpha's merge kernels, each one pass with the
 * float32 operations of the tf ops it replaces, in their order (the backend layer does for wasm:
 * src/backend/wasmAlphaMerge.ts). WEIGHTED_ADD_KERNEL: inputs a, w, d of one shape, output a + w * d.
 * SIGMOID_MERGE_GRAD_KERNEL: inputs dy, d, s, output (dy * d) * (s * (1 - s)), the gradient of a
 * logit l from that of a + sigmoid(l) * d where s = sigmoid(l). Elsewhere they are tf ops.
 */
export const WEIGHTED_ADD_KERNEL = 'MergeTrainWeightedAdd';
export const SIGMOID_MERGE_GRAD_KERNEL = 'MergeTrainSigmoidMergeGrad';

const hasKernel = (name: string) => tf.getKernel(name, tf.getBackend()) !== undefined;

/** a + w * d entry by entry (tensors of one shape), not differentiable: one kernel where the backend has it. */
function weightedAdd(a: tf.Tensor, w: tf.Tensor, d: tf.Tensor, fused: boolean): tf.Tensor {
  return fused ? (tf.engine().runKernel(WEIGHTED_ADD_KERNEL, { a, w, d }) as tf.Tensor) : tf.add(a, tf.mul(w, d));
}

/**
 * last + sum_k w_k differences[k] with the weights of every model but the last given as `logits` of
 * the same shape as `last`: for one logit w = sigmoid(logit), for several the softmax `weightsOf`
 * gives. The value and the gradient of each logit are those of the same tf ops written out
 * ({@link mergeModels}'s order: the weighted differences added to `last` one by one), bit for bit,
 * but each pass over the parameter is one kernel where the backend registered the merge kernels.
 * `fused: false` forces the tf ops.
 */
export function mergeEntries(
  last: tf.Tensor,
  differences: readonly tf.Tensor[],
  logits: readonly tf.Tensor[],
  weightsOf: (logits: tf.Tensor[]) => tf.Tensor[],
  fused = hasKernel(WEIGHTED_ADD_KERNEL) && hasKernel(SIGMOID_MERGE_GRAD_KERNEL),
): tf.Tensor {
  if (logits.length === 1) {
    const difference = differences[0]!;
    const merge = tf.customGrad((logit, save) => {
      const s = tf.sigmoid(logit as tf.Tensor);
      (save as tf.GradSaveFunc)([s]);
      return {
        value: weightedAdd(last, s, difference, fused),
        gradFunc: (dy: tf.Tensor, [saved]: tf.Tensor[]) =>
          fused
            ? (tf.engine().runKernel(SIGMOID_MERGE_GRAD_KERNEL, { dy, d: difference, s: saved! }) as tf.Tensor)
            : tf.mul(tf.mul(dy, difference), tf.mul(saved!, tf.sub(tf.scalar(1), saved!))),
      };
    });
    return merge(logits[0]!);
  }
  // Several models: the softmax is differentiated by tf; the merge's gradient for w_k is dy * d_k.
  // customGrad passes its save function after the inputs.
  const merge = tf.customGrad((...inputs) => ({
    value: (inputs.slice(0, -1) as tf.Tensor[]).reduce((sum, w, k) => weightedAdd(sum, w, differences[k]!, fused), last),
    gradFunc: (dy: tf.Tensor) => differences.map((d) => tf.mul(dy, d)),
  }));
  return merge(...weightsOf([...logits]));
}
