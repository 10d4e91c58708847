import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import type { z } from 'zod';
import { InputError } from '../util/errors.js';
import { didYouMean } from '../util/registry.js';
import { recipeSchema, type Recipe, type RecipeInput } from './schema.js';

const EXTENSIONS = ['.yaml', '.yml', '.json'];

/** The recipes that ship with merge-train (two folders above both src/recipe and dist/recipe). */
const bundledRecipes = fileURLToPath(new URL('../../recipes', import.meta.url));

/**
 * Finds a recipe file: an existing path, or `name` with a recipe extension, in the working
 * directory, its recipes/ folder, or the recipes that ship with merge-train.
 */
export function resolveRecipePath(name: string): string {
  const candidates = [name, ...['.', 'recipes', bundledRecipes].flatMap((dir) => EXTENSIONS.map((e) => join(dir, name + e)))];
  const found = candidates.find((c) => existsSync(c) && (EXTENSIONS.includes(extname(c)) || c === name));
  if (!found) throw new InputError(`recipe ${name} not found (looked for ${name}, ${name}.yaml and recipes/${name}.yaml)`);
  return found;
}

/** The allowed keys at a path of the schema, for did-you-mean on unknown fields. */
function keysAt(path: PropertyKey[]): string[] {
  let node: z.ZodType = recipeSchema;
  for (const key of path) {
    const shape = unwrapObjectShape(node);
    const next = shape?.[String(key)];
    if (!next) return [];
    node = next;
  }
  return Object.keys(unwrapObjectShape(node) ?? {});
}

function unwrapObjectShape(node: z.ZodType): Record<string, z.ZodType> | undefined {
  // Defaults and prefaults wrap the object schema; look through them.
  let current: unknown = node;
  for (let depth = 0; depth < 5 && current; depth++) {
    const def = (current as { def?: { type?: string; shape?: Record<string, z.ZodType>; innerType?: unknown } }).def;
    if (def?.type === 'object') return def.shape;
    current = def?.innerType;
  }
  return undefined;
}

/** One line per problem: `file: field.path: what is wrong`. */
function describeIssues(source: string, error: z.ZodError): string {
  const issue = error.issues[0]!;
  const path = issue.path.join('.');
  if (issue.code === 'unrecognized_keys') {
    const known = keysAt(issue.path);
    const hints = issue.keys.map((k) => {
      const suggestion = didYouMean(k, known);
      return `${path ? `${path}.` : ''}${k}${suggestion ? ` (did you mean "${suggestion}"?)` : ''}`;
    });
    return `${source}: unknown field ${hints.join(', ')}; allowed here: ${known.join(', ')}`;
  }
  return `${source}: ${path || '(top level)'}: ${issue.message}`;
}

/** Validates a recipe object, naming `source` and the field in errors. */
export function parseRecipe(value: unknown, source: string): Recipe {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InputError(`${source}: a recipe must be a mapping of fields, got ${Array.isArray(value) ? 'a list' : typeof value}`);
  }
  const result = recipeSchema.safeParse(value);
  if (!result.success) throw new InputError(describeIssues(source, result.error));
  return result.data;
}

/** Deep-merges `overrides` into `base`: objects merge, everything else replaces. */
export function withOverrides(base: Record<string, unknown>, overrides: Record<string, unknown>): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(overrides)) {
    const current = merged[key];
    const bothObjects = [current, value].every((v) => typeof v === 'object' && v !== null && !Array.isArray(v));
    merged[key] = bothObjects ? withOverrides(current as Record<string, unknown>, value as Record<string, unknown>) : value;
  }
  return merged;
}

/** Reads, parses (YAML or JSON), applies overrides and validates a recipe file. */
export async function loadRecipe(nameOrPath: string, overrides: RecipeInput | Record<string, unknown> = {}): Promise<{ recipe: Recipe; path: string }> {
  const path = resolveRecipePath(nameOrPath);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new InputError(`cannot read recipe ${path}: ${(error as Error).message}`);
  }
  let value: unknown;
  try {
    value = parseYaml(text); // JSON is YAML too
  } catch (error) {
    const detail = error instanceof YAMLParseError ? error.message.split('\n')[0] : String(error);
    throw new InputError(`${path}: not valid YAML: ${detail}`);
  }
  if (value === null || value === undefined) throw new InputError(`${path}: the recipe is empty`);
  const merged = typeof value === 'object' && !Array.isArray(value) ? withOverrides(value as Record<string, unknown>, overrides as Record<string, unknown>) : value;
  return { recipe: parseRecipe(merged, path), path };
}
