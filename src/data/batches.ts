/** Labelled examples held on the TensorFlow.js backend, served as mini-batches. */
import * as tf from '@tensorflow/tfjs-core';
import { ensure } from '../util/errors.js';
import { shuffledIndices } from '../util/random.js';
import type { LabelledSet } from './dataset.js';

/** One mini-batch; the caller owns (and disposes) both tensors. */
export interface Batch {
  /** `[n, ...inputShape]` float32. */
  x: tf.Tensor;
  /** `[n]` int32 class indices. */
  y: tf.Tensor1D;
}

/** Tensors a {@link TensorSet} can adopt instead of uploading a {@link LabelledSet}. */
export interface TensorPair {
  x: tf.Tensor;
  y: tf.Tensor1D;
}

/**
 * A labelled set uploaded to the backend once; batches are cut from it on the backend, so training
 * does not copy pixels from JS for every step.
 */
export class TensorSet {
  /** `[count, ...inputShape]` float32. */
  readonly x: tf.Tensor;
  /** `[count]` int32. */
  readonly y: tf.Tensor1D;
  readonly count: number;
  readonly inputShape: number[];
  private disposed = false;

  /**
   * Uploads `set` as `[count, ...inputShape]`. Given a {@link TensorPair} instead, the set takes
   * ownership of those tensors (they are disposed with it).
   */
  constructor(set: LabelledSet | TensorPair, inputShape: number[]) {
    this.inputShape = [...inputShape];
    if (set.x instanceof tf.Tensor) {
      const { x, y } = set as TensorPair;
      ensure(
        x.shape.length === inputShape.length + 1 && x.shape.slice(1).every((dim, i) => dim === inputShape[i]),
        `tensor set x has shape [${x.shape.join(',')}]; expected [n,${inputShape.join(',')}]`,
      );
      ensure(y.shape[0] === x.shape[0], `tensor set y has ${y.shape[0]} labels for ${x.shape[0]} examples`);
      this.x = x;
      this.y = y;
      this.count = x.shape[0]!;
      return;
    }
    const { x, y, count } = set as LabelledSet;
    const width = inputShape.reduce((product, dim) => product * dim, 1);
    ensure(x.length === count * width, `labelled set has ${x.length} values; expected ${count} x [${inputShape.join(',')}] = ${count * width}`);
    ensure(y.length === count, `labelled set has ${y.length} labels for ${count} examples`);
    this.x = tf.tensor(x, [count, ...inputShape], 'float32');
    this.y = tf.tensor1d(y, 'int32');
    this.count = count;
  }

  /**
   * Mini-batches of `batchSize` examples covering the set once; the last one holds the remainder.
   * Without `shuffleSeed` the batches are contiguous slices in order; with it, the examples come in
   * the order of the seeded permutation `shuffledIndices(count, shuffleSeed)`. Each batch is created
   * only when the iteration reaches it, so stopping early leaks nothing. `skip` leaves out the first
   * batches of that sequence without making them (to resume a pass part-way).
   */
  *batches(batchSize: number, shuffleSeed?: number, skip = 0): Generator<Batch> {
    ensure(Number.isSafeInteger(batchSize) && batchSize > 0, `batch size must be a positive integer; got ${batchSize}`);
    this.assertLive();
    const order = shuffleSeed === undefined ? undefined : shuffledIndices(this.count, shuffleSeed);
    for (let start = skip * batchSize; start < this.count; start += batchSize) {
      const size = Math.min(batchSize, this.count - start);
      if (!order) {
        yield this.slice(start, size);
        continue;
      }
      yield tf.tidy(() => {
        const rows = tf.tensor1d(order.subarray(start, start + size), 'int32');
        return { x: tf.gather(this.x, rows), y: tf.gather(this.y, rows) };
      });
    }
  }

  /** The first `n` examples as a new set (its own tensors; dispose it separately). */
  take(n: number): TensorSet {
    ensure(Number.isSafeInteger(n) && n >= 0 && n <= this.count, `cannot take ${n} examples from a set of ${this.count}`);
    this.assertLive();
    return new TensorSet(this.slice(0, n), this.inputShape);
  }

  /** Frees the backend memory. Safe to call twice. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.x.dispose();
    this.y.dispose();
  }

  private slice(start: number, size: number): Batch {
    return {
      x: tf.slice(this.x, [start, ...this.inputShape.map(() => 0)], [size, ...this.inputShape]),
      y: tf.slice(this.y, [start], [size]),
    };
  }

  private assertLive(): void {
    if (this.disposed) throw new Error('TensorSet used after dispose()');
  }
}
