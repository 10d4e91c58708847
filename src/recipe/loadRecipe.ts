import { readFile, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { aligners } from '../align/aligners.js';
import { batchNormModes } from '../align/batchNormModes.js';
import { datasets, type DatasetEntry } from '../data/registry.js';
import { describeFsError, fileKind } from '../io/fsErrors.js';
import { mergers } from '../merge/mergers.js';
import { strategies } from '../merge/strategies.js';
import { families, type FamilyEntry } from '../nn/families.js';
import type { ModelSpec } from '../nn/spec.js';
import { InputError } from '../util/errors.js';
import type { Refusal } from '../util/methodEntry.js';
import { didYouMean, type Registry, type RegistryEntry } from '../util/registry.js';
import { mergeOptions } from './methodSettings.js';
import { recipeSchema, type Recipe, type RecipeInput } from './schema.js';
import { keysAt, schemaAt, type Path } from './schemaFields.js';

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

// ---------------------------------------------------------------------------------------------
// Messages: every problem is one line, `file: field.path: what is wrong; what was expected`.

type Issue = z.ZodError['issues'][number];

/** `train.augment.flip`, `align.methods[1]`. */
export function formatPath(path: Path): string {
  return path.map((key, i) => (typeof key === 'number' ? `[${key}]` : `${i > 0 ? '.' : ''}${String(key)}`)).join('');
}

/** A field name as typed, quoted when it is not a plain word (so a newline cannot break the line). */
function showKey(key: string): string {
  return /^[\w.-]+$/.test(key) ? key : JSON.stringify(key);
}

/** A short one-line rendering of a value for messages (safe on cyclic or very deep values). */
export function showValue(value: unknown): string {
  if (typeof value === 'number') return Number.isNaN(value) ? 'NaN (.nan)' : String(value);
  if (value === undefined) return 'nothing';
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = Array.isArray(value) ? '[...]' : '{...}';
  }
  const shown = text.length > 60 ? `${text.slice(0, 57)}...` : text;
  if (Array.isArray(value)) return `a list ${shown}`;
  if (typeof value === 'object' && value !== null) return `a mapping ${shown}`;
  return shown;
}

const typeNames: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
  object: 'a mapping of fields',
  record: 'a mapping of fields',
  array: 'a list',
  null: 'null',
};

function expectedType(expected: string, description?: string): string {
  const name = typeNames[expected] ?? expected;
  return description ? `${name} (${description})` : name;
}

function bound(issue: Issue & { code: 'too_small' | 'too_big' }, isInt: boolean): string {
  const small = issue.code === 'too_small';
  const limit = small ? issue.minimum : issue.maximum;
  const op = `${small ? '>' : '<'}${issue.inclusive ? '=' : ''}`;
  switch (issue.origin) {
    case 'array':
    case 'set':
      return `${small ? 'at least' : 'at most'} ${String(limit)} item${Number(limit) === 1 ? '' : 's'}`;
    case 'string':
      return `a string of ${small ? 'at least' : 'at most'} ${String(limit)} characters`;
    default:
      return `${isInt || issue.origin === 'int' ? 'an integer' : 'a number'} ${op} ${String(limit)}`;
  }
}

/** The deepest branch of a union failure: where, and on what value, the likeliest branch failed. */
function deepestUnionBranch(issue: Issue & { code: 'invalid_union' }): { path: PropertyKey[]; input: unknown } {
  const path: PropertyKey[] = [];
  let input: unknown = issue.input;
  let current: Issue = issue;
  for (let depth = 0; depth < 8 && current.code === 'invalid_union'; depth++) {
    const deeper = current.errors.flat().find((inner) => inner.path.length > 0);
    if (!deeper) break;
    path.push(...deeper.path);
    input = deeper.input;
    current = deeper;
  }
  return { path, input };
}

/** `field.path: problem; expected ...` for one zod issue against `root` (a recipe or a config schema). */
function describeIssue(issue: Issue, root: z.ZodType, base: Path): string {
  const path = [...base, ...issue.path];
  const at = schemaAt(root, issue.path);
  const got = showValue(issue.input);
  const field = formatPath(path) || '(top level)';
  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = keysAt(root, issue.path);
      const hints = issue.keys.map((key) => {
        const suggestion = didYouMean(key, known);
        return `${formatPath([...path, showKey(key)])}${suggestion ? ` (did you mean "${suggestion}"?)` : ''}`;
      });
      return `unknown field ${hints.join(', ')}; allowed here: ${known.join(', ')}`;
    }
    case 'invalid_type':
      if (issue.input === undefined) return `${field}: missing; expected ${expectedType(issue.expected, at?.description)}`;
      return `${field}: expected ${expectedType(issue.expected)}, got ${got}`;
    case 'too_small':
    case 'too_big':
      return `${field}: expected ${bound(issue, at?.node.isInt === true)}, got ${got}`;
    case 'invalid_value': {
      const values = issue.values.map(String);
      const suggestion = typeof issue.input === 'string' ? didYouMean(issue.input, values) : undefined;
      const expected = values.length === 1 ? String(values[0]) : `one of ${values.join(', ')}`;
      return `${field}: expected ${expected}, got ${got}${suggestion ? ` (did you mean "${suggestion}"?)` : ''}`;
    }
    case 'invalid_union': {
      const branch = deepestUnionBranch(issue);
      const where = formatPath([...path, ...branch.path]);
      return `${where}: expected ${at?.description ?? 'a valid value'}, got ${showValue(branch.input)}`;
    }
    case 'custom':
      return `${field}: ${issue.message}, got ${got}`;
    default:
      return `${field}: ${issue.message}, got ${got}`;
  }
}

/** One line for the first problem of a failed parse: `source: field.path: problem`. */
function describeIssues(source: string, error: z.ZodError, root: z.ZodType, base: Path = []): string {
  return `${source}: ${describeIssue(error.issues[0]!, root, base)}`;
}

// ---------------------------------------------------------------------------------------------
// Validation

/** Validates a recipe object against the schema, naming `source` and the field in errors. */
export function parseRecipe(value: unknown, source: string): Recipe {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    const got = Array.isArray(value) ? 'a list' : value === null ? 'null' : `${typeof value} ${showValue(value)}`;
    throw new InputError(`${source}: a recipe must be a mapping of fields (name: ..., data: ..., model: ...), got ${got}`);
  }
  const schema = recipeSchema();
  const result = schema.safeParse(value, { reportInput: true });
  if (!result.success) throw new InputError(describeIssues(source, result.error, schema));
  return result.data;
}

/** A registry entry by the name at `field`, naming `source` and the field if there is none. */
function lookup<T extends RegistryEntry>(registry: Registry<T>, name: string, source: string, field: string): T {
  try {
    return registry.get(name);
  } catch (error) {
    if (error instanceof InputError) throw new InputError(`${source}: ${field}: ${error.message}`);
    throw error;
  }
}

/**
 * Checks `model.config` against the family's schema and builds the model's spec for the dataset's
 * input shape, so that every architecture problem is refused before any data is loaded.
 */
function checkModel(family: FamilyEntry, config: unknown, dataset: DatasetEntry, source: string): ModelSpec {
  const schema = family.configSchema;
  const parsed = schema.safeParse(config, { reportInput: true });
  if (!parsed.success) throw new InputError(describeIssues(source, parsed.error, schema, ['model', 'config']));
  let spec: ModelSpec;
  try {
    spec = family.build(parsed.data, dataset.inputShape, dataset.numClasses);
  } catch (error) {
    if (error instanceof InputError) throw new InputError(`${source}: model.config: ${error.message} (for ${dataset.name} inputs)`);
    throw error;
  }
  const count = Object.values(spec.params).reduce((sum, p) => sum + p.shape.reduce((a, b) => a * b, 1), 0);
  if (count > MAX_PARAMETERS) {
    const gib = (bytes: number) => `${(bytes / 2 ** 30).toFixed(1)} GiB`;
    throw new InputError(
      `${source}: model.config: this ${family.name} model has ${count.toLocaleString('en')} parameters (${gib(4 * count)} of float32); expected at most ${MAX_PARAMETERS.toLocaleString('en')} (${gib(4 * MAX_PARAMETERS)})`,
    );
  }
  return spec;
}

/** The most parameters a model may have: 4 GiB of float32, what one typed array and the WASM heap hold. */
const MAX_PARAMETERS = 2 ** 30;

/** Throws a method's refusal as one line naming the field to change. */
function refuse(source: string, field: string, name: string, refusal: Refusal | undefined): void {
  if (refusal) throw new InputError(`${source}: ${refusal.field ?? field}: ${name}: ${refusal.reason}`);
}

/**
 * The checks that need more than the schema: registered dataset and model family, the family's
 * configuration (and that it builds for the dataset's images), split sizes that fit the dataset,
 * alignment and merge methods that can handle this model and merge split (each method declares
 * what it needs), and many-model counts the run trains enough models for. Everything is checked before any data is loaded or any file is written, naming
 * `source` and the field. `merging: false` skips the methods (for commands that only train).
 */
export function checkRecipe(recipe: Recipe, source: string, options: { merging?: boolean } = {}): void {
  const dataset = lookup(datasets, recipe.data.dataset, source, 'data.dataset');
  const family = lookup(families, recipe.model.family, source, 'model.family');
  const spec = checkModel(family, recipe.model.config, dataset, source);

  const split = { ...dataset.defaultSplit, ...recipe.data.split };
  const wanted = split.train + split.merge + split.test;
  if (wanted > dataset.total) {
    const defaults = (['train', 'merge', 'test'] as const).filter((k) => recipe.data.split[k] === undefined);
    throw new InputError(
      `${source}: data.split: train ${split.train} + merge ${split.merge} + test ${split.test} = ${wanted} examples, but ${dataset.name} has ${dataset.total}; expected sizes that add up to at most ${dataset.total}${defaults.length ? ` (${defaults.join(', ')} took the dataset's default)` : ''}`,
    );
  }

  if (options.merging === false) return; // `merge-train train`: one model, no methods to check
  const reasonOf = (reason: string | undefined) => (reason === undefined ? undefined : { reason });
  refuse(source, 'align.batchNorm', recipe.align.batchNorm, reasonOf(batchNormModes.get(recipe.align.batchNorm).unsupported?.(spec)));
  for (const name of recipe.align.methods) refuse(source, 'align.methods', name, reasonOf(aligners.get(name).unsupported?.(spec)));
  for (const name of recipe.merge.alphas) {
    const merger = mergers.get(name);
    refuse(source, 'merge.alphas', name, merger.unsupported?.({ spec, models: 2, mergeExamples: split.merge }, mergeOptions(merger, recipe.merge)));
  }
  if (!recipe.many) return;
  for (const count of recipe.many.models) {
    if (count > recipe.train.models) {
      throw new InputError(
        `${source}: many.models: ${count} is more than the ${recipe.train.models} base models the recipe trains (train.models); expected counts of at most ${recipe.train.models}, or raise train.models`,
      );
    }
  }
  for (const { strategy, align, alpha } of recipe.many.strategies) {
    refuse(source, 'many.strategies', align, reasonOf(aligners.get(align).unsupported?.(spec)));
    refuse(source, 'many.strategies', strategy, reasonOf(strategies.get(strategy).unsupported?.(aligners.get(align))));
    const merger = mergers.get(alpha);
    for (const count of recipe.many.models) {
      refuse(source, 'many.strategies', alpha, merger.unsupported?.({ spec, models: count, mergeExamples: split.merge }, mergeOptions(merger, recipe.merge)));
    }
  }
}

/** Deep-merges `overrides` into `base`: objects merge, everything else replaces. */
export function withOverrides(base: Record<string, unknown>, overrides: Record<string, unknown>): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(overrides)) {
    const current = Object.hasOwn(merged, key) ? merged[key] : undefined;
    const bothObjects = [current, value].every((v) => typeof v === 'object' && v !== null && !Array.isArray(v));
    const next = bothObjects ? withOverrides(current as Record<string, unknown>, value as Record<string, unknown>) : value;
    Object.defineProperty(merged, key, { value: next, enumerable: true, writable: true, configurable: true });
  }
  return merged;
}

// ---------------------------------------------------------------------------------------------
// Reading

/** The first line of a parser message, without the trailing colon that introduces its code excerpt. */
function firstLine(message: string): string {
  return (message.split('\n')[0] ?? '').replace(/:\s*$/, '').replace('Maximum call stack size exceeded', 'nested too deeply');
}

/**
 * YAML maps read as Maps (so no key is silently stringified) turned into plain objects; a key that is
 * a list or a mapping is refused, naming where it is.
 */
function toPlain(value: unknown, source: string, path: PropertyKey[]): unknown {
  if (Array.isArray(value)) return value.map((item, i) => toPlain(item, source, [...path, i]));
  if (!(value instanceof Map)) return value;
  const entries: [string, unknown][] = [];
  for (const [key, item] of value) {
    if (typeof key === 'object' && key !== null) {
      throw new InputError(
        `${source}: ${formatPath(path) || '(top level)'}: expected field names, got a ${Array.isArray(key) || key instanceof Set ? 'list' : 'mapping'} as a key (${showValue(key instanceof Map ? Object.fromEntries(key) : key)})`,
      );
    }
    entries.push([String(key), toPlain(item, source, [...path, String(key)])]);
  }
  // fromEntries defines own properties, so a "__proto__" key stays a field (and an unknown one).
  return Object.fromEntries(entries);
}

/** Parses YAML (or JSON, which is YAML too); any error or warning (an unknown tag) is a refusal. */
function parseRecipeText(text: string, path: string): unknown {
  let value: unknown;
  try {
    const document = parseDocument(text, { uniqueKeys: true, prettyErrors: true, logLevel: 'error' });
    const problem = document.errors[0] ?? document.warnings[0];
    if (problem?.code === 'MULTIPLE_DOCS') {
      throw new InputError(`${path}: not valid YAML: a second document starts at line ${problem.linePos?.[0].line ?? '?'} ("---"); expected one recipe per file`);
    }
    if (problem) throw new InputError(`${path}: not valid YAML: ${firstLine(problem.message)}`);
    value = document.toJS({ mapAsMap: true, maxAliasCount: 100 });
  } catch (error) {
    if (error instanceof InputError) throw error;
    // Unresolved aliases, alias bombs, nesting deeper than the stack.
    throw new InputError(`${path}: not valid YAML: ${firstLine(error instanceof Error ? error.message : String(error))}`);
  }
  try {
    return toPlain(value, path, []);
  } catch (error) {
    if (error instanceof RangeError) throw new InputError(`${path}: not valid YAML: nested too deeply (${error.message})`);
    throw error;
  }
}

/** The value of the YAML (or JSON) file at `path`, a `what` (recipe, sweep file) as errors call it. */
export async function readYamlFile(path: string, what: string): Promise<unknown> {
  let text: string;
  try {
    // Before reading: reading a FIFO waits for a writer that may never come.
    const stats = await stat(path);
    if (!stats.isFile()) throw new InputError(`cannot read ${what} ${path}: it is ${fileKind(stats)}; expected a YAML or JSON file`);
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (error instanceof InputError) throw error;
    throw new InputError(`cannot read ${what} ${path}: ${describeFsError(error)}; expected a YAML or JSON file`);
  }
  if (text.includes('\u0000')) throw new InputError(`${path}: not valid YAML: the file holds NUL bytes; expected a YAML or JSON text file`);
  return parseRecipeText(text, path);
}

/**
 * Reads, parses (YAML or JSON), applies overrides and validates a recipe file (`checks` as for
 * checkRecipe: a command that only trains skips the merge methods).
 */
export async function loadRecipe(
  nameOrPath: string,
  overrides: RecipeInput | Record<string, unknown> = {},
  checks: { merging?: boolean } = {},
): Promise<{ recipe: Recipe; path: string }> {
  const path = resolveRecipePath(nameOrPath);
  const value = await readYamlFile(path, 'recipe');
  if (value === null || value === undefined) throw new InputError(`${path}: the recipe is empty; expected a mapping of fields with at least a name`);
  const hasOverrides = Object.keys(overrides).length > 0;
  if (!hasOverrides) {
    const recipe = parseRecipe(value, path);
    checkRecipe(recipe, path, checks);
    return { recipe, path };
  }
  // The file is checked on its own first, so a bad command-line value is not blamed on the file.
  checkRecipe(parseRecipe(value, path), path, checks);
  const merged = withOverrides(value as Record<string, unknown>, overrides as Record<string, unknown>);
  const source = `${path} with the command-line options`;
  const recipe = parseRecipe(merged, source);
  checkRecipe(recipe, source, checks);
  return { recipe, path };
}
