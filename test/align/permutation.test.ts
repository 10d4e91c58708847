import * as tf from '@tensorflow/tfjs-core';
import { Matrix, inverse } from 'ml-matrix';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aligners } from '../../src/align/aligners.js';
import { collectSpaceMoments } from '../../src/align/moments.js';
import { activationMatching } from '../../src/align/permutation.js';
import { applyTransforms, permutationTransform, type SpaceTransform } from '../../src/align/transform.js';
import { selectBackend } from '../../src/backend/selectBackend.js';
import { TensorSet } from '../../src/data/batches.js';
import { disposeParams, initParams } from '../../src/nn/init.js';
import { dense } from '../../src/nn/layers.js';
import { mlpSpec } from '../../src/nn/mlp.js';
import type { ModelSpec, ParamMap } from '../../src/nn/spec.js';
import { derangement, flat, liveTensors, maxAbsDiff, normalInputs, normalRng, randomSet, readParams, relativeError } from '../nn/helpers.js';

const inputShape = [4, 5];
const hidden = [16, 12];
const spec = mlpSpec({ hidden }, inputShape, 3);

/** The same parameters without ReLU: a purely linear network, which any invertible T must preserve. */
function linearSpec(base: ModelSpec): ModelSpec {
  const layers = Object.keys(base.params).length / 2;
  return {
    ...base,
    family: 'linear-test',
    forward(params, x, context) {
      let h = tf.reshape(x, [x.shape[0]!, -1]) as tf.Tensor2D;
      for (let i = 1; i <= layers; i++) {
        h = dense(params, { weight: `fc${i}.weight`, bias: `fc${i}.bias` }, h, 'linear', context);
        if (i < layers) context?.probe?.(`fc${i}`, h);
      }
      return h;
    },
  };
}

/** A random invertible, well-conditioned (not orthogonal, not a permutation) transform, float32. */
function randomTransform(n: number, seed: number): SpaceTransform {
  const next = normalRng(seed);
  const m = Matrix.from1DArray(n, n, Array.from({ length: n * n }, () => 0.3 * next()));
  for (let i = 0; i < n; i++) m.set(i, i, m.get(i, i) + 1.5);
  return { size: n, matrix: Float32Array.from(flat(m)), inverse: Float32Array.from(flat(inverse(m))) };
}

/** T = D P for a permutation P and a positive diagonal D: commutes with ReLU, given as a dense matrix. */
function scaledPermutation(n: number, seed: number): SpaceTransform {
  const p = derangement(n, seed);
  const scale = Array.from({ length: n }, (_, i) => 0.5 + ((i * 7) % 5) * 0.4);
  const matrix = new Float32Array(n * n);
  const inv = new Float32Array(n * n);
  p.forEach((source, i) => {
    matrix[i * n + source] = scale[i]!;
    inv[source * n + i] = 1 / scale[i]!;
  });
  return { size: n, matrix, inverse: inv };
}

function logits(model: ModelSpec, params: ParamMap, x: tf.Tensor): Float32Array {
  return tf.tidy(() => model.forward(params, x).dataSync() as Float32Array);
}


function expectSameParams(actual: ParamMap, expected: ParamMap, tolerance?: number): void {
  const a = readParams(actual);
  const e = readParams(expected);
  expect(Object.keys(a)).toEqual(Object.keys(e));
  for (const name of Object.keys(e)) {
    expect(actual[name]!.shape).toEqual(expected[name]!.shape);
    if (tolerance === undefined) expect(a[name], name).toEqual(e[name]);
    else expect(maxAbsDiff(a[name]!, e[name]!), name).toBeLessThan(tolerance);
  }
}

describe.each(['wasm', 'cpu'] as const)('permutation alignment on the %s backend', (backend) => {
  let paramsB: ParamMap;
  let x: tf.Tensor;
  let set: TensorSet;
  const p1 = derangement(hidden[0]!, 1);
  const p2 = derangement(hidden[1]!, 2);

  beforeAll(async () => {
    expect(await selectBackend(backend)).toBe(backend);
    paramsB = initParams(spec, 7);
    x = tf.tensor(normalInputs(64, 20, 3), [64, 1, 4, 5]);
    set = new TensorSet(randomSet(400, inputShape, 3, 9), inputShape);
  });

  afterAll(() => {
    disposeParams(paramsB);
    x.dispose();
    set.dispose();
  });

  it('permuting the hidden units preserves the function', () => {
    const permuted = applyTransforms(spec, paramsB, { fc1: permutationTransform(p1), fc2: permutationTransform(p2) });
    // the parameters really moved ...
    expect(relativeError(readParams(permuted)['fc2.weight']!, readParams(paramsB)['fc2.weight']!)).toBeGreaterThan(0.5);
    // ... in the documented direction: new unit i is old unit p[i]
    const w1 = readParams(paramsB)['fc1.weight']!;
    const w1p = readParams(permuted)['fc1.weight']!;
    for (let r = 0; r < 20; r++) for (let i = 0; i < 16; i++) expect(w1p[r * 16 + i]).toBe(w1[r * 16 + p1[i]!]);
    expect(readParams(permuted)['fc3.bias']).toEqual(readParams(paramsB)['fc3.bias']);
    // the fused forward pass takes the returned tensors as they are
    expect(maxAbsDiff(logits(spec, permuted, x), logits(spec, paramsB, x))).toBeLessThan(1e-5);
    disposeParams(permuted);
  });

  it('activation matching recovers the permutation exactly', () => {
    const permuted = applyTransforms(spec, paramsB, { fc1: permutationTransform(p1), fc2: permutationTransform(p2) });
    // B plays model A, its permuted copy model B
    const moments = collectSpaceMoments(spec, paramsB, permuted, set, 100);
    // every unit varies on this data, so the matching is unambiguous
    for (const m of moments) for (let i = 0; i < m.size; i++) expect(m.covAA[i * m.size + i]!).toBeGreaterThan(1e-6);
    const transforms = Object.fromEntries(moments.map((m) => [m.space, activationMatching(m)]));
    // the matching is the inverse permutation: new unit i is old unit q[i] with p[q[i]] = i
    for (const [space, p] of [['fc1', p1], ['fc2', p2]] as const) {
      const q = transforms[space]!.permutation!;
      expect(q).toBeInstanceOf(Int32Array);
      q.forEach((source, i) => expect(p[source]).toBe(i));
    }
    const restored = applyTransforms(spec, permuted, transforms);
    expectSameParams(restored, paramsB);
    // the registry's aligner agrees and reports every unit as moved (p1, p2 are derangements)
    const { transforms: viaRegistry, diagnostics } = aligners.get('permutation').align({ spec, paramsA: paramsB, paramsB: permuted, moments }, {});
    expect(viaRegistry.fc1!.permutation).toEqual(transforms.fc1!.permutation);
    expect(diagnostics).toEqual({ fc1: { unitsMoved: 16 }, fc2: { unitsMoved: 12 } });
    disposeParams(permuted);
    disposeParams(restored);
  });

  it('matching a model with itself gives the identity', () => {
    const moments = collectSpaceMoments(spec, paramsB, paramsB, set, 100);
    for (const m of moments) expect(Array.from(activationMatching(m).permutation!)).toEqual(Array.from({ length: m.size }, (_, i) => i));
  });

  it('a permutation applied as a dense matrix equals the gather path', () => {
    const t1 = permutationTransform(p1);
    const dense1: SpaceTransform = { size: t1.size, matrix: t1.matrix, inverse: t1.inverse };
    const viaGather = applyTransforms(spec, paramsB, { fc1: t1 });
    const viaMatrix = applyTransforms(spec, paramsB, { fc1: dense1 });
    expectSameParams(viaMatrix, viaGather, 1e-7);
    disposeParams(viaGather);
    disposeParams(viaMatrix);
  });

  it('a general invertible T preserves a linear network, T then T^-1 restores the parameters', () => {
    const linear = linearSpec(spec);
    const transforms = { fc1: randomTransform(16, 11), fc2: randomTransform(12, 12) };
    const moved = applyTransforms(linear, paramsB, transforms);
    expect(relativeError(readParams(moved)['fc1.bias']!, readParams(paramsB)['fc1.bias']!)).toBeGreaterThan(0.1);
    // before nonlinearities the network computes the same function
    expect(relativeError(logits(linear, moved, x), logits(linear, paramsB, x))).toBeLessThan(1e-5);
    // each hidden space is mapped z -> T z ('out' side) ...
    const probe = (params: ParamMap) => {
      const out: Record<string, Float32Array> = {};
      tf.tidy(() => {
        linear.forward(params, x, { probe: (space, a) => (out[space] = a.dataSync() as Float32Array) });
      });
      return out;
    };
    const before = probe(paramsB);
    const after = probe(moved);
    const t = Matrix.from1DArray(16, 16, Array.from(transforms.fc1.matrix));
    const z = Matrix.from1DArray(64, 16, Array.from(before.fc1!));
    expect(relativeError(after.fc1!, flat(z.mmul(t.transpose())))).toBeLessThan(1e-5);
    // ... and undone by the swapped transform ('in' side uses T^-T)
    const swapped = Object.fromEntries(
      Object.entries(transforms).map(([space, tr]) => [space, { size: tr.size, matrix: tr.inverse, inverse: tr.matrix }]),
    );
    const restored = applyTransforms(linear, moved, swapped);
    expectSameParams(restored, paramsB, 1e-5);
    disposeParams(moved);
    disposeParams(restored);
  });

  it('a positive scaling times a permutation preserves the ReLU network', () => {
    const moved = applyTransforms(spec, paramsB, { fc1: scaledPermutation(16, 21), fc2: scaledPermutation(12, 22) });
    expect(relativeError(logits(spec, moved, x), logits(spec, paramsB, x))).toBeLessThan(1e-5);
    disposeParams(moved);
  });

  it('returns new tensors, leaves its input alone and leaks nothing', () => {
    const original = readParams(paramsB);
    const before = liveTensors();
    const moved = applyTransforms(spec, paramsB, { fc1: randomTransform(16, 3) });
    expect(liveTensors()).toBe(before + Object.keys(paramsB).length);
    for (const name of Object.keys(paramsB)) expect(moved[name]).not.toBe(paramsB[name]);
    // fc1 touches fc1.* and fc2.weight (which consumes it); fc3 is cloned unchanged
    expect(readParams(moved)['fc3.weight']).toEqual(original['fc3.weight']);
    disposeParams(moved);
    expect(liveTensors()).toBe(before);
    expect(readParams(paramsB)).toEqual(original);
  });

  it('rejects a transform of the wrong size', () => {
    const before = liveTensors();
    expect(() => applyTransforms(spec, paramsB, { fc1: permutationTransform(p2) })).toThrow(/space fc1/);
    expect(liveTensors()).toBe(before);
  });
});
