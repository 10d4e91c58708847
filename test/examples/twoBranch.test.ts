import * as tf from '@tensorflow/tfjs-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { joins, twoBranchFamily } from '../../examples/twoBranch.js';
import {
  aligners,
  alignSettings,
  applyTransforms,
  batchNormModes,
  collectSpaceMoments,
  disposeParams,
  evaluateModel,
  families,
  featureSpaces,
  fisherCache,
  initParams,
  loadCheckpoint,
  loadSplits,
  mergeModels,
  mergers,
  mergeSettings,
  parseRecipe,
  permutationTransform,
  saveCheckpoint,
  selectBackend,
  TensorSet,
  trainModel,
  type ModelSpec,
  type ParamMap,
} from '../../src/index.js';
import { derangement, liveTensors, maxAbsDiff, normalInputs } from '../nn/helpers.js';

const MNIST = { inputShape: [28, 28, 1], numClasses: 10 };
const build = (config: Record<string, unknown>): ModelSpec => families.get('two-branch').build(config, MNIST.inputShape, MNIST.numClasses);

/** Each space as `name[size]: param axis role, ...`, members sorted, for comparison with the description. */
function describeSpaces(spec: ModelSpec): Record<string, string[]> {
  return Object.fromEntries(
    featureSpaces(spec).map((space) => [`${space.name}[${space.size}]`, space.members.map((m) => `${m.param} ${m.axis} ${m.role}`).sort()]),
  );
}

describe('a two-branch family written by hand (examples/twoBranch.ts), registered from outside the library', () => {
  const dir = mkdtempSync(join(tmpdir(), 'merge-train-two-branch-'));

  beforeAll(async () => {
    await selectBackend('wasm');
    families.register(twoBranchFamily);
  });
  afterAll(() => {
    families.unregister(twoBranchFamily.name);
    rmSync(dir, { recursive: true, force: true });
  });

  it('has the feature spaces its description gives: one per branch when concatenated, one stream when summed', () => {
    const concat = build({ branches: [16, 8], join: 'concat' });
    expect(describeSpaces(concat)).toEqual({
      'a[16]': ['a.bias 0 out', 'a.weight 1 out', 'head.a.weight 0 in'],
      'b[8]': ['b.bias 0 out', 'b.weight 1 out', 'head.b.weight 0 in'],
    });
    expect(concat.layers.map((layer) => layer.kind === 'dense' && layer.weight)).toEqual(['a.weight', 'b.weight', 'head.a.weight', 'head.b.weight']);
    const sum = build({ branches: [12, 12], join: 'sum' });
    expect(describeSpaces(sum)).toEqual({
      'stream[12]': ['a.bias 0 out', 'a.weight 1 out', 'b.bias 0 out', 'b.weight 1 out', 'head.weight 0 in'],
    });
    expect(sum.family).toBe('two-branch');
    expect(() => build({ branches: [12, 8], join: 'sum' })).toThrow(/equal widths/);
  });

  it.each(joins)('computes the same function after random permutations of every feature space (%s)', (join) => {
    const before = liveTensors();
    const spec = build({ branches: [16, 16], join });
    const params = initParams(spec, 3);
    const transforms = Object.fromEntries(featureSpaces(spec).map((space, i) => [space.name, permutationTransform(derangement(space.size, 10 + i))]));
    const permuted = applyTransforms(spec, params, transforms);
    const x = tf.tensor4d(normalInputs(8, 784, 5), [8, 28, 28, 1]);
    const logits = (weights: ParamMap) => tf.tidy(() => spec.forward(weights, x));
    const [original, afterPermutation] = [logits(params), logits(permuted)];
    expect(maxAbsDiff(original.dataSync(), afterPermutation.dataSync())).toBeLessThan(1e-5);
    // The weights did move: the check is not of an identity.
    expect(maxAbsDiff(params['a.weight']!.dataSync(), permuted['a.weight']!.dataSync())).toBeGreaterThan(1e-3);
    tf.dispose([x, original, afterPermutation]);
    [params, permuted].forEach(disposeParams);
    expect(liveTensors()).toBe(before);
  });

  const trained = { concat: { branches: [32, 16], spaces: ['a', 'b'] }, sum: { branches: [24, 24], spaces: ['stream'] } } as const;

  it.each(joins)('trains on MNIST, aligns by cca and permutation, merges uniform, fisher and learned through the registries, and leaks nothing (%s)', async (joined) => {
    const before = liveTensors();
    const sizes = { train: 1500, merge: 500, test: 500 };
    const recipe = parseRecipe(
      { name: 'two-branch', data: { split: sizes }, model: { family: 'two-branch', config: { branches: [...trained[joined].branches], join: joined } }, merge: { steps: 60 } },
      'two-branch test',
    );
    const splits = await loadSplits('mnist', { seed: recipe.seed, sizes });
    const spec = families.get(recipe.model.family).build(recipe.model.config, splits.inputShape, splits.numClasses);
    const [train, merge, test] = [splits.train, splits.merge, splits.test].map((set) => new TensorSet(set, splits.inputShape)) as [TensorSet, TensorSet, TensorSet];
    const owned: ParamMap[] = [];
    const fisher = fisherCache(merge);
    try {
      const trainBase = async (seed: number) => {
        const initial = initParams(spec, seed);
        const { params } = await trainModel(spec, initial, train, { epochs: 2, batchSize: 50, optimizer: 'sgd', learningRate: 0.05, momentum: 0.9, seed });
        disposeParams(initial);
        owned.push(params);
        return params;
      };
      const a = await trainBase(0);
      const b = await trainBase(1);
      const accuracy = (params: ParamMap) => evaluateModel(spec, params, test).accuracy;
      const [accuracyA, accuracyB] = [accuracy(a), accuracy(b)];
      expect(accuracyA).toBeGreaterThan(0.5);
      expect(accuracyB).toBeGreaterThan(0.5);

      // A checkpoint of the registered family rebuilds its spec from the registry.
      const path = join(dir, `${joined}.safetensors`);
      await saveCheckpoint(path, spec, a, { kind: 'base', dataset: 'mnist', splitSeed: recipe.seed, split: sizes, key: 'two-branch-a' });
      const loaded = await loadCheckpoint(path);
      owned.push(loaded.params);
      expect(loaded.spec.config).toEqual({ branches: trained[joined].branches, join: joined });
      for (const name of Object.keys(a)) expect(maxAbsDiff(loaded.params[name]!.dataSync(), a[name]!.dataSync()), name).toBe(0);

      // As the align stage does: both models in the BatchNorm mode's form, moments, the aligner, the mode's transform.
      const accuracies: Record<string, number> = {};
      for (const method of ['cca', 'permutation']) {
        const settings = alignSettings(method, recipe);
        const aligner = aligners.get(method);
        const mode = batchNormModes.get(settings.batchNorm);
        expect(aligner.unsupported?.(spec)).toBeUndefined();
        const [preparedA, preparedB] = [mode.prepare(spec, a), mode.prepare(spec, b)];
        owned.push(preparedA.params, preparedB.params);
        const moments = aligner.needsStatistics ? collectSpaceMoments(spec, preparedA.params, preparedB.params, merge, settings.batchSize) : undefined;
        expect(moments?.map((m) => m.space)).toEqual(trained[joined].spaces);
        const { transforms } = aligner.align({ spec, paramsA: preparedA.params, paramsB: preparedB.params, ...(moments ? { moments } : {}) }, settings.options);
        const aligned = mode.transform(spec, preparedB.params, transforms);
        owned.push(aligned);
        if (method === 'permutation') expect(accuracy(aligned)).toBeCloseTo(accuracyB, 6);

        // As the merge stage does: the merger's weights (fisher's through the forward pass's affine hooks), then the merge.
        for (const alpha of ['uniform', 'fisher', 'learned']) {
          const mergeSetting = mergeSettings(alpha, recipe);
          const merger = mergers.get(alpha);
          expect(merger.unsupported?.({ spec, models: 2, mergeExamples: splits.merge.count }, mergeSetting.options)).toBeUndefined();
          const { masks } = await merger.masks(
            {
              spec,
              models: [preparedA.params, aligned],
              fisherOf: (params, fisherMode, examples) => fisher.fisherOf(spec, params, fisherMode, examples),
              merge: splits.merge,
              inputShape: splits.inputShape,
              seed: mergeSetting.seed,
            },
            mergeSetting.options,
          );
          owned.push(...masks);
          const merged = mergeModels([preparedA.params, aligned], masks);
          owned.push(merged);
          accuracies[`${method} · ${alpha}`] = accuracy(merged);
        }
      }
      expect(Object.keys(accuracies)).toHaveLength(6);
      // Ten classes: chance is 10%; these merges score about 85-90% (the base models about 85%).
      for (const [label, value] of Object.entries(accuracies)) expect(value, label).toBeGreaterThan(0.5);
    } finally {
      fisher.dispose();
      owned.forEach(disposeParams);
      [train, merge, test].forEach((set) => set.dispose());
    }
    expect(liveTensors()).toBe(before);
  });
});
