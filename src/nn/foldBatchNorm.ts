import * as tf from '@tensorflow/tfjs-core';
import { applyTransforms, type Transforms } from '../align/transform.js';
import { families, parseFamilyConfig } from './families.js';
import { BATCH_NORM_EPSILON, batchNormNames } from './layers.js';
import type { BatchNormLayer, ModelSpec, ParamMap } from './spec.js';

/** A BatchNorm layer, the convolution kernel before it and the feature space of its channels. */
interface ConvBatchNorm {
  kernel: string;
  norm: BatchNormLayer;
  space: string | undefined;
}

/** The BatchNorm layers of a spec: `<path>bn<k>` follows convolution `<path>conv<k>` (VGG, ResNet). */
function convBatchNorms(spec: ModelSpec): ConvBatchNorm[] {
  return Object.keys(spec.params)
    .filter((name) => name.endsWith('.running_var'))
    .map((name) => {
      const prefix = name.slice(0, -'.running_var'.length);
      const kernel = `${prefix.replace(/bn(\d*)$/, 'conv$1')}.weight`;
      if (!spec.params[kernel]) throw new Error(`${spec.family}: BatchNorm ${prefix} follows no convolution named like it`);
      const norm = batchNormNames(prefix);
      return { kernel, norm, space: spec.params[norm.weight]!.axes[0]?.space };
    });
}

/** gamma / sqrt(var + eps): the factor BatchNorm multiplies each channel by in inference mode. */
function inferenceScale(params: ParamMap, norm: BatchNormLayer): tf.Tensor {
  return tf.div(params[norm.weight]!, tf.sqrt(tf.add(params[norm.runningVar]!, BATCH_NORM_EPSILON)));
}

/**
 * Folds every BatchNorm (with its running statistics) into the convolution before it: with
 * s = gamma / sqrt(var + eps), the kernel becomes W * s (per output channel) and gains the bias
 * beta - mean * s. The folded network computes exactly what the original computes in inference
 * mode and has no per-channel normalisation left, so a general linear alignment (CCA) acts on it
 * exactly, but a merge of it has no statistics to recompute. Works for families whose config has
 * `batchNorm`.
 */
export function foldBatchNorm(spec: ModelSpec, params: ParamMap): { spec: ModelSpec; params: ParamMap } {
  if (spec.config.batchNorm !== true) throw new Error(`foldBatchNorm: this ${spec.family} model has no BatchNorm`);
  const family = families.get(spec.family);
  const config = parseFamilyConfig(family, { ...spec.config, batchNorm: false }, 'foldBatchNorm');
  const folded = family.build(config, spec.inputShape, spec.numClasses);
  const byKernel = new Map(convBatchNorms(spec).map((c) => [c.kernel, c.norm]));
  const result = tf.tidy(() => {
    const out: ParamMap = {};
    for (const name of Object.keys(folded.params)) {
      const norm = byKernel.get(name) ?? byKernel.get(name.replace(/\.bias$/, '.weight'));
      if (!norm) {
        out[name] = tf.clone(params[name]!);
        continue;
      }
      const scale = inferenceScale(params, norm);
      out[name] = name.endsWith('.weight')
        ? tf.mul(params[name]!, scale) // [k, k, in, out] * [out]
        : tf.sub(params[norm.bias]!, tf.mul(params[norm.runningMean]!, scale));
    }
    return out;
  });
  return { spec: folded, params: result };
}

/**
 * Folds only BatchNorm's scale into the convolution before it, keeping the layer: with
 * s = gamma / sqrt(var + eps), the kernel becomes W * s, the running mean mean * s, the running
 * variance var * s^2, and gamma becomes sqrt(var * s^2 + eps), so the layer's inference-mode scale is
 * exactly 1 and it only shifts: y = z - mean + beta. The network computes exactly the same function.
 *
 * Why: a linear map T of the channels (CCA) does not commute with a per-channel scale, but it does
 * with a shift (see transformScaleFolded); and the convolutions of two models so rescaled have their
 * channels in comparable units (each channel's output spread is its BatchNorm's), so merging them
 * weighs both models alike. Idempotent; leaves parameters outside BatchNorm layers untouched.
 */
export function foldBatchNormScale(spec: ModelSpec, params: ParamMap): ParamMap {
  return tf.tidy(() => {
    const out: ParamMap = { ...params };
    for (const { kernel, norm } of convBatchNorms(spec)) {
      const scale = inferenceScale(params, norm);
      const variance = tf.mul(params[norm.runningVar]!, tf.square(scale));
      out[kernel] = tf.mul(params[kernel]!, scale);
      out[norm.runningMean] = tf.mul(params[norm.runningMean]!, scale);
      out[norm.runningVar] = variance;
      out[norm.weight] = tf.sqrt(tf.add(variance, BATCH_NORM_EPSILON));
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
    for (const { norm, space } of convBatchNorms(spec)) {
      const transform = space === undefined ? undefined : transforms[space];
      if (!transform) continue;
      const n = transform.size;
      const squared = tf.square(tf.tensor2d(transform.matrix, [n, n]));
      const variance = tf.reshape(tf.matMul(squared, tf.reshape(params[norm.runningVar]!, [n, 1])), [n]);
      tf.dispose([transformed[norm.runningVar]!, transformed[norm.weight]!]);
      transformed[norm.runningVar] = tf.keep(variance);
      transformed[norm.weight] = tf.keep(tf.sqrt(tf.add(variance, BATCH_NORM_EPSILON)));
    }
  });
  return transformed;
}
