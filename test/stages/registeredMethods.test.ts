import * as tf from '@tensorflow/tfjs-core';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { aligners, defineAligner } from '../../src/align/aligners.js';
import { applyTransforms, permutationTransform } from '../../src/align/transform.js';
import { loadCheckpoint, recordedKey } from '../../src/artifacts/checkpoint.js';
import type { RunMetrics } from '../../src/artifacts/metrics.js';
import { constantMasks, mergeParams } from '../../src/merge/mergeParams.js';
import { mergers, type MergerEntry } from '../../src/merge/mergers.js';
import { disposeParams } from '../../src/nn/init.js';
import { featureSpaces } from '../../src/nn/spec.js';
import { runInProcess } from '../cli/inProcess.js';
import { maxAbsDiff } from '../nn/helpers.js';

/** A toy aligner from outside the library: it reverses the order of every feature space's units. */
const reverse = defineAligner({
  name: 'reverse',
  description: 'reverse the order of the units of every feature space (a test aligner)',
  options: {},
  needsStatistics: false,
  align: ({ spec }) => ({
    transforms: Object.fromEntries(
      featureSpaces(spec).map((space) => [space.name, permutationTransform(Int32Array.from({ length: space.size }, (_, i) => space.size - 1 - i))]),
    ),
    diagnostics: {},
    warnings: [],
  }),
});

/** A toy merger with a setting of its own: the first model weighs `leanA` everywhere, the others share the rest. */
const leanTowardA: MergerEntry = {
  name: 'leanA',
  description: 'alpha = leanA everywhere (a test merger)',
  options: { leanA: z.number().min(0).max(1).default(0.75).describe('alpha of every entry') },
  masks: async ({ models }, options) => ({
    masks: models.slice(0, -1).map((model, k) => constantMasks(model, k === 0 ? (options.leanA as number) : (1 - (options.leanA as number)) / (models.length - 1))),
  }),
};

const recipe = `
name: plugins
seed: 2
data: { dataset: mnist, split: { train: 600, merge: 200, test: 300 } }
model: { family: mlp, config: { hidden: [16] } }
train: { epochs: 2, batchSize: 50 }
align: { methods: [none, reverse] }
merge: { alphas: [uniform, leanA], leanA: 0.8 }
`;

async function succeed(args: string[]): Promise<string> {
  const result = await runInProcess(args);
  expect(result.code, result.stderr).toBe(0);
  return result.stdout;
}

describe('an aligner and a merger registered from outside the library', () => {
  const dir = mkdtempSync(join(tmpdir(), 'merge-train-plugins-'));
  const file = (name: string) => join(dir, name);
  const run = file('run');

  beforeAll(() => {
    aligners.register(reverse);
    mergers.register(leanTowardA);
    writeFileSync(file('plugins.yaml'), recipe);
  });
  afterAll(() => {
    aligners.unregister(reverse.name);
    mergers.unregister(leanTowardA.name);
  });

  it('are choices of the command line, with their settings in the recipe schema', async () => {
    const help = async (args: string[]) => (await succeed(args)).replace(/\s+/g, ' ');
    expect(await help(['align', '--help'])).toMatch(/--method <name> alignment method \(one of none, permutation, cca, weight-matching, reverse\)/);
    expect(await help(['--help'])).toMatch(/--alphas <kinds> merge methods \(alpha kinds\) \(comma-separated of uniform, fisher, learned, leanA;/);
    const accepted = await runInProcess(['run', file('plugins.yaml'), '--out', file('accepted'), '--alphas', 'leanA', '--epochs', '1']);
    expect(accepted.code, accepted.stderr).toBe(0);
    writeFileSync(file('bad.yaml'), recipe.replace('leanA: 0.8', 'leanA: 2'));
    const bad = await runInProcess(['run', file('bad.yaml'), '--out', file('bad')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('merge.leanA: expected a number <= 1, got 2');
  });

  it('run through `run`: labelled, evaluated, and computing what they say', async () => {
    await succeed(['run', file('plugins.yaml'), '--out', run]);
    const metrics = JSON.parse(readFileSync(join(run, 'metrics.json'), 'utf8')) as RunMetrics;
    expect(metrics.merges.map((m) => m.label)).toEqual(['none · uniform', 'none · leanA', 'reverse · uniform', 'reverse · leanA']);
    const [a, b] = await Promise.all([0, 1].map((i) => loadCheckpoint(join(run, 'models', `model-${i}.safetensors`))));
    const reversed = applyTransforms(a!.spec, b!.params, reverse.align({ spec: a!.spec, paramsA: a!.params, paramsB: b!.params }, {}).transforms);
    const expected = mergeParams(a!.params, reversed, 0.8);
    const leanMerge = metrics.merges.find((m) => m.label === 'reverse · leanA')!;
    const merged = await loadCheckpoint(join(run, 'merges', `reverse-leanA-${leanMerge.key!.slice(0, 8)}.safetensors`));
    for (const name of Object.keys(expected)) expect(maxAbsDiff(merged.params[name]!.dataSync(), expected[name]!.dataSync()), name).toBeLessThan(1e-6);
    // A permutation keeps B's function: the reversed B scores as B does.
    const logits = (params: typeof reversed) => a!.spec.forward(params, tf.ones([3, 28, 28, 1]));
    const [fromB, fromReversed] = [logits(b!.params), logits(reversed)];
    expect(maxAbsDiff(fromB.dataSync(), fromReversed.dataSync())).toBeLessThan(1e-5);
    tf.dispose([fromB, fromReversed]);
    [a!.params, b!.params, reversed, expected, merged.params].forEach(disposeParams);
  });

  it('run through the stage commands, giving the same files', async () => {
    const [a, b] = [join(run, 'models', 'model-0.safetensors'), join(run, 'models', 'model-1.safetensors')];
    await succeed(['align', a, b, '--method', 'reverse', '--out', file('b-reverse.safetensors')]);
    await succeed(['merge', a, file('b-reverse.safetensors'), '--recipe', file('plugins.yaml'), '--alpha', 'leanA', '--out', file('merged.safetensors')]);
    const metrics = JSON.parse(readFileSync(join(run, 'metrics.json'), 'utf8')) as RunMetrics;
    const { key } = await recordedKey(file('merged.safetensors'));
    expect(key).toBe(metrics.merges.find((m) => m.label === 'reverse · leanA')!.key);
    const inRun = join(run, 'merges', `reverse-leanA-${key!.slice(0, 8)}.safetensors`);
    expect(Buffer.compare(readFileSync(file('merged.safetensors')), readFileSync(inRun))).toBe(0);
  });
});
