import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { heapThreads } from '../../src/backend/heapWorkers.js';
import type { WasmHeapBackend } from '../../src/backend/heapKernels.js';
import { selectBackend } from '../../src/backend/selectBackend.js';
import { BATCH_NORM_GRAD_KERNEL, BATCH_NORM_KERNEL, batchNormTraining, hasBatchNormKernels } from '../../src/nn/batchNormKernels.js';
import { batchNorm, batchNormNames, batchNormRelu, conv2d, dense, globalAveragePool } from '../../src/nn/layers.js';
import { initParams } from '../../src/nn/init.js';
import { crossEntropy } from '../../src/nn/loss.js';
import type { ForwardContext, ParamMap } from '../../src/nn/spec.js';
import { vggSpec } from '../../src/nn/vgg.js';
import { normalInputs } from '../nn/helpers.js';
import { expectClose, live, onBothBackends, sizeOf, type Values } from './backendComparison.js';

/**
 * Training-mode BatchNorm (and its fused ReLU) as merge-train's wasm kernels (src/backend/wasmBatchNorm.ts)
 * must give what the cpu backend's composition of tf ops gives, forward and backward, to float
 * tolerance; the same bits on one thread as on two; and leave nothing alive.
 */

const EPSILON = 1e-5;

/**
 * Training-mode BatchNorm's output, reported mean and variance, and gradients of sum(y * dy) for x,
 * gamma and beta, on the current backend; x's channels have means up to `offset` (standard deviation
 * about 1) away from 0, where the statistics' numerics show.
 */
function batchNormResults(shape: number[], relu: boolean, seed: number, offset = 3): Values {
  return tf.tidy(() => {
    const channels = shape[shape.length - 1]!;
    const offsets = tf.tensor1d(Float32Array.from({ length: channels }, (_, j) => offset * Math.sin(j + seed)));
    const x = tf.add(tf.tensor(normalInputs(sizeOf(shape), 1, seed), shape), offsets);
    const gamma = tf.tensor1d(normalInputs(channels, 1, seed + 1, 1));
    const beta = tf.tensor1d(normalInputs(channels, 1, seed + 2));
    const dy = tf.tensor(normalInputs(sizeOf(shape), 1, seed + 3), shape);
    const stats: tf.Tensor[] = [];
    const forward = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => batchNormTraining(a, g, b, EPSILON, relu, (mean, variance) => stats.push(tf.keep(mean), tf.keep(variance)));
    const { value, grads } = tf.valueAndGrads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(forward(a, g, b), dy)))([x, gamma, beta]);
    const y = forward(x, gamma, beta);
    const results = {
      y: y.dataSync() as Float32Array,
      value: value.dataSync() as Float32Array,
      mean: stats[0]!.dataSync() as Float32Array,
      variance: stats[1]!.dataSync() as Float32Array,
      dx: grads[0]!.dataSync() as Float32Array,
      dgamma: grads[1]!.dataSync() as Float32Array,
      dbeta: grads[2]!.dataSync() as Float32Array,
    };
    tf.dispose(stats); // kept: made inside the gradient's own scope
    return results;
  });
}

/** The two kernels' outputs on the current (wasm) backend with `jobs` threads. */
function kernelOutputs(shape: number[], relu: boolean, jobs: number): Float32Array[] {
  return tf.tidy(() => {
    const channels = shape[shape.length - 1]!;
    const x = tf.tensor(normalInputs(sizeOf(shape), 1, 7, 0.5), shape);
    const gamma = tf.tensor1d(normalInputs(channels, 1, 8, 1));
    const beta = tf.tensor1d(normalInputs(channels, 1, 9));
    const dy = tf.tensor(normalInputs(sizeOf(shape), 1, 10), shape);
    const forward = tf.engine().runKernel(BATCH_NORM_KERNEL, { x, gamma, beta }, { epsilon: EPSILON, relu, jobs }) as tf.Tensor[];
    const [, mean, , inverseStd] = forward;
    const backward = tf.engine().runKernel(BATCH_NORM_GRAD_KERNEL, { x, dy, mean: mean!, inverseStd: inverseStd!, gamma, beta }, { relu, jobs }) as tf.Tensor[];
    return [...forward, ...backward].map((t) => t.dataSync() as Float32Array);
  });
}

describe("merge-train's wasm BatchNorm kernels", () => {
  beforeAll(async () => {
    expect(await selectBackend('cpu')).toBe('cpu');
    expect(hasBatchNormKernels()).toBe(false);
    // Two threads: the kernels split their passes between them (this file runs in a process of its own).
    expect(await selectBackend('wasm', { threads: 2 })).toBe('wasm');
    expect(hasBatchNormKernels()).toBe(true);
  });

  const shapes = [[5, 1], [7, 3], [37, 5], [3, 5, 7, 16], [2, 6, 3, 18], [4, 5, 7, 48], [8, 17, 13, 12]];
  for (const relu of [false, true]) {
    for (const [i, shape] of shapes.entries()) {
      it(`agrees with cpu's ops${relu ? ' and ReLU' : ''}, shape [${shape}]`, async () => {
        const { cpu, wasm } = await onBothBackends(() => batchNormResults(shape, relu, 10 * i + (relu ? 5 : 0)));
        expectClose(wasm, cpu, 2e-5);
      });
    }
  }

  it('runs as its two kernels on wasm, in place of the ops and the ReLU', async () => {
    await selectBackend('wasm');
    const profile = await tf.profile(() => {
      batchNormResults([2, 4, 4, 8], true, 3);
    });
    const names = new Set(profile.kernels.map((k) => k.name));
    expect(names).toContain(BATCH_NORM_KERNEL);
    expect(names).toContain(BATCH_NORM_GRAD_KERNEL);
    for (const replaced of ['Rsqrt', 'Relu', 'Step']) expect(names).not.toContain(replaced);
  });

  it("keeps the variance of channels whose mean is a thousand times their spread (no E[x^2] - E[x]^2)", async () => {
    const { cpu, wasm } = await onBothBackends(() => batchNormResults([32, 20, 20, 8], true, 77, 2000));
    expectClose(wasm, cpu, 2e-5);
  });

  it('gives the same bits on one thread as on two', async () => {
    await selectBackend('wasm');
    expect(heapThreads(tf.backend() as unknown as WasmHeapBackend)).toBe(2);
    for (const relu of [false, true]) {
      for (const shape of [[16, 28, 28, 16], [3, 9, 9, 5]]) {
        const one = kernelOutputs(shape, relu, 1);
        const two = kernelOutputs(shape, relu, 2);
        expect(two.length).toBe(7);
        two.forEach((values, k) => expect(Array.from(values), `output ${k} of [${shape}]`).toEqual(Array.from(one[k]!)));
      }
    }
  });

  it('leaves no tensor or buffer alive', async () => {
    await selectBackend('wasm');
    batchNormResults([4, 6, 6, 16], true, 1); // warm up: the heap workers start once
    const before = live();
    batchNormResults([4, 6, 6, 16], true, 1);
    batchNormResults([4, 6, 6, 16], false, 2);
    kernelOutputs([16, 28, 28, 16], true, 2);
    expect(live()).toEqual(before);
  });

  it('refuses inputs it cannot compute, in one line', async () => {
    await selectBackend('wasm');
    const before = live();
    tf.tidy(() => {
      const x = tf.ones([4, 3]);
      const run = (inputs: Record<string, tf.Tensor>) => () => tf.engine().runKernel(BATCH_NORM_KERNEL, inputs, { epsilon: EPSILON, relu: false });
      expect(run({ x: tf.ones([4, 3], 'int32'), gamma: tf.ones([3]), beta: tf.zeros([3]) })).toThrow(/^MergeTrainBatchNormTraining: x must be float32, got int32$/);
      expect(run({ x, gamma: tf.ones([4]), beta: tf.zeros([3]) })).toThrow(/^MergeTrainBatchNormTraining: gamma has 4 entries for 3 channels$/);
      const grad = () =>
        tf.engine().runKernel(BATCH_NORM_GRAD_KERNEL, { x, dy: tf.ones([3, 4]), mean: tf.zeros([3]), inverseStd: tf.ones([3]), gamma: tf.ones([3]), beta: tf.zeros([3]) }, { relu: true });
      expect(grad).toThrow(/^MergeTrainBatchNormTrainingGrad: dy has shape \[3, 4\], x \[4, 3\]$/);
    });
    expect(live()).toEqual(before);
  });

  it("keeps the batchNorm hook's semantics in batchNormRelu (the hook sees BatchNorm's output)", async () => {
    await selectBackend('wasm');
    tf.tidy(() => {
      const norm = batchNormNames('bn');
      const params: ParamMap = { 'bn.weight': tf.tensor1d([1, -2, 0.5, 3]), 'bn.bias': tf.tensor1d([0.1, 0.2, -0.3, 0]) };
      const x = tf.tensor(normalInputs(3 * 5 * 4, 1, 3), [3, 5, 4]);
      const seen: tf.Tensor[] = [];
      const hook: ForwardContext['batchNorm'] = (_, __, out) => {
        seen.push(out);
        return tf.mul(out, -1);
      };
      const fused = batchNormRelu(params, norm, x, { training: true, batchNorm: hook });
      expect(seen).toHaveLength(1);
      const plain = tf.relu(tf.mul(batchNorm(params, norm, x, { training: true }), -1));
      expect(Array.from(fused.dataSync())).toEqual(Array.from(plain.dataSync()));
      expect(Array.from(seen[0]!.dataSync())).toEqual(Array.from(batchNorm(params, norm, x, { training: true }).dataSync()));
      // without a hook, the fused kernel: ReLU of the same BatchNorm, up to rounding
      const unhooked = batchNormRelu(params, norm, x, { training: true });
      const reference = tf.relu(batchNorm(params, norm, x, { training: true })).dataSync();
      unhooked.dataSync().forEach((v, i) => expect(v).toBeCloseTo(reference[i]!, 5));
    });
  });

  it('trains a small VGG step (and a conv net through batchNormRelu) as cpu does', async () => {
    const spec = vggSpec({ layout: [8, 'M', 16], width: 1, batchNorm: true }, [12, 12, 1], 5);
    const labels = Int32Array.from({ length: 16 }, (_, i) => i % 5);
    /** A conv net whose BatchNorms are fused with their ReLUs (spec's own forward calls batchNorm, then tf.relu). */
    const fusedForward = (weights: ParamMap, x: tf.Tensor, context: ForwardContext): tf.Tensor2D => {
      const convs = spec.layers.filter((l) => l.kind === 'conv');
      const norms = spec.layers.filter((l) => l.kind === 'batchNorm');
      const dense1 = spec.layers.find((l) => l.kind === 'dense')!;
      let h = x as tf.Tensor4D;
      for (const [k, layer] of convs.entries()) {
        h = batchNormRelu(weights, norms[k]!.norm, conv2d(weights, layer, h, 1, 'same', context), context) as tf.Tensor4D;
        if (k === 0) h = tf.maxPool(h, 2, 2, 'valid');
      }
      return dense(weights, dense1, globalAveragePool(h), 'linear', context);
    };
    const step = (forward: (weights: ParamMap, x: tf.Tensor, context: ForwardContext) => tf.Tensor) => (): Values =>
      tf.tidy(() => {
        const params = initParams(spec, 3);
        const names = Object.keys(params).filter((n) => !n.includes('running'));
        const x = tf.tensor4d(normalInputs(16 * 12 * 12, 1, 4), [16, 12, 12, 1]);
        const y = tf.tensor1d(labels, 'int32');
        const stats: tf.Tensor[] = [];
        const context: ForwardContext = { training: true, batchStats: (_, mean, variance) => stats.push(tf.keep(mean), tf.keep(variance)) };
        const loss = (...values: tf.Tensor[]) => {
          const weights = { ...params, ...Object.fromEntries(names.map((n, i) => [n, values[i]!])) };
          return crossEntropy(forward(weights, x, context) as tf.Tensor2D, y);
        };
        const { value, grads } = tf.valueAndGrads(loss)(names.map((n) => params[n]!));
        const out: Values = { loss: value.dataSync() as Float32Array, stats: Float32Array.from(stats.flatMap((s) => Array.from(s.dataSync()))) };
        names.forEach((n, i) => (out[n] = grads[i]!.dataSync() as Float32Array));
        tf.dispose(stats); // kept: made inside the gradient's own scope
        return out;
      });
    expect(spec.layers.filter((l) => l.kind === 'batchNorm')).toHaveLength(2);
    for (const forward of [spec.forward.bind(spec), fusedForward]) {
      const { cpu, wasm } = await onBothBackends(step(forward));
      expectClose(wasm, cpu, 1e-4);
    }
  });
});
