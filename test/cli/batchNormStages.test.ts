import * as tf from '@tensorflow/tfjs-core';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/backend/selectBackend.js';
import { TensorSet } from '../../src/data/batches.js';
import { loadSplits } from '../../src/data/split.js';
import { loadCheckpoint, saveCheckpoint, type CheckpointInfo } from '../../src/artifacts/checkpoint.js';
import { mergeParams } from '../../src/merge/mergeParams.js';
import { families } from '../../src/nn/families.js';
import { foldBatchNormScale } from '../../src/align/batchNormModes.js';
import { disposeParams, initParams } from '../../src/nn/init.js';
import { resetBatchNormStats } from '../../src/nn/resetBatchNorm.js';
import type { ParamMap } from '../../src/nn/spec.js';
import { maxAbsDiff, normalRng } from '../nn/helpers.js';
import { runCli } from './runCli.js';

const split = { train: 300, merge: 200, test: 200 };
const info = { kind: 'base', dataset: 'mnist', splitSeed: 3, split } as const;
const spec = families.get('vgg').build(families.get('vgg').configSchema.parse({ layout: [6, 'M', 8], batchNorm: true }), [28, 28, 1], 10);

/** Initialised weights with BatchNorm vectors far from identity, so a wrong BatchNorm rule shows. */
function modelParams(seed: number): ParamMap {
  const params = initParams(spec, seed);
  const next = normalRng(seed + 50);
  for (const [name, p] of Object.entries(spec.params)) {
    if (!name.startsWith('bn')) continue;
    const positive = name.endsWith('running_var') || name.endsWith('.weight');
    params[name]!.dispose();
    params[name] = tf.tensor1d(Float32Array.from({ length: p.shape[0]! }, () => (positive ? 0.5 + Math.abs(next()) : next())));
  }
  return params;
}

describe('align and merge stages on a model with BatchNorm', () => {
  const dir = mkdtempSync(join(tmpdir(), 'merge-train-bn-'));
  const file = (name: string) => join(dir, name);
  beforeAll(async () => {
    await selectBackend('cpu');
    for (const [name, seed] of [['a', 1], ['b', 2]] as const) {
      const params = modelParams(seed);
      const base: CheckpointInfo = { ...info, seed, key: `model-${name}` };
      await saveCheckpoint(file(`${name}.safetensors`), spec, params, base);
      disposeParams(params);
    }
  });

  it('fold-scale alignment keeps B\'s function under a permutation; merging recomputes the statistics', async () => {
    const permuted = await runCli(['align', file('a.safetensors'), file('b.safetensors'), '--method', 'permutation', '--batch-norm', 'fold-scale', '--out', file('b-perm.safetensors')]);
    expect(permuted.stderr).toBe('');
    const evalPair = await runCli(['eval', file('b.safetensors'), file('b-perm.safetensors')]);
    const accuracies = [...evalPair.stdout.matchAll(/test accuracy (\d+\.\d\d)%, loss (\d+\.\d+)/g)].map((m) => `${m[1]} ${m[2]}`);
    expect(accuracies[0]).toBe(accuracies[1]);

    const aligned = await runCli(['align', file('a.safetensors'), file('b.safetensors'), '--method', 'cca', '--out', file('b-cca.safetensors')]);
    expect(aligned.stderr).toBe('');
    const merged = await runCli(['merge', file('a.safetensors'), file('b-cca.safetensors'), '--alpha', 'uniform', '--reset-examples', '120', '--out', file('m.safetensors')]);
    expect(merged.stderr).toBe('');

    // What the merge stage must have written: A brought to the same form as B' (fold-scale is the
    // default), the two averaged, then the statistics recomputed on the first 120 training examples.
    const [a, b, m] = await Promise.all(['a', 'b-cca', 'm'].map((name) => loadCheckpoint(file(`${name}.safetensors`))));
    expect(b!.info.kind === 'aligned' && b!.info.align.batchNorm).toBe('fold-scale');
    const foldedA = foldBatchNormScale(spec, a!.params);
    const average = mergeParams(foldedA, b!.params, 0.5);
    const splits = await loadSplits('mnist', { sizes: split, seed: 3, cacheDir: 'data' });
    const train = new TensorSet(splits.train, splits.inputShape);
    const resetData = train.take(120);
    const expected = resetBatchNormStats(spec, average, resetData);
    for (const name of Object.keys(spec.params)) {
      const values = expected[name]!.dataSync();
      expect(maxAbsDiff(m!.params[name]!.dataSync(), values), name).toBeLessThan(1e-3 * Math.max(1, ...Array.from(values, Math.abs))); // wasm in the CLI, cpu here
    }
    // and the statistics really moved from the plain average
    expect(maxAbsDiff(m!.params['bn1.running_var']!.dataSync(), average['bn1.running_var']!.dataSync())).toBeGreaterThan(1e-2);
    [a!.params, b!.params, m!.params, foldedA, average, expected].forEach(disposeParams);
    [train, resetData].forEach((set) => set.dispose());
  });
});
