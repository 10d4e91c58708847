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
merge: { steps: 20, evalEvery: 5, batchSize: 50, resetExamples: 200 }
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

/** A functional digit classifier with a residual block (an identity shortcut into an Add), as Keras builds one. */
function residualDigitModel(seed: number): tf.LayersModel {
  const input = tf.input({ shape: [28, 28, 1], name: 'image' });
  const stem = tf.layers.conv2d({ filters: 6, kernelSize: 3, strides: 2, padding: 'same', name: 'stem' }).apply(input) as tf.SymbolicTensor;
  const stemOut = tf.layers.reLU({ name: 'stem_relu' }).apply(tf.layers.batchNormalization({ name: 'stem_bn' }).apply(stem)) as tf.SymbolicTensor;
  const inner = tf.layers.conv2d({ filters: 6, kernelSize: 3, padding: 'same', useBias: false, name: 'block_conv' }).apply(stemOut) as tf.SymbolicTensor;
  const innerBn = tf.layers.batchNormalization({ name: 'block_bn' }).apply(inner) as tf.SymbolicTensor;
  const sum = tf.layers.add({ name: 'residual' }).apply([stemOut, innerBn]) as tf.SymbolicTensor;
  const activated = tf.layers.reLU({ name: 'block_relu' }).apply(sum) as tf.SymbolicTensor;
  const pooled = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(activated) as tf.SymbolicTensor;
  const logits = tf.layers.dense({ units: 10, name: 'logits' }).apply(pooled) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: logits, name: 'residual_digits' });
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
    for (const [name, seed] of [['res-a', 3], ['res-b', 4]] as const) writeModelFiles(await artifactsOf(residualDigitModel(seed)), file(name));
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

  it('imports a residual Keras-style model with no spec written, aligns it with CCA and merges it with learned alpha', async () => {
    for (const name of ['res-a', 'res-b']) await succeed(['import', file(`${name}/model.json`), '--out', file(`${name}.safetensors`), '--recipe', file('tiny.yaml')]);
    await succeed(['align', file('res-a.safetensors'), file('res-b.safetensors'), '--method', 'cca', '--recipe', file('tiny.yaml'), '--out', file('res-b-cca.safetensors')]);
    const merged = await succeed([
      'merge', file('res-a.safetensors'), file('res-b-cca.safetensors'), '--alpha', 'learned', '--recipe', file('tiny.yaml'),
      '--out', file('res-learned.safetensors'), '--masks-out', file('res-alpha.safetensors'),
    ]);
    expect(merged).toMatch(/merged with learned alpha/);
    expect(await succeed(['eval', file('res-learned.safetensors')])).toMatch(/test accuracy \d+\.\d\d%/);
    // One mask per parameter of the derived spec (the residual stream's layers included), learned away from 0.5.
    const masks = await loadCheckpoint(file('res-alpha.safetensors'), ['alpha']);
    expect(Object.keys(masks.params).sort()).toEqual(Object.keys(masks.spec.params).sort());
    const alpha = masks.params['block_conv/kernel']!.dataSync();
    expect(Math.max(...Array.from(alpha, (v) => Math.abs(v - 0.5)))).toBeGreaterThan(0.001);
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
