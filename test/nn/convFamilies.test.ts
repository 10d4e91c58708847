import * as tf from '@tensorflow/tfjs-core';
import { inverse as invert, Matrix } from 'ml-matrix';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { permutationTransform, applyTransforms } from '../../src/align/transform.js';
import { selectBackend } from '../../src/backend/selectBackend.js';
import { families } from '../../src/nn/families.js';
import { disposeParams } from '../../src/nn/init.js';
import { foldBatchNorm, foldBatchNormScale, transformScaleFolded } from '../../src/align/batchNormModes.js';
import { batchNorm, batchNormNames, conv2d } from '../../src/nn/layers.js';
import { featureSpaces, type ParamMap } from '../../src/nn/spec.js';
import type { SpaceTransform } from '../../src/align/transform.js';
import { derangement, maxAbsDiff, normalInputs, normalRng, randomParams } from './helpers.js';

/** T = D P: a permutation with positive unit scales (ReLU commutes with it, BatchNorm's scale does not). */
function scaledPermutation(n: number, seed: number): SpaceTransform {
  const { permutation } = permutationTransform(derangement(n, seed));
  const scales = Float32Array.from({ length: n }, (_, i) => 0.5 + ((i * 7 + seed) % 5) / 2);
  const matrix = new Float32Array(n * n);
  const inverse = new Float32Array(n * n);
  permutation!.forEach((source, i) => {
    matrix[i * n + source] = scales[i]!;
    inverse[source * n + i] = 1 / scales[i]!;
  });
  return { size: n, matrix, inverse };
}

/** A dense invertible T = I + 0.3 * noise. */
function mixingTransform(n: number, seed: number): Float32Array {
  const next = normalRng(seed);
  return Float32Array.from({ length: n * n }, (_, k) => (k % (n + 1) === 0 ? 1 : 0) + 0.3 * next());
}

const maxAbs = (values: ArrayLike<number>) => Math.max(...Array.from(values, Math.abs));

const cases: [string, Record<string, unknown>][] = [
  ['vgg', { layout: [8, 'M', 12, 12, 'M', 16], batchNorm: true }],
  ['vgg', { layout: [8, 'M', 12], batchNorm: false }],
  ['resnet', { blocks: [2, 1, 1], widths: [4, 8, 12] }],
];

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`conv families on ${backend}`, () => {
    beforeAll(async () => {
      await selectBackend(backend);
    });
    afterAll(() => tf.disposeVariables());

    for (const [family, config] of cases) {
      it(`${family} ${JSON.stringify(config)}: permuting every feature space leaves the outputs unchanged`, () => {
        const spec = families.get(family).build(families.get(family).configSchema.parse(config), [12, 12, 3], 5);
        const spaces = featureSpaces(spec);
        if (family === 'resnet') {
          // One space per residual stream, shared by every writer and reader.
          const stage1 = spaces.find((s) => s.name === 'stage1')!;
          expect(stage1.members.map((m) => m.param)).toEqual(
            expect.arrayContaining(['conv1.weight', 'bn1.running_mean', 'layer1.0.conv2.weight', 'layer1.1.conv1.weight', 'layer2.0.shortcut.conv.weight']),
          );
        }
        const params = randomParams(spec, 3);
        const transforms = Object.fromEntries(spaces.map((s, i) => [s.name, permutationTransform(derangement(s.size, 10 + i))]));
        const permuted = applyTransforms(spec, params, transforms);
        const x = tf.tensor4d(normalInputs(6 * 144 * 3, 1, 4), [6, 12, 12, 3]);
        for (const training of [false, true]) {
          const reference = spec.forward(params, x, { training });
          const output = spec.forward(permuted, x, { training });
          expect(maxAbsDiff(output.dataSync(), reference.dataSync())).toBeLessThan(1e-4);
          // and the permutation really moved something
          tf.dispose([reference, output]);
        }
        const moved = spaces.some((s) => {
          const name = s.members[0]!.param;
          return maxAbsDiff(permuted[name]!.dataSync(), params[name]!.dataSync()) > 1e-3;
        });
        expect(moved).toBe(true);
        x.dispose();
        [params, permuted].forEach(disposeParams);
      });

      if (config.batchNorm !== false) {
        it(`${family} ${JSON.stringify(config)}: folding BatchNorm into the convolutions keeps the inference function`, () => {
          const spec = families.get(family).build(families.get(family).configSchema.parse(config), [12, 12, 3], 5);
          const params = randomParams(spec, 5);
          const folded = foldBatchNorm(spec, params);
          expect(folded.spec.config.batchNorm).toBe(false);
          expect(Object.keys(folded.params).some((n) => n.includes('running'))).toBe(false);
          const x = tf.tensor4d(normalInputs(4 * 144 * 3, 1, 6), [4, 12, 12, 3]);
          const reference = spec.forward(params, x);
          const output = folded.spec.forward(folded.params, x);
          expect(maxAbsDiff(output.dataSync(), reference.dataSync())).toBeLessThan(1e-4 * Math.max(1, Math.max(...reference.dataSync().map(Math.abs))));
          tf.dispose([x, reference, output]);
          [params, folded.params].forEach(disposeParams);
        });

        it(`${family} ${JSON.stringify(config)}: folding BatchNorm's scale keeps the function, leaves shifts only, and is idempotent`, () => {
          const spec = families.get(family).build(families.get(family).configSchema.parse(config), [12, 12, 3], 5);
          const params = randomParams(spec, 6);
          const folded = foldBatchNormScale(spec, params);
          const again = foldBatchNormScale(spec, folded);
          const x = tf.tensor4d(normalInputs(4 * 144 * 3, 1, 8), [4, 12, 12, 3]);
          const reference = spec.forward(params, x);
          const tolerance = 1e-4 * Math.max(1, maxAbs(reference.dataSync()));
          for (const candidate of [folded, again]) {
            const output = spec.forward(candidate, x);
            expect(maxAbsDiff(output.dataSync(), reference.dataSync())).toBeLessThan(tolerance);
            output.dispose();
          }
          for (const name of Object.keys(spec.params).filter((n) => n.endsWith('running_var'))) {
            const norm = batchNormNames(name.slice(0, -'.running_var'.length));
            const gamma = folded[norm.weight]!.dataSync();
            const variance = folded[norm.runningVar]!.dataSync();
            // inference scale gamma / sqrt(var + eps) is 1 in every channel
            gamma.forEach((g, i) => expect(g / Math.sqrt(variance[i]! + 1e-5)).toBeCloseTo(1, 5));
            expect(maxAbsDiff(again[norm.weight]!.dataSync(), gamma)).toBeLessThan(1e-6 * maxAbs(gamma));
          }
          tf.dispose([x, reference]);
          [params, folded, again].forEach(disposeParams);
        });

        it(`${family} ${JSON.stringify(config)}: a scaled permutation of every space keeps a scale-folded model's function`, () => {
          const spec = families.get(family).build(families.get(family).configSchema.parse(config), [12, 12, 3], 5);
          const params = randomParams(spec, 7);
          const folded = foldBatchNormScale(spec, params);
          const transforms = Object.fromEntries(featureSpaces(spec).map((s, i) => [s.name, scaledPermutation(s.size, 20 + i)]));
          const transformed = transformScaleFolded(spec, folded, transforms);
          // The reference rule (every BatchNorm vector mapped like a bias) is not exact here.
          const likeBias = applyTransforms(spec, params, transforms);
          const x = tf.tensor4d(normalInputs(4 * 144 * 3, 1, 9), [4, 12, 12, 3]);
          const reference = spec.forward(params, x);
          const tolerance = 1e-4 * Math.max(1, maxAbs(reference.dataSync()));
          const output = spec.forward(transformed, x);
          const biasRule = spec.forward(likeBias, x);
          expect(maxAbsDiff(output.dataSync(), reference.dataSync())).toBeLessThan(tolerance);
          expect(maxAbsDiff(biasRule.dataSync(), reference.dataSync())).toBeGreaterThan(100 * tolerance);
          tf.dispose([x, reference, output, biasRule]);
          [params, folded, transformed, likeBias].forEach(disposeParams);
        });
      }
    }
  });
}

describe('a dense linear map of a scale-folded BatchNorm layer', () => {
  beforeAll(async () => {
    await selectBackend('cpu');
  });

  it('maps its output y to exactly T y, and its variances to sum_j T_ij^2 var_j', () => {
    const spec = families.get('vgg').build(families.get('vgg').configSchema.parse({ layout: [6], batchNorm: true }), [5, 5, 2], 3);
    const params = randomParams(spec, 11);
    const folded = foldBatchNormScale(spec, params);
    const t = mixingTransform(6, 12);
    const inverse = Float32Array.from(invert(new Matrix(Array.from({ length: 6 }, (_, i) => Array.from(t.subarray(6 * i, 6 * i + 6))))).to1DArray());
    const transforms = { conv1: { size: 6, matrix: t, inverse } };
    const transformed = transformScaleFolded(spec, folded, transforms);
    const x = tf.tensor4d(normalInputs(3 * 25 * 2, 1, 13), [3, 5, 5, 2]);
    const layer = (p: ParamMap) => batchNorm(p, batchNormNames('bn1'), conv2d(p, { weight: 'conv1.weight' }, x, 1, 'same'));
    const [y, yT] = [layer(folded), layer(transformed)];
    const expected = tf.matMul(tf.reshape(y, [-1, 6]), tf.tensor2d(t, [6, 6]), false, true); // rows y -> (T y)^T
    expect(maxAbsDiff(tf.reshape(yT, [-1, 6]).dataSync(), expected.dataSync())).toBeLessThan(1e-4 * maxAbs(expected.dataSync()));
    const variance = Array.from(folded['bn1.running_var']!.dataSync());
    const expectedVariance = Array.from({ length: 6 }, (_, i) => variance.reduce((sum, v, j) => sum + t[i * 6 + j]! ** 2 * v, 0));
    expect(maxAbsDiff(transformed['bn1.running_var']!.dataSync(), expectedVariance)).toBeLessThan(1e-5 * maxAbs(expectedVariance));
    tf.dispose([x, y, yT, expected]);
    [params, folded, transformed].forEach(disposeParams);
  });
});
