import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { metricsPath } from '../artifacts/metrics.js';
import { temporaryWriter, writeJsonAtomic } from '../io/atomicWrite.js';
import { describeFsError, fileKind, isFsError } from '../io/fsErrors.js';
import { checkOutputFolder } from '../io/outputPaths.js';
import { trainSettings } from '../recipe/methodSettings.js';
import type { Recipe } from '../recipe/schema.js';
import type { AlignOutputs } from '../stages/alignStage.js';
import type { MergeOutputs } from '../stages/mergeStage.js';
import { InputError } from '../util/errors.js';
import { isProcessAlive } from '../util/processCleanup.js';
import { LOCK_FILE, lockRunFolder } from './runLock.js';

/**
 * A run directory: one experiment that grows. Its base models are fixed by the recipe's data, model
 * and training settings (its identity); alignments and merges are added as the recipe's alignment and
 * merge settings change, each artifact named after the key of what made it, and the report shows all
 * of them side by side.
 */
export function runLayout(dir: string) {
  const folder = (name: string) => join(dir, name);
  const file = (name: string, stem: string, suffix = '.safetensors') => join(folder(name), `${stem}${suffix}`);
  /** A short name for an artifact file: what it is, and the start of its key. */
  const stem = (what: string, key: string) => `${what}-${key.slice(0, 8)}`;
  return {
    dir,
    recipe: join(dir, 'recipe.json'),
    metrics: metricsPath(dir),
    summary: join(dir, 'summary.md'),
    figures: folder('figures'),
    models: folder('models'),
    model: (index: number) => file('models', `model-${index}`),
    statistics: folder('statistics'),
    aligned: folder('aligned'),
    merges: folder('merges'),
    masks: folder('masks'),
    evaluations: folder('evaluations'),
    /** Interpolation curves between model A and each aligned B', by key. */
    interpolations: folder('interpolations'),
    /** Merges of many models: their aligned and merged models, masks and statistics by key, and a record per strategy and N. */
    many: {
      folders: { aligned: join(dir, 'many', 'aligned'), statistics: join(dir, 'many', 'statistics'), merges: join(dir, 'many', 'merges'), masks: join(dir, 'many', 'masks') },
      results: join(dir, 'many', 'results'),
    },
    /** The files of model B aligned by `method`, named by their keys. */
    alignOutputs: (method: string): AlignOutputs => (key, statisticsKey) => ({
      model: file('aligned', stem(`model-1-${method}`, key)),
      statistics: file('statistics', stem('model-1', statisticsKey)),
    }),
    /** The files of a merge of A with B aligned by `method`, by `merger`, named by its key. */
    mergeOutputs: (method: string, merger: string) => (key: string): MergeOutputs => {
      const name = stem(`${method}-${merger}`, key);
      return { model: file('merges', name), masks: file('masks', name), beforeReset: file('merges', name, '.before-reset.safetensors') };
    },
  };
}

export type RunLayout = ReturnType<typeof runLayout>;

/**
 * What fixes a run directory's base models (their settings, but for how many there are): a change here
 * makes other models, so another experiment.
 */
export function identityOf(recipe: Recipe): Record<string, unknown> {
  const { data, model, train } = trainSettings(recipe);
  return { seed: data.splitSeed, data: { dataset: data.dataset, split: data.split }, model, train };
}

/** The first field where two values differ, as `path: old → new`, or undefined when they are equal. */
export function firstChange(saved: unknown, current: unknown, path = ''): string | undefined {
  if (JSON.stringify(saved) === JSON.stringify(current)) return undefined;
  const bothObjects = typeof saved === 'object' && saved !== null && typeof current === 'object' && current !== null;
  if (!bothObjects || Array.isArray(saved) || Array.isArray(current)) {
    return `${path || '(the recipe)'}: ${JSON.stringify(saved)} → ${JSON.stringify(current)}`;
  }
  const keys = [...new Set([...Object.keys(saved), ...Object.keys(current)])];
  for (const key of keys) {
    const change = firstChange((saved as Record<string, unknown>)[key], (current as Record<string, unknown>)[key], path ? `${path}.${key}` : key);
    if (change) return change;
  }
  return undefined;
}

/** Removes everything a run derives from its base models: statistics, alignments, merges (of many models too), evaluations, report. */
export async function removeDerivedOutputs(layout: RunLayout): Promise<void> {
  for (const output of [layout.statistics, layout.aligned, layout.merges, layout.masks, join(layout.dir, 'many'), layout.evaluations, layout.interpolations, layout.metrics, layout.summary, layout.figures]) {
    await rm(output, { recursive: true, force: true });
  }
}

/** What a folder holds besides what merge-train itself leaves there between runs (its lock, temporary files). */
async function contentsOf(dir: string): Promise<string[]> {
  const names = await readdir(dir);
  return names.filter((name) => name !== LOCK_FILE && temporaryWriter(name) === undefined);
}

/** Removes the temporary files that writers killed mid-write left in the run folder (their process is gone). */
async function sweepTemporaryFiles(dir: string): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      await sweepTemporaryFiles(join(dir, entry.name));
      continue;
    }
    const writer = temporaryWriter(entry.name);
    if (writer !== undefined && !isProcessAlive(writer)) await rm(join(dir, entry.name), { force: true });
  }
}

/**
 * Makes `layout.dir` the run directory of `recipe`, locked for this run (the returned function
 * releases it). A new or empty folder becomes one; a folder that holds other files and no
 * recipe.json is refused, never emptied. A run directory whose base models were made with the same
 * data, model and training settings is continued (alignment and merge settings may differ: their
 * variants are added). One of other base-model settings is refused, naming the first changed field, unless
 * `restart`, which removes every output derived from the base models (base models of the same
 * settings are reused). Temporary files of killed runs are swept; the recipe is written as recipe.json.
 */
export async function claimRunDirectory(layout: RunLayout, recipe: Recipe, restart: boolean): Promise<() => Promise<void>> {
  try {
    return await claimFolder(layout, recipe, restart);
  } catch (error) {
    if (isFsError(error)) throw new InputError(`cannot use ${layout.dir} as a run folder: ${describeFsError(error)}`);
    throw error;
  }
}

/** The identity recorded in a folder's recipe.json, or undefined when it holds none of this merge-train. */
async function savedIdentity(layout: RunLayout): Promise<Record<string, unknown> | undefined> {
  if (!existsSync(layout.recipe)) return undefined;
  try {
    return identityOf(JSON.parse(await readFile(layout.recipe, 'utf8')) as Recipe);
  } catch {
    return undefined; // not JSON, or not a recipe this merge-train reads
  }
}

async function claimFolder(layout: RunLayout, recipe: Recipe, restart: boolean): Promise<() => Promise<void>> {
  await checkOutputFolder(layout.dir);
  if (existsSync(layout.dir)) {
    const stats = await stat(layout.dir); // a link to a folder is a folder
    if (!stats.isDirectory()) throw new InputError(`${layout.dir} is ${fileKind(stats)}, not a folder; choose a new or empty folder for the run`);
    const isRunFolder = (await savedIdentity(layout)) !== undefined || existsSync(layout.models);
    if (!isRunFolder && (await contentsOf(layout.dir)).length > 0) {
      throw new InputError(`${layout.dir} is not a merge-train run folder (it holds files and no recipe of merge-train's), and a run would write over them; choose a new or empty folder`);
    }
  }
  await mkdir(layout.dir, { recursive: true });
  const release = await lockRunFolder(layout.dir);
  try {
    await sweepTemporaryFiles(layout.dir);
    // Until a base model is there, nothing ties the folder to the settings it was started with.
    const hasModels = existsSync(layout.models) && (await readdir(layout.models)).some((name) => /^model-\d+\.safetensors$/.test(name));
    if (hasModels) {
      const saved = await savedIdentity(layout);
      const change = saved === undefined ? 'its recipe.json is not a recipe of this merge-train' : firstChange(saved, identityOf(recipe));
      if (change && !restart) {
        throw new InputError(
          `${layout.dir} holds a run of other base models (${change}); its data, model and training settings are fixed (alignment and merge settings may change), so choose another --out, or add --restart to start it over (base models trained with the same settings are kept)`,
        );
      }
      if (change || restart) await removeDerivedOutputs(layout);
    }
    await writeJsonAtomic(layout.recipe, recipe);
    return release;
  } catch (error) {
    await release();
    throw error;
  }
}
