import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { recordedKey } from '../../src/artifacts/checkpoint.js';
import { batchNormModes } from '../../src/align/batchNormModes.js';
import { aligners } from '../../src/align/aligners.js';
import { runInProcess } from '../cli/inProcess.js';

/** A small VGG with BatchNorm, so every BatchNorm mode has something to do; learned alpha included. */
const recipe = `
name: stages
seed: 6
data: { dataset: mnist, split: { train: 300, merge: 200, test: 200 } }
model: { family: vgg, config: { layout: [4, M, 6], batchNorm: true } }
train: { epochs: 1, batchSize: 50, learningRate: 0.05 }
merge: { alphas: [uniform, learned], steps: 4, evalEvery: 2, batchSize: 50, resetExamples: 100 }
`;

/** The file in `folder` that holds the artifact of `key`. */
async function fileWithKey(folder: string, key: string): Promise<string> {
  for (const name of readdirSync(folder).filter((n) => n.endsWith('.safetensors'))) {
    if ((await recordedKey(join(folder, name))).key === key) return join(folder, name);
  }
  throw new Error(`no file in ${folder} holds key ${key}`);
}

/** Runs the command line and expects it to succeed. */
async function succeed(args: string[]): Promise<string> {
  const result = await runInProcess(args);
  expect(result.code, result.stderr).toBe(0);
  return result.stdout;
}

const same = (a: string, b: string) => Buffer.compare(readFileSync(a), readFileSync(b)) === 0;

describe('run and the stage commands make the same files for the same settings', () => {
  const dir = mkdtempSync(join(tmpdir(), 'merge-train-stages-'));
  const file = (name: string) => join(dir, name);
  const run = file('run');
  const recipePath = file('stages.yaml');

  beforeAll(async () => {
    writeFileSync(recipePath, recipe);
    // One run directory, grown by one BatchNorm mode after another.
    for (const mode of batchNormModes.names()) await succeed(['run', recipePath, '--out', run, '--batch-norm', mode]);
  });

  it('train: each base model, byte for byte', async () => {
    for (const index of [0, 1]) {
      const out = file(`model-${index}.safetensors`);
      await succeed(['train', '--recipe', recipePath, '--index', String(index), '--out', out]);
      expect(same(out, join(run, 'models', `model-${index}.safetensors`)), `model ${index}`).toBe(true);
    }
  });

  for (const mode of batchNormModes.names()) {
    for (const method of aligners.names()) {
      it(`align ${method} and merge (uniform, learned) with BatchNorm ${mode}, byte for byte`, async () => {
        const [a, b] = [join(run, 'models', 'model-0.safetensors'), join(run, 'models', 'model-1.safetensors')];
        const aligned = file(`b-${method}-${mode}.safetensors`);
        await succeed(['align', a, b, '--recipe', recipePath, '--method', method, '--batch-norm', mode, '--out', aligned]);
        const alignedInRun = await fileWithKey(join(run, 'aligned'), (await recordedKey(aligned)).key!);
        expect(same(aligned, alignedInRun)).toBe(true);
        for (const alpha of ['uniform', 'learned']) {
          const merged = file(`m-${method}-${mode}-${alpha}.safetensors`);
          const masks = file(`alpha-${method}-${mode}-${alpha}.safetensors`);
          await succeed(['merge', a, aligned, '--recipe', recipePath, '--alpha', alpha, '--out', merged, '--masks-out', masks]);
          const key = (await recordedKey(merged)).key!;
          expect(same(merged, await fileWithKey(join(run, 'merges'), key)), `${alpha} merge`).toBe(true);
          expect(same(masks, await fileWithKey(join(run, 'masks'), key)), `${alpha} masks`).toBe(true);
        }
      });
    }
  }

  it('a second run makes nothing new and a stage command given its own output skips itself', async () => {
    const again = await succeed(['run', recipePath, '--out', run, '--batch-norm', 'fold']);
    // The run says what it reuses: 2 base models, an alignment per aligner, 2 merges of each.
    const reused = again.split('\n').filter((line) => /: reusing /.test(line));
    expect(reused.filter((line) => line.startsWith('model '))).toHaveLength(2);
    expect(reused.filter((line) => line.startsWith('align '))).toHaveLength(aligners.names().length);
    expect(again.split('\n').filter((line) => /^merge .*\(reused\)$/.test(line))).toHaveLength(2 * aligners.names().length);
    const out = file('model-0.safetensors');
    const before = readFileSync(out);
    const skipped = await succeed(['train', '--recipe', recipePath, '--index', '0', '--out', out]);
    expect(skipped).toMatch(/model-0\.safetensors: test accuracy \d+\.\d\d% \(it held this model already: reused\)/);
    expect(Buffer.compare(readFileSync(out), before)).toBe(0);
  });
});
