import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadImage } from '@napi-rs/canvas';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RunMetrics } from '../../src/artifacts/metrics.js';
import { readSafetensors } from '../../src/io/safetensors.js';
import { runCli } from './runCli.js';

/** A recipe small enough to run in seconds: real MNIST digits, a one-hidden-layer MLP. */
const tinyRecipe = `
name: tiny
seed: 3
data:
  dataset: mnist
  split: { train: 1200, merge: 400, test: 400 }
model:
  family: mlp
  config: { hidden: [24] }
train: { epochs: 3, batchSize: 64, learningRate: 0.05 }
align: { methods: [none, permutation, cca] }
merge: { alphas: [uniform, fisher, learned], steps: 20, evalEvery: 5 }
`;

/** A BatchNorm network, to check the run's BatchNorm handling end to end. */
const tinyConvRecipe = `
name: tiny-conv
seed: 4
data:
  dataset: mnist
  split: { train: 600, merge: 300, test: 300 }
model:
  family: vgg
  config: { layout: [6, M, 8], batchNorm: true }
train: { epochs: 1, batchSize: 64, learningRate: 0.05 }
align: { methods: [permutation, cca] }
merge: { alphas: [uniform], resetExamples: 300 }
`;

describe('merge-train on a tiny recipe', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'merge-train-run-'));
    writeFileSync(join(dir, 'tiny.yaml'), tinyRecipe);
  });

  it('runs every stage and writes metrics.json, summary.md and figures', async () => {
    const out = join(dir, 'run');
    const result = await runCli(['run', join(dir, 'tiny.yaml'), '--out', out, '--backend', 'wasm']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/cca · learned \(uniform init\)\s+cca\s+learned\s+uniform\s+\d+\.\d\d/);

    const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')) as RunMetrics;
    expect(metrics.dataset).toBe('mnist');
    expect(metrics.models.map((m) => m.name)).toEqual(['model A', 'model B']);
    expect(metrics.merges).toHaveLength(9);
    for (const entry of [...metrics.models, metrics.ensemble, ...metrics.merges]) {
      expect(entry.testAccuracy).toBeGreaterThan(0.5); // 10 classes: chance is 0.1
      expect(entry.testAccuracy).toBeLessThanOrEqual(1);
      expect(entry.testLoss).toBeGreaterThan(0);
    }
    const learned = metrics.merges.filter((m) => m.alpha === 'learned');
    expect(learned.map((m) => [m.align, m.init]).sort()).toEqual([['cca', 'uniform'], ['none', 'uniform'], ['permutation', 'uniform']]);
    expect(metrics.merges.filter((m) => m.alpha !== 'learned').every((m) => m.init === null)).toBe(true);
    for (const stage of ['data', 'train', 'statistics', 'align', 'learned alpha', 'report']) {
      expect(metrics.timings[stage]).toBeGreaterThan(0);
    }
    expect(metrics.alphaCurves).toHaveLength(3);
    expect(metrics.alphaCurves![0]!.points).toHaveLength(20);

    expect(readFileSync(join(out, 'summary.md'), 'utf8')).toMatch(/\| cca · uniform \| cca \| uniform \| — \| \d+\.\d\d \|/);
    const accuracy = await loadImage(join(out, 'figures', 'accuracy.png'));
    expect(accuracy.width).toBeGreaterThan(400);
    for (const figure of ['alpha-training', 'alpha-histogram-cca-learned-uniform-init', 'alpha-map-cca-learned-uniform-init-fc1.weight']) {
      expect(existsSync(join(out, 'figures', `${figure}.png`))).toBe(true);
      expect(readFileSync(join(out, 'figures', `${figure}.svg`), 'utf8')).toMatch(/<svg/);
    }

    // A second run reuses the trained base models, and gives the same numbers.
    const again = await runCli(['run', join(dir, 'tiny.yaml'), '--out', out, '--backend', 'wasm']);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/model A: reusing/);
    const rerun = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')) as RunMetrics;
    expect(rerun.merges.map((m) => m.testAccuracy)).toEqual(metrics.merges.map((m) => m.testAccuracy));

    // The report redraws from saved files alone.
    const report = await runCli(['report', out]);
    expect(report.code).toBe(0);
    expect(report.stdout).toMatch(/wrote \d+ files/);
  });

  it('aligns a BatchNorm network with its scale folded, and reports merges with and without BatchNorm reset', async () => {
    writeFileSync(join(dir, 'tiny-conv.yaml'), tinyConvRecipe);
    const out = join(dir, 'conv');
    const result = await runCli(['run', join(dir, 'tiny-conv.yaml'), '--out', out, '--backend', 'wasm']);
    expect(result.stderr).toBe('');
    const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')) as RunMetrics;
    expect(metrics.merges.map((m) => m.align).sort()).toEqual(['cca', 'permutation']);
    // Each merge is also evaluated before its statistics were recomputed: another model, another loss.
    for (const merge of metrics.merges) expect(merge.withoutBatchNormReset!.testLoss).not.toBe(merge.testLoss);
    // The saved aligned model is B in the folded form: under a permutation, the same function.
    const aligned = join(out, 'aligned', readdirSync(join(out, 'aligned')).find((name) => name.startsWith('model-1-permutation-'))!);
    const info = JSON.parse((await readSafetensors(aligned)).metadata.info!) as { align: { batchNorm?: string } };
    expect(info.align.batchNorm).toBe('fold-scale');
    const evalPair = await runCli(['eval', join(out, 'models', 'model-1.safetensors'), aligned]);
    const scores = [...evalPair.stdout.matchAll(/test accuracy (\d+\.\d\d)%, loss (\d+\.\d+)/g)].map((m) => `${m[1]} ${m[2]}`);
    expect(scores).toHaveLength(3);
    expect(scores[1]).toBe(scores[0]);
    expect(scores[1]).toBe(`${(100 * metrics.models[1]!.testAccuracy).toFixed(2)} ${metrics.models[1]!.testLoss.toFixed(4)}`);
  });

  it('runs the stages one by one on checkpoint files', async () => {
    const file = (name: string) => join(dir, name);
    const common = ['--seed', '3', '--hidden', '16', '--epochs', '2', '--backend', 'wasm'];
    const trainA = await runCli(['train', ...common, '--index', '0', '--out', file('a.safetensors')]);
    expect(trainA.stderr).toBe('');
    expect(trainA.stdout).toMatch(/a\.safetensors: test accuracy \d+\.\d\d%/);
    expect((await runCli(['train', ...common, '--index', '1', '--out', file('b.safetensors')])).code).toBe(0);

    const align = await runCli(['align', file('a.safetensors'), file('b.safetensors'), '--method', 'permutation', '--out', file('b-perm.safetensors')]);
    expect(align.stderr).toBe('');
    // A permutation preserves the function: B and its aligned copy score the same.
    const evalPair = await runCli(['eval', file('b.safetensors'), file('b-perm.safetensors')]);
    const accuracies = [...evalPair.stdout.matchAll(/test accuracy (\d+\.\d\d)%/g)].map((m) => m[1]);
    expect(accuracies).toHaveLength(3); // two models and their ensemble
    expect(accuracies[0]).toBe(accuracies[1]);

    const merge = await runCli([
      'merge', file('a.safetensors'), file('b-perm.safetensors'),
      '--alpha', 'learned', '--init', 'fisher', '--steps', '10', '--out', file('m.safetensors'), '--masks-out', file('alpha.safetensors'),
    ]);
    expect(merge.stderr).toBe('');
    expect(merge.stdout).toMatch(/m\.safetensors: merged with learned alpha/);
    const evalMerged = await runCli(['eval', file('m.safetensors')]);
    expect(evalMerged.stdout).toMatch(/m\.safetensors: test accuracy \d+\.\d\d%/);

    // Two checkpoints of different architectures are refused.
    await runCli(['train', '--seed', '3', '--hidden', '8', '--epochs', '1', '--out', file('c.safetensors')]);
    const mismatch = await runCli(['align', file('a.safetensors'), file('c.safetensors'), '--method', 'cca', '--out', file('x.safetensors')]);
    expect(mismatch.code).toBe(2);
    expect(mismatch.stderr.trim().split('\n')).toHaveLength(1);
    expect(mismatch.stderr).toMatch(/a\.safetensors and .*c\.safetensors have different architectures/);
  });
});
