import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCheckpoint, readCheckpointInfo } from '../../src/artifacts/checkpoint.js';
import { readManyResults, type ManyResult } from '../../src/artifacts/manyResult.js';
import type { ManyMergeMetrics, RunMetrics } from '../../src/artifacts/metrics.js';
import { readSafetensors } from '../../src/io/safetensors.js';
import { disposeParams } from '../../src/nn/init.js';
import type { ParamMap } from '../../src/nn/spec.js';
import { runInProcess } from '../cli/inProcess.js';
import { maxAbsDiff, readParams } from '../nn/helpers.js';

/**
 * Five small MLPs on real MNIST digits, merged three and five at a time by each strategy: with no
 * alignment and uniform weights (closed forms to check against), and with CCA and learned weights.
 */
const recipe = (jobs: number) => `
name: many
seed: 1
data: { dataset: mnist, split: { train: 1000, merge: 300, test: 300 } }
model: { family: mlp, config: { hidden: [12] } }
train: { models: 5, epochs: 2, batchSize: 50 }
align: { methods: [none] }
merge: { alphas: [uniform], steps: 10, evalEvery: 5, batchSize: 64 }
many:
  models: [3, 5]
  strategies:
    - { strategy: all-to-one, align: none, alpha: uniform }
    - { strategy: hierarchical, align: none, alpha: uniform }
    - { strategy: hierarchical, align: cca, alpha: learned }
    - { strategy: all-to-one, align: cca, alpha: learned }
    - { strategy: merge-many, align: weight-matching, alpha: uniform }
# jobs ${jobs}
`;

async function runMany(dir: string, jobs: number): Promise<{ out: string; metrics: RunMetrics; stdout: string }> {
  const file = join(dir, `many-${jobs}.yaml`);
  writeFileSync(file, recipe(jobs));
  const out = join(dir, `run-${jobs}`);
  const result = await runInProcess(['run', file, '--out', out, '--backend', 'wasm', '--jobs', String(jobs)]);
  expect(result.code, result.stderr).toBe(0);
  return { out, metrics: JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')) as RunMetrics, stdout: result.stdout };
}

async function load(path: string): Promise<ParamMap> {
  return (await loadCheckpoint(path)).params;
}

/** The record of `strategy` with `align` and `alpha` for N models. */
function recordOf(records: ManyResult[], strategy: string, align: string, alpha: string, count: number): ManyResult {
  const found = records.find((r) => r.strategy.method === strategy && r.align.method === align && r.merge.method === alpha && r.models.length === count);
  if (!found) throw new Error(`no record of ${strategy} ${align} ${alpha} N=${count}`);
  return found;
}

describe('merging many models', () => {
  const dir = mkdtempSync(join(tmpdir(), 'merge-train-many-'));
  let run: Awaited<ReturnType<typeof runMany>>;
  let records: ManyResult[];
  let base: ParamMap[];

  beforeAll(async () => {
    run = await runMany(dir, 1);
    records = await readManyResults(join(run.out, 'many', 'results'));
    base = [];
    for (let i = 0; i < 5; i++) base.push(await load(join(run.out, 'models', `model-${i}.safetensors`)));
  }, 240_000);

  it('records every strategy variant for every N, with the ensemble and mean base model of each N', () => {
    const many = run.metrics.many!;
    expect(many.merges).toHaveLength(10);
    const labels = [...new Set(many.merges.map((m: ManyMergeMetrics) => m.label))];
    expect(labels.sort()).toEqual([
      'all-to-one · cca · learned (uniform init)',
      'all-to-one · none · uniform',
      'hierarchical · cca · learned (uniform init)',
      'hierarchical · none · uniform',
      'merge-many · weight-matching · uniform',
    ]);
    for (const merge of many.merges) {
      expect(merge.testAccuracy).toBeGreaterThan(0.3);
      expect(merge.members).toHaveLength(merge.models);
    }
    expect(many.references.map((r) => r.models)).toEqual([3, 5]);
    const accuracies = run.metrics.models.map((m) => m.testAccuracy);
    const mean5 = accuracies.reduce((a, b) => a + b, 0) / 5;
    expect(many.references[1]!.meanBase.testAccuracy).toBeCloseTo(mean5, 12);
    expect(many.references[1]!.meanBase.testAccuracyStd).toBeGreaterThanOrEqual(0);
    expect(run.stdout).toMatch(/hierarchical · cca · learned, 5 models: test accuracy \d+\.\d\d%/);
  });

  it('all-to-one without alignment and uniform weights is the mean of the N models', async () => {
    const record = recordOf(records, 'all-to-one', 'none', 'uniform', 3);
    const merged = await load(join(run.out, record.tree.at(-1)!.path));
    const [m, a, b, c] = [merged, base[0]!, base[1]!, base[2]!].map(readParams);
    for (const name of Object.keys(m!)) {
      // Merged with no BatchNorm to reset: exactly (A + B + C) / 3, up to float32 rounding.
      const mean = Array.from(a![name]!, (value, i) => (value + b![name]![i]! + c![name]![i]!) / 3);
      expect(maxAbsDiff(m![name]!, mean), name).toBeLessThan(1e-6);
    }
    disposeParams(merged);
  });

  it('hierarchical merging of an odd N carries the last model up a level: ((A + B) / 2 + C) / 2', async () => {
    const record = recordOf(records, 'hierarchical', 'none', 'uniform', 3);
    expect(record.tree.map((node) => node.level)).toEqual([0, 0, 0, 1, 2]);
    expect(record.tree[3]!.inputs).toEqual(['model A', 'model B']);
    expect(record.tree[4]!.inputs).toEqual([record.tree[3]!.id, 'model C']);
    const merged = await load(join(run.out, record.tree.at(-1)!.path));
    const [m, a, b, c] = [merged, base[0]!, base[1]!, base[2]!].map(readParams);
    for (const name of Object.keys(m!)) {
      const expected = Array.from(a![name]!, (value, i) => value / 4 + b![name]![i]! / 4 + c![name]![i]! / 2);
      expect(maxAbsDiff(m![name]!, expected), name).toBeLessThan(1e-6);
    }
    disposeParams(merged);
  });

  it('records the tree of five: four merges over three levels, each node over its inputs\' members', () => {
    const merge = run.metrics.many!.merges.find((m) => m.label.startsWith('hierarchical · cca') && m.models === 5)!;
    const tree = merge.tree!;
    expect(tree.filter((node) => node.level === 0).map((node) => node.id)).toEqual(['model A', 'model B', 'model C', 'model D', 'model E']);
    expect(tree.filter((node) => node.level > 0)).toHaveLength(4);
    expect(tree.at(-1)!.level).toBe(3);
    const byId = new Map(tree.map((node) => [node.id, node]));
    for (const node of tree.filter((n) => n.level > 0)) {
      expect(node.members).toEqual(node.inputs.flatMap((id) => byId.get(id)!.members));
      expect(node.level).toBe(1 + Math.max(...node.inputs.map((id) => byId.get(id)!.level)));
      expect(node.testAccuracy).toBeGreaterThan(0.3);
    }
    expect(tree.at(-1)!.testAccuracy).toBe(merge.testAccuracy);
  });

  it('merge-many aligns the models together (MergeMany), recording the group, and averages them', async () => {
    const record = recordOf(records, 'merge-many', 'weight-matching', 'uniform', 5);
    const root = record.tree.at(-1)!;
    expect(root.inputs).toEqual(['model A', 'model B', 'model C', 'model D', 'model E']);
    const alignedInGroup: string[] = [];
    for (const name of readdirSync(join(run.out, 'many', 'aligned'))) {
      const info = await readCheckpointInfo(join(run.out, 'many', 'aligned', name));
      if (info.kind === 'aligned' && JSON.stringify(info.align.group) === JSON.stringify(record.models)) alignedInGroup.push(join(run.out, 'many', 'aligned', name));
    }
    // The four models after model A (the frame) were aligned, each recording the whole group.
    expect(alignedInGroup).toHaveLength(4);
    const merged = readParams(await load(join(run.out, root.path)));
    const members = [readParams(base[0]!)];
    for (const path of alignedInGroup) members.push(readParams(await load(path)));
    for (const name of Object.keys(merged)) {
      const mean = Array.from(members[0]![name]!, (_, i) => members.reduce((sum, m) => sum + m[name]![i]!, 0) / 5);
      expect(maxAbsDiff(merged[name]!, mean), name).toBeLessThan(1e-6);
    }
  });

  it('learned N-way weights are saved for every model, and sum to 1 entry by entry', async () => {
    const record = recordOf(records, 'all-to-one', 'cca', 'learned', 5);
    const maskFile = join(run.out, record.tree.at(-1)!.path.replace(/^many\/merges\//, 'many/masks/'));
    const { tensors } = await readSafetensors(maskFile);
    const weights = (k: number) => tensors[`model-${k}/fc1.weight`]!.data;
    expect(Object.keys(tensors).filter((name) => name.endsWith('/fc1.weight'))).toHaveLength(5);
    const sums = Array.from(weights(0), (_, i) => [0, 1, 2, 3, 4].reduce((sum, k) => sum + weights(k)[i]!, 0));
    expect(Math.max(...sums.map((s) => Math.abs(s - 1)))).toBeLessThan(1e-5);
    expect(Array.from(weights(4)).every((w) => w >= 0 && w <= 1)).toBe(true);
    const info = await readCheckpointInfo(join(run.out, record.tree.at(-1)!.path));
    const meanWeights = info.kind === 'merged' ? info.merge.meanWeights! : [];
    expect(meanWeights).toHaveLength(5);
    expect(meanWeights.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
  });

  it('merges a level in worker processes to the same files, and reuses every record on a rerun', async () => {
    const parallel = await runMany(dir, 2);
    const names = readdirSync(join(run.out, 'many', 'merges')).sort();
    expect(readdirSync(join(parallel.out, 'many', 'merges')).sort()).toEqual(names);
    for (const name of names) {
      const [one, two] = [readFileSync(join(run.out, 'many', 'merges', name)), readFileSync(join(parallel.out, 'many', 'merges', name))];
      expect(one.equals(two), name).toBe(true);
    }
    const again = await runMany(dir, 2);
    expect(again.stdout.match(/models: reusing/g)).toHaveLength(10);
    expect(again.metrics.many).toEqual(parallel.metrics.many);
  }, 240_000);

  afterAll(() => base.forEach(disposeParams));
});
