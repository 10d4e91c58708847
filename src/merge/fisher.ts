import * as tf from '@tensorflow/tfjs-core';
import type { TensorSet } from '../data/batches.js';
import { layerParams, trainableParams, type AffineLayer, type ModelSpec, type ParamMap } from '../nn/spec.js';
import { InputError } from '../util/errors.js';
import type { AlphaMasks } from './mergeParams.js';

/**
 * `expected`: the true Fisher, an expectation over the model's own predicted class distribution
 * (as in Fisher merging, Matena & Raffel, NeurIPS 2022, https://arxiv.org/abs/2111.09832).
 * `empirical`: squared gradients of the loss at the true labels.
 */
export const fisherModes = ['expected', 'empirical'] as const;
export type FisherMode = (typeof fisherModes)[number];
const [EXPECTED] = fisherModes;

interface RecordedLayer {
  layer: AffineLayer;
  input: tf.Tensor2D;
  outputs: number;
}

/**
 * Diagonal Fisher information of every parameter, averaged over the examples of `data`:
 * F = E_x E_y [(d log p(y|x) / d theta)^2]. Per-example gradients of an affine layer factor as
 * outer(input, delta), so their squares sum as (input^2)^T (delta^2): one batched backward pass gives
 * the exact expectation without a loop over examples. The per-example deltas are the gradients with
 * respect to zero "taps" added to each pre-activation. For the expected Fisher the batch is stacked
 * once per class (row c * batch + i differentiates class c of example i, weighted by p_c(x_i)), so
 * one pass covers every class; since the classes share each layer's input, their weighted squared
 * deltas are summed before the one product with it.
 */
export function diagonalFisher(spec: ModelSpec, params: ParamMap, data: TensorSet, mode: FisherMode, batchSize = 250): ParamMap {
  const unsupported = fisherUnsupported(spec);
  if (unsupported) throw new InputError(`${unsupported}; use alpha uniform or learned with init uniform`);
  const sums: ParamMap = Object.fromEntries(Object.entries(params).map(([name, p]) => [name, tf.zeros(p.shape)]));
  const accumulate = (name: string, value: tf.Tensor) => {
    const previous = sums[name]!;
    sums[name] = tf.keep(tf.add(previous, value));
    previous.dispose();
  };
  for (const batch of data.batches(batchSize)) {
    tf.tidy(() => {
      // A first pass records each affine layer's input and the model's class probabilities.
      const recorded: RecordedLayer[] = [];
      const logits = spec.forward(params, batch.x, {
        affine: (layer, input, preActivation) => {
          recorded.push({ layer, input, outputs: preActivation.shape[1] });
          return preActivation;
        },
      });
      const count = batch.y.shape[0];
      const classes = mode === EXPECTED ? spec.numClasses : 1;
      // Which log-probability each stacked row differentiates, and the weight of its square.
      const [targets, weights] =
        mode === EXPECTED
          ? [
              tf.oneHot(tf.tensor1d(Int32Array.from({ length: classes * count }, (_, row) => Math.floor(row / count)), 'int32'), classes),
              tf.reshape(tf.transpose(tf.softmax(logits)), [classes * count, 1]),
            ]
          : [tf.oneHot(batch.y, spec.numClasses), tf.ones([count, 1])];
      // concat, not tile: the wasm backend's Tile is a slow generic loop (~70 ms for [250, 784] x 10)
      const stacked = classes === 1 ? batch.x : tf.concat(Array.from({ length: classes }, () => batch.x), 0);
      const taps = recorded.map((r) => tf.zeros([classes * count, r.outputs]));
      const deltas = tf.grads((...tapValues: tf.Tensor[]) => {
        let index = 0;
        const out = spec.forward(params, stacked, {
          affine: (_layer, _input, preActivation) => tf.add(preActivation, tapValues[index++]!) as tf.Tensor2D,
        });
        return tf.sum(tf.mul(tf.logSoftmax(out), targets));
      })(taps);
      recorded.forEach(({ layer, input }, i) => {
        // [classes * count, out] weighted squares, summed over the classes: [count, out]
        const weightedSquares = tf.sum(tf.reshape(tf.mul(tf.square(deltas[i]!), weights), [classes, count, -1]), 0);
        accumulate(layer.weight, tf.matMul(tf.square(input), weightedSquares, true, false)); // [in, batch] x [batch, out]
        accumulate(layer.bias, tf.sum(weightedSquares, 0));
      });
    });
    tf.dispose([batch.x, batch.y]);
  }
  // Parameters outside affine layers (none in the MLP) keep zero Fisher, which fisherAlpha maps to 1/2.
  const fisher = tf.tidy(() => Object.fromEntries(Object.entries(sums).map(([name, s]) => [name, tf.div(s, data.count)])));
  tf.dispose(Object.values(sums));
  return fisher;
}

/**
 * Why diagonalFisher cannot compute the Fisher information of `spec`, if it cannot: the per-example
 * factorisation holds for dense layers only (a convolution's per-example gradient is a sum over
 * positions whose square does not factor), so every trained parameter must be in a dense layer.
 */
export function fisherUnsupported(spec: ModelSpec): string | undefined {
  const dense = new Set(spec.layers.flatMap((layer) => (layer.kind === 'dense' ? layerParams(layer) : [])));
  const other = trainableParams(spec).filter((name) => !dense.has(name));
  if (other.length === 0) return undefined;
  return `Fisher information is computed for dense layers only, and this ${spec.family} model has ${other.length} trained parameters in other layers (${other.slice(0, 3).join(', ')}${other.length > 3 ? ', ...' : ''})`;
}

/** Fisher merging's weights: alpha = F_A / (F_A + F_B'), with epsilon so that 0/0 gives 1/2. */
export function fisherAlpha(fisherA: ParamMap, fisherB: ParamMap, epsilon = 1e-10): AlphaMasks {
  return tf.tidy(() =>
    Object.fromEntries(
      Object.entries(fisherA).map(([name, fa]) => {
        const fb = fisherB[name];
        if (!fb) throw new Error(`fisherAlpha: model B has no Fisher for ${name}`);
        return [name, tf.div(tf.add(fa, epsilon), tf.add(tf.add(fa, fb), 2 * epsilon))];
      }),
    ),
  );
}

/** Fisher information computed once per parameter set and mode (see {@link fisherCache}). */
export interface FisherCache {
  fisherOf(spec: ModelSpec, params: ParamMap, mode: FisherMode): ParamMap;
  /** Frees what was computed for `params` (the caller is done with them). */
  forget(params: ParamMap): void;
  /** Frees everything computed. */
  dispose(): void;
}

/** Fisher information per parameter set and mode, computed once and reused: model A's serves every alignment of B. */
export function fisherCache(data: TensorSet): FisherCache {
  const cache = new Map<ParamMap, Map<FisherMode, ParamMap>>();
  const free = (byMode: Map<FisherMode, ParamMap>) => byMode.forEach((fisher) => tf.dispose(Object.values(fisher)));
  return {
    fisherOf: (spec, params, mode) => {
      const byMode = cache.get(params) ?? new Map<FisherMode, ParamMap>();
      cache.set(params, byMode);
      let fisher = byMode.get(mode);
      if (!fisher) {
        fisher = diagonalFisher(spec, params, data, mode);
        byMode.set(mode, fisher);
      }
      return fisher;
    },
    forget: (params) => {
      const byMode = cache.get(params);
      if (byMode) free(byMode);
      cache.delete(params);
    },
    dispose: () => {
      cache.forEach(free);
      cache.clear();
    },
  };
}
