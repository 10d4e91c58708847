import * as tf from '@tensorflow/tfjs-core';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/backend/selectBackend.js';
import { TensorSet } from '../../src/data/batches.js';
import { disposeParams } from '../../src/nn/init.js';
import { baseModels, loadRunData } from '../../src/recipe/baseModels.js';
import { parseRecipe } from '../../src/recipe/loadRecipe.js';
import { silentObserver, type RunObserver } from '../../src/recipe/observer.js';
import { runPaths } from '../../src/recipe/runDirectory.js';
import type { Recipe } from '../../src/recipe/schema.js';

/** Three small MLPs on real MNIST digits: seconds to train. */
function recipe(overrides: Record<string, unknown> = {}): Recipe {
  return parseRecipe(
    {
      name: 'workers',
      seed: 5,
      data: { dataset: 'mnist', split: { train: 600, merge: 200, test: 200 } },
      model: { family: 'mlp', config: { hidden: [16] } },
      train: { models: 3, epochs: 2, batchSize: 50, learningRate: 0.05, ...overrides },
    },
    'test',
  );
}

async function trainAll(r: Recipe, jobs: number, observer: RunObserver = silentObserver) {
  const { splits, spec, dataInfo } = await loadRunData(r, 'test');
  const train = new TensorSet(splits.train, splits.inputShape);
  const monitor = new TensorSet(splits.merge, splits.inputShape);
  const paths = runPaths(mkdtempSync(join(tmpdir(), 'merge-train-workers-')));
  try {
    const { models, trained } = await baseModels(r, spec, { train, monitor, dataInfo }, paths, observer, { jobs, threads: 2, source: 'test' });
    expect(trained).toEqual([0, 1, 2]);
    const values = models.map((params) => Object.fromEntries(Object.entries(params).map(([name, t]) => [name, t.dataSync().slice()])));
    models.forEach(disposeParams);
    return values;
  } finally {
    train.dispose();
    monitor.dispose();
  }
}

describe('base models in parallel worker processes', () => {
  beforeAll(async () => {
    await selectBackend('wasm');
  });

  it('trains the same weights, bit for bit, as training them one after another here', async () => {
    const before = tf.memory().numTensors;
    const bars: string[] = [];
    const lines: string[] = [];
    const observer: RunObserver = {
      log: (line) => lines.push(line),
      warn: (line) => lines.push(line),
      bar: (label) => {
        bars.push(label);
        return { update: () => {}, stop: () => {} };
      },
    };
    const parallel = await trainAll(recipe(), 2, observer);
    const serial = await trainAll(recipe(), 1);
    expect(parallel).toHaveLength(3);
    for (let i = 0; i < 3; i++) {
      for (const [name, values] of Object.entries(serial[i]!)) expect(parallel[i]![name], `model ${i} ${name}`).toEqual(values);
    }
    // Different seeds make different models.
    expect(parallel[0]!['fc1.weight']).not.toEqual(parallel[1]!['fc1.weight']);
    // Every worker's progress reached this process's observer.
    expect(bars.sort()).toEqual(['train model 0', 'train model 1', 'train model 2']);
    expect(tf.memory().numTensors).toBe(before);
  });

  it("passes a worker's failure on with its message", async () => {
    await expect(trainAll(recipe({ learningRate: 1e9 }), 2)).rejects.toThrow(/training diverged in epoch 1/);
  });
});
