import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import type { WasmHeapBackend } from '../../src/backend/heapKernels.js';
import { heapThreads } from '../../src/backend/heapWorkers.js';
import { selectBackend } from '../../src/backend/selectBackend.js';
import { broadcastMiddleOp, middleBroadcast } from '../../src/backend/wasmBroadcastOps.js';
import { interleavePhases } from '../../src/backend/wasmConv2DBackpropInput.js';
import { isTiled2x2, maxPool2x2, poolInfo } from '../../src/backend/wasmMaxPool.js';
import { maxPoolGradient } from '../../src/backend/wasmMaxPoolGrad.js';
import { sumColumns } from '../../src/backend/wasmSumColumns.js';
import { createRng } from '../../src/util/random.js';
import { expectClose, expectNoLeaksOnWasm, live, onBothBackends, sizeOf, values, type Values } from './backendComparison.js';

/**
 * The passes of a conv training step that merge-train's heap kernels split between threads (max
 * pooling and its gradient, column sums, the stride-2 input gradient's phases written into place,
 * binary ops broadcast over middle axes) give what the 'cpu' backend gives, the same bits on one job
 * as on two, and leave nothing alive.
 */

type Shape4 = [number, number, number, number];

const wasmBackend = () => tf.backend() as unknown as WasmHeapBackend;
const info = (t: tf.Tensor): tf.TensorInfo => ({ dataId: t.dataId, shape: t.shape, dtype: t.dtype });

/** The values of a kernel output made outside the engine (a copy), then its buffer freed. */
function take(output: tf.TensorInfo): Float32Array {
  const copy = Float32Array.from(wasmBackend().typedArrayFromHeap(output) as Float32Array);
  tf.backend().disposeData(output.dataId);
  return copy;
}

/** `actual` holds the same bits as `expected` (NaN payloads and the sign of zero included). */
function expectSameBits(actual: Float32Array, expected: Float32Array, name: string): void {
  expect(actual.length, name).toBe(expected.length);
  const [a, b] = [new Uint32Array(actual.buffer, actual.byteOffset, actual.length), new Uint32Array(expected.buffer, expected.byteOffset, expected.length)];
  const first = a.findIndex((bits, i) => bits !== b[i]);
  expect(first === -1 ? 'same' : `differs at ${first}: ${actual[first]} for ${expected[first]}`, name).toBe('same');
}

/** `run(jobs)`'s output on one job and on two are the same bits; returns them. */
function sameOnOneAndTwoJobs(run: (jobs: number) => tf.TensorInfo, name: string): Float32Array {
  const one = take(run(1));
  expectSameBits(take(run(2)), one, name);
  return one;
}

/**
 * Values rounded to quarters (ties in pooling windows) with NaN, -infinity and -0 sprinkled in, or
 * (special false) none of those: XNNPACK's pool, which takes the pools merge-train's kernels leave,
 * propagates NaN and may take +0 over an earlier -0, where cpu skips NaN and keeps the first.
 */
function poolInput(shape: readonly number[], seed: number, special = true): Float32Array {
  const rng = createRng(seed + 1000);
  return values(sizeOf(shape), seed).map((v) => {
    if (!special) return Math.round(4 * v) / 4 + 0;
    const u = rng();
    return u < 0.03 ? Number.NaN : u < 0.05 ? Number.NEGATIVE_INFINITY : Math.round(4 * v) / 4;
  });
}

describe('parallel passes of a conv training step on wasm', () => {
  beforeAll(async () => {
    expect(await selectBackend('cpu')).toBe('cpu');
    // Two threads: the kernels split their passes between them (this file runs in a process of its own).
    expect(await selectBackend('wasm', { threads: 2 })).toBe('wasm');
    expect(heapThreads(wasmBackend())).toBe(2);
  });

  const poolCases: { shape: Shape4; filter: number; stride: number; pad: 'same' | 'valid' | number; tiled: boolean }[] = [
    { shape: [32, 28, 28, 16], filter: 2, stride: 2, pad: 'valid', tiled: true }, // VGG's first pool (at batch 32)
    { shape: [6, 14, 14, 32], filter: 2, stride: 2, pad: 'valid', tiled: true },
    { shape: [5, 7, 9, 8], filter: 2, stride: 2, pad: 'valid', tiled: true }, // an odd last row and column
    { shape: [3, 6, 6, 4], filter: 2, stride: 2, pad: 'same', tiled: true }, // 'same' on even sizes pads nothing
    { shape: [3, 7, 7, 4], filter: 2, stride: 2, pad: 'same', tiled: false }, // windows past the input
    { shape: [4, 8, 8, 6], filter: 2, stride: 2, pad: 'valid', tiled: false }, // channels not in fours
    { shape: [9, 10, 10, 8], filter: 3, stride: 2, pad: 1, tiled: false }, // overlapping windows
  ];

  it('tells which pools the tiled kernels take', () => {
    for (const { shape, filter, stride, pad, tiled } of poolCases) {
      expect(isTiled2x2(poolInfo(shape, { filterSize: filter, strides: stride, pad })), `${shape} ${filter} ${stride} ${pad}`).toBe(tiled);
    }
  });

  it('max-pools and takes max-pool gradients as cpu does (ties, NaN, -infinity, odd sizes, overlapping windows)', async () => {
    const compute = (): Values =>
      tf.tidy(() => {
        const result: Values = {};
        poolCases.forEach(({ shape, filter, stride, pad, tiled }, i) => {
          const x = tf.tensor4d(poolInput(shape, 10 + i, tiled), shape);
          const weights = tf.tensor4d(values(sizeOf(tf.maxPool(x, filter, stride, pad).shape), 20 + i), tf.maxPool(x, filter, stride, pad).shape);
          result[`pool ${i}`] = tf.maxPool(x, filter, stride, pad).dataSync() as Float32Array;
          const gradient = tf.grad((input: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(input as tf.Tensor4D, filter, stride, pad), weights)));
          result[`gradient ${i}`] = gradient(x).dataSync() as Float32Array;
        });
        return result;
      });
    const { cpu, wasm } = await onBothBackends(compute);
    // Pooling and routing gradients only move values: the same bits, but where windows overlap and
    // gradients are summed (in another order than cpu's)
    const overlapping = poolCases.flatMap(({ filter, stride }, i) => (filter > stride ? [`gradient ${i}`] : []));
    for (const name of Object.keys(cpu)) if (!overlapping.includes(name)) expectSameBits(wasm[name]!, cpu[name]!, name);
    const pick = (all: Values) => Object.fromEntries(overlapping.map((name) => [name, all[name]!]));
    expectClose(pick(wasm), pick(cpu), 1e-6);
    await expectNoLeaksOnWasm(compute);
  });

  it('max-pools and routes gradients the same on one job and on two', async () => {
    await tf.setBackend('wasm');
    const before = live();
    for (const [i, { shape, filter, stride, pad, tiled }] of poolCases.entries()) {
      const x = tf.tensor4d(poolInput(shape, 30 + i), shape);
      const pool = poolInfo(shape, { filterSize: filter, strides: stride, pad });
      const dy = tf.tensor4d(values(sizeOf(pool.outShape), 40 + i), pool.outShape as Shape4);
      if (tiled) sameOnOneAndTwoJobs((jobs) => maxPool2x2(wasmBackend(), info(x), pool, jobs), `pool ${i}`);
      const dx = sameOnOneAndTwoJobs((jobs) => maxPoolGradient(wasmBackend(), info(dy), info(x), pool, jobs), `gradient ${i}`);
      expect(dx.some((v) => v !== 0), `case ${i}`).toBe(true);
      tf.dispose([x, dy]);
    }
    expect(live()).toEqual(before);
  });

  const sumShapes: number[][] = [
    [32, 28, 28, 16], // BatchNorm's statistics, VGG's first block (at batch 32)
    [32, 28, 28, 12], // ResNet's first stage: columns not in sixteens
    [100, 14, 14, 24],
    [64, 7, 7, 48],
    [37, 11, 13, 13], // odd everything
    [2000, 3],
    [9, 4000], // few rows, many columns
    [128, 10], // small: one part
  ];

  it('sums and averages over leading and middle axes as cpu does', async () => {
    const compute = (): Values =>
      tf.tidy(() => {
        const result: Values = {};
        sumShapes.forEach((shape, i) => {
          const x = tf.tensor(values(sizeOf(shape), 50 + i), shape);
          const leading = shape.slice(0, -1).map((_, a) => a);
          result[`sum ${shape}`] = tf.sum(x, leading).dataSync() as Float32Array;
          result[`mean ${shape}, kept`] = tf.mean(x, leading, true).dataSync() as Float32Array;
        });
        // Middle axes: global average pooling, and other runs that end before the last axis
        const pooled = tf.tensor4d(values(32 * 7 * 7 * 48, 58), [32, 7, 7, 48]);
        result['mean [1, 2] of [32, 7, 7, 48]'] = tf.mean(pooled, [1, 2]).dataSync() as Float32Array;
        result['mean [1, 2] of [128, 3, 3, 64], kept'] = tf.mean(tf.tensor4d(values(128 * 9 * 64, 59), [128, 3, 3, 64]), [-3, -2], true).dataSync() as Float32Array;
        const odd = tf.tensor(values(3 * 4 * 5 * 7, 57), [3, 4, 5, 7]);
        result['sum [2] of [3, 4, 5, 7]'] = tf.sum(odd, 2).dataSync() as Float32Array;
        result['sum [1, 2] of [3, 4, 5, 7]'] = tf.sum(odd, [2, 1]).dataSync() as Float32Array;
        result['sum [0, 2] of [3, 4, 5, 7] (not a run: the backend)'] = tf.sum(odd, [0, 2]).dataSync() as Float32Array;
        return result;
      });
    const { cpu, wasm } = await onBothBackends(compute);
    expectClose(wasm, cpu, 1e-5);
    await expectNoLeaksOnWasm(compute);
  });

  it('sums columns the same on one job and on two, close to a float64 sum', async () => {
    await tf.setBackend('wasm');
    const before = live();
    for (const [i, shape] of sumShapes.entries()) {
      const data = values(sizeOf(shape), 60 + i);
      const x = tf.tensor(data, shape);
      const columns = shape.at(-1)!;
      const rows = sizeOf(shape) / columns;
      const means = sameOnOneAndTwoJobs((jobs) => sumColumns(wasmBackend(), info(x), [columns], rows, jobs), `${shape}`);
      const exact = new Float64Array(columns);
      data.forEach((v, k) => (exact[k % columns]! += v / rows));
      for (let j = 0; j < columns; j++) expect(Math.abs(means[j]! - exact[j]!), `${shape} column ${j}`).toBeLessThan(1e-5);
      x.dispose();
    }
    expect(live()).toEqual(before);
  });

  it('recognises broadcasts over middle axes, and only those', () => {
    expect(middleBroadcast([128, 3, 3, 64], [128, 1, 1, 64])).toEqual({ outer: 128, middle: 9, inner: 64 });
    expect(middleBroadcast([128, 10], [128, 1])).toEqual({ outer: 128, middle: 10, inner: 1 });
    expect(middleBroadcast([4, 5, 6, 7], [4, 5, 1, 7])).toEqual({ outer: 20, middle: 6, inner: 7 });
    expect(middleBroadcast([4, 1, 6, 7], [4, 1, 1, 1])).toEqual({ outer: 4, middle: 42, inner: 1 });
    expect(middleBroadcast([4, 5, 6], [5, 1])).toBeUndefined(); // one outer index: a row vector's case
    expect(middleBroadcast([128, 3, 3, 64], [64])).toBeUndefined();
    expect(middleBroadcast([128, 3, 3, 64], [128, 3, 3, 64])).toBeUndefined(); // no broadcast
    expect(middleBroadcast([4, 5, 6], [4, 1, 6, 1])).toBeUndefined(); // v has more axes
    expect(middleBroadcast([4, 5, 6], [1, 5, 1])).toBeUndefined(); // broadcast at both ends
    expect(middleBroadcast([4, 1, 6], [4, 5, 6])).toBeUndefined(); // x broadcasts, not v
    expect(middleBroadcast([4, 5, 6, 7], [4, 1, 6, 1])).toBeUndefined(); // two separate broadcasts
  });

  it('adds, subtracts and multiplies across middle-axis broadcasts as cpu does, bit for bit', async () => {
    const pairs: [number[], number[]][] = [
      [[128, 1, 1, 64], [128, 3, 3, 64]], // the gradient of VGG's global average pool
      [[32, 7, 7, 48], [32, 1, 1, 48]], // ResNet's (at batch 32)
      [[128, 1], [128, 10]], // per-row scalars (softmax's cross-entropy gradient)
      [[7, 13], [7, 1]],
      [[5, 1, 1, 6], [5, 3, 2, 6]], // channels not in fours
      [[3, 4, 1, 5], [3, 4, 9, 5]],
      [[3, 1, 1, 1], [3, 2, 3, 1]],
    ];
    const compute = (): Values =>
      tf.tidy(() => {
        const result: Values = {};
        pairs.forEach(([aShape, bShape], i) => {
          const a = tf.tensor(values(sizeOf(aShape), 70 + i), aShape);
          const b = tf.tensor(values(sizeOf(bShape), 80 + i), bShape);
          result[`${aShape} * ${bShape}`] = tf.mul(a, b).dataSync() as Float32Array;
          result[`${aShape} + ${bShape}`] = tf.add(a, b).dataSync() as Float32Array;
          result[`${aShape} - ${bShape}`] = tf.sub(a, b).dataSync() as Float32Array;
          result[`${bShape} - ${aShape}`] = tf.sub(b, a).dataSync() as Float32Array;
        });
        return result;
      });
    const { cpu, wasm } = await onBothBackends(compute);
    for (const name of Object.keys(cpu)) expectSameBits(wasm[name]!, cpu[name]!, name);
    await expectNoLeaksOnWasm(compute);
  });

  it('broadcasts over middle axes the same on one job and on two', async () => {
    await tf.setBackend('wasm');
    const before = live();
    const x = tf.tensor4d(values(128 * 7 * 7 * 48, 90), [128, 7, 7, 48]);
    const v = tf.tensor4d(values(128 * 48, 91), [128, 1, 1, 48]);
    const shape = middleBroadcast(x.shape, v.shape)!;
    for (const op of [0, 1, 2, 3]) sameOnOneAndTwoJobs((jobs) => broadcastMiddleOp(wasmBackend(), info(x), info(v), shape, op, jobs), `op ${op}`);
    tf.dispose([x, v]);
    expect(live()).toEqual(before);
  });

  it('writes the phases of a strided input gradient into place, on one job as on two', async () => {
    await tf.setBackend('wasm');
    const before = live();
    // dx [3, 9, 8, 5] from 2 x 3 phases of [3, 5, 4, 5] starting one row above and two columns left of dx
    const dxShape: Shape4 = [3, 9, 8, 5];
    const [sh, sw, q, q2, cropH, cropW] = [2, 3, 5, 4, 1, 2];
    const phases = Array.from({ length: sh * sw }, (_, p) => (p === 4 ? undefined : tf.tensor4d(values(3 * q * q2 * 5, 100 + p), [3, q, q2, 5])));
    const want = new Float32Array(sizeOf(dxShape)).fill(Number.NaN);
    phases.forEach((phase, p) => {
      const data = phase?.dataSync();
      for (let n = 0; n < 3; n++) {
        for (let k = 0; k < q; k++) {
          for (let k2 = 0; k2 < q2; k2++) {
            const h = k * sh + Math.floor(p / sw) - cropH;
            const w = k2 * sw + (p % sw) - cropW;
            if (h < 0 || h >= dxShape[1] || w < 0 || w >= dxShape[2]) continue;
            for (let c = 0; c < 5; c++) want[((n * dxShape[1] + h) * dxShape[2] + w) * 5 + c] = data ? data[((n * q + k) * q2 + k2) * 5 + c]! : 0;
          }
        }
      }
    });
    expect(want.some(Number.isNaN)).toBe(false); // the phases cover dx
    const layout = { strides: [sh, sw] as [number, number], phaseRows: q, phaseColumns: q2, crop: [cropH, cropW] as [number, number] };
    const pieces = phases.map((t) => (t ? info(t) : undefined));
    const got = sameOnOneAndTwoJobs((jobs) => interleavePhases(wasmBackend(), pieces, dxShape, layout, jobs), 'dx');
    expectSameBits(got, want, 'dx');
    expect(() => interleavePhases(wasmBackend(), pieces.slice(1), dxShape, layout)).toThrow('interleavePhases: 5 pieces for strides [2,3]');
    tf.dispose(phases.filter((t) => t !== undefined));
    expect(live()).toEqual(before);
  });

  it('gives the input gradients of ResNet-sized stride-2 convolutions that cpu gives', async () => {
    const cases: { x: Shape4; filter: Shape4; pad: 'same' | 'valid' }[] = [
      { x: [16, 28, 28, 12], filter: [3, 3, 12, 24], pad: 'same' },
      { x: [16, 28, 28, 12], filter: [1, 1, 12, 24], pad: 'same' },
      { x: [8, 15, 15, 6], filter: [3, 3, 6, 4], pad: 'valid' },
    ];
    const compute = (): Values =>
      tf.tidy(() =>
        Object.fromEntries(
          cases.map(({ x, filter, pad }, i) => {
            const input = tf.tensor4d(values(sizeOf(x), 110 + i), x);
            const w = tf.tensor4d(values(sizeOf(filter), 120 + i), filter);
            const out = tf.conv2d(input, w, 2, pad);
            const dy = tf.tensor4d(values(sizeOf(out.shape), 130 + i), out.shape);
            const dx = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, w, 2, pad), dy)))(input);
            return [`${x} ${filter} ${pad}`, dx.dataSync() as Float32Array];
          }),
        ),
      );
    const { cpu, wasm } = await onBothBackends(compute);
    expectClose(wasm, cpu, 1e-5);
    await expectNoLeaksOnWasm(compute);
  });
});
