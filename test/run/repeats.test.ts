import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RunMetrics } from '../../src/artifacts/metrics.js';
import { aggregateRepeats } from '../../src/run/aggregateRepeats.js';
import { sampleManyMetrics, sampleMetrics } from '../report/fixtures.js';
import { runInProcess } from '../cli/inProcess.js';

/** Sample mean and standard deviation, written out. */
function closedForm(values: number[]): { mean: number; std: number } {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return { mean, std: Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / (values.length - 1)) };
}

describe('aggregateRepeats', () => {
  const shifted = (delta: number): RunMetrics => {
    const m = sampleMetrics();
    m.models.forEach((model) => (model.testAccuracy += delta));
    m.merges.forEach((merge) => (merge.testAccuracy += delta));
    m.merges[0]!.masks = 'masks/first.safetensors';
    return m;
  };

  it('gives every figure as the mean over repeats with the sample std and each value, matched by name and label', () => {
    const runs = [0, 0.01, 0.03].map((delta, r) => ({ seed: 5 + r, dir: `repeat-${r + 1}`, metrics: shifted(delta) }));
    // A variant only the second repeat has is left out: it has no spread.
    runs[1]!.metrics.merges.push({ align: 'cca', alpha: 'uniform', init: null, label: 'cca (gamma 9) · uniform', testAccuracy: 0.5, testLoss: 1 });
    const aggregate = aggregateRepeats(runs);
    const want = closedForm([0, 0.01, 0.03].map((delta) => sampleMetrics().models[0]!.testAccuracy + delta));
    const modelA = aggregate.models.find((m) => m.name === 'model A')!;
    expect(modelA.testAccuracy).toBeCloseTo(want.mean, 12);
    expect(modelA.acrossRepeats!.testAccuracyStd).toBeCloseTo(want.std, 12);
    expect(modelA.acrossRepeats!.testAccuracies).toHaveLength(3);
    expect(aggregate.merges).toHaveLength(sampleMetrics().merges.length);
    // Losses did not change between repeats: no spread.
    expect(aggregate.merges[0]!.acrossRepeats!.testLossStd).toBe(0);
    expect(aggregate.merges[0]!.masks).toBe(join('repeat-1', 'masks/first.safetensors'));
    expect(aggregate.repeats).toEqual({ seeds: [5, 6, 7], runs: ['repeat-1', 'repeat-2', 'repeat-3'] });
    expect(aggregate.ensemble.acrossRepeats!.testAccuracies).toEqual([0.9845, 0.9845, 0.9845]);
  });
});

describe('aggregateRepeats of many-model merges and interpolation curves', () => {
  it('averages each (variant, N) and each reference, and each curve point by point with the barriers spread', () => {
    const shifted = (delta: number): RunMetrics => {
      const m = sampleManyMetrics();
      m.many!.merges.forEach((merge) => (merge.testAccuracy += delta));
      m.many!.references.forEach((r) => (r.ensemble.testAccuracy += delta));
      m.interpolations = [
        { alignLabel: 'cca', points: [0, 0.5, 1].map((t) => ({ t, testAccuracy: 0.9, testLoss: 0.3 + delta * (t === 0.5 ? 10 : 0) })), barrier: { loss: delta * 10, accuracy: 0 } },
      ];
      return m;
    };
    const aggregate = aggregateRepeats([0, 0.02].map((delta, r) => ({ seed: r, dir: `repeat-${r + 1}`, metrics: shifted(delta) })));
    const first = sampleManyMetrics().many!;
    expect(aggregate.many!.merges).toHaveLength(first.merges.length);
    const merge = aggregate.many!.merges[0]!;
    const original = first.merges.find((m) => m.label === merge.label && m.models === merge.models)!;
    expect(merge.testAccuracy).toBeCloseTo(original.testAccuracy + 0.01, 12);
    expect(merge.acrossRepeats!.testAccuracyStd).toBeCloseTo(closedForm([0, 0.02]).std, 12);
    expect(aggregate.many!.references[0]!.ensemble.acrossRepeats!.testAccuracies).toHaveLength(2);
    const [curve] = aggregate.interpolations!;
    expect(curve!.points[1]!.testLoss).toBeCloseTo(0.4, 12);
    expect(curve!.barrier.loss).toBeCloseTo(0.1, 12);
    expect(curve!.barrierStd!.loss).toBeCloseTo(closedForm([0, 0.2]).std, 12);
  });
});

const recipe = `
name: repeated
seed: 3
repeats: 2
data: { dataset: mnist, split: { train: 600, merge: 200, test: 300 } }
model: { family: mlp, config: { hidden: [16] } }
train: { epochs: 2, batchSize: 50 }
align: { methods: [none, cca] }
merge: { alphas: [uniform, learned], steps: 10, evalEvery: 5, batchSize: 50 }
`;

describe('a run of several repeats', () => {
  const dir = mkdtempSync(join(tmpdir(), 'merge-train-repeats-'));
  const out = join(dir, 'run');
  let metrics: RunMetrics;
  let stdout: string;

  beforeAll(async () => {
    writeFileSync(join(dir, 'repeated.yaml'), recipe);
    const result = await runInProcess(['run', join(dir, 'repeated.yaml'), '--out', out, '--backend', 'wasm']);
    expect(result.code, result.stderr).toBe(0);
    stdout = result.stdout;
    metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')) as RunMetrics;
  }, 240_000);

  it('runs each repeat with its own seed in its own run directory, and reports the mean ± std of each figure', () => {
    expect(metrics.repeats).toEqual({ seeds: [3, 4], runs: ['repeat-1', 'repeat-2'] });
    const repeats = metrics.repeats!.runs.map((run) => JSON.parse(readFileSync(join(out, run, 'metrics.json'), 'utf8')) as RunMetrics);
    // Different seeds: different splits and models.
    expect(repeats[0]!.models[0]!.testAccuracy).not.toBe(repeats[1]!.models[0]!.testAccuracy);
    for (const merge of metrics.merges) {
      const values = repeats.map((r) => r.merges.find((m) => m.label === merge.label)!.testAccuracy);
      expect(merge.acrossRepeats!.testAccuracies).toEqual(values);
      expect(merge.testAccuracy).toBeCloseTo(closedForm(values).mean, 12);
      expect(merge.acrossRepeats!.testAccuracyStd).toBeCloseTo(closedForm(values).std, 12);
    }
    expect(metrics.merges).toHaveLength(4);
  });

  it('draws the report once, from the means, with ± in the summary; each repeat keeps its metrics', () => {
    const summary = readFileSync(join(out, 'summary.md'), 'utf8');
    expect(summary).toMatch(/over 2 repeats \(seeds 3, 4/);
    expect(summary).toMatch(/\| model A \| — \| — \| — \| \d+\.\d\d ± \d+\.\d\d \|/);
    expect(existsSync(join(out, 'figures', 'accuracy.png'))).toBe(true);
    expect(existsSync(join(out, 'repeat-1', 'figures'))).toBe(false);
    expect(existsSync(join(out, 'repeat-2', 'metrics.json'))).toBe(true);
    // The masks of the learned merges are the first repeat's, found from the aggregate's folder.
    const learned = metrics.merges.find((m) => m.alpha === 'learned')!;
    expect(existsSync(join(out, learned.masks!))).toBe(true);
    expect(stdout).toMatch(/repeat 2 of 2 \(seed 4\)/);
  });

  it('resumes: a second run reuses every repeat, and one more repeat adds only that one', async () => {
    const again = await runInProcess(['run', join(dir, 'repeated.yaml'), '--out', out, '--backend', 'wasm', '--repeats', '3']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout.match(/model A: reusing/g)).toHaveLength(2);
    const grown = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')) as RunMetrics;
    expect(grown.repeats!.seeds).toEqual([3, 4, 5]);
    expect(grown.merges[0]!.acrossRepeats!.testAccuracies.slice(0, 2)).toEqual(metrics.merges[0]!.acrossRepeats!.testAccuracies);
  });
});
