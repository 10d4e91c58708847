import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { writeSafetensors, type NamedArrays } from '../../src/io/safetensors.js';
import { readAlphaMasks } from '../../src/report/readMasks.js';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

/** Writes masks of the given shapes (entry i of a tensor holds i / 100) with `metadata`, returns the path. */
async function masksFile(shapes: Record<string, number[]>, metadata?: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'masks-'));
  dirs.push(dir);
  const tensors: NamedArrays = {};
  for (const [name, shape] of Object.entries(shapes)) {
    tensors[name] = { shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => i / 100) };
  }
  const path = join(dir, 'alpha.safetensors');
  await writeSafetensors(path, tensors, metadata);
  return path;
}

const mlp = { family: 'mlp', config: { hidden: [5, 4] }, inputShape: [2, 3], numClasses: 3 };
const mlpShapes = { 'fc1.weight': [6, 5], 'fc1.bias': [5], 'fc2.weight': [5, 4], 'fc2.bias': [4], 'fc3.weight': [4, 3], 'fc3.bias': [3] };

describe('readAlphaMasks', () => {
  it("puts the tensors in the order of the architecture the file's metadata records", async () => {
    const masks = await readAlphaMasks(await masksFile(mlpShapes, { architecture: JSON.stringify(mlp) }));
    expect(Object.keys(masks)).toEqual(['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias', 'fc3.weight', 'fc3.bias']);
    expect(masks['fc2.weight']!.shape).toEqual([5, 4]);
    expect(masks['fc2.weight']!.values).toBeInstanceOf(Float32Array);
    expect(masks['fc2.weight']!.values[7]).toBeCloseTo(0.07, 7);
  });

  it('leaves out BatchNorm running statistics when asked for trainable parameters only', async () => {
    const vgg = { family: 'vgg', config: { layout: [4, 'M'], width: 1, batchNorm: true }, inputShape: [4, 4, 1], numClasses: 2 };
    const shapes = {
      'conv1.weight': [3, 3, 1, 4],
      'bn1.weight': [4],
      'bn1.bias': [4],
      'bn1.running_mean': [4],
      'bn1.running_var': [4],
      'classifier.weight': [4, 2],
      'classifier.bias': [2],
    };
    const path = await masksFile(shapes, { architecture: JSON.stringify(vgg) });
    expect(Object.keys(await readAlphaMasks(path))).toEqual(Object.keys(shapes));
    expect(Object.keys(await readAlphaMasks(path, { trainableOnly: true }))).toEqual(['conv1.weight', 'bn1.weight', 'bn1.bias', 'classifier.weight', 'classifier.bias']);
  });

  it('keeps the file order when the metadata names no model, and puts tensors the model lacks last', async () => {
    const plain = await readAlphaMasks(await masksFile(mlpShapes));
    // Safetensors files list tensors by name.
    expect(Object.keys(plain)).toEqual(['fc1.bias', 'fc1.weight', 'fc2.bias', 'fc2.weight', 'fc3.bias', 'fc3.weight']);
    const broken = await readAlphaMasks(await masksFile(mlpShapes, { architecture: '{"family": "no such family"}' }));
    expect(Object.keys(broken)).toEqual(Object.keys(plain));
    const extra = await readAlphaMasks(await masksFile({ ...mlpShapes, 'aaa.extra': [2] }, { architecture: JSON.stringify(mlp) }));
    expect(Object.keys(extra).at(0)).toBe('fc1.weight');
    expect(Object.keys(extra).at(-1)).toBe('aaa.extra');
  });
});
