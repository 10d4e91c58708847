import * as tf from '@tensorflow/tfjs-core';
import type { TensorSet } from '../data/batches.js';
import type { LayerInfo, ModelSpec, ParamMap } from './spec.js';

type BatchNormInfo = Extract<LayerInfo, { kind: 'batchNorm' }>;

/** The spec's BatchNorm layers, each with the convolution it follows, in forward order. */
export function batchNormLayers(spec: ModelSpec): BatchNormInfo[] {
  return spec.layers.filter((layer): layer is BatchNormInfo => layer.kind === 'batchNorm');
}

/** True when the model has BatchNorm layers (whose running statistics a merge recomputes). */
export function hasBatchNorm(spec: ModelSpec): boolean {
  return batchNormLayers(spec).length > 0;
}

/**
 * Recomputes every BatchNorm layer's running statistics on `data` (the "reset BN stats" step merged
 * models need: averaging or transforming two networks' weights changes the statistics of every
 * layer's output). Runs the network in training mode, batch by batch, and sets each running mean and
 * variance to the example-weighted average of the batch statistics, as PyTorch does with momentum
 * None. Returns a new parameter map (all tensors new; the caller owns them).
 */
export function resetBatchNormStats(spec: ModelSpec, params: ParamMap, data: TensorSet, batchSize = 500): ParamMap {
  const sums = new Map<string, tf.Tensor>();
  let examples = 0;
  for (const batch of data.batches(batchSize)) {
    const count = batch.y.shape[0];
    tf.tidy(() => {
      spec.forward(params, batch.x, {
        training: true,
        batchStats: (layer, mean, variance) => {
          for (const [name, value] of [[layer.runningMean, mean], [layer.runningVar, variance]] as const) {
            const previous = sums.get(name);
            sums.set(name, tf.keep(previous ? tf.add(previous, tf.mul(value, count)) : tf.mul(value, count)));
            previous?.dispose();
          }
        },
      });
    });
    examples += count;
    tf.dispose([batch.x, batch.y]);
  }
  return tf.tidy(() => {
    const reset: ParamMap = {};
    for (const [name, value] of Object.entries(params)) {
      const sum = sums.get(name);
      reset[name] = sum ? tf.div(sum, examples) : tf.clone(value);
    }
    tf.dispose([...sums.values()]);
    return reset;
  });
}
