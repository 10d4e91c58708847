import * as tf from '@tensorflow/tfjs-core';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/backend/selectBackend.js';
import { torchFormat } from '../../src/interop/torchFormat.js';
import { disposeParams } from '../../src/nn/init.js';

/**
 * PyTorch as the reference: scripts/torchFixtures.py defines the documented PyTorch modules, seeds tiny
 * models of each family (BatchNorm with random statistics), and saved their state dicts, a few inputs
 * (NHWC) and PyTorch's logits for them in test/fixtures/torch/. merge-train reads each state dict and
 * must compute the same logits. (The script needs PyTorch; this test does not.)
 */

const folder = fileURLToPath(new URL('../fixtures/torch/', import.meta.url));

interface TorchCase {
  name: string;
  file: string;
  inputShape: number[];
  numClasses: number;
  hints: { config?: Record<string, unknown> };
  inputs: number[];
  logits: number[][];
}

const cases = JSON.parse(readFileSync(join(folder, 'cases.json'), 'utf8')) as TorchCase[];

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`PyTorch state dicts read by merge-train on ${backend}`, () => {
    beforeAll(async () => {
      await selectBackend(backend);
    });
    afterAll(() => tf.disposeVariables());

    for (const entry of cases) {
      it(`${entry.name}: the logits equal PyTorch's within 1e-4`, async () => {
        const { spec, params } = await torchFormat.read(join(folder, entry.file), { ...entry.hints, inputShape: entry.inputShape, numClasses: entry.numClasses });
        const x = tf.tensor(entry.inputs, [entry.logits.length, ...entry.inputShape]);
        const logits = spec.forward(params, x);
        const difference = tf.tidy(() => tf.max(tf.abs(tf.sub(logits, tf.tensor2d(entry.logits)))).dataSync()[0]!);
        tf.dispose([x, logits]);
        disposeParams(params);
        expect(difference).toBeLessThan(1e-4);
      });
    }
  });
}
