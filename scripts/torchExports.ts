/**
 * `npx tsx scripts/torchExports.ts [folder]`: merge-train's side of the PyTorch export check. Builds
 * tiny seeded models of each family (BatchNorm with random statistics; a ResNet of each padding, on
 * even and odd sizes), exports each with the torch format into `folder` (default
 * test/fixtures/torch/exports), and writes `manifest.json`: for each file, the PyTorch class and
 * arguments that should load it (scripts/torchFixtures.py), a few inputs (NHWC) and merge-train's
 * logits for them. Then `python3 scripts/torchFixtures.py --check-exports <folder>` loads every file
 * with load_state_dict(strict=True) and records PyTorch's logits, which test/interop/torchExports.test.ts
 * compares with merge-train's.
 */
import * as tf from '@tensorflow/tfjs-core';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { selectBackend } from '../src/backend/selectBackend.js';
import { torchFormat } from '../src/interop/torchFormat.js';
import { families } from '../src/nn/families.js';
import { disposeParams, initParams } from '../src/nn/init.js';
import type { ModelSpec, ParamMap } from '../src/nn/spec.js';
import { subSeed } from '../src/util/random.js';

/** One exported model: merge-train's family and configuration, and the PyTorch class that matches it. */
interface ExportCase {
  file: string;
  family: string;
  config: Record<string, unknown>;
  inputShape: [number, number, number];
  numClasses: number;
  torch: { class: string; kwargs: Record<string, unknown> };
}

const cases: ExportCase[] = [
  { file: 'mlp.safetensors', family: 'mlp', config: { hidden: [5, 6] }, inputShape: [4, 4, 3], numClasses: 3, torch: { class: 'MLP', kwargs: { inputs: 48, hidden: [5, 6], classes: 3 } } },
  {
    file: 'vgg-batchnorm.safetensors',
    family: 'vgg',
    config: { layout: [4, 'M', 6, 'M'] },
    inputShape: [8, 8, 3],
    numClasses: 3,
    torch: { class: 'VGG', kwargs: { layout: [4, 'M', 6, 'M'], in_channels: 3, classes: 3 } },
  },
  {
    file: 'vgg-plain-half-width.safetensors',
    family: 'vgg',
    config: { layout: [6, 'M', 8], width: 0.5, batchNorm: false },
    inputShape: [6, 6, 1],
    numClasses: 2,
    torch: { class: 'VGG', kwargs: { layout: [3, 'M', 4], in_channels: 1, classes: 2, batch_norm: false } },
  },
  {
    file: 'resnet-same-even.safetensors',
    family: 'resnet',
    config: { blocks: [1, 1, 1], widths: [4, 6, 8] },
    inputShape: [8, 8, 3],
    numClasses: 3,
    torch: { class: 'ResNet', kwargs: { blocks: [1, 1, 1], widths: [4, 6, 8], in_channels: 3, classes: 3, padding: 'same' } },
  },
  {
    file: 'resnet-same-odd.safetensors',
    family: 'resnet',
    config: { blocks: [1, 2], widths: [4, 4] },
    inputShape: [7, 7, 3],
    numClasses: 3,
    torch: { class: 'ResNet', kwargs: { blocks: [1, 2], widths: [4, 4], in_channels: 3, classes: 3, padding: 'same' } },
  },
  {
    file: 'resnet-symmetric-plain.safetensors',
    family: 'resnet',
    config: { blocks: [2, 1], widths: [4, 6], batchNorm: false, padding: 'symmetric' },
    inputShape: [8, 8, 3],
    numClasses: 3,
    torch: { class: 'ResNet', kwargs: { blocks: [2, 1], widths: [4, 6], in_channels: 3, classes: 3, batch_norm: false } },
  },
];

/** Seeded parameters with BatchNorm far from its initial state (scale, shift and statistics), so a mix-up shows. */
function randomParams(spec: ModelSpec, seed: number): ParamMap {
  const params = initParams(spec, seed);
  for (const layer of spec.layers) {
    if (layer.kind !== 'batchNorm') continue;
    const { norm } = layer;
    const draw = (name: string, low: number, high: number) => {
      params[name]!.dispose();
      params[name] = tf.randomUniform(spec.params[name]!.shape, low, high, 'float32', subSeed(seed, `batch-norm/${name}`));
    };
    draw(norm.weight, 0.5, 1.5);
    draw(norm.bias, -0.3, 0.3);
    draw(norm.runningMean, -0.5, 0.5);
    draw(norm.runningVar, 0.5, 2);
  }
  return params;
}

async function main(folder: string): Promise<void> {
  await selectBackend('cpu');
  mkdirSync(folder, { recursive: true });
  const manifest = [];
  for (const [index, entry] of cases.entries()) {
    const spec = families.get(entry.family).build(entry.config, entry.inputShape, entry.numClasses);
    const params = randomParams(spec, 100 + index);
    await torchFormat.write(spec, params, join(folder, entry.file));
    const inputs = tf.randomUniform([3, ...entry.inputShape], 0, 1, 'float32', 200 + index);
    const logits = spec.forward(params, inputs);
    manifest.push({ ...entry, inputs: Array.from(inputs.dataSync()), logits: logits.arraySync() });
    tf.dispose([inputs, logits]);
    disposeParams(params);
  }
  writeFileSync(join(folder, 'manifest.json'), `${JSON.stringify(manifest, null, 1)}\n`);
  console.log(`wrote ${cases.length} exports and manifest.json to ${folder}`);
}

await main(process.argv[2] ?? fileURLToPath(new URL('../test/fixtures/torch/exports/', import.meta.url)));
