import * as tf from '@tensorflow/tfjs-core';
import type { Batch, TensorSet } from '../data/batches.js';
import { ensure } from '../util/errors.js';

/**
 * How much memory one evaluation batch's activations may take, in MiB: evaluation runs the largest
 * batches whose forward pass (every intermediate tensor of one model, and the batch itself) fits.
 * Past a few hundred examples a batch is no faster, and the backend's heap keeps whatever size it
 * grows to for the rest of the process.
 */
export const EVALUATION_MEMORY_MIB = 128;

/** Examples of the first batch of a pass, on which the bytes each example takes are measured. */
export const MEASURED_BATCH = 64;

/**
 * The largest batch whose activations, `bytesPerExample` each, fit in `budgetBytes`: at least one
 * example (a single example over the budget is still evaluated) and at most the `remaining` ones.
 */
export function evaluationBatchSize(bytesPerExample: number, budgetBytes: number, remaining: number): number {
  ensure(bytesPerExample > 0 && budgetBytes > 0, `evaluation batch: bytes per example (${bytesPerExample}) and budget (${budgetBytes}) must be positive`);
  ensure(Number.isSafeInteger(remaining) && remaining > 0, `evaluation batch: ${remaining} examples remaining; expected a positive integer`);
  return Math.max(1, Math.min(remaining, Math.floor(budgetBytes / bytesPerExample)));
}

/**
 * Examples [start, start + size) of `data` as a new batch (the caller disposes it). Cut by gathering
 * the row range rather than tf.slice: the wasm backend's Slice reads its whole input back first, a
 * copy of the entire set for every batch, which cost more than the forward pass of a small VGG.
 */
export function contiguousBatch(data: TensorSet, start: number, size: number): Batch {
  ensure(
    Number.isSafeInteger(start) && Number.isSafeInteger(size) && start >= 0 && size > 0 && start + size <= data.count,
    `cannot cut examples [${start}, ${start + size}) from a set of ${data.count}`,
  );
  return tf.tidy(() => {
    const rows = tf.range(start, start + size, 1, 'int32') as tf.Tensor1D;
    return { x: tf.gather(data.x, rows), y: tf.gather(data.y, rows) as tf.Tensor1D };
  });
}
