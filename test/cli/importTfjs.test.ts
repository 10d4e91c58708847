import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadCheckpoint } from '../../src/artifacts/checkpoint.js';
import { selectBackend } from '../../src/backend/selectBackend.js';
import { maxAbsDiff, normalInputs } from '../nn/helpers.js';
import { artifactsOf, loadModelFiles, seedWeights, writeModelFiles } from '../nn/tfjsModels.js';
import { runInProcess } from './inProcess.js';

/** A split small enough for seconds (import takes the split from --recipe). */
const tinyRecipe = `
name: imported
seed: 2
data: { dataset: mnist, split: { train: 300, merge: 200, test: 200 } }
`;

/** A Keras-style digit classifier: conv, BatchNorm, pooling, a residual-free head. */
function digitModel(seed: number): tf.LayersModel {
  const model = tf.sequential({
    name: 'digits',
    layers: [
      tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 4, kernelSize: 3, padding: 'same', name: 'conv' }),
      tf.layers.batchNormalization({ name: 'bn' }),
      tf.layers.reLU({ name: 'relu' }),
      tf.layers.maxPooling2d({ poolSize: 2, name: 'pool' }),
      tf.layers.globalAveragePooling2d({ name: 'gap' }),
      tf.layers.dense({ units: 10, name: 'logits' }),
    ],
  });
  seedWeights(model, seed);
  return model;
}

describe('merge-train import and export of TensorFlow.js models', () => {
  const dir = mkdtempSync(join(tmpdir(), 'merge-train-import-tfjs-'));
  const file = (name: string) => join(dir, name);
  const succeed = async (args: string[]) => {
    const result = await runInProcess([...args, '--backend', 'cpu']);
    expect(result.code, result.stderr).toBe(0);
    return result.stdout;
  };

  beforeAll(async () => {
    await selectBackend('cpu');
    writeFileSync(file('tiny.yaml'), tinyRecipe);
    for (const [name, seed] of [['a', 1], ['b', 2]] as const) writeModelFiles(await artifactsOf(digitModel(seed)), file(name));
  });

  it('imports a model.json (the format told by its name), then aligns, merges and exports it back to tfjs', async () => {
    for (const name of ['a', 'b']) {
      const out = await succeed(['import', file(`${name}/model.json`), '--out', file(`${name}.safetensors`), '--recipe', file('tiny.yaml')]);
      expect(out).toMatch(/as a layers .* on mnist, test accuracy \d+\.\d\d%/);
    }
    await succeed(['align', file('a.safetensors'), file('b.safetensors'), '--method', 'permutation', '--recipe', file('tiny.yaml'), '--out', file('b-perm.safetensors')]);
    await succeed(['merge', file('a.safetensors'), file('b-perm.safetensors'), '--alpha', 'uniform', '--recipe', file('tiny.yaml'), '--out', file('merged.safetensors')]);
    await succeed(['export', file('merged.safetensors'), '--format', 'tfjs', '--out', file('merged/model.json')]);
    // tf.loadLayersModel runs the merged model as merge-train does.
    const merged = await loadCheckpoint(file('merged.safetensors'));
    const loaded = await loadModelFiles(file('merged/model.json'));
    const x = tf.tensor4d(normalInputs(3, 784, 9), [3, 28, 28, 1]);
    const ours = merged.spec.forward(merged.params, x).dataSync();
    const theirs = (loaded.predict(x) as tf.Tensor).dataSync();
    expect(maxAbsDiff(ours, theirs)).toBeLessThan(1e-4);
  });

  it('keys an import by the weights it read: new shards under the same model.json are a new model, not a reuse', async () => {
    await succeed(['import', file('a/model.json'), '--out', file('c.safetensors'), '--recipe', file('tiny.yaml')]);
    // Another model's shard in place of model a's; model.json is byte for byte the same.
    const before = readFileSync(file('a/model.json'));
    writeModelFiles(await artifactsOf(digitModel(3)), file('a'));
    expect(Buffer.compare(readFileSync(file('a/model.json')), before)).toBe(0);
    const again = await succeed(['import', file('a/model.json'), '--out', file('c.safetensors'), '--recipe', file('tiny.yaml')]);
    expect(again).not.toMatch(/reused/);
  });
});
