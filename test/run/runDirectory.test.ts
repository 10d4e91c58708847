import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseRecipe } from '../../src/recipe/loadRecipe.js';
import { claimRunDirectory, runLayout } from '../../src/run/runDirectory.js';
import { InputError } from '../../src/util/errors.js';

const recipe = (fields: Record<string, unknown> = {}) =>
  parseRecipe({ name: 'grow', data: { split: { train: 100, merge: 50, test: 50 } }, model: { config: { hidden: [8] } }, ...fields }, 'test');

/** A run directory claimed for the base recipe, with a stand-in base model and derived output. */
async function claimed() {
  const layout = runLayout(join(mkdtempSync(join(tmpdir(), 'merge-train-claim-')), 'run'));
  await (await claimRunDirectory(layout, recipe(), false))();
  mkdirSync(layout.models, { recursive: true });
  writeFileSync(layout.model(0), 'a model');
  mkdirSync(layout.merges, { recursive: true });
  writeFileSync(join(layout.merges, 'kept.safetensors'), 'a merge');
  return layout;
}

describe('a run directory', () => {
  it('accepts other alignment, merge and non-numeric settings, and more base models, keeping what it holds', async () => {
    const layout = await claimed();
    for (const fields of [
      { align: { gamma: 0.1, methods: ['cca'] } },
      { merge: { alphas: ['learned'], init: 'fisher', steps: 5 } },
      { train: { models: 4 } },
      { data: { split: { train: 100, merge: 50, test: 50 }, cacheDir: 'elsewhere' } },
      // a family setting spelled out at its default is the same model
      { model: { family: 'mlp', config: { hidden: [8] } } },
      { name: 'renamed' },
    ]) {
      const release = await claimRunDirectory(layout, recipe(fields), false);
      await release();
    }
    expect(existsSync(join(layout.merges, 'kept.safetensors'))).toBe(true);
  });

  it('refuses other base-model settings naming the field, and --restart removes what was derived', async () => {
    const layout = await claimed();
    const refusal = (fields: Record<string, unknown>) => claimRunDirectory(layout, recipe(fields), false).then(async (release) => release(), (error: unknown) => error);
    const epochs = await refusal({ train: { epochs: 5 } });
    expect(epochs).toBeInstanceOf(InputError);
    expect((epochs as Error).message).toMatch(/holds a run of other base models \(train\.epochs: 10 → 5\)/);
    expect(((await refusal({ seed: 3 })) as Error).message).toMatch(/\(seed: 0 → 3\)/);
    expect(((await refusal({ model: { config: { hidden: [9] } } })) as Error).message).toMatch(/\(model\.config\.hidden: \[8\] → \[9\]\)/);
    expect(((await refusal({ data: { split: { train: 100, merge: 60, test: 50 } } })) as Error).message).toMatch(/\(data\.split\.merge: 50 → 60\)/);
    expect(existsSync(join(layout.merges, 'kept.safetensors'))).toBe(true);
    await (await claimRunDirectory(layout, recipe({ train: { epochs: 5 } }), true))();
    expect(existsSync(layout.merges)).toBe(false);
  });
});

describe('a folder given as --out', () => {
  it('whose run made no base model yet takes other settings (nothing ties it to the first ones)', async () => {
    const layout = runLayout(join(mkdtempSync(join(tmpdir(), 'merge-train-claim-')), 'run'));
    await (await claimRunDirectory(layout, recipe(), false))();
    await (await claimRunDirectory(layout, recipe({ train: { epochs: 3 } }), false))();
    expect(JSON.parse(readFileSync(layout.recipe, 'utf8')).train.epochs).toBe(3);
  });

  it('that holds files but no recipe.json is refused and left as it was', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'merge-train-claim-'));
    mkdirSync(join(dir, 'figures'));
    writeFileSync(join(dir, 'figures', 'mine.png'), 'a figure of my own');
    const claim = claimRunDirectory(runLayout(dir), recipe(), true);
    await expect(claim).rejects.toThrow(/is not a merge-train run folder \(it holds files and no recipe of merge-train's\)/);
    expect(readFileSync(join(dir, 'figures', 'mine.png'), 'utf8')).toBe('a figure of my own');
    // nor is a project folder that happens to hold a recipe.json of its own
    writeFileSync(join(dir, 'recipe.json'), '{"ingredients": ["flour"]}');
    await expect(claimRunDirectory(runLayout(dir), recipe(), false)).rejects.toThrow(/is not a merge-train run folder/);
    expect(readFileSync(join(dir, 'recipe.json'), 'utf8')).toBe('{"ingredients": ["flour"]}');
  });

  it('is locked while a run uses it: a second run is refused naming the holder, a dead holder\'s lock is taken over', async () => {
    const layout = await claimed();
    const release = await claimRunDirectory(layout, recipe(), false);
    await expect(claimRunDirectory(layout, recipe(), false)).rejects.toThrow(new RegExp(`is in use by another merge-train run \\(pid ${process.pid} on `));
    await release();
    // A lock left by a process that is gone (killed) does not block the folder.
    writeFileSync(join(layout.dir, '.merge-train.lock'), JSON.stringify({ pid: 2 ** 22 + 17, host: hostname(), since: 'then' }));
    await (await claimRunDirectory(layout, recipe(), false))();
    expect(existsSync(join(layout.dir, '.merge-train.lock'))).toBe(false);
    // A lock that cannot be read may be being written: held while fresh, taken over once old.
    writeFileSync(join(layout.dir, '.merge-train.lock'), '{"pid": 12');
    await expect(claimRunDirectory(layout, recipe(), false)).rejects.toThrow(/is in use by another merge-train run \(its lock is being written\)/);
    const old = new Date(Date.now() - 5 * 60_000);
    utimesSync(join(layout.dir, '.merge-train.lock'), old, old);
    await (await claimRunDirectory(layout, recipe(), false))();
    expect(readdirSync(layout.dir).filter((name) => name.startsWith('.merge-train.lock'))).toEqual([]);
  });
});
