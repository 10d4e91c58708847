import * as tf from '@tensorflow/tfjs-core';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadCheckpoint } from '../../src/artifacts/checkpoint.js';
import { selectBackend } from '../../src/backend/selectBackend.js';
import { disposeParams } from '../../src/nn/init.js';
import { runInWorkers } from '../../src/pool/workerPool.js';
import { parseRecipe } from '../../src/recipe/loadRecipe.js';
import { trainSettings, type TrainSettings } from '../../src/recipe/methodSettings.js';
import { StageContext } from '../../src/stages/context.js';
import { trainStage } from '../../src/stages/trainStage.js';
import { silentObserver, type RunObserver } from '../../src/util/observer.js';

/** Three small MLPs on real MNIST digits: seconds to train. */
function settings(overrides: Record<string, unknown> = {}): TrainSettings {
  const recipe = parseRecipe(
    {
      name: 'workers',
      seed: 5,
      data: { dataset: 'mnist', split: { train: 600, merge: 200, test: 200 } },
      model: { family: 'mlp', config: { hidden: [16] } },
      train: { epochs: 2, batchSize: 50, learningRate: 0.05, ...overrides },
    },
    'test',
  );
  return trainSettings(recipe);
}

/** The weights of the three models written to a fresh folder, trained in `workers` processes (or here, for 1). */
async function trainThree(train: TrainSettings, workers: number, observer: RunObserver = silentObserver) {
  const dir = mkdtempSync(join(tmpdir(), 'merge-train-workers-'));
  const out = (index: number) => join(dir, `model-${index}.safetensors`);
  if (workers > 1) {
    const jobs = [0, 1, 2].map((index) => ({ stage: 'train' as const, settings: train, index, out: out(index) }));
    await runInWorkers(jobs, workers, { backend: 'wasm', threads: 2, cacheDir: 'data' }, observer);
  } else {
    const ctx = new StageContext(observer);
    for (const index of [0, 1, 2]) await trainStage(train, index, out(index), ctx);
    await ctx.dispose();
  }
  const values = [];
  for (const index of [0, 1, 2]) {
    const { params } = await loadCheckpoint(out(index));
    values.push(Object.fromEntries(Object.entries(params).map(([name, t]) => [name, t.dataSync().slice()])));
    disposeParams(params);
  }
  return values;
}

describe('stage jobs in parallel worker processes', () => {
  beforeAll(async () => {
    await selectBackend('wasm');
  });

  it('train the same weights, bit for bit, as training the models one after another here', async () => {
    const before = tf.memory().numTensors;
    const bars: string[] = [];
    const observer: RunObserver = {
      log: () => {},
      warn: () => {},
      bar: (label) => {
        bars.push(label);
        return { update: () => {}, stop: () => {} };
      },
    };
    const parallel = await trainThree(settings(), 2, observer);
    const serial = await trainThree(settings(), 1);
    expect(parallel).toHaveLength(3);
    for (let i = 0; i < 3; i++) {
      for (const [name, values] of Object.entries(serial[i]!)) expect(parallel[i]![name], `model ${i} ${name}`).toEqual(values);
    }
    // Different seeds make different models.
    expect(parallel[0]!['fc1.weight']).not.toEqual(parallel[1]!['fc1.weight']);
    // Every worker's progress reached this process's observer.
    expect(bars.sort()).toEqual(['train model A', 'train model B', 'train model C']);
    expect(tf.memory().numTensors).toBe(before);
  });

  it("passes a worker's failure on with its message", async () => {
    await expect(trainThree(settings({ learningRate: 1e9 }), 2)).rejects.toThrow(/training diverged in epoch 1/);
  });
});
