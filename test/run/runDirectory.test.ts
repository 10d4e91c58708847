import { mkdtempSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseRecipe } from '../../src/recipe/loadRecipe.js';
import { claimRunDirectory, runLayout } from '../../src/run/runDirectory.js';
import { InputError } from '../../src/util/errors.js';

const recipe = (fields: Record<string, unknown> = {}) =>
  parseRecipe({ name: 'grow', data: { split: { train: 100, merge: 50, test: 50 } }, model: { config: { hidden: [8] } }, ...fields }, 'test');

/** A run directory claimed for the base recipe, with a stand-in derived output. */
async function claimed() {
  const layout = runLayout(join(mkdtempSync(join(tmpdir(), 'merge-train-claim-')), 'run'));
  await claimRunDirectory(layout, recipe(), false);
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
      await expect(claimRunDirectory(layout, recipe(fields), false)).resolves.toBeUndefined();
    }
    expect(existsSync(join(layout.merges, 'kept.safetensors'))).toBe(true);
  });

  it('refuses other base-model settings naming the field, and --restart removes what was derived', async () => {
    const layout = await claimed();
    const refusal = (fields: Record<string, unknown>) => claimRunDirectory(layout, recipe(fields), false).then(() => undefined, (error: unknown) => error);
    const epochs = await refusal({ train: { epochs: 5 } });
    expect(epochs).toBeInstanceOf(InputError);
    expect((epochs as Error).message).toMatch(/holds a run of other base models \(train\.epochs: 10 → 5\)/);
    expect(((await refusal({ seed: 3 })) as Error).message).toMatch(/\(seed: 0 → 3\)/);
    expect(((await refusal({ model: { config: { hidden: [9] } } })) as Error).message).toMatch(/\(model\.config\.hidden: \[8\] → \[9\]\)/);
    expect(((await refusal({ data: { split: { train: 100, merge: 60, test: 50 } } })) as Error).message).toMatch(/\(data\.split\.merge: 50 → 60\)/);
    expect(existsSync(join(layout.merges, 'kept.safetensors'))).toBe(true);
    await claimRunDirectory(layout, recipe({ train: { epochs: 5 } }), true);
    expect(existsSync(layout.merges)).toBe(false);
  });
});
