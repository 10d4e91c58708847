import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/backend/selectBackend.js';
import { constantMasks, meanAlpha, mergeModels, mergeParams, type AlphaMasks } from '../../src/merge/mergeParams.js';
import { disposeParams, initParams } from '../../src/nn/init.js';
import { mlpSpec } from '../../src/nn/mlp.js';
import type { ParamMap } from '../../src/nn/spec.js';
import { createRng } from '../../src/util/random.js';
import { liveTensors, maxAbsDiff, readParams } from '../nn/helpers.js';

const spec = mlpSpec({ hidden: [16, 12] }, [4, 5], 3);
const f32 = Math.fround;

/** Per-entry masks in [0, 1], with exact 0s and 1s mixed in. */
function randomMasks(params: ParamMap, seed: number): AlphaMasks {
  const uniform = createRng(seed);
  return Object.fromEntries(
    Object.entries(params).map(([name, p]) => {
      const values = Float32Array.from({ length: p.size }, (_, i) => (i % 7 === 0 ? 0 : i % 11 === 0 ? 1 : uniform()));
      return [name, tf.tensor(values, p.shape)];
    }),
  );
}

describe.each(['wasm', 'cpu'] as const)('mergeParams on the %s backend', (backend) => {
  let paramsA: ParamMap;
  let paramsB: ParamMap;

  beforeAll(async () => {
    expect(await selectBackend(backend)).toBe(backend);
    paramsA = initParams(spec, 1);
    paramsB = initParams(spec, 2);
  });

  afterAll(() => {
    disposeParams(paramsA);
    disposeParams(paramsB);
  });

  it('alpha = 0 gives model B exactly', () => {
    const merged = mergeParams(paramsA, paramsB, 0);
    expect(readParams(merged)).toEqual(readParams(paramsB));
    disposeParams(merged);
  });

  it('alpha = 1 gives model A up to one float32 rounding', () => {
    // b + 1 * (a - b) rounds a - b first, so it is A only up to ~1 ulp of max(|a|, |b|), not bit for bit.
    const merged = mergeParams(paramsA, paramsB, 1);
    const m = readParams(merged);
    const a = readParams(paramsA);
    for (const name of Object.keys(a)) {
      expect(merged[name]!.shape).toEqual(paramsA[name]!.shape);
      expect(maxAbsDiff(m[name]!, a[name]!), name).toBeLessThan(1e-7);
    }
    disposeParams(merged);
  });

  it('a scalar alpha is alpha * A + (1 - alpha) * B for every entry', () => {
    const merged = mergeParams(paramsA, paramsB, 0.3);
    const [m, a, b] = [readParams(merged), readParams(paramsA), readParams(paramsB)];
    for (const name of Object.keys(a)) {
      const expected = a[name]!.map((ai, i) => 0.3 * ai + 0.7 * b[name]![i]!);
      expect(maxAbsDiff(m[name]!, expected), name).toBeLessThan(1e-6);
    }
    disposeParams(merged);
  });

  it('per-entry masks give alpha * A + (1 - alpha) * B entry by entry', () => {
    const masks = randomMasks(paramsA, 5);
    const merged = mergeParams(paramsA, paramsB, masks);
    const [m, a, b, alpha] = [readParams(merged), readParams(paramsA), readParams(paramsB), readParams(masks)];
    for (const name of Object.keys(a)) {
      const [mn, an, bn, alphan] = [m[name]!, a[name]!, b[name]!, alpha[name]!];
      for (let i = 0; i < an.length; i++) {
        // the implementation's float32 formula b + alpha * (a - b), bit for bit ...
        expect(mn[i], `${name}[${i}]`).toBe(f32(bn[i]! + f32(alphan[i]! * f32(an[i]! - bn[i]!))));
        // ... which is the convex combination up to rounding
        expect(Math.abs(mn[i]! - (alphan[i]! * an[i]! + (1 - alphan[i]!) * bn[i]!))).toBeLessThan(1e-7);
        if (alphan[i] === 0) expect(mn[i]).toBe(bn[i]);
      }
    }
    disposeParams(masks);
    disposeParams(merged);
  });

  it('returns new tensors, disposes nothing it was given, leaks nothing', () => {
    const masks = constantMasks(paramsA, 0.25);
    const before = liveTensors();
    const merged = mergeParams(paramsA, paramsB, masks);
    expect(liveTensors()).toBe(before + Object.keys(paramsA).length);
    for (const name of Object.keys(paramsA)) {
      expect(merged[name]).not.toBe(paramsA[name]);
      expect(merged[name]).not.toBe(paramsB[name]);
    }
    disposeParams(merged);
    expect(liveTensors()).toBe(before);
    expect(Object.values(masks).every((t) => !t.isDisposed)).toBe(true);
    disposeParams(masks);
  });

  it('names the parameter B or the masks lack, and leaks nothing when it throws', () => {
    const { ['fc2.bias']: _dropped, ...partial } = paramsB;
    const before = liveTensors();
    expect(() => mergeParams(paramsA, partial, 0.5)).toThrow(/model 2 lacks parameter fc2\.bias/);
    const masks = constantMasks(paramsA, 0.5);
    const { ['fc3.weight']: missing, ...partialMasks } = masks;
    expect(() => mergeParams(paramsA, paramsB, partialMasks)).toThrow(/no weight mask of model 1 for parameter fc3\.weight/);
    disposeParams(masks);
    expect(missing!.isDisposed).toBe(true);
    expect(liveTensors()).toBe(before);
  });

  it('merges N models as sum_k w_k W_k, the last model taking what the others leave', () => {
    const paramsC = initParams(spec, 3);
    const [wA, wB] = [randomMasks(paramsA, 5), tf.tidy(() => Object.fromEntries(Object.entries(paramsA).map(([n, p]) => [n, tf.fill(p.shape, 0.25)])))];
    // Keep w_A + w_B <= 1, so every weight is a convex combination's.
    const scaledA = tf.tidy(() => Object.fromEntries(Object.entries(wA).map(([n, w]) => [n, tf.mul(w, 0.5)])));
    const merged = mergeModels([paramsA, paramsB, paramsC], [scaledA, wB]);
    const [m, a, b, c, w] = [readParams(merged), readParams(paramsA), readParams(paramsB), readParams(paramsC), readParams(scaledA)];
    for (const name of Object.keys(a)) {
      const expected = Array.from(a[name]!, (value, i) => w[name]![i]! * value + 0.25 * b[name]![i]! + (0.75 - w[name]![i]!) * c[name]![i]!);
      expect(maxAbsDiff(m[name]!, expected), name).toBeLessThan(1e-6);
    }
    // Two models through mergeModels are mergeParams bit for bit.
    const pair = mergeModels([paramsA, paramsB], [wA]);
    const viaPair = mergeParams(paramsA, paramsB, wA);
    expect(readParams(pair)).toEqual(readParams(viaPair));
    expect(() => mergeModels([paramsA, paramsB, paramsC], [wA])).toThrow(/expected weights for all but the last of 3 models, got 1/);
    [paramsC, wA, wB, scaledA, merged, pair, viaPair].forEach(disposeParams);
  });

  it('constantMasks and meanAlpha', () => {
    const masks = constantMasks(paramsA, 0.25);
    for (const [name, mask] of Object.entries(masks)) {
      expect(mask.shape).toEqual(paramsA[name]!.shape);
      expect(Array.from(mask.dataSync()).every((v) => v === 0.25)).toBe(true);
    }
    expect(meanAlpha(masks)).toBeCloseTo(0.25, 7);
    // meanAlpha weights every entry equally, not every parameter
    const mixed: AlphaMasks = { big: tf.ones([99]), small: tf.zeros([1]) };
    expect(meanAlpha(mixed)).toBeCloseTo(0.99, 7);
    disposeParams(masks);
    disposeParams(mixed);
  });
});
