import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { families, parseFamilyConfig } from '../../src/nn/families.js';
import { loadRecipe, withOverrides } from '../../src/recipe/loadRecipe.js';
import { recipeOverrides } from '../../src/cli/recipeOptions.js';
import { datasets } from '../../src/data/registry.js';

describe('shipped recipes', () => {
  const names = readdirSync('recipes').filter((f) => f.endsWith('.yaml'));

  it('include the quickstart and the convolutional recipes', () => {
    expect(names).toEqual(expect.arrayContaining(['quickstart.yaml', 'fashion-vgg.yaml', 'fashion-resnet.yaml', 'cifar10-vgg11.yaml', 'cifar10-resnet20.yaml']));
  });

  for (const file of names) {
    it(`${file} validates, and names a registered dataset and a valid model config`, async () => {
      const { recipe } = await loadRecipe(`recipes/${file}`);
      expect(`${recipe.name}.yaml`).toBe(file);
      expect(datasets.has(recipe.data.dataset)).toBe(true);
      const family = families.get(recipe.model.family);
      expect(() => parseFamilyConfig(family, recipe.model.config, file)).not.toThrow();
    });
  }
});

describe('command-line overrides', () => {
  it('map flags onto nested recipe fields', () => {
    expect(recipeOverrides({ init: 'fisher', hidden: [64, 32], align: ['cca'], alphaLr: 0.02, seed: 4 })).toEqual({
      seed: 4,
      model: { config: { hidden: [64, 32] } },
      align: { methods: ['cca'] },
      merge: { init: 'fisher', learningRate: 0.02 },
    });
  });

  it('merge into a recipe without losing its other fields', () => {
    const merged = withOverrides({ name: 'q', merge: { steps: 5, init: 'uniform' } }, { merge: { init: 'fisher' } });
    expect(merged).toEqual({ name: 'q', merge: { steps: 5, init: 'fisher' } });
  });
});
