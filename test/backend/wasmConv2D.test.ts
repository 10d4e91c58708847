import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/backend/selectBackend.js';
import { wasmConv2D } from '../../src/backend/wasmConv2D.js';
import type { WasmHeapBackend } from '../../src/backend/heapKernels.js';
import { createRng } from '../../src/util/random.js';

/**
 * merge-train's wasm convolution (src/backend/wasmConv2D.ts, an implicit gemm) against the cpu
 * backend's, plain and fused with a bias and ReLU, across strides, paddings, sizes that leave partial
 * blocks of positions and columns; the same bits on one thread as on two; nothing leaked.
 */

type Pad = 'same' | 'valid' | number;
interface Case {
  name: string;
  x: [number, number, number, number];
  filter: [number, number, number, number];
  strides: number | [number, number];
  pad: Pad;
}

const cases: Case[] = [
  { name: '3x3 same, 4 -> 8 channels', x: [2, 6, 7, 4], filter: [3, 3, 4, 8], strides: 1, pad: 'same' },
  { name: '3x3 same, 16 -> 12 channels (a partial panel of columns)', x: [3, 9, 9, 16], filter: [3, 3, 16, 12], strides: 1, pad: 'same' },
  { name: '3x3 same stride 2, odd size, 8 -> 5 channels', x: [2, 9, 7, 8], filter: [3, 3, 8, 5], strides: 2, pad: 'same' },
  { name: '1x1 stride 2 (ResNet shortcut), 12 -> 24', x: [2, 8, 8, 12], filter: [1, 1, 12, 24], strides: 2, pad: 'same' },
  { name: '5x5 valid, 4 -> 3', x: [2, 11, 10, 4], filter: [5, 5, 4, 3], strides: 1, pad: 'valid' },
  { name: 'numeric pad 2, strides [2, 3], 8 -> 9', x: [2, 11, 13, 8], filter: [3, 2, 8, 9], strides: [2, 3], pad: 2 },
  // more than one block of whole taps (K = 9 x 64 steps) and more positions than one chunk
  { name: '3x3 same, 64 -> 16, several K blocks and chunks', x: [4, 9, 9, 64], filter: [3, 3, 64, 16], strides: 1, pad: 'same' },
  { name: '3x3 same, 400 channels (a block narrower than one tap)', x: [1, 4, 5, 400], filter: [3, 3, 400, 8], strides: 1, pad: 'same' },
];

function values(shape: number[], seed: number): tf.Tensor {
  const rng = createRng(seed);
  const size = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Float32Array.from({ length: size }, () => rng() + rng() - 1), shape);
}

/** Plain and fused (bias, ReLU) convolution outputs of `c`, read back. */
function outputs(c: Case, seed: number): Float32Array[] {
  return tf.tidy(() => {
    const x = values(c.x, seed) as tf.Tensor4D;
    const w = values(c.filter, seed + 1) as tf.Tensor4D;
    const bias = values([c.filter[3]], seed + 2) as tf.Tensor1D;
    return [
      tf.conv2d(x, w, c.strides, c.pad).dataSync() as Float32Array,
      tf.fused.conv2d({ x, filter: w, strides: c.strides, pad: c.pad, bias, activation: 'relu' }).dataSync() as Float32Array,
      tf.fused.conv2d({ x, filter: w, strides: c.strides, pad: c.pad, bias }).dataSync() as Float32Array,
    ];
  });
}

function expectClose(actual: Float32Array, expected: Float32Array): void {
  expect(actual.length).toBe(expected.length);
  let scale = 0;
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    scale = Math.max(scale, Math.abs(expected[i]!));
    worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
  }
  expect(scale).toBeGreaterThan(0);
  expect(worst / scale).toBeLessThan(1e-5);
}

describe("merge-train's wasm convolution", () => {
  beforeAll(async () => {
    expect(await selectBackend('wasm')).toBe('wasm');
  });

  cases.forEach((c, i) => {
    it(`agrees with cpu: ${c.name}`, async () => {
      await tf.setBackend('cpu');
      const cpu = outputs(c, 10 * i);
      await tf.setBackend('wasm');
      const wasm = outputs(c, 10 * i);
      for (let k = 0; k < cpu.length; k++) expectClose(wasm[k]!, cpu[k]!);
    });
  });

  it('computes the same bits on one thread as on two, is what tf.fused.conv2d runs, and leaks nothing', async () => {
    await tf.setBackend('wasm');
    const backend = tf.backend() as unknown as WasmHeapBackend;
    const before = [tf.memory().numTensors, tf.backend().numDataIds()];
    const x = values([5, 12, 12, 16], 1);
    const w = values([3, 3, 16, 24], 2);
    const bias = values([24], 3);
    const attrs = { strides: 1, pad: 'same' as const, dataFormat: 'NHWC' as const, dilations: 1 };
    const [one, two] = [1, 2].map((jobs) => {
      const y = wasmConv2D(backend, x, w, attrs, bias, true, jobs)!;
      const read = Float32Array.from(backend.readSync(y.dataId));
      tf.backend().disposeData(y.dataId);
      return read;
    }) as [Float32Array, Float32Array];
    expect(one.some((v) => v > 0) && one.some((v) => v === 0)).toBe(true); // ReLU applied
    expect(Buffer.from(two.buffer).equals(Buffer.from(one.buffer))).toBe(true);
    // and it is what tf.fused.conv2d runs on wasm
    const fused = tf.tidy(() => tf.fused.conv2d({ x: x as tf.Tensor4D, filter: w as tf.Tensor4D, strides: 1, pad: 'same', bias, activation: 'relu' }).dataSync());
    expect(Buffer.from((fused as Float32Array).buffer).equals(Buffer.from(one.buffer))).toBe(true);
    tf.dispose([x, w, bias]);
    expect([tf.memory().numTensors, tf.backend().numDataIds()]).toEqual(before);
  });

  it("leaves what it does not take to the backend's kernel: 3 input channels, dilation", async () => {
    await tf.setBackend('wasm');
    const backend = tf.backend() as unknown as WasmHeapBackend;
    const x = values([1, 5, 5, 3], 4);
    const w = values([3, 3, 3, 4], 5);
    const x4 = values([1, 5, 5, 4], 6);
    const w4 = values([3, 3, 4, 4], 7);
    const attrs = { strides: 1, pad: 'same' as const, dataFormat: 'NHWC' as const, dilations: 1 };
    expect(wasmConv2D(backend, x, w, attrs)).toBeUndefined();
    expect(wasmConv2D(backend, x4, w4, { ...attrs, dilations: 2 })).toBeUndefined();
    const dilated = tf.conv2d(x4 as tf.Tensor4D, w4 as tf.Tensor4D, 1, 'same', 'NHWC', 2);
    expect(dilated.shape).toEqual([1, 5, 5, 4]);
    tf.dispose([x, w, x4, w4, dilated]);
  });
});
