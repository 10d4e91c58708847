import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/backend/selectBackend.js';
import { TensorSet } from '../../src/data/batches.js';
import type { LabelledSet } from '../../src/data/dataset.js';
import { loadSplits } from '../../src/data/split.js';
import { InputError } from '../../src/util/errors.js';
import { shuffledIndices } from '../../src/util/random.js';

/** `count` examples of shape [2, 2]; example i has every value i and label 100 + i. */
function toySet(count: number): LabelledSet {
  const x = new Float32Array(count * 4);
  for (let i = 0; i < count; i++) x.fill(i, i * 4, (i + 1) * 4);
  return { x, y: Int32Array.from({ length: count }, (_, i) => 100 + i), count };
}

/** Example ids in a batch, read from the first value of each example. */
function ids(batch: { x: tf.Tensor; y: tf.Tensor1D }): number[] {
  const values = batch.x.dataSync();
  const labels = batch.y.dataSync();
  const rows = batch.x.shape[0]!;
  const out = Array.from({ length: rows }, (_, r) => values[r * 4]!);
  expect([...labels]).toEqual(out.map((id) => 100 + id));
  return out;
}

function collect(set: TensorSet, batchSize: number, seed?: number): number[][] {
  const out: number[][] = [];
  for (const batch of set.batches(batchSize, seed)) {
    expect(batch.x.dtype).toBe('float32');
    expect(batch.y.dtype).toBe('int32');
    out.push(ids(batch));
    tf.dispose([batch.x, batch.y]);
  }
  return out;
}

describe.each(['cpu', 'wasm'] as const)('TensorSet on the %s backend', (backend) => {
  beforeAll(async () => {
    expect(await selectBackend(backend)).toBe(backend);
  });

  it('uploads the set with the input shape', () => {
    const set = new TensorSet(toySet(10), [2, 2]);
    expect(set.x.shape).toEqual([10, 2, 2]);
    expect(set.y.shape).toEqual([10]);
    expect(set.count).toBe(10);
    set.dispose();
  });

  it('serves contiguous batches in order, the last one partial', () => {
    const set = new TensorSet(toySet(10), [2, 2]);
    const batches = collect(set, 4);
    expect(batches).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6, 7],
      [8, 9],
    ]);
    expect(collect(set, 10)).toEqual([[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]]);
    expect(collect(set, 64)).toHaveLength(1);
    set.dispose();
  });

  it('serves a seeded permutation, reproducibly', () => {
    const set = new TensorSet(toySet(10), [2, 2]);
    const a = collect(set, 3, 42);
    expect(a.map((batch) => batch.length)).toEqual([3, 3, 3, 1]);
    expect(a.flat()).toEqual([...shuffledIndices(10, 42)]);
    expect(collect(set, 3, 42)).toEqual(a);
    expect(collect(set, 3, 43).flat()).not.toEqual(a.flat());
    expect(collect(set, 3, 43).flat().sort((p, q) => p - q)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    set.dispose();
  });

  it('takes the first n examples as a new set', () => {
    const set = new TensorSet(toySet(10), [2, 2]);
    const head = set.take(3);
    expect(head.count).toBe(3);
    expect(head.x.shape).toEqual([3, 2, 2]);
    expect(collect(head, 8)).toEqual([[0, 1, 2]]);
    head.dispose();
    expect(set.take(0).count).toBe(0);
    expect(() => set.take(11)).toThrow(new InputError('cannot take 11 examples from a set of 10'));
    set.dispose();
  });

  it('leaks no tensors', () => {
    const before = tf.memory().numTensors;
    const set = new TensorSet(toySet(10), [2, 2]);
    collect(set, 3);
    collect(set, 3, 1);
    for (const batch of set.batches(2, 5)) {
      tf.dispose([batch.x, batch.y]);
      break; // stopping early must not leave a pending batch behind
    }
    set.take(4).dispose();
    set.dispose();
    set.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rejects bad batch sizes and mismatched data', () => {
    const set = new TensorSet(toySet(4), [2, 2]);
    expect(() => set.batches(0).next()).toThrow(new InputError('batch size must be a positive integer; got 0'));
    expect(() => set.batches(1.5).next()).toThrow(InputError);
    set.dispose();
    expect(() => set.batches(2).next()).toThrow(/after dispose/);
    expect(() => new TensorSet(toySet(4), [3])).toThrow(/has 16 values; expected 4 x \[3\] = 12/);
    expect(() => new TensorSet({ ...toySet(4), y: new Int32Array(3) }, [2, 2])).toThrow(/3 labels for 4 examples/);
  });

  it('batches a real mnist split as NHWC images', async () => {
    const before = tf.memory().numTensors;
    const { test, inputShape } = await loadSplits('mnist', { seed: 0, sizes: { train: 0, merge: 0, test: 300 } });
    const set = new TensorSet(test, inputShape);
    const shapes: number[][] = [];
    for (const { x, y } of set.batches(128, 7)) {
      shapes.push(x.shape);
      const labels = y.dataSync();
      expect(labels.every((label) => label >= 0 && label < 10)).toBe(true);
      tf.dispose([x, y]);
    }
    expect(shapes).toEqual([
      [128, 28, 28, 1],
      [128, 28, 28, 1],
      [44, 28, 28, 1],
    ]);
    set.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
