import * as tf from '@tensorflow/tfjs-core';
import { featureSpaces, type ModelSpec, type ParamMap } from '../nn/spec.js';

/**
 * An invertible linear map of one feature space, taking model B's units to model A's:
 * z_B' = T z_B. Every aligner returns one per space; a permutation is the special case that also
 * carries its index form, so it can be applied by gathering instead of multiplying.
 */
export interface SpaceTransform {
  size: number;
  /** T, row-major [size, size]. */
  matrix: Float32Array;
  /** T^-1, row-major [size, size]. */
  inverse: Float32Array;
  /** For permutations: new unit i is old unit permutation[i]. */
  permutation?: Int32Array;
}

/** One transform per feature space, by the space's name. */
export type Transforms = Record<string, SpaceTransform>;

/** The transform of a permutation: T[i, permutation[i]] = 1. */
export function permutationTransform(permutation: Int32Array): SpaceTransform {
  const n = permutation.length;
  const matrix = new Float32Array(n * n);
  const inverse = new Float32Array(n * n);
  permutation.forEach((source, i) => {
    matrix[i * n + source] = 1;
    inverse[source * n + i] = 1;
  });
  return { size: n, matrix, inverse, permutation };
}

/** Moves `axis` to the front and flattens the rest: [n, rest]. */
function axisFirst(x: tf.Tensor, axis: number): { matrix: tf.Tensor2D; undo: (m: tf.Tensor2D) => tf.Tensor } {
  const perm = [axis, ...x.shape.map((_, i) => i).filter((i) => i !== axis)];
  const moved = tf.transpose(x, perm);
  const movedShape = moved.shape;
  const inversePerm = perm.map((_, i) => perm.indexOf(i));
  return {
    matrix: tf.reshape(moved, [x.shape[axis]!, -1]) as tf.Tensor2D,
    undo: (m) => tf.transpose(tf.reshape(m, movedShape), inversePerm),
  };
}

/**
 * Applies per-space transforms to model B's parameters: along an axis that produces a space,
 * multiply by T; along an axis that consumes it, by T^-T (so that, before nonlinearities, the
 * network computes the same function). Parameters in no transformed space are cloned unchanged.
 * Returns new tensors the caller owns.
 */
export function applyTransforms(spec: ModelSpec, params: ParamMap, transforms: Transforms): ParamMap {
  return tf.tidy(() => {
    const result: ParamMap = { ...params };
    for (const space of featureSpaces(spec)) {
      const transform = transforms[space.name];
      if (!transform) continue;
      if (transform.size !== space.size) {
        throw new Error(`transform for space ${space.name} has size ${transform.size}, the space has ${space.size}`);
      }
      const n = space.size;
      const forward = tf.tensor2d(transform.matrix, [n, n]);
      const inverseTransposed = tf.transpose(tf.tensor2d(transform.inverse, [n, n]));
      const indices = transform.permutation ? tf.tensor1d(transform.permutation, 'int32') : undefined;
      for (const { param, axis, role } of space.members) {
        const current = result[param]!;
        if (indices) {
          // A permutation's T and T^-T are the same gather. The clone gives the result its own
          // storage: the wasm backend keeps a gather's output under an internal shape that its fused
          // matMul kernel then rejects as a bias.
          result[param] = tf.clone(tf.gather(current, indices, axis));
          continue;
        }
        const { matrix, undo } = axisFirst(current, axis);
        result[param] = undo(tf.matMul(role === 'out' ? forward : inverseTransposed, matrix));
      }
    }
    for (const [name, value] of Object.entries(result)) {
      if (value === params[name]) result[name] = tf.clone(value);
    }
    return result;
  });
}
