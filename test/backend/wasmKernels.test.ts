import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/backend/selectBackend.js';
import { MOMENTUM_KERNEL } from '../../src/train/momentumOptimizer.js';
import { MomentumOptimizer } from '../../src/train/momentumOptimizer.js';
import { expectClose, expectNoLeaksOnWasm, live, onBothBackends, sizeOf, values, type Values } from './backendComparison.js';

/**
 * merge-train's own 'wasm' kernels (src/backend/wasmFastPaths.ts): Conv2DBackpropFilter (missing from
 * tfjs-backend-wasm 4.22), Conv2DBackpropInput and BatchMatMul (replacing slow ones) must give what
 * the 'cpu' backend gives, to float tolerance, without leaking, and leave the cpu kernels alone.
 */

type Pad = 'same' | 'valid' | number | [[number, number], [number, number], [number, number], [number, number]];

/** Gradients of sum(conv2d(x, w) * dy) with respect to x and w, read back; disposes everything it made. */
function convGradients(xShape: number[], filterShape: number[], strides: number | [number, number], pad: Pad, seed: number): Values {
  return tf.tidy(() => {
    const x = tf.tensor4d(values(sizeOf(xShape), seed), xShape as [number, number, number, number]);
    const w = tf.tensor4d(values(sizeOf(filterShape), seed + 1), filterShape as [number, number, number, number]);
    const outShape = tf.conv2d(x, w, strides, pad).shape;
    const dy = tf.tensor4d(values(sizeOf(outShape), seed + 2), outShape);
    const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, strides, pad), dy)))([x, w]);
    return { dx: dx!.dataSync() as Float32Array, dw: dw!.dataSync() as Float32Array };
  });
}

const convCases: { name: string; x: number[]; filter: number[]; strides: number | [number, number]; pad: Pad }[] = [
  { name: '3x3 same stride 1', x: [2, 8, 8, 3], filter: [3, 3, 3, 5], strides: 1, pad: 'same' },
  // Positions enough for every part of the filter gradient to span several blocks of 384, and
  // channels in fours (the patches packed a vector at a time) with more than 8 output channels.
  { name: '3x3 same stride 1, 4096 positions, 8 -> 12 channels', x: [4, 32, 32, 8], filter: [3, 3, 8, 12], strides: 1, pad: 'same' },
  { name: '3x3 same stride 2', x: [3, 8, 8, 4], filter: [3, 3, 4, 6], strides: 2, pad: 'same' },
  { name: '3x3 same stride 2, odd size', x: [2, 9, 7, 4], filter: [3, 3, 4, 3], strides: 2, pad: 'same' },
  { name: '1x1 stride 2 (ResNet shortcut)', x: [2, 8, 8, 4], filter: [1, 1, 4, 8], strides: 2, pad: 'same' },
  { name: '1x1 stride 2, odd size, valid', x: [2, 7, 9, 3], filter: [1, 1, 3, 2], strides: 2, pad: 'valid' },
  { name: '1x1 stride 1', x: [2, 5, 6, 3], filter: [1, 1, 3, 4], strides: 1, pad: 'valid' },
  { name: '5x5 valid', x: [2, 11, 10, 3], filter: [5, 5, 3, 4], strides: 1, pad: 'valid' },
  { name: '5x5 same, odd size', x: [2, 9, 11, 2], filter: [5, 5, 2, 3], strides: 1, pad: 'same' },
  { name: '3x3 valid stride 2 with unused last row/column', x: [2, 10, 10, 3], filter: [3, 3, 3, 4], strides: 2, pad: 'valid' },
  { name: 'batch 1, Cin > Cout', x: [1, 7, 7, 6], filter: [3, 3, 6, 2], strides: 1, pad: 'same' },
  { name: 'batch 7, 3x3 same stride 2', x: [7, 5, 5, 3], filter: [3, 3, 3, 2], strides: 2, pad: 'same' },
  { name: '2x2 same stride 2', x: [2, 9, 9, 3], filter: [2, 2, 3, 4], strides: 2, pad: 'same' },
  { name: 'non-square filter and strides [2, 3]', x: [2, 10, 11, 3], filter: [4, 3, 3, 2], strides: [2, 3], pad: 'valid' },
  { name: 'stride 3 same', x: [2, 12, 11, 3], filter: [3, 3, 3, 4], strides: 3, pad: 'same' },
  { name: 'numeric pad 1', x: [1, 6, 6, 2], filter: [3, 3, 2, 3], strides: 1, pad: 1 },
  { name: 'numeric pad larger than the filter', x: [2, 5, 5, 2], filter: [3, 3, 2, 2], strides: 1, pad: 4 },
  { name: 'numeric pad 2, stride 2', x: [2, 6, 7, 2], filter: [3, 3, 2, 3], strides: 2, pad: 2 },
  {
    name: 'explicit asymmetric pad, stride 2',
    x: [1, 7, 8, 2],
    filter: [3, 3, 2, 2],
    strides: 2,
    pad: [[0, 0], [2, 0], [0, 3], [0, 0]],
  },
];

describe("merge-train's wasm kernels", () => {
  let cpuKernels: Record<string, tf.KernelFunc | undefined>;

  beforeAll(async () => {
    expect(await selectBackend('cpu')).toBe('cpu');
    const names = ['Conv2DBackpropFilter', 'Conv2DBackpropInput', 'BatchMatMul'];
    cpuKernels = Object.fromEntries(names.map((n) => [n, tf.getKernel(n, 'cpu')?.kernelFunc]));
    expect(await selectBackend('wasm')).toBe('wasm'); // installs the wasm kernels
  });

  it('registers Conv2DBackpropFilter for wasm and leaves the cpu kernels untouched', () => {
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeDefined();
    for (const [name, func] of Object.entries(cpuKernels)) {
      expect(func, name).toBeDefined();
      expect(tf.getKernel(name, 'cpu')?.kernelFunc, name).toBe(func);
    }
  });

  describe('conv2d gradients (filter and input) agree with cpu', () => {
    convCases.forEach(({ name, x, filter, strides, pad }, i) => {
      it(name, async () => {
        const { cpu, wasm } = await onBothBackends(() => convGradients(x, filter, strides, pad, 100 * i));
        expectClose(wasm, cpu);
      });
    });
  });

  it('computes conv gradients without leaking tensors or backend buffers', async () => {
    await tf.setBackend('wasm');
    const before = live();
    for (const { x, filter, strides, pad } of convCases) convGradients(x, filter, strides, pad, 1);
    const grads = tf.tidy(() => {
      const x = tf.tensor4d(values(2 * 8 * 8 * 3, 5), [2, 8, 8, 3]);
      const w = tf.variable(tf.tensor4d(values(3 * 3 * 3 * 4, 6), [3, 3, 3, 4]));
      const out = tf.variableGrads(() => tf.sum(tf.conv2d(x, w, 2, 'same')), [w]);
      w.dispose();
      return out;
    });
    tf.dispose([grads.value, ...Object.values(grads.grads)]);
    expect(live()).toEqual(before);
  });

  it('gives the parameter gradients of a small conv net that cpu gives', async () => {
    // conv 3x3 same -> relu -> maxPool 2 -> conv 3x3 stride 2 (+ 1x1 stride 2 shortcut) -> mean over H, W -> dense -> cross-entropy
    const shapes: Record<string, number[]> = {
      w1: [3, 3, 3, 8],
      b1: [8],
      w2: [3, 3, 8, 6],
      shortcut: [1, 1, 8, 6],
      wd: [6, 4],
      bd: [4],
    };
    const compute = (): Values => {
      const names = Object.keys(shapes);
      const vars = Object.fromEntries(names.map((n, i) => [n, tf.variable(tf.mul(tf.tensor(values(sizeOf(shapes[n]!), 40 + i), shapes[n]), 0.5), true, `${n}_${tf.getBackend()}`)]));
      const before = live();
      const { value, grads } = tf.variableGrads(() => {
        const x = tf.tensor4d(values(7 * 11 * 11 * 3, 7), [7, 11, 11, 3]);
        const labels = tf.oneHot(tf.tensor1d([0, 1, 2, 3, 0, 1, 2], 'int32'), 4);
        let h = tf.relu(tf.add(tf.conv2d(x, vars.w1 as tf.Tensor4D, 1, 'same'), vars.b1!)) as tf.Tensor4D;
        h = tf.maxPool(h, 2, 2, 'valid');
        h = tf.relu(tf.add(tf.conv2d(h, vars.w2 as tf.Tensor4D, 2, 'same'), tf.conv2d(h, vars.shortcut as tf.Tensor4D, 2, 'same'))) as tf.Tensor4D;
        const logits = tf.add(tf.matMul(tf.mean(h, [1, 2]) as tf.Tensor2D, vars.wd as tf.Tensor2D), vars.bd!);
        return tf.neg(tf.mean(tf.sum(tf.mul(tf.logSoftmax(logits), labels), 1))) as tf.Scalar;
      });
      const out: Values = { loss: value.dataSync() as Float32Array };
      for (const n of names) out[n] = grads[`${n}_${tf.getBackend()}`]!.dataSync() as Float32Array;
      tf.dispose([value, ...Object.values(grads)]);
      expect(live()).toEqual(before);
      tf.dispose(Object.values(vars));
      return out;
    };
    const { cpu, wasm } = await onBothBackends(compute);
    expectClose(wasm, cpu);
  });

  it('computes matMul (transposed operands, batches, K blocks, tile edges) as cpu does', async () => {
    const cases: [number[], number[], boolean, boolean][] = [
      [[13, 7], [7, 5], false, false],
      [[7, 13], [7, 5], true, false],
      [[13, 7], [5, 7], false, true],
      [[7, 13], [5, 7], true, true],
      [[3, 6, 4], [3, 6, 5], true, false],
      [[3, 4, 6], [3, 5, 6], false, true],
      [[2, 6, 4], [2, 5, 6], true, true],
      // One side's batch broadcast against the other's.
      [[1, 40, 30], [4, 40, 2], true, false],
      [[3, 2, 8], [30, 8], false, true],
      [[1, 1, 5, 7], [3, 7, 9], false, false],
      // Sizes past the gemm's blocks: K over 384 steps (two blocks), M over 128 rows, N past whole
      // panels of 8, and products big enough to be split between threads, by columns or by rows.
      [[131, 801], [801, 67], false, false],
      [[801, 131], [67, 801], true, true],
      [[300, 64], [64, 520], false, false],
      [[200, 900], [200, 12], true, false],
    ];
    const compute = (): Values =>
      tf.tidy(() =>
        Object.fromEntries(
          cases.map(([aShape, bShape, transposeA, transposeB], i) => {
            const a = tf.tensor(values(sizeOf(aShape), 10 + i), aShape);
            const b = tf.tensor(values(sizeOf(bShape), 20 + i), bShape);
            return [`${i}`, tf.matMul(a, b, transposeA, transposeB).dataSync() as Float32Array];
          }),
        ),
      );
    const { cpu, wasm } = await onBothBackends(compute);
    expectClose(wasm, cpu, 1e-5);
    await expectNoLeaksOnWasm(compute);
  });

  it('computes fused matMul (bias, ReLU, other activations), per-channel add, subtract and multiply, and ReLU as cpu does', async () => {
    const compute = (): Values =>
      tf.tidy(() => {
        const x = tf.tensor2d(values(129 * 70, 60), [129, 70]);
        const w = tf.tensor2d(values(70 * 45, 61), [70, 45]);
        const wT = tf.tensor2d(values(45 * 70, 62), [45, 70]);
        const bias = tf.tensor1d(values(45, 63));
        const read = (t: tf.Tensor) => t.dataSync() as Float32Array;
        const withNaN = tf.tensor1d([-1, 0, 2, Number.NaN, -0.5, 3]);
        return {
          'fused, bias, relu': read(tf.fused.matMul({ a: x, b: w, bias, activation: 'relu' })),
          'fused, transposed, bias': read(tf.fused.matMul({ a: x, b: wT, transposeB: true, bias })),
          'fused, no bias, relu': read(tf.fused.matMul({ a: x, b: w, activation: 'relu' })),
          'fused, bias [1, 45], elu (backend kernel)': read(tf.fused.matMul({ a: x, b: w, bias: tf.reshape(bias, [1, 45]), activation: 'elu' })),
          'bias added to rows': read(tf.add(tf.matMul(x, w), bias)),
          'rows added to bias': read(tf.add(bias, tf.matMul(x, w))),
          'bias added to pixels': read(tf.add(tf.reshape(tf.matMul(x, w), [3, 43, 1, 45]), tf.reshape(bias, [1, 1, 45]))),
          'shift subtracted from pixels': read(tf.sub(tf.reshape(tf.matMul(x, w), [3, 43, 1, 45]), bias)),
          'pixels subtracted from shift': read(tf.sub(bias, tf.reshape(tf.matMul(x, w), [3, 43, 1, 45]))),
          'pixels scaled': read(tf.mul(tf.reshape(tf.matMul(x, w), [3, 43, 1, 45]), bias)),
          'scale times pixels, odd width': read(tf.mul(tf.tensor1d(values(7, 64)), tf.tensor2d(values(5 * 7, 65), [5, 7]))),
          'other broadcast': read(tf.add(tf.ones([3, 1]), tf.ones([1, 4]))),
          'other broadcast, sub': read(tf.sub(tf.ones([3, 1]), tf.tensor2d([[1, 2, 3, 4]]))),
          relu: read(tf.relu(tf.matMul(x, w))),
          'relu keeps NaN': Float32Array.from(read(tf.relu(withNaN)), (v) => (Number.isNaN(v) ? 99 : v)),
        };
      });
    const { cpu, wasm } = await onBothBackends(compute);
    expectClose(wasm, cpu, 1e-5);
    await expectNoLeaksOnWasm(compute);
  });

  it('gathers rows (and everything else) as cpu does, and refuses an index out of range', async () => {
    const compute = (): Values =>
      tf.tidy(() => {
        const x = tf.tensor(values(7 * 3 * 2, 30), [7, 3, 2]);
        const ints = tf.tensor1d([5, -2, 7, 1, 0, 9, 3], 'int32');
        const rows = tf.tensor1d([6, 0, 0, 3, 5], 'int32');
        return {
          rows: tf.gather(x, rows).dataSync() as Float32Array,
          lastAxisAsFirst: tf.gather(x, rows, -3).dataSync() as Float32Array,
          intRows: Float32Array.from(tf.gather(ints, rows).dataSync()),
          empty: Float32Array.from([tf.gather(x, tf.tensor1d([], 'int32')).size + 1]),
          axis1: tf.gather(x, tf.tensor1d([2, 0], 'int32'), 1).dataSync() as Float32Array,
          matrixOfIndices: tf.gather(x, tf.tensor2d([[1, 2], [6, 6]], [2, 2], 'int32')).dataSync() as Float32Array,
        };
      });
    const { cpu, wasm } = await onBothBackends(compute);
    expectClose(wasm, cpu, 0);
    const before = await expectNoLeaksOnWasm(compute);
    expect(() => tf.tidy(() => tf.gather(tf.zeros([3, 2]), tf.tensor1d([1, 3], 'int32')))).toThrow(/index value 3 is not in \[0, 2\]/);
    expect(live()).toEqual(before);
  });

  it('transposes matrices and sums over leading axes as cpu does', async () => {
    const compute = (): Values =>
      tf.tidy(() => {
        const result: Values = {};
        result['transpose of nothing'] = Float32Array.from(tf.transpose(tf.zeros([0, 4])).shape, (d) => d + 1);
        for (const shape of [[5, 7], [8, 12], [33, 70], [3, 36, 9], [1, 6]]) {
          const perm = shape.map((_, i) => i);
          [perm[perm.length - 2], perm[perm.length - 1]] = [perm[perm.length - 1]!, perm[perm.length - 2]!];
          result[`transpose ${shape}`] = tf.transpose(tf.tensor(values(sizeOf(shape), 40), shape), perm).dataSync() as Float32Array;
        }
        const ints = tf.tensor(Int32Array.from(values(6 * 10, 41), (v) => Math.round(10 * v)), [6, 10], 'int32');
        result['transpose int32'] = Float32Array.from(tf.transpose(ints).dataSync());
        result['other permutation'] = tf.transpose(tf.tensor(values(24, 42), [2, 3, 4]), [1, 0, 2]).dataSync() as Float32Array;
        const x = tf.tensor(values(2 * 5 * 6 * 7, 43), [2, 5, 6, 7]);
        result['sum [0,1,2]'] = tf.sum(x, [0, 1, 2]).dataSync() as Float32Array;
        result['sum negative axes, kept'] = tf.sum(x, [-4, -3, -2], true).dataSync() as Float32Array;
        result['sum rows'] = tf.sum(tf.tensor(values(128 * 37, 44), [128, 37]), 0).dataSync() as Float32Array;
        result['sum last axis'] = tf.sum(tf.tensor(values(30, 45), [5, 6]), 1).dataSync() as Float32Array;
        result['mean [0,1,2]'] = tf.mean(x, [0, 1, 2]).dataSync() as Float32Array;
        result['mean rows, kept'] = tf.mean(tf.tensor(values(128 * 37, 48), [128, 37]), 0, true).dataSync() as Float32Array;
        result['mean last axis'] = tf.mean(tf.tensor(values(30, 49), [5, 6]), -1).dataSync() as Float32Array;
        result['sum of all'] = tf.sum(tf.tensor(values(30, 46), [5, 6])).dataSync() as Float32Array;
        result['sum of all, one column'] = tf.sum(tf.tensor(values(5, 47), [5, 1])).dataSync() as Float32Array;
        return result;
      });
    const { cpu, wasm } = await onBothBackends(compute);
    expectClose(wasm, cpu, 1e-6);
    for (const name of Object.keys(cpu).filter((n) => n.startsWith('transpose'))) expect(wasm[name], name).toEqual(cpu[name]);
    await expectNoLeaksOnWasm(compute);
  });

  it('computes max-pool gradients as cpu does (ties, padding, overlapping windows, odd sizes)', async () => {
    const cases: { shape: [number, number, number, number]; filter: number | [number, number]; stride: number | [number, number]; pad: 'same' | 'valid' | number }[] = [
      { shape: [2, 8, 8, 8], filter: 2, stride: 2, pad: 'valid' }, // the SIMD 2x2 path
      { shape: [2, 7, 9, 4], filter: 2, stride: 2, pad: 'valid' }, // the same, with an uncovered last row and column
      { shape: [2, 8, 8, 5], filter: 2, stride: 2, pad: 'valid' },
      { shape: [2, 7, 7, 3], filter: 2, stride: 2, pad: 'valid' },
      { shape: [1, 7, 9, 4], filter: 2, stride: 2, pad: 'same' },
      { shape: [2, 6, 6, 3], filter: 3, stride: 1, pad: 'same' },
      { shape: [1, 9, 8, 2], filter: 3, stride: 2, pad: 1 },
    ];
    const compute = (): Values =>
      tf.tidy(() => {
        const result: Values = {};
        cases.forEach(({ shape, filter, stride, pad }, i) => {
          // Rounded values make ties, which must go to the same (first) position as on cpu.
          const x = tf.tensor4d(values(sizeOf(shape), 70 + i).map((v) => Math.round(4 * v) / 4), shape);
          const weights = tf.tensor4d(values(sizeOf(shape), 80 + i), shape);
          const gradient = tf.grad((input: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(input as tf.Tensor4D, filter, stride, pad), tf.maxPool(weights, filter, stride, pad))));
          result[`case ${i}`] = gradient(x).dataSync() as Float32Array;
        });
        return result;
      });
    const { cpu, wasm } = await onBothBackends(compute);
    expectClose(wasm, cpu, 1e-6);
    await expectNoLeaksOnWasm(compute);
  });

  it('steps SGD with momentum as tf.train.momentum does, bit for bit, and resumes from either one\'s weights', async () => {
    const optimizers: Record<string, () => tf.Optimizer> = { tfjs: () => tf.train.momentum(0.05, 0.9), ours: () => new MomentumOptimizer(0.05, 0.9) };
    const compute = async (): Promise<Values> => {
      const start = [tf.tensor(values(35, 50), [7, 5]), tf.tensor(values(13, 51), [13])];
      const train = (optimizer: tf.Optimizer, vars: tf.Variable[], steps: number[]) => {
        for (const step of steps) {
          const gradients = Object.fromEntries(vars.map((v, i) => [v.name, tf.tensor(values(v.size, 60 + 10 * step + i), v.shape)]));
          optimizer.applyGradients(gradients);
          tf.dispose(Object.values(gradients));
        }
      };
      const results: Values = {};
      // Two steps with one optimizer, then two more with one restored from its weights.
      for (const [first, second] of [['tfjs', 'tfjs'], ['ours', 'ours'], ['ours', 'tfjs'], ['tfjs', 'ours']] as const) {
        const vars = start.map((t) => tf.variable(t.clone()));
        const a = optimizers[first]!();
        train(a, vars, [0, 1]);
        const copies = (await a.getWeights()).map(({ name, tensor }) => ({ name, tensor: tensor.clone() }));
        a.dispose();
        const b = optimizers[second]!();
        await b.setWeights(copies);
        tf.dispose(copies.map((c) => c.tensor));
        train(b, vars, [2, 3]);
        results[`${first} then ${second}`] = Float32Array.from(vars.flatMap((v) => Array.from(v.dataSync())));
        b.dispose();
        tf.dispose(vars);
      }
      tf.dispose(start);
      return results;
    };
    expect(await tf.setBackend('cpu')).toBe(true);
    const cpu = await compute();
    expect(await tf.setBackend('wasm')).toBe(true);
    expect(tf.getKernel(MOMENTUM_KERNEL, 'wasm')).toBeDefined();
    const wasm = await compute();
    for (const results of [cpu, wasm]) for (const values of Object.values(results)) expect(values).toEqual(results['tfjs then tfjs']);
    expect(wasm['ours then ours']).toEqual(cpu['ours then ours']);
  });

  it('shares data for Identity and same-dtype Cast: values kept after the source is disposed, memory freed with the last reference', async () => {
    await tf.setBackend('wasm');
    const before = live();
    const x = tf.tensor2d([[1, -2], [3, 4.5]]);
    const copies = [tf.engine().runKernel('Identity', { x }) as tf.Tensor, tf.cast(x, 'float32'), x.clone()];
    const ints = tf.tensor1d([1, 2], 'int32');
    const widened = tf.cast(ints, 'float32');
    x.dispose();
    for (const copy of copies) expect(Array.from(copy.dataSync())).toEqual([1, -2, 3, 4.5]);
    expect(widened.dtype).toBe('float32');
    expect(Array.from(widened.dataSync())).toEqual([1, 2]);
    tf.dispose([...copies, widened, ints]);
    expect(live()).toEqual(before);
  });

  it('slices contiguous ranges (batches of rows) and strided ones as cpu does, without leaking', async () => {
    const slices = (): Values =>
      tf.tidy(() => {
        const x = tf.tensor3d(values(7 * 5 * 3, 9), [7, 5, 3]);
        return {
          rows: tf.slice(x, [2, 0, 0], [4, 5, 3]).dataSync() as Float32Array,
          within: tf.slice(x, [3, 1, 0], [1, 3, 3]).dataSync() as Float32Array,
          strided: tf.slice(x, [1, 1, 1], [5, 3, 2]).dataSync() as Float32Array,
        };
      });
    const { cpu, wasm } = await onBothBackends(slices);
    for (const name of Object.keys(cpu)) expect(wasm[name], name).toEqual(cpu[name]);
    await expectNoLeaksOnWasm(slices);
  });

  it('refuses NCHW with a clear error', async () => {
    await tf.setBackend('wasm');
    const before = live();
    const x = tf.zeros([1, 2, 5, 5]);
    const dy = tf.zeros([1, 3, 5, 5]);
    const filter = tf.zeros([3, 3, 2, 3]);
    expect(() =>
      tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: 1, pad: 'same', dataFormat: 'NCHW', filterShape: [3, 3, 2, 3] }),
    ).toThrow(/supports only dataFormat 'NHWC'/);
    expect(() =>
      tf.engine().runKernel('Conv2DBackpropInput', { dy, filter }, { strides: 1, pad: 'same', dataFormat: 'NCHW', inputShape: [1, 2, 5, 5] }),
    ).toThrow(/supports only dataFormat 'NHWC'/);
    tf.dispose([x, dy, filter]);
    expect(live()).toEqual(before);
  });
});
