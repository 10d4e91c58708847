import * as tf from '@tensorflow/tfjs-core';
import type { AffineLayer, ForwardContext, ParamMap } from './spec.js';

/** Looks up a parameter by name; a missing one is a bug in the family, not user input. */
export function param(params: ParamMap, name: string): tf.Tensor {
  const value = params[name];
  if (!value) throw new Error(`forward pass needs parameter ${name}`);
  return value;
}

/**
 * A dense layer, x [batch, in] x W [in, out] + b [out], optionally followed by ReLU. Uses the fused
 * kernel unless a hook needs the pre-activation.
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
  if (!context?.affine) return tf.fused.matMul({ a: x, b: weight, bias, activation }) as tf.Tensor2D;
  const preActivation = context.affine(layer, x, tf.add(tf.matMul(x, weight), bias) as tf.Tensor2D);
  return activation === 'relu' ? tf.relu(preActivation) : preActivation;
}
