import * as tf from '@tensorflow/tfjs-core';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readCheckpointInfo } from '../../src/artifacts/checkpoint.js';
import { selectBackend } from '../../src/backend/selectBackend.js';
import { readSafetensors } from '../../src/io/safetensors.js';
import { disposeParams } from '../../src/nn/init.js';
import { randomParams, specOf, torchStateDict, writeTorchFile } from '../interop/helpers.js';
import { runInProcess } from './inProcess.js';
import { expectRefusal } from './expectRefusal.js';

/** A split small enough for seconds, in a recipe (import takes the split from --recipe or the dataset's defaults). */
const tinyRecipe = `
name: imported
seed: 5
data: { dataset: mnist, split: { train: 300, merge: 200, test: 200 } }
`;

describe('merge-train import and export', () => {
  const dir = mkdtempSync(join(tmpdir(), 'merge-train-import-'));
  const file = (name: string) => join(dir, name);
  const mlp = specOf('mlp', { hidden: [16] }, [28, 28, 1], 10);
  const resnet = specOf('resnet', { blocks: [1, 1], widths: [4, 6] }, [28, 28, 1], 10);
  const vgg = specOf('vgg', { layout: [4, 'M', 6, 'M'] }, [28, 28, 1], 10);

  beforeAll(async () => {
    await selectBackend('cpu');
    writeFileSync(file('tiny.yaml'), tinyRecipe);
    // State dicts as a PyTorch program saves them: the documented keys, no merge-train metadata.
    for (const [name, spec, seed] of [['mlp-a', mlp, 1], ['mlp-b', mlp, 2], ['resnet-a', resnet, 3], ['resnet-b', resnet, 4], ['vgg', vgg, 5]] as const) {
      const params = randomParams(spec, seed);
      await writeTorchFile(file(`${name}.safetensors`), torchStateDict(spec, params));
      disposeParams(params);
    }
  });

  it('imports two PyTorch MLPs that eval, align and merge then take as they take base models', async () => {
    const imported = await runInProcess(['import', file('mlp-a.safetensors'), '--out', file('a.safetensors'), '--recipe', file('tiny.yaml'), '--backend', 'cpu']);
    expect(imported.stderr).toBe('');
    expect(imported.stdout).toMatch(/a\.safetensors: .*mlp-a\.safetensors as a mlp \{"hidden":\[16\]\} on mnist, test accuracy \d+\.\d\d%/);
    expect((await runInProcess(['import', file('mlp-b.safetensors'), '--out', file('b.safetensors'), '--recipe', file('tiny.yaml'), '--backend', 'cpu'])).code).toBe(0);

    const info = await readCheckpointInfo(file('a.safetensors'));
    expect(info).toMatchObject({
      kind: 'imported',
      dataset: 'mnist',
      splitSeed: 5,
      split: { train: 300, merge: 200, test: 200 },
      source: { file: 'mlp-a.safetensors', format: 'torch', sha256: createHash('sha256').update(readFileSync(file('mlp-a.safetensors'))).digest('hex') },
    });
    const again = await runInProcess(['import', file('mlp-a.safetensors'), '--out', file('a.safetensors'), '--recipe', file('tiny.yaml'), '--backend', 'cpu']);
    expect(again.stdout).toMatch(/it held this import already: reused/);

    const evaluated = await runInProcess(['eval', file('a.safetensors'), file('b.safetensors'), '--backend', 'cpu']);
    expect(evaluated.stderr).toBe('');
    expect(evaluated.stdout).toMatch(/b\.safetensors: test accuracy \d+\.\d\d%.*mnist, 200 held-out examples/);
    expect(evaluated.stdout).toMatch(/logit ensemble: test accuracy/);
    const aligned = await runInProcess(['align', file('a.safetensors'), file('b.safetensors'), '--method', 'permutation', '--out', file('b-perm.safetensors'), '--backend', 'cpu']);
    expect(aligned.stderr).toBe('');
    const merged = await runInProcess(['merge', file('a.safetensors'), file('b-perm.safetensors'), '--alpha', 'uniform', '--out', file('m.safetensors'), '--backend', 'cpu']);
    expect(merged.stderr).toBe('');
    const scores = await runInProcess(['eval', file('b.safetensors'), file('b-perm.safetensors'), file('m.safetensors'), '--backend', 'cpu']);
    const accuracies = [...scores.stdout.matchAll(/test accuracy (\d+\.\d\d)%, loss (\d+\.\d+)/g)].map((m) => `${m[1]} ${m[2]}`);
    // A permutation leaves B's function as it was.
    expect(accuracies[1]).toBe(accuracies[0]);
    expect(accuracies).toHaveLength(4);
  });

  it('imports PyTorch ResNets with BatchNorm, aligns (BatchNorm scale folded) and merges them, and exports the same weights', async () => {
    for (const name of ['resnet-a', 'resnet-b']) {
      const result = await runInProcess(['import', file(`${name}.safetensors`), '--out', file(`${name}-imported.safetensors`), '--recipe', file('tiny.yaml'), '--backend', 'cpu']);
      expect(result.stderr).toBe('');
      expect(result.stdout).toMatch(/as a resnet \{"blocks":\[1,1\],"widths":\[4,6\],"width":1,"batchNorm":true,"padding":"symmetric"\}/);
    }
    const aligned = await runInProcess(['align', file('resnet-a-imported.safetensors'), file('resnet-b-imported.safetensors'), '--method', 'cca', '--out', file('resnet-b-cca.safetensors'), '--backend', 'cpu']);
    expect(aligned.stderr).toBe('');
    const merged = await runInProcess([
      'merge', file('resnet-a-imported.safetensors'), file('resnet-b-cca.safetensors'), '--alpha', 'uniform', '--reset-examples', '100', '--out', file('resnet-m.safetensors'), '--backend', 'cpu',
    ]);
    expect(merged.stderr).toBe('');
    expect((await runInProcess(['eval', file('resnet-m.safetensors'), '--backend', 'cpu'])).code).toBe(0);

    const exported = await runInProcess(['export', file('resnet-a-imported.safetensors'), '--format', 'torch', '--out', file('resnet-a-again.safetensors'), '--backend', 'cpu']);
    expect(exported.stderr).toBe('');
    expect(exported.stdout).toMatch(/resnet-a-again\.safetensors: .* in the torch format/);
    expect(exported.stdout).not.toMatch(/note:/); // imported from PyTorch: padded as PyTorch pads
    const [original, again] = [await readSafetensors(file('resnet-a.safetensors')), await readSafetensors(file('resnet-a-again.safetensors'))];
    expect(Object.keys(again.tensors).sort()).toEqual(Object.keys(original.tensors).sort());
    for (const [key, { shape, data }] of Object.entries(original.tensors)) {
      expect(again.tensors[key]!.shape, key).toEqual(shape);
      expect(Buffer.from(again.tensors[key]!.data.buffer, again.tensors[key]!.data.byteOffset, again.tensors[key]!.data.byteLength).equals(Buffer.from(data.buffer, data.byteOffset, data.byteLength)), key).toBe(true);
    }
  });

  it('exports a ResNet of merge-train\'s own padding with a note on the PyTorch padding that matches it', async () => {
    const merged = await runInProcess(['export', file('a.safetensors'), '--format', 'torch', '--out', file('a-torch.safetensors')]);
    expect(merged.code).toBe(0);
    expect(merged.stdout).not.toMatch(/note:/);
    const spec = specOf('resnet', { blocks: [1], widths: [4] }, [28, 28, 1], 10);
    const { saveCheckpoint } = await import('../../src/artifacts/checkpoint.js');
    const params = randomParams(spec, 9);
    await saveCheckpoint(file('native-resnet.safetensors'), spec, params, { kind: 'base', dataset: 'mnist', splitSeed: 5, split: { train: 300, merge: 200, test: 200 }, key: 'native' });
    disposeParams(params);
    const exported = await runInProcess(['export', file('native-resnet.safetensors'), '--format', 'torch', '--out', file('native-torch.safetensors')]);
    expect(exported.stdout).toMatch(/note: its stride-2 convolutions pad as TensorFlow's 'same' does: build the PyTorch ResNet with padding='same'/);
  });

  it('refuses what it cannot read with one line and exit code 2, writing nothing', async () => {
    const out = file('refused.safetensors');
    const importing = (source: string, ...flags: string[]) => runInProcess(['import', source, '--out', out, '--backend', 'cpu', ...flags]);
    expectRefusal(await importing(file('mlp-a.safetensors')), /do not say the shape of the model's input; give the dataset it was trained on with --dataset \(mnist, /);
    expectRefusal(await importing(file('vgg.safetensors'), '--dataset', 'mnist'), /max-pools after the last convolution leave no trace .*--config '\{"layout":\[4,"M",6\]\}'/);
    expectRefusal(await importing(file('vgg.safetensors'), '--dataset', 'cifar10', '--config', '{"layout":[4,"M",6,"M"]}'), /the first convolution takes 1 channels but the dataset's inputs are 32x32x3/);
    expectRefusal(await importing(file('vgg.safetensors'), '--dataset', 'mnist', '--config', '{"layout":[4,6,"M"]}'), /tensor features\.5\.weight is not one of the PyTorch vgg \{"layout":\[4,6,"M"\]/);
    expectRefusal(await importing(file('vgg.safetensors'), '--dataset', 'mnist', '--config', '{"layout":"vgg11"}'), /vgg\.safetensors: a VGG layout with 5 max-pools needs inputs of at least 32x32, got 28x28/);
    expectRefusal(await importing(file('vgg.safetensors'), '--dataset', 'mnist', '--config', '{"layout":[5,"M",6,"M"]}'), /tensor features\.0\.weight has shape \[4,1,3,3\]; the PyTorch vgg .* has it of shape \[5,1,3,3\]/);
    expectRefusal(await importing(file('mlp-a.safetensors'), '--dataset', 'mnist', '--family', 'resnet'), /tensor conv1\.weight is missing/);
    expectRefusal(await importing(file('mlp-a.safetensors'), '--dataset', 'mnist', '--format', 'onnx'), /unknown model format "onnx"/);
    expectRefusal(await importing(file('mlp-a.safetensors'), '--dataset', 'mnist', '--config', '{hidden'), /--config <json>.*expected a JSON object/);

    const tensors = (await readSafetensors(file('mlp-a.safetensors'))).tensors;
    const variant = async (name: string, change: (copy: typeof tensors) => void) => {
      const copy = Object.fromEntries(Object.entries(tensors).map(([key, value]) => [key, { shape: [...value.shape], data: value.data.slice() }]));
      change(copy);
      return writeTorchFile(file(name), copy);
    };
    const extra = await variant('extra.safetensors', (copy) => {
      copy['layers.1.weight_orig'] = copy['layers.1.weight']!;
    });
    expectRefusal(await importing(extra, '--dataset', 'mnist'), /tensor layers\.1\.weight_orig is not one of the PyTorch mlp \{"hidden":\[16\]\}; expected keys such as layers\.1\.weight/);
    const missing = await variant('missing.safetensors', (copy) => {
      delete copy['layers.3.bias'];
    });
    expectRefusal(await importing(missing, '--dataset', 'mnist'), /tensor layers\.3\.bias is missing; the PyTorch mlp \{"hidden":\[16\]\} has it, of shape \[10\]/);
    const misshapen = await variant('misshapen.safetensors', (copy) => {
      copy['layers.1.bias'] = { shape: [15], data: new Float32Array(15) };
    });
    expectRefusal(await importing(misshapen, '--dataset', 'mnist'), /tensor layers\.1\.bias has shape \[15\]; the PyTorch mlp \{"hidden":\[16\]\} has it of shape \[16\]/);
    const broken = await variant('nan.safetensors', (copy) => {
      copy['layers.3.weight']!.data[7] = Number.NaN;
    });
    expectRefusal(await importing(broken, '--dataset', 'mnist'), /tensor layers\.3\.weight holds NaN at index 7; expected finite weights/);
    writeFileSync(file('model.pt'), Buffer.concat([Buffer.from('PK\u0003\u0004'), Buffer.alloc(60)]));
    expectRefusal(await importing(file('model.pt'), '--dataset', 'mnist'), /model\.pt is a PyTorch pickle \(torch\.save\); merge-train reads state dicts saved as safetensors/);
    expect(existsSync(out)).toBe(false);

    expectRefusal(await runInProcess(['export', file('a.safetensors'), '--out', file('x.safetensors')]), /required option '--format <name>' not specified/);
    expectRefusal(await runInProcess(['export', file('a.safetensors'), '--format', 'torch', '--out', file('a.safetensors')]), /--out .*a\.safetensors.* input/);
    expectRefusal(await runInProcess(['export', file('mlp-a.safetensors'), '--format', 'torch', '--out', file('x.safetensors')]), /mlp-a\.safetensors: metadata "format" is "pt"; expected merge-train\/2/);
  });

  it('takes the data split from --dataset and its defaults without a recipe', async () => {
    const result = await runInProcess(['import', file('mlp-a.safetensors'), '--dataset', 'mnist', '--seed', '2', '--out', file('default-split.safetensors'), '--backend', 'cpu']);
    expect(result.stderr).toBe('');
    const info = await readCheckpointInfo(file('default-split.safetensors'));
    expect(info).toMatchObject({ kind: 'imported', dataset: 'mnist', splitSeed: 2, split: { train: 6500, merge: 1500, test: 2000 } });
    tf.disposeVariables();
  });
});
