import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/backend/selectBackend.js';
import { ADAM_KERNEL, Adam, adamStep, hasFusedAdam, type AdamConstants } from '../../src/train/adam.js';
import { createRng } from '../../src/util/random.js';

/**
 * Adam's fused 'wasm' kernel (src/backend/wasmAdam.ts) must give the bits of the twelve tf ops it
 * replaces, on every size (the SIMD body and the scalar tail), and Adam must resume from a saved
 * state bit for bit on either path.
 */

function values(size: number, seed: number, scale = 1): Float32Array {
  const rng = createRng(seed);
  return Float32Array.from({ length: size }, () => (rng() + rng() + rng() - 1.5) * scale);
}

const live = (): [number, number] => [tf.memory().numTensors, tf.backend().numDataIds()];
const constantsOf = (step: number): AdamConstants => ({
  beta1: 0.9,
  beta2: 0.999,
  rate: (0.01 * Math.sqrt(1 - 0.999 ** step)) / (1 - 0.9 ** step),
  epsilon: 1e-8 * Math.sqrt(1 - 0.999 ** step),
});

/** `steps` Adam updates of fresh variables from seeded gradients, split over two optimizers (the second resumed from the first's state); returns every variable and moment. */
function train(shapes: number[][], steps: number, resumeAt: number, fused: boolean | undefined): Float32Array[] {
  const variables = tf.tidy(() => Object.fromEntries(shapes.map((shape, i) => [`p${i}`, tf.variable(tf.tensor(values(tf.util.sizeFromShape(shape), 10 + i), shape))])));
  const gradientsAt = (step: number) => Object.fromEntries(shapes.map((shape, i) => [`p${i}`, tf.tensor(values(tf.util.sizeFromShape(shape), 100 * step + i, i % 2 ? 1e-3 : 1), shape)]));
  const run = (optimizer: Adam, from: number, to: number) => {
    for (let step = from; step < to; step++) {
      const gradients = gradientsAt(step);
      if (fused === undefined) optimizer.apply(variables, gradients);
      else {
        // The same update through adamStep with the path forced.
        optimizer.step++;
        const constants = constantsOf(optimizer.step);
        for (const [name, variable] of Object.entries(variables)) {
          const { m, v } = optimizer.moments[name]!;
          const next = adamStep(variable, m, v, gradients[name]!, constants, fused);
          m.assign(next[1]!);
          v.assign(next[2]!);
          variable.assign(next[0]!);
          tf.dispose(next);
        }
      }
      tf.dispose(Object.values(gradients));
    }
  };
  const first = new Adam(0.01, variables);
  run(first, 0, resumeAt);
  const saved = { step: first.step, m: Object.fromEntries(Object.entries(first.moments).map(([n, s]) => [n, s.m.clone()])), v: Object.fromEntries(Object.entries(first.moments).map(([n, s]) => [n, s.v.clone()])) };
  first.dispose();
  const second = new Adam(0.01, variables, saved);
  tf.dispose([...Object.values(saved.m), ...Object.values(saved.v)]);
  run(second, resumeAt, steps);
  const out = [...Object.values(variables), ...Object.values(second.moments).flatMap(({ m, v }) => [m, v])].map((t) => t.dataSync() as Float32Array);
  second.dispose();
  tf.dispose(Object.values(variables));
  return out;
}

// Sizes around the 4-float SIMD width, a scalar (per-tensor weights), and a larger tensor.
const shapes = [[], [3], [4], [5, 7], [2, 3, 3, 4], [301]];

describe('Adam', () => {
  beforeAll(async () => {
    expect(await selectBackend('wasm')).toBe('wasm');
  });

  it('registers the fused kernel on wasm only', () => {
    expect(hasFusedAdam()).toBe(true);
    expect(tf.getKernel(ADAM_KERNEL, 'cpu')).toBeUndefined();
  });

  it('steps the fused kernel to the same bits as the tf ops, with extreme moments and gradients', () => {
    const size = 39;
    const value = tf.tensor(values(size, 1));
    const m = tf.tensor(values(size, 2, 1e-20));
    const v = tf.tensor(Float32Array.from(values(size, 3), (x, i) => (i % 3 ? x * x : 0)));
    const gradient = tf.tensor(Float32Array.from(values(size, 4, 1e3), (x, i) => (i % 5 ? x : i % 2 ? 0 : 1e-30)));
    const before = live();
    for (const step of [1, 2, 10, 1000]) {
      const fused = adamStep(value, m, v, gradient, constantsOf(step), true);
      const plain = adamStep(value, m, v, gradient, constantsOf(step), false);
      for (let k = 0; k < 3; k++) expect(fused[k]!.dataSync(), `step ${step} output ${k}`).toEqual(plain[k]!.dataSync());
      tf.dispose([...fused, ...plain]);
    }
    expect(live()).toEqual(before);
    tf.dispose([value, m, v, gradient]);
  });

  it('trains and resumes bit for bit fused, unfused and on the cpu backend, leaking nothing', async () => {
    const before = live();
    const fused = train(shapes, 6, 2, true);
    const unfused = train(shapes, 6, 2, false);
    const straight = train(shapes, 6, 6, undefined);
    const resumed = train(shapes, 6, 3, undefined);
    expect(live()).toEqual(before);
    expect(fused).toEqual(unfused);
    expect(straight).toEqual(unfused);
    expect(resumed).toEqual(unfused);
    await tf.setBackend('cpu');
    try {
      expect(hasFusedAdam()).toBe(false);
      expect(train(shapes, 6, 4, undefined)).toEqual(unfused);
    } finally {
      await tf.setBackend('wasm');
    }
  });

  it('refuses tensors of different shapes in one line', () => {
    const [value, other] = [tf.zeros([4]), tf.zeros([5])];
    expect(() => adamStep(value, value, value, other, constantsOf(1), true)).toThrow(/^MergeTrainAdam: shapes differ: \[5\] and \[4\]$/);
    tf.dispose([value, other]);
  });
});
