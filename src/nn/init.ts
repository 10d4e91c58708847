import * as tf from '@tensorflow/tfjs-core';
import { subSeed } from '../util/random.js';
import type { ModelSpec, ParamMap } from './spec.js';

/** Fresh parameters for `spec`; each tensor's seed derives from `seed` and its name, not from order. */
export function initParams(spec: ModelSpec, seed: number): ParamMap {
  const params: ParamMap = {};
  for (const [name, { shape, init }] of Object.entries(spec.params)) {
    params[name] =
      init.kind === 'boundedUniform'
        ? tf.randomUniform(shape, -init.bound, init.bound, 'float32', subSeed(seed, `init/${name}`))
        : init.kind === 'zeros'
          ? tf.zeros(shape)
          : tf.ones(shape);
  }
  return params;
}

/** Disposes every tensor of a parameter map. */
export function disposeParams(params: ParamMap): void {
  for (const tensor of Object.values(params)) tensor.dispose();
}

/** A copy of a parameter map (new tensors the caller owns; variables become plain tensors). */
export function cloneParams(params: ParamMap): ParamMap {
  return tf.tidy(() => Object.fromEntries(Object.entries(params).map(([name, tensor]) => [name, tf.clone(tensor)])));
}
