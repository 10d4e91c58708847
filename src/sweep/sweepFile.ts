import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { loadRecipe, readYamlFile, showValue } from '../recipe/loadRecipe.js';
import type { Recipe } from '../recipe/schema.js';
import { InputError } from '../util/errors.js';

/**
 * A sweep file: a base recipe, a grid of values for any of its fields (by dot path, e.g.
 * `model.config.hidden`), explicit points besides the grid, and repeats (each point once per seed
 * seed, seed + 1, ...). Every point is a whole recipe, validated as one.
 */
export const sweepFileSchema = z.strictObject({
  name: z
    .string()
    .regex(/^[\w.-]+$/, 'expected letters, digits, "_", "-" and "." only')
    .describe('sweep name: its directory is reports/sweeps/<name>/'),
  recipe: z.string().min(1).describe('the base recipe: a file, or a name in recipes/ (relative to the sweep file)'),
  grid: z
    .record(z.string().regex(/^[A-Za-z]\w*(\.\w+)*$/, 'expected a dot path of recipe fields, e.g. model.config.hidden'), z.array(z.unknown()).min(1))
    .default({})
    .describe('values for recipe fields by dot path; every combination is a point'),
  points: z.array(z.record(z.string(), z.unknown())).default([]).describe('explicit points besides the grid: recipe fields by dot path'),
  repeats: z.number().int().positive().max(100).default(1).describe('each point with seeds seed, seed + 1, ...'),
});

export type SweepFile = z.infer<typeof sweepFileSchema>;

/** One point of a sweep: the values it sets (by dot path, the seed included) and its recipe. */
export interface SweepPoint {
  values: Record<string, unknown>;
  recipe: Recipe;
}

/** A nested override from a dot path and its value: `a.b` = 1 → { a: { b: 1 } }. */
function override(path: string, value: unknown): Record<string, unknown> {
  return path
    .split('.')
    .reverse()
    .reduce<unknown>((inner, key) => ({ [key]: inner }), value) as Record<string, unknown>;
}

/** Every combination of the grid's values, in the order the file lists them. */
function combinations(grid: Record<string, unknown[]>): Record<string, unknown>[] {
  return Object.entries(grid).reduce<Record<string, unknown>[]>(
    (partial, [path, values]) => partial.flatMap((point) => values.map((value) => ({ ...point, [path]: value }))),
    [{}],
  );
}

/** A point's values as errors show them: `model.config.hidden: [16], seed: 1`. */
export function describePoint(values: Record<string, unknown>): string {
  const parts = Object.entries(values).map(([path, value]) => `${path}: ${showValue(value)}`);
  return parts.length ? parts.join(', ') : 'the base recipe';
}

/**
 * Reads and validates a sweep file, and every point's recipe (the base with the point's values,
 * refused naming the point, the field and the value where it is not a valid recipe).
 */
export async function loadSweepFile(path: string): Promise<{ sweep: SweepFile; points: SweepPoint[] }> {
  const parsed = sweepFileSchema.safeParse(await readYamlFile(path, 'sweep file'));
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new InputError(`${path}: ${issue.path.join('.') || '(the sweep file)'}: ${issue.message}`);
  }
  const sweep = parsed.data;
  const base = resolve(dirname(path), sweep.recipe);
  const listed = [...(Object.keys(sweep.grid).length ? combinations(sweep.grid) : []), ...sweep.points];
  const points: SweepPoint[] = [];
  for (const values of listed.length ? listed : [{}]) {
    for (let r = 0; r < sweep.repeats; r++) {
      const fields = Object.entries(values).reduce<Record<string, unknown>>((all, [key, value]) => deepMerge(all, override(key, value)), {});
      const recipe = await pointRecipe(base, { ...fields, name: sweep.name, repeats: 1 }, path, values);
      const seeded = r === 0 ? recipe : { ...recipe, seed: recipe.seed + r };
      points.push({ values: sweep.repeats > 1 ? { ...values, seed: seeded.seed } : values, recipe: seeded });
    }
  }
  return { sweep, points };
}

/** `b` merged into `a`, object by object (a later dot path may add to an earlier one's object). */
function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const merged = { ...a };
  for (const [key, value] of Object.entries(b)) {
    const current = merged[key];
    const bothObjects = [current, value].every((v) => typeof v === 'object' && v !== null && !Array.isArray(v));
    merged[key] = bothObjects ? deepMerge(current as Record<string, unknown>, value as Record<string, unknown>) : value;
  }
  return merged;
}

/** The base recipe with a point's fields, refused naming the point. */
async function pointRecipe(base: string, fields: Record<string, unknown>, path: string, values: Record<string, unknown>): Promise<Recipe> {
  try {
    return (await loadRecipe(base, fields)).recipe;
  } catch (error) {
    if (error instanceof InputError) throw new InputError(`${path}: point {${describePoint(values)}}: ${error.message}`);
    throw error;
  }
}
