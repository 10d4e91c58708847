import * as tf from '@tensorflow/tfjs-core';
import { batchNormTraining } from './batchNormKernels.js';
import type { AffineLayer, BatchNormLayer, ConvLayer, ForwardContext, ParamMap } from './spec.js';

/** Looks up a parameter by name; a missing one is a bug in the family, not user input. */
export function param(params: ParamMap, name: string): tf.Tensor {
  const value = params[name];
  if (!value) throw new Error(`forward pass needs parameter ${name}`);
  return value;
}

/**
 * A dense layer, x [batch, in] x W [in, out] + b [out], optionally followed by ReLU. Plain ops, not
 * tf.fused.matMul: under a gradient tape the fused op differentiates every input, the data too
 * (one needless product per step, 128x512x784: ~3 ms), where the tape prunes plain ops' gradients.
 */
export function dense(
  params: ParamMap,
  layer: AffineLayer,
  x: tf.Tensor2D,
  activation: 'relu' | 'linear',
  context?: ForwardContext,
): tf.Tensor2D {
  const weight = param(params, layer.weight) as tf.Tensor2D;
  const bias = param(params, layer.bias);
  const affine = tf.add(tf.matMul(x, weight), bias) as tf.Tensor2D;
  const preActivation = context?.affine ? context.affine(layer, x, affine) : affine;
  return activation === 'relu' ? tf.relu(preActivation) : preActivation;
}

/**
 * A 2-D convolution, x [batch, h, w, in] with kernel [kh, kw, in, out] (HWIO), optional bias [out];
 * the context's `conv` hook, if any, sees (and may replace) the output.
 */
export function conv2d(
  params: ParamMap,
  layer: ConvLayer,
  x: tf.Tensor4D,
  strides: number,
  pad: 'same' | 'valid' | number,
  context?: ForwardContext,
): tf.Tensor4D {
  const kernel = param(params, layer.weight) as tf.Tensor4D;
  const conv = tf.conv2d(x, kernel, strides, pad);
  const out = layer.bias ? (tf.add(conv, param(params, layer.bias)) as tf.Tensor4D) : conv;
  return context?.conv ? context.conv(layer, x, out, { strides, pad }) : out;
}

/** BatchNorm's epsilon, as PyTorch's default. */
export const BATCH_NORM_EPSILON = 1e-5;

/** The epsilon BatchNorm layer `layer` adds to the variance: its own (a Keras model's), else {@link BATCH_NORM_EPSILON}. */
export function batchNormEpsilon(layer: BatchNormLayer): number {
  return layer.epsilon ?? BATCH_NORM_EPSILON;
}

/**
 * BatchNorm over the channel (last) axis. In training mode it normalises with the batch's
 * statistics and reports them (variance unbiased, as PyTorch keeps it) so the training loop can
 * update the running statistics; otherwise it uses the running statistics. The context's `batchNorm`
 * hook, if any, sees (and may replace) the output; with it, inference mode computes the same map as
 * {@link batchNormAffine} (equal up to rounding), whose gradient is cheaper.
 */
export function batchNorm(params: ParamMap, layer: BatchNormLayer, x: tf.Tensor, context?: ForwardContext): tf.Tensor {
  if (!context?.batchNorm) return batchNormOutput(params, layer, x, false, context);
  const out = context.training ? batchNormOutput(params, layer, x, false, context) : batchNormAffine(params, layer, x);
  return context.batchNorm(layer, x, out);
}

/**
 * ReLU of {@link batchNorm}: the same as tf.relu(batchNorm(...)), hooks included (the context's
 * `batchNorm` hook sees BatchNorm's output, before the ReLU). In training mode without a hook, on a
 * backend with merge-train's BatchNorm kernels (src/nn/batchNormKernels.ts), the ReLU is fused into
 * BatchNorm's forward and backward kernels.
 */
export function batchNormRelu(params: ParamMap, layer: BatchNormLayer, x: tf.Tensor, context?: ForwardContext): tf.Tensor {
  if (context?.batchNorm) return tf.relu(batchNorm(params, layer, x, context));
  return batchNormOutput(params, layer, x, true, context);
}

/** BatchNorm's output, then ReLU when `relu` (in training mode, fused into BatchNorm's kernels where the backend has them). */
function batchNormOutput(params: ParamMap, layer: BatchNormLayer, x: tf.Tensor, relu: boolean, context?: ForwardContext): tf.Tensor {
  const gamma = param(params, layer.weight);
  const beta = param(params, layer.bias);
  if (!context?.training) {
    const out = tf.batchNorm(x, param(params, layer.runningMean), param(params, layer.runningVar), beta, gamma, batchNormEpsilon(layer));
    return relu ? tf.relu(out) : out;
  }
  return batchNormTraining(x, gamma, beta, batchNormEpsilon(layer), relu, (mean, variance) => {
    if (!context.batchStats) return;
    const count = x.size / x.shape[x.shape.length - 1]!;
    // Only read outside the loss, so no gradient flows through these.
    context.batchStats(layer, mean as tf.Tensor1D, tf.mul(variance, count / Math.max(count - 1, 1)) as tf.Tensor1D);
  });
}

/**
 * Inference BatchNorm as the per-channel affine map it is, x * a + b with a = gamma / sqrt(var + eps)
 * and b = beta - mean a. Its gradient broadcasts along the last axis only, where tf.batchNorm's tiles
 * a [1, 1, 1, C] vector over the whole activation, a slow generic loop on wasm (measured: ~60% of a
 * per-example-gradient pass of a small VGG). Used when a hook is given, so hook-less passes are unchanged.
 */
export function batchNormAffine(params: ParamMap, layer: BatchNormLayer, x: tf.Tensor): tf.Tensor {
  const scale = tf.mul(param(params, layer.weight), tf.rsqrt(tf.add(param(params, layer.runningVar), batchNormEpsilon(layer))));
  const shift = tf.sub(param(params, layer.bias), tf.mul(param(params, layer.runningMean), scale));
  return tf.add(tf.mul(x, scale), shift);
}

/** The four parameter names of BatchNorm layer `prefix` (PyTorch's names). */
export function batchNormNames(prefix: string): BatchNormLayer {
  return { weight: `${prefix}.weight`, bias: `${prefix}.bias`, runningMean: `${prefix}.running_mean`, runningVar: `${prefix}.running_var` };
}

/** Mean over the spatial axes: [batch, h, w, c] -> [batch, c]. */
export function globalAveragePool(x: tf.Tensor4D): tf.Tensor2D {
  return tf.mean(x, [1, 2]) as tf.Tensor2D;
}

/** Flattens [batch, h, w, c] activations to [batch * h * w, c]: one sample per position. */
export function channelsAsSamples(x: tf.Tensor): tf.Tensor2D {
  return tf.reshape(x, [-1, x.shape[x.shape.length - 1]!]) as tf.Tensor2D;
}
