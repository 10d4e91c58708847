import * as tf from '@tensorflow/tfjs-core';
import { families } from '../nn/families.js';
import { batchNormEpsilon } from '../nn/layers.js';
import { cloneParams } from '../nn/init.js';
import { batchNormLayers, hasBatchNorm } from '../nn/resetBatchNorm.js';
import type { BatchNormLayer, ModelSpec, ParamMap } from '../nn/spec.js';
import { Registry, type RegistryEntry } from '../util/registry.js';
import { applyTransforms, type Transforms } from './transform.js';

/**
 * How BatchNorm is handled under alignment. BatchNorm scales each channel on its own, so it cannot
 * follow a general linear map of its channels as it stands; each mode brings both models into a form
 * that can, computing the same function.
 */
export interface BatchNormModeEntry extends RegistryEntry {
  /** A model in the form this mode aligns and merges (new tensors the caller owns; the spec may change). */
  prepare(spec: ModelSpec, params: ParamMap): { spec: ModelSpec; params: ParamMap };
  /** B' from B in that form and the aligner's transforms (new tensors the caller owns). */
  transform(spec: ModelSpec, params: ParamMap, transforms: Transforms): ParamMap;
  /** Why this mode cannot handle `spec`, if it cannot. */
  unsupported?(spec: ModelSpec): string | undefined;
}

/** gamma / sqrt(var + eps): the factor BatchNorm multiplies each channel by in inference mode. */
function inferenceScale(params: ParamMap, norm: BatchNormLayer): tf.Tensor {
  return tf.div(params[norm.weight]!, tf.sqrt(tf.add(params[norm.runningVar]!, batchNormEpsilon(norm))));
}

/**
 * Folds every BatchNorm (with its running statistics) into the convolution before it: with
 * s = gamma / sqrt(var + eps), the kernel becomes W * s (per output channel) and its bias
 * beta + (b - mean) * s, b the convolution's own bias where it has one (Keras's default), else 0.
 * The folded network computes exactly what the original computes in inference mode and has no
 * per-channel normalisation left, so a general linear alignment (CCA) acts on it exactly, but a
 * merge of it has no statistics to recompute. Needs a family with a BatchNorm-free form.
 */
export function foldBatchNorm(spec: ModelSpec, params: ParamMap): { spec: ModelSpec; params: ParamMap } {
  const family = families.get(spec.family);
  if (!family.withoutBatchNorm) throw new Error(`foldBatchNorm: the ${spec.family} family has no BatchNorm-free form`);
  const folded = family.build(family.withoutBatchNorm(spec.config), spec.inputShape, spec.numClasses);
  const norms = batchNormLayers(spec);
  const result = tf.tidy(() => {
    const out: ParamMap = {};
    for (const layer of folded.layers) {
      if (layer.kind !== 'conv') continue;
      const found = norms.find((n) => n.follows.weight === layer.weight);
      if (!found) continue;
      const { norm, follows } = found;
      const scale = inferenceScale(params, norm);
      out[layer.weight] = tf.mul(params[layer.weight]!, scale); // [k, k, in, out] * [out]
      const centre = follows.bias ? tf.sub(params[follows.bias]!, params[norm.runningMean]!) : tf.neg(params[norm.runningMean]!);
      out[layer.bias!] = tf.add(params[norm.bias]!, tf.mul(centre, scale));
    }
    for (const name of Object.keys(folded.params)) out[name] ??= tf.clone(params[name]!);
    return out;
  });
  return { spec: folded, params: result };
}

/**
 * Folds only BatchNorm's scale into the convolution before it, keeping the layer: with
 * s = gamma / sqrt(var + eps), the kernel becomes W * s (and its bias, where it has one, b * s),
 * the running mean mean * s, the running variance var * s^2, and gamma becomes sqrt(var * s^2 + eps),
 * so the layer's inference-mode scale is exactly 1 and it only shifts: y = z - mean + beta. The
 * network computes exactly the same function.
 *
 * Why: a linear map T of the channels (CCA) does not commute with a per-channel scale, but it does
 * with a shift (see transformScaleFolded); and the convolutions of two models so rescaled have their
 * channels in comparable units (each channel's output spread is its BatchNorm's), so merging them
 * weighs both models alike. Idempotent; leaves parameters outside BatchNorm layers untouched.
 */
export function foldBatchNormScale(spec: ModelSpec, params: ParamMap): ParamMap {
  return tf.tidy(() => {
    const out: ParamMap = { ...params };
    for (const { norm, follows } of batchNormLayers(spec)) {
      const scale = inferenceScale(params, norm);
      const variance = tf.mul(params[norm.runningVar]!, tf.square(scale));
      out[follows.weight] = tf.mul(params[follows.weight]!, scale);
      if (follows.bias) out[follows.bias] = tf.mul(params[follows.bias]!, scale);
      out[norm.runningMean] = tf.mul(params[norm.runningMean]!, scale);
      out[norm.runningVar] = variance;
      out[norm.weight] = tf.sqrt(tf.add(variance, batchNormEpsilon(norm)));
    }
    for (const [name, value] of Object.entries(out)) if (value === params[name]) out[name] = tf.clone(value);
    return out;
  });
}

/**
 * applyTransforms for a model in foldBatchNormScale's form, keeping that form. BatchNorm there is a
 * pure shift, so its running mean and beta map like biases and the transformed layer computes exactly
 * T y for the original's output y. Each running variance becomes sum_j T_ij^2 var_j, the variance of
 * the transformed channel were channels uncorrelated (exact for permutations), and gamma is re-tied
 * to it: after a merge, BatchNorm reset recomputes the statistics and gamma sets each merged
 * channel's spread.
 */
export function transformScaleFolded(spec: ModelSpec, params: ParamMap, transforms: Transforms): ParamMap {
  const transformed = applyTransforms(spec, params, transforms);
  tf.tidy(() => {
    for (const { norm } of batchNormLayers(spec)) {
      const space = spec.params[norm.weight]!.axes[0]?.space;
      const transform = space === undefined ? undefined : transforms[space];
      if (!transform) continue;
      const n = transform.size;
      const squared = tf.square(tf.tensor2d(transform.matrix, [n, n]));
      const variance = tf.reshape(tf.matMul(squared, tf.reshape(params[norm.runningVar]!, [n, 1])), [n]);
      tf.dispose([transformed[norm.runningVar]!, transformed[norm.weight]!]);
      transformed[norm.runningVar] = tf.keep(variance);
      transformed[norm.weight] = tf.keep(tf.sqrt(tf.add(variance, batchNormEpsilon(norm))));
    }
  });
  return transformed;
}

/** A model without BatchNorm is the same in every mode. */
const unchanged = (spec: ModelSpec, params: ParamMap) => ({ spec, params: cloneParams(params) });

/** The registered ways to align and merge BatchNorm networks (`align.batchNorm`). */
export const batchNormModes = new Registry<BatchNormModeEntry>('BatchNorm mode', [
  {
    name: 'fold-scale',
    description:
      'fold BatchNorm\'s scale into the convolution so the layer only shifts (exact under any linear map); statistics recomputed after merging',
    prepare: (spec, params) => (hasBatchNorm(spec) ? { spec, params: foldBatchNormScale(spec, params) } : unchanged(spec, params)),
    transform: (spec, params, transforms) => (hasBatchNorm(spec) ? transformScaleFolded : applyTransforms)(spec, params, transforms),
  },
  {
    name: 'transform',
    description: 'transform BatchNorm\'s vectors like a bias (as the CCA Merge reference code); statistics recomputed after merging',
    reference: 'https://github.com/shoroi/align-n-merge',
    prepare: unchanged,
    transform: applyTransforms,
  },
  {
    name: 'fold',
    description: 'fold BatchNorm wholly into the convolutions before aligning: exact for inference, no statistics left to recompute',
    prepare: (spec, params) => (hasBatchNorm(spec) ? foldBatchNorm(spec, params) : unchanged(spec, params)),
    transform: applyTransforms,
    unsupported: (spec) =>
      hasBatchNorm(spec) && !families.get(spec.family).withoutBatchNorm ? `the ${spec.family} family has no BatchNorm-free form to fold into` : undefined,
  },
]);
