import * as tf from '@tensorflow/tfjs-core';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/backend/selectBackend.js';
import { torchFormat } from '../../src/interop/torchFormat.js';
import { fromTorch, toTorch } from '../../src/interop/torchLayout.js';
import { readSafetensors, readSafetensorsHeader } from '../../src/io/safetensors.js';
import { disposeParams } from '../../src/nn/init.js';
import { randomParams, specOf, torchStateDict, writeTorchFile } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'merge-train-torch-'));

/** Each family, with what makes its mapping hard: an image MLP (its columns reordered), pools, shortcuts, BatchNorm. */
const cases: { name: string; family: string; config: Record<string, unknown>; inputShape: number[]; hints?: Record<string, unknown> }[] = [
  { name: 'mlp on colour images', family: 'mlp', config: { hidden: [7, 5] }, inputShape: [4, 3, 2] },
  { name: 'mlp on vectors', family: 'mlp', config: { hidden: [6] }, inputShape: [9] },
  { name: 'vgg with BatchNorm', family: 'vgg', config: { layout: ['M', 4, 'M', 6, 6, 'M'] }, inputShape: [8, 8, 3] },
  { name: 'vgg without BatchNorm, half width', family: 'vgg', config: { layout: [8, 'M', 6], width: 0.5, batchNorm: false }, inputShape: [6, 6, 1] },
  { name: 'resnet with BatchNorm and shortcuts', family: 'resnet', config: { blocks: [2, 1, 1], widths: [4, 6, 8] }, inputShape: [8, 8, 3] },
  { name: 'resnet without BatchNorm', family: 'resnet', config: { blocks: [1, 2], widths: [4, 6], batchNorm: false, padding: 'symmetric' }, inputShape: [7, 7, 1] },
];

/** Whether two float32 arrays hold the same bits, entry for entry. */
function sameBits(a: tf.Tensor, b: tf.Tensor): boolean {
  const [x, y] = [new Uint32Array((a.dataSync() as Float32Array).slice().buffer), new Uint32Array((b.dataSync() as Float32Array).slice().buffer)];
  return a.shape.join(',') === b.shape.join(',') && x.every((bits, i) => bits === y[i]);
}

describe('the PyTorch layout', () => {
  beforeAll(async () => {
    await selectBackend('cpu');
  });
  afterAll(() => tf.disposeVariables());

  it('reorders an image MLP\'s first weight from channel-last to channel-first flattening', () => {
    // merge-train row (h, w, c) of an image [2, 1, 3] is row h*3 + c; PyTorch column c*2 + h.
    const kernel = tf.tensor2d(Array.from({ length: 6 }, (_, row) => [row, 10 + row]), [6, 2]);
    const torch = toTorch(kernel, { kind: 'linear', image: [2, 1, 3] });
    expect(torch.arraySync()).toEqual([
      [0, 3, 1, 4, 2, 5],
      [10, 13, 11, 14, 12, 15],
    ]);
    expect(sameBits(fromTorch(torch, { kind: 'linear', image: [2, 1, 3] }), kernel)).toBe(true);
  });

  it('puts a kernel [kh, kw, in, out] as [out, in, kh, kw]', () => {
    const kernel = tf.tensor4d(Array.from({ length: 2 * 3 * 4 * 5 }, (_, i) => i), [2, 3, 4, 5]);
    const torch = toTorch(kernel, { kind: 'conv' });
    expect(torch.shape).toEqual([5, 4, 2, 3]);
    // [o, i, y, x] = [y, x, i, o]
    expect((torch.arraySync() as number[][][][])[3]![1]![0]![2]).toBe((kernel.arraySync() as number[][][][])[0]![2]![1]![3]);
  });

  for (const { name, family, config, inputShape } of cases) {
    it(`${name}: merge-train -> PyTorch -> merge-train is exact, with and without the recorded architecture`, async () => {
      const spec = specOf(family, config, inputShape, 3);
      const params = randomParams(spec, 11);
      const exported = join(dir, `${name}.safetensors`);
      await torchFormat.write(spec, params, exported);
      const plain = await writeTorchFile(join(dir, `${name} plain.safetensors`), torchStateDict(spec, params));
      // A plain PyTorch file does not show a VGG's last max-pools, nor that a ResNet pads as 'same': those come as hints.
      const needed = family === 'mlp' ? {} : { config };
      for (const [file, hints] of [[exported, {}], [plain, needed]] as const) {
        const read = await torchFormat.read(file, { ...hints, inputShape, numClasses: 3 });
        expect(read.spec.family).toBe(family);
        expect(Object.keys(read.params).sort()).toEqual(Object.keys(params).sort());
        for (const param of Object.keys(params)) expect(sameBits(read.params[param]!, params[param]!), param).toBe(true);
        disposeParams(read.params);
      }
      disposeParams(params);
    });
  }

  it('writes the documented keys: F32 tensors in PyTorch layout and num_batches_tracked as an int64 0', async () => {
    const spec = specOf('resnet', { blocks: [1, 1], widths: [4, 6] }, [8, 8, 3], 5);
    const params = randomParams(spec, 3);
    const path = join(dir, 'resnet-keys.safetensors');
    await torchFormat.write(spec, params, path);
    const { tensors } = await readSafetensorsHeader(path);
    expect(Object.keys(tensors).sort()).toEqual(
      [
        'conv1.weight', 'bn1.weight', 'bn1.bias', 'bn1.running_mean', 'bn1.running_var', 'bn1.num_batches_tracked',
        ...['layer1.0', 'layer2.0'].flatMap((block) =>
          ['conv1', 'bn1', 'conv2', 'bn2'].flatMap((layer) =>
            layer.startsWith('conv') ? [`${block}.${layer}.weight`] : ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked'].map((part) => `${block}.${layer}.${part}`),
          ),
        ),
        'layer2.0.shortcut.0.weight',
        ...['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked'].map((part) => `layer2.0.shortcut.1.${part}`),
        'linear.weight', 'linear.bias',
      ].sort(),
    );
    expect(tensors['layer2.0.conv1.weight']).toEqual({ dtype: 'F32', shape: [6, 4, 3, 3] });
    expect(tensors['layer2.0.shortcut.0.weight']).toEqual({ dtype: 'F32', shape: [6, 4, 1, 1] });
    expect(tensors['linear.weight']).toEqual({ dtype: 'F32', shape: [5, 6] });
    expect(tensors['bn1.num_batches_tracked']).toEqual({ dtype: 'I64', shape: [] });
    expect(Array.from((await readSafetensors(path)).tensors['bn1.num_batches_tracked']!.data)).toEqual([0]);

    const mlp = specOf('mlp', { hidden: [4, 4] }, [2, 2, 1], 3);
    const mlpParams = randomParams(mlp, 1);
    await torchFormat.write(mlp, mlpParams, join(dir, 'mlp-keys.safetensors'));
    // nn.Flatten is layers.0, each nn.ReLU takes an index.
    expect(Object.keys((await readSafetensorsHeader(join(dir, 'mlp-keys.safetensors'))).tensors).sort()).toEqual(
      ['layers.1.weight', 'layers.1.bias', 'layers.3.weight', 'layers.3.bias', 'layers.5.weight', 'layers.5.bias'].sort(),
    );
    const vgg = specOf('vgg', { layout: [4, 'M', 'M', 6, 'M'], batchNorm: true }, [8, 8, 1], 3);
    const vggParams = randomParams(vgg, 1);
    await torchFormat.write(vgg, vggParams, join(dir, 'vgg-keys.safetensors'));
    // torchvision's numbering: conv 0, BatchNorm 1, ReLU 2, pools 3 and 4, conv 5, BatchNorm 6, ReLU 7, pool 8.
    expect(Object.keys((await readSafetensorsHeader(join(dir, 'vgg-keys.safetensors'))).tensors).filter((key) => key.endsWith('.weight')).sort()).toEqual(
      ['features.0.weight', 'features.1.weight', 'features.5.weight', 'features.6.weight', 'classifier.weight'].sort(),
    );
    [params, mlpParams, vggParams].forEach(disposeParams);
  });
});
