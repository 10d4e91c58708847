import * as tf from '@tensorflow/tfjs-core';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/backend/selectBackend.js';
import { torchFormat } from '../../src/interop/torchFormat.js';
import { disposeParams } from '../../src/nn/init.js';

/**
 * merge-train's exports in PyTorch: scripts/torchExports.ts exported tiny seeded models of each family
 * to test/fixtures/torch/exports/ (ResNets of both paddings, on even and odd sizes), and
 * `scripts/torchFixtures.py --check-exports` loaded each into the documented PyTorch class with
 * load_state_dict(strict=True) and recorded PyTorch's logits. Here merge-train reads each file back,
 * must give PyTorch's logits, and writing it again must give the very bytes PyTorch accepted.
 */

const folder = fileURLToPath(new URL('../fixtures/torch/exports/', import.meta.url));

interface ExportCase {
  file: string;
  family: string;
  config: Record<string, unknown>;
  inputShape: number[];
  numClasses: number;
  inputs: number[];
  logits: number[][];
}

const manifest = JSON.parse(readFileSync(join(folder, 'manifest.json'), 'utf8')) as ExportCase[];
const pytorch = JSON.parse(readFileSync(join(folder, 'pytorch-logits.json'), 'utf8')) as { file: string; logits: number[][] }[];

describe('merge-train exports loaded by PyTorch', () => {
  const dir = mkdtempSync(join(tmpdir(), 'merge-train-torch-exports-'));
  beforeAll(async () => {
    await selectBackend('cpu');
  });
  afterAll(() => tf.disposeVariables());

  for (const entry of manifest) {
    it(`${entry.file}: PyTorch's logits equal merge-train's within 1e-4, and the file is what merge-train writes`, async () => {
      const path = join(folder, entry.file);
      const { spec, params } = await torchFormat.read(path, { inputShape: entry.inputShape, numClasses: entry.numClasses });
      expect(spec.family).toBe(entry.family);
      const x = tf.tensor(entry.inputs, [entry.logits.length, ...entry.inputShape]);
      const logits = spec.forward(params, x);
      const reference = pytorch.find((result) => result.file === entry.file)!.logits;
      const difference = tf.tidy(() => tf.max(tf.abs(tf.sub(logits, tf.tensor2d(reference)))).dataSync()[0]!);
      expect(difference).toBeLessThan(1e-4);
      // and merge-train's own logits at export time (the file holds the same weights)
      const atExport = tf.tidy(() => tf.max(tf.abs(tf.sub(logits, tf.tensor2d(entry.logits)))).dataSync()[0]!);
      expect(atExport).toBeLessThan(1e-6);

      const again = join(dir, entry.file);
      await torchFormat.write(spec, params, again);
      expect(readFileSync(again).equals(readFileSync(path))).toBe(true);
      tf.dispose([x, logits]);
      disposeParams(params);
    });
  }
});
