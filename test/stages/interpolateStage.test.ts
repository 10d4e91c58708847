import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { saveCheckpoint, type CheckpointInfo } from '../../src/artifacts/checkpoint.js';
import { selectBackend } from '../../src/backend/selectBackend.js';
import { families } from '../../src/nn/families.js';
import { disposeParams } from '../../src/nn/init.js';
import { parseRecipe } from '../../src/recipe/loadRecipe.js';
import { alignSettings, mergeSettings } from '../../src/recipe/methodSettings.js';
import { alignStage } from '../../src/stages/alignStage.js';
import { StageContext } from '../../src/stages/context.js';
import { evaluateStage } from '../../src/stages/evaluateStage.js';
import { interpolateStage, interpolationPath, savedInterpolation } from '../../src/stages/interpolateStage.js';
import { mergeStage } from '../../src/stages/mergeStage.js';
import { InputError } from '../../src/util/errors.js';
import { randomParams } from '../nn/helpers.js';

const split = { train: 300, merge: 200, test: 200 };
const recipe = parseRecipe(
  {
    name: 'interpolate',
    seed: 3,
    data: { dataset: 'mnist', split },
    model: { family: 'vgg', config: { layout: [6, 'M', 8], batchNorm: true } },
    merge: { resetExamples: 120 },
  },
  'test',
);
const vgg = families.get('vgg');
const spec = vgg.build(vgg.configSchema.parse(recipe.model.config), [28, 28, 1], 10);

describe('interpolateStage on a VGG with BatchNorm', () => {
  const dir = mkdtempSync(join(tmpdir(), 'merge-train-interpolate-'));
  const file = (name: string) => join(dir, name);
  const folder = file('interpolations');
  const ctx = new StageContext();
  let aligned: string;

  beforeAll(async () => {
    await selectBackend('wasm');
    for (const [name, seed] of [['a', 1], ['b', 2]] as const) {
      const params = randomParams(spec, seed);
      const info: CheckpointInfo = { kind: 'base', dataset: 'mnist', splitSeed: recipe.seed, split, seed, key: `model-${name}` };
      await saveCheckpoint(file(`${name}.safetensors`), spec, params, info);
      disposeParams(params);
    }
    const outcome = await alignStage({ a: file('a.safetensors'), b: file('b.safetensors') }, alignSettings('permutation', recipe), () => ({ model: file('b-perm.safetensors') }), ctx);
    aligned = outcome.path;
  });

  afterAll(() => ctx.dispose());

  it("writes <key>.json whose point at t = 0.5 is the merge stage's uniform merge, statistics reset alike", async () => {
    const settings = { points: 5, resetExamples: recipe.merge.resetExamples };
    const outcome = await interpolateStage({ a: file('a.safetensors'), b: aligned }, settings, folder, ctx);
    expect(outcome.made).toBe(true);
    expect(outcome.path).toBe(interpolationPath(folder, outcome.key));
    const written: unknown = JSON.parse(readFileSync(outcome.path, 'utf8'));
    expect(written).toEqual(outcome.record);
    const { record } = outcome;
    expect(record.key).toBe(outcome.key);
    expect(record.inputs).toEqual(['model-a', (await ctx.checkpoint(aligned)).info.key]);
    expect(record.points.map((p) => p.t)).toEqual([0, 0.25, 0.5, 0.75, 1]);

    const merged = await mergeStage([file('a.safetensors'), aligned], mergeSettings('uniform', recipe), () => ({ model: file('uniform.safetensors') }), ctx);
    const [uniform] = (await evaluateStage([merged.path], ctx)).models;
    expect(record.points[2]).toEqual({ t: 0.5, testAccuracy: uniform!.accuracy, testLoss: uniform!.loss });
    expect(record.barrier.loss).toBeGreaterThanOrEqual(0);
    expect(record.barrier.accuracy).toBeGreaterThanOrEqual(0);
  });

  it('reuses the file of the same key, and makes a new key for other points or reset examples', async () => {
    const inputs = { a: file('a.safetensors'), b: aligned };
    const first = await interpolateStage(inputs, { points: 5, resetExamples: 120 }, folder, ctx);
    const written = statSync(first.path).mtimeMs;
    const again = await interpolateStage(inputs, { points: 5, resetExamples: 120 }, folder, ctx);
    expect(again).toEqual({ ...first, made: false });
    expect(statSync(again.path).mtimeMs).toBe(written);
    // Reuse reads the checkpoints' headers only: no weights loaded.
    const fresh = new StageContext();
    const loads = vi.spyOn(fresh, 'checkpoint');
    expect((await interpolateStage(inputs, { points: 5, resetExamples: 120 }, folder, fresh)).made).toBe(false);
    expect(loads).not.toHaveBeenCalled();
    await fresh.dispose();

    const morePoints = await interpolateStage(inputs, { points: 3, resetExamples: 120 }, folder, ctx);
    const otherReset = await interpolateStage(inputs, { points: 5, resetExamples: 60 }, folder, ctx);
    expect([morePoints.made, otherReset.made]).toEqual([true, true]);
    expect(new Set([first.key, morePoints.key, otherReset.key]).size).toBe(3);
    expect((await savedInterpolation(morePoints.path))?.points).toHaveLength(3);
    // A file of another key at the path is not taken for this curve.
    expect(await savedInterpolation(morePoints.path, first.key)).toBeUndefined();
  });

  it('interpolates a model aligned with BatchNorm folded away without resetting, its t = 0.5 the uniform merge', async () => {
    const folded = { ...recipe, align: { ...recipe.align, batchNorm: 'fold' } };
    const b = (await alignStage({ a: file('a.safetensors'), b: file('b.safetensors') }, alignSettings('permutation', folded), () => ({ model: file('b-fold.safetensors') }), ctx)).path;
    const { record } = await interpolateStage({ a: file('a.safetensors'), b }, { points: 3 }, folder, ctx);
    const merged = await mergeStage([file('a.safetensors'), b], mergeSettings('uniform', folded), () => ({ model: file('uniform-fold.safetensors') }), ctx);
    const [uniform] = (await evaluateStage([merged.path], ctx)).models;
    expect(record.points[1]).toEqual({ t: 0.5, testAccuracy: uniform!.accuracy, testLoss: uniform!.loss });
  });

  it('refuses bad settings and a B aligned to another model', async () => {
    const inputs = { a: file('a.safetensors'), b: aligned };
    await expect(interpolateStage(inputs, { points: 1, resetExamples: 120 }, folder, ctx)).rejects.toThrow(InputError);
    await expect(interpolateStage(inputs, { points: 4 }, folder, ctx)).rejects.toThrow(/needs resetExamples/);
    await expect(interpolateStage({ a: file('b.safetensors'), b: aligned }, { points: 3, resetExamples: 120 }, folder, ctx)).rejects.toThrow(/aligned to another model/);
  });
});
