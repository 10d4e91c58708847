import { aligners } from '../align/aligners.js';
import type { DataInfo } from '../artifacts/checkpoint.js';
import { datasets } from '../data/registry.js';
import { initOf, mergers, type MergerEntry } from '../merge/mergers.js';
import { strategies } from '../merge/strategies.js';
import { families } from '../nn/families.js';
import { optionsOf } from '../util/methodEntry.js';
import type { Recipe } from './schema.js';

/**
 * The fully resolved settings of each kind of stage, taken from a recipe: what the stage's output key
 * holds, so that two invocations with the same settings find the same artifact.
 */

/** What a base model is trained from (besides its index in the run). */
export interface TrainSettings {
  data: DataInfo;
  model: Recipe['model'];
  train: Omit<Recipe['train'], 'models'>;
}

/** How model B is aligned to model A. */
export interface AlignSettings {
  /** The aligner and the values of the settings it declares. */
  method: string;
  options: Record<string, unknown>;
  /** The BatchNorm mode (irrelevant to models without BatchNorm). */
  batchNorm: string;
  /** Examples per batch of the alignment statistics. */
  batchSize: number;
  /** Seed of the aligner's random choices (recorded only for aligners that use one). */
  seed: number;
}

/** How A and an aligned B' are merged. */
export interface MergeSettings {
  /** The merger and the values of the settings it declares (with its alpha init's). */
  method: string;
  options: Record<string, unknown>;
  /** Training examples on which a merged BatchNorm network's statistics are recomputed. */
  resetExamples: number;
  /** Seed of the merger's random choices. */
  seed: number;
}

/** The data split a recipe defines, with the dataset's default sizes filled in. */
export function dataOf(recipe: Recipe): DataInfo {
  const dataset = datasets.get(recipe.data.dataset);
  return { dataset: dataset.name, splitSeed: recipe.seed, split: { ...dataset.defaultSplit, ...recipe.data.split } };
}

/** What a run's base models are trained from; the model's configuration with its defaults filled in. */
export function trainSettings(recipe: Recipe): TrainSettings {
  const { models: _count, ...train } = recipe.train;
  const family = families.get(recipe.model.family);
  return { data: dataOf(recipe), model: { family: family.name, config: family.configSchema.parse(recipe.model.config) }, train };
}

/** How the align stage aligns with `method` under `recipe`: the aligner's options with their defaults, the BatchNorm mode, batch size and seed. */
export function alignSettings(method: string, recipe: Pick<Recipe, 'align' | 'seed'>): AlignSettings {
  const section = recipe.align;
  return { method, options: optionsOf(aligners.get(method), section), batchNorm: section.batchNorm, batchSize: section.batchSize, seed: recipe.seed };
}

/** A merger's own settings and, for one that starts from an alpha init, the init's. */
export function mergeOptions(merger: MergerEntry, section: Recipe['merge']): Record<string, unknown> {
  const options = optionsOf(merger, section);
  const init = initOf(merger, options);
  return init ? { ...options, ...optionsOf(init, section) } : options;
}

/** How the merge stage merges with `method` under `recipe`: the merger's options (and its alpha init's) with their defaults, and the seed. */
export function mergeSettings(method: string, recipe: Recipe): MergeSettings {
  return { method, options: mergeOptions(mergers.get(method), recipe.merge), resetExamples: recipe.merge.resetExamples, seed: recipe.seed };
}

/** What an interpolation curve is measured with. */
export interface InterpolationSettings {
  /** Evenly spaced t in [0, 1], the ends included (an integer >= 2). */
  points: number;
  /**
   * Training examples on which each W(t) of a BatchNorm network has its statistics recomputed: the
   * merge stage's `resetExamples`, so that the curve at t = 0.5 is the uniform merge. Needed where
   * there is BatchNorm; counts in the key whenever given, so give it only there.
   */
  resetExamples?: number;
}

/**
 * The settings of the interpolation curve between model A and an aligned B': the recipe's number of
 * points and, for networks with BatchNorm, the merge's reset examples (as a merge's key counts them).
 */
export function interpolationSettings(recipe: Recipe, withBatchNorm: boolean): InterpolationSettings {
  return { points: recipe.merge.interpolationPoints, ...(withBatchNorm ? { resetExamples: recipe.merge.resetExamples } : {}) };
}

/** One way to merge many models: a strategy, with the alignment and the merge it uses at each step. */
export interface ManyVariant {
  strategy: { method: string; options: Record<string, unknown> };
  align: AlignSettings;
  merge: MergeSettings;
}

/** The many-model variants a recipe asks for (none without a `many` section). */
export function manyVariants(recipe: Recipe): ManyVariant[] {
  const many = recipe.many;
  if (!many) return [];
  return many.strategies.map(({ strategy, align, alpha }) => ({
    strategy: { method: strategy, options: optionsOf(strategies.get(strategy), many) },
    align: alignSettings(align, recipe),
    merge: mergeSettings(alpha, recipe),
  }));
}
