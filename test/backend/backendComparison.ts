import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'vitest';
import { createRng } from '../../src/util/random.js';

/** Named results of one computation, read back. */
export type Values = Record<string, Float32Array>;

/** Standard-normal-ish values from a seed, identical on every backend. */
export function values(size: number, seed: number): Float32Array {
  const rng = createRng(seed);
  return Float32Array.from({ length: size }, () => rng() + rng() + rng() - 1.5);
}

export const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** Runs `compute` on 'cpu', then on 'wasm', and returns both results. */
export async function onBothBackends(compute: () => Values): Promise<{ cpu: Values; wasm: Values }> {
  expect(await tf.setBackend('cpu')).toBe(true);
  const cpu = compute();
  expect(await tf.setBackend('wasm')).toBe(true);
  const wasm = compute();
  return { cpu, wasm };
}

/**
 * Every entry agrees within `tolerance` relative to the largest finite magnitude of the expected
 * result; NaN and infinities exactly.
 */
export function expectClose(actual: Values, expected: Values, tolerance = 1e-4): void {
  expect(Object.keys(actual).sort()).toEqual(Object.keys(expected).sort());
  for (const [name, want] of Object.entries(expected)) {
    const got = actual[name]!;
    expect(got.length, name).toBe(want.length);
    let scale = 0;
    for (const v of want) if (Number.isFinite(v)) scale = Math.max(scale, Math.abs(v));
    expect(scale, `${name} is all zeros`).toBeGreaterThan(0);
    for (let i = 0; i < want.length; i++) {
      if (!Number.isFinite(want[i]!)) expect(got[i], `${name}[${i}]`).toBe(want[i]);
      else expect(Math.abs(got[i]! - want[i]!) / scale, `${name}[${i}]`).toBeLessThanOrEqual(tolerance);
    }
  }
}

/** Live tensors and live backend buffers (kernel intermediates are buffers, not tensors). */
export function live(): [number, number] {
  return [tf.memory().numTensors, tf.backend().numDataIds()];
}

/** Runs `compute` once more on 'wasm' and checks it leaves nothing alive; returns the live counts. */
export async function expectNoLeaksOnWasm(compute: () => unknown): Promise<[number, number]> {
  await tf.setBackend('wasm');
  const before = live();
  compute();
  expect(live()).toEqual(before);
  return before;
}
