import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { planSweep } from '../../src/sweep/plan.js';
import { loadSweepFile } from '../../src/sweep/sweepFile.js';
import { InputError } from '../../src/util/errors.js';
import { writeTinyRecipe } from './tinyRecipe.js';

const dir = mkdtempSync(join(tmpdir(), 'merge-train-sweep-plan-'));
writeTinyRecipe(dir);

/** Writes a sweep file beside the tiny recipe and loads it. */
async function sweepOf(text: string) {
  const file = join(dir, `sweep-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, text);
  return loadSweepFile(file);
}

describe('a sweep file', () => {
  it('is every combination of its grid, once per seed with repeats, each a whole recipe', async () => {
    const { sweep, points } = await sweepOf('name: widths\nrecipe: tiny.yaml\ngrid:\n  model.config.hidden: [[8], [16]]\nrepeats: 2\n');
    expect(points.map((p) => [p.recipe.model.config, p.recipe.seed])).toEqual([
      [{ hidden: [8] }, 0],
      [{ hidden: [8] }, 1],
      [{ hidden: [16] }, 0],
      [{ hidden: [16] }, 1],
    ]);
    expect(points[3]!.values).toEqual({ 'model.config.hidden': [16], seed: 1 });
    // The rest of the recipe is the base's.
    expect(points[3]!.recipe.data.split).toEqual({ train: 300, merge: 200, test: 200 });
    const plan = planSweep(sweep, points);
    expect(plan.axes).toEqual(['model.config.hidden', 'seed']);
    // Other base models in every point: four run directories of two models each.
    expect(new Set(plan.points.map((p) => p.runDir)).size).toBe(4);
    expect(plan.jobs.map((j) => j.level)).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2]);
    const report = plan.jobs.at(-1)!;
    expect(report.after).toEqual(plan.jobs.filter((j) => j.level === 1).map((j) => j.id));
  });

  it('plans identical work once: points with the same base models share their run directory and training', async () => {
    const { sweep, points } = await sweepOf('name: gammas\nrecipe: tiny.yaml\ngrid:\n  align.gamma: [0.5, 2]\npoints:\n  - { train.models: 3 }\n');
    const plan = planSweep(sweep, points);
    expect(plan.points).toHaveLength(3);
    expect(new Set(plan.points.map((p) => p.runDir)).size).toBe(1);
    // The most models any point asks for, trained once.
    expect(plan.jobs.filter((j) => j.kind === 'train')).toHaveLength(3);
    const [run] = plan.jobs.filter((j) => j.kind === 'run');
    expect(run).toMatchObject({ points: ['p0', 'p1', 'p2'] });
  });

  it('refuses a point that is not a valid recipe, naming the point, the field and the value', async () => {
    const refusal = await sweepOf('name: bad\nrecipe: tiny.yaml\ngrid:\n  train.epochs: [1, 0]\n').catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(InputError);
    expect((refusal as Error).message).toMatch(/point \{train\.epochs: 0\}: .*train\.epochs: expected an integer > 0, got 0/);
    expect((refusal as Error).message).not.toContain('\n');
    const unknown = await sweepOf('name: bad\nrecipe: tiny.yaml\ngird: {}\n').catch((error: unknown) => error);
    expect((unknown as Error).message).toMatch(/gird/);
  });
});
