import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { families, parseFamilyConfig } from '../../src/nn/families.js';
import { loadRecipe, withOverrides } from '../../src/recipe/loadRecipe.js';
import { fileOnlyFields, recipeFlags, recipeOverrides } from '../../src/cli/recipeOptions.js';
import { recipeSchema } from '../../src/recipe/schema.js';
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

  it('take only the flags of the command they are given to', () => {
    expect(recipeOverrides({ method: ['cca'], gamma: 0.5, epochs: 3 }, 'align')).toEqual({ align: { methods: ['cca'], gamma: 0.5 } });
    expect(recipeOverrides({ alpha: ['learned'], steps: 10 }, 'merge')).toEqual({ merge: { alphas: ['learned'], steps: 10 } });
  });

  it('cover every recipe field: each has a flag or is listed as set in recipe files only', () => {
    const shape = (recipeSchema() as unknown as { shape: Record<string, { unwrap?: () => unknown; def: { type: string; innerType?: unknown; shape?: Record<string, unknown> } }> }).shape;
    const fields: string[] = [];
    for (const [key, field] of Object.entries(shape)) {
      // Sections are objects (behind a prefault); their fields are the recipe's leaves.
      let node = field as { def: { type: string; innerType?: unknown; shape?: Record<string, unknown> } };
      while (node.def.innerType) node = node.def.innerType as typeof node;
      if (node.def.type === 'object') fields.push(...Object.keys(node.def.shape!).map((inner) => `${key}.${inner}`));
      else fields.push(key);
    }
    const flagged = recipeFlags.map((flag) => flag.path.slice(0, 2).join('.'));
    const covered = new Set([...flagged, ...fileOnlyFields]);
    expect(fields.filter((field) => !covered.has(field))).toEqual([]);
    // and the list names no field that does not exist
    expect([...covered].filter((field) => !fields.includes(field))).toEqual([]);
  });

  it('merge into a recipe without losing its other fields', () => {
    const merged = withOverrides({ name: 'q', merge: { steps: 5, init: 'uniform' } }, { merge: { init: 'fisher' } });
    expect(merged).toEqual({ name: 'q', merge: { steps: 5, init: 'fisher' } });
  });
});
