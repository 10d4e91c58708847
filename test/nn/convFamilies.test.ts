import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { permutationTransform, applyTransforms } from '../../src/align/transform.js';
import { selectBackend } from '../../src/backend/selectBackend.js';
import { families } from '../../src/nn/families.js';
import { disposeParams, initParams } from '../../src/nn/init.js';
import { foldBatchNorm } from '../../src/nn/foldBatchNorm.js';
import { featureSpaces, type ModelSpec, type ParamMap } from '../../src/nn/spec.js';
import { derangement, maxAbsDiff, normalInputs, normalRng } from './helpers.js';

/** Parameters whose BatchNorm vectors are far from their identity init, so a wrong permutation shows. */
function randomParams(spec: ModelSpec, seed: number): ParamMap {
  const params = initParams(spec, seed);
  const next = normalRng(seed + 100);
  for (const [name, p] of Object.entries(spec.params)) {
    if (p.shape.length !== 1) continue;
    const values = Float32Array.from({ length: p.shape[0]! }, () => next());
    const positive = name.endsWith('running_var') || name.endsWith('.weight');
    params[name]!.dispose();
    params[name] = tf.tensor1d(positive ? values.map((v) => 0.5 + Math.abs(v)) : values);
  }
  return params;
}

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
      }
    }
  });
}
