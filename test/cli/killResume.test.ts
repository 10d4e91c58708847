import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RunMetrics } from '../../src/artifacts/metrics.js';
import { artifactHashes, leftBehind, leftovers, results, runAndKill } from './killRun.js';
import { runCli } from './runCli.js';

/** Small enough for seconds a run, with every kind of stage: training epochs, three alignments, learned alpha with checkpoints. */
const recipe = `
name: killed
seed: 4
data: { dataset: mnist, split: { train: 3000, merge: 600, test: 300 } }
model: { family: mlp, config: { hidden: [48] } }
train: { epochs: 6, batchSize: 50, learningRate: 0.05 }
align: { methods: [none, permutation, cca] }
merge: { alphas: [uniform, learned], steps: 60, batchSize: 50, evalEvery: 5 }
`;

/** Kill points, as fractions of the writes an uninterrupted run makes: from its first files to its last. */
const killFractions = [0.02, 0.08, 0.15, 0.22, 0.3, 0.38, 0.46, 0.54, 0.62, 0.7, 0.8, 0.9];

/** An uninterrupted run of the recipe `text`, in a new temporary folder: what every killed run must end with. */
async function referenceRun(text: string) {
  const dir = mkdtempSync(join(tmpdir(), 'merge-train-kill-'));
  const recipeFile = join(dir, 'recipe.yaml');
  writeFileSync(recipeFile, text);
  const out = join(dir, 'reference');
  // It counts the writes of the run (new files, and new versions of states).
  const run = await runAndKill(['run', recipeFile, '--out', out], out, () => false);
  expect(run.killed).toBe(false);
  return { dir, recipeFile, writes: run.writes, results: results(out), files: artifactHashes(out) };
}

/** Kills a run of the reference's recipe after `after` writes, reruns it, and expects the reference's results, byte for byte. */
async function killThenResume(reference: Awaited<ReturnType<typeof referenceRun>>, out: string, after: number) {
  const args = ['run', reference.recipeFile, '--out', out];
  const killed = await runAndKill(args, out, (seen) => seen >= after);
  const where = `killed after ${killed.writes} of ${reference.writes} writes; left ${leftBehind(out)}`;
  console.log(where);
  expect(killed.killed, where).toBe(true);
  const resumed = await runAndKill(args, out, () => false);
  expect(resumed.killed, where).toBe(false);
  expect(results(out), where).toEqual(reference.results);
  // every artifact, and nothing temporary left
  expect(artifactHashes(out), where).toEqual(reference.files);
  expect(leftovers(out, [killed.pid, resumed.pid]), where).toEqual([]);
}

describe('a run killed at any moment resumes to the same results', () => {
  let reference: Awaited<ReturnType<typeof referenceRun>>;

  beforeAll(async () => {
    reference = await referenceRun(recipe);
    expect(reference.writes).toBeGreaterThan(30);
  });

  it.each(killFractions.map((fraction, i) => [i, fraction] as const))('kill point %i: SIGKILL after that share of the writes, then rerun', async (i, fraction) => {
    await killThenResume(reference, join(reference.dir, `run-${i}`), Math.max(1, Math.round(fraction * reference.writes)));
  });

  it('grows with new alignment or merge settings, refuses other base-model settings naming the field, and --restart starts over', async () => {
    const out = join(reference.dir, 'run-0');
    const grown = await runCli(['run', reference.recipeFile, '--out', out, '--gamma', '0.5']);
    expect(grown.code, grown.stderr).toBe(0);
    // Base models and the other alignments are reused; only the new CCA variant is made.
    expect(grown.stdout).toMatch(/model A: reusing/);
    expect(grown.stdout).toMatch(/align permutation: reusing/);
    const labels = (JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')) as RunMetrics).merges.map((m) => m.label);
    expect(labels).toEqual(expect.arrayContaining(['cca (gamma 1) · uniform', 'cca (gamma 0.5) · uniform', 'permutation · learned (uniform init)']));
    expect(labels).toHaveLength(reference.results.merges.length + 2);

    const changed = await runCli(['run', reference.recipeFile, '--out', out, '--epochs', '5']);
    expect(changed.code).toBe(2);
    expect(changed.stderr.trim().split('\n')).toHaveLength(1);
    expect(changed.stderr).toMatch(/holds a run of other base models \(train\.epochs: 6 → 5\); .*--restart/);
    const restarted = await runCli(['run', reference.recipeFile, '--out', out, '--epochs', '5', '--restart']);
    expect(restarted.code, restarted.stderr).toBe(0);
    expect(restarted.stdout).not.toMatch(/reusing/);
    const after = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')) as RunMetrics;
    expect(after.merges).toHaveLength(reference.results.merges.length);
  });
});

/** A sweep over N: four models merged two and four at a time, by a tree of learned merges and all at once. */
const sweep = `
name: killed-sweep
seed: 6
data: { dataset: mnist, split: { train: 1200, merge: 400, test: 300 } }
model: { family: mlp, config: { hidden: [24] } }
train: { models: 4, epochs: 2, batchSize: 50 }
align: { methods: [none] }
merge: { alphas: [uniform], steps: 40, batchSize: 50, evalEvery: 5 }
many:
  models: [2, 4]
  strategies:
    - { strategy: hierarchical, align: cca, alpha: learned }
    - { strategy: all-to-one, align: permutation, alpha: uniform }
`;

describe('a many-model sweep killed while it merges resumes to the same results', () => {
  let reference: Awaited<ReturnType<typeof referenceRun>>;

  beforeAll(async () => {
    reference = await referenceRun(sweep);
    expect(reference.results.many?.merges).toHaveLength(4);
  });

  // The merges of many models come after the base models and the pair: the second half of the writes.
  it.each([0.55, 0.7, 0.85, 0.95].map((fraction, i) => [i, fraction] as const))('kill point %i: SIGKILL after that share of the writes, then rerun', async (i, fraction) => {
    await killThenResume(reference, join(reference.dir, `run-${i}`), Math.round(fraction * reference.writes));
  });
});
