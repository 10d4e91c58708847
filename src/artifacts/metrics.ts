import { join } from 'node:path';
import { z } from 'zod';
import { writeJsonAtomic } from '../io/atomicWrite.js';
import { readValidatedJson } from '../io/validatedJson.js';

/**
 * The shape of a run's metrics.json: everything its report shows, gathered from the run directory's
 * artifacts. Validated when read, so a report never draws from a file of another shape. Fields may
 * be added, never renamed.
 */

/** A number that JSON writes as null where it is not finite (a model whose outputs are NaN), read back as NaN. */
export const maybeFinite = z
  .number()
  .nullable()
  .transform((value) => value ?? Number.NaN);
/**
 * Over the repeats of a run with `repeats` > 1 (whose testAccuracy and testLoss are then the means):
 * the sample standard deviations, and each repeat's value in repeat order.
 */
const acrossRepeats = z.object({
  testAccuracyStd: z.number(),
  testLossStd: maybeFinite,
  testAccuracies: z.array(z.number()),
  testLosses: z.array(maybeFinite),
});
const evaluation = { testAccuracy: z.number(), testLoss: maybeFinite, acrossRepeats: acrossRepeats.optional() };
const curvePoint = z.object({ step: z.number(), loss: z.number(), accuracy: z.number() });
const settings = z.object({ method: z.string(), options: z.record(z.string(), z.unknown()) });

const modelMetrics = z.looseObject({
  /** "model A", "model B", ... */
  name: z.string(),
  ...evaluation,
  /** Seed of the model's initialisation and batch order. */
  seed: z.number().optional(),
  /** The checkpoint, relative to the run directory. */
  checkpoint: z.string().optional(),
  key: z.string().optional(),
});

const mergeMetrics = z.looseObject({
  key: z.string().optional(),
  /** How the report names it: its alignment, then its merge ("cca · learned (fisher init)"). */
  label: z.string().optional(),
  /** The label's alignment part (cca, or cca (gamma 0.1) beside other CCA variants): figures group merges by it. */
  alignLabel: z.string().optional(),
  /** The alignment method and the merge method (alpha kind). */
  align: z.string(),
  alpha: z.string(),
  /** The alpha init of learned masks; null for merges that learn nothing. */
  init: z.string().nullable(),
  /**
   * Every setting of the alignment and of the merge, as the aligned checkpoint records them: the
   * BatchNorm mode where there is BatchNorm, the statistics' batch size and the seed where the aligner uses them.
   */
  settings: z
    .object({ align: settings.extend({ batchNorm: z.string().optional(), batchSize: z.number().optional(), seed: z.number().optional() }), merge: settings })
    .optional(),
  ...evaluation,
  /** Mean alpha over all parameter entries (1 = all model A). */
  meanAlpha: z.number().optional(),
  /** For networks with BatchNorm: the figures before the merged model's statistics were recomputed. */
  withoutBatchNormReset: z.object(evaluation).optional(),
  /** Set when learned alpha diverged: where, and which masks were kept instead. */
  warning: z.string().optional(),
  /** The masks, relative to the run directory. */
  masks: z.string().optional(),
});

const alphaCurve = z.looseObject({
  /** The merge's label. */
  label: z.string().optional(),
  align: z.string(),
  init: z.string(),
  /** Loss and accuracy of each training batch. */
  points: z.array(curvePoint),
  /** Loss and accuracy on the held-out part of the merge split, every few steps (step 0 = the init). */
  validation: z.array(curvePoint).optional(),
  /** The step whose masks were kept: the one with the lowest validation loss. */
  bestStep: z.number().optional(),
});

/** One node of a hierarchical merge tree: a base model (a leaf, level 0) or the merge of its inputs. */
const treeNode = z.looseObject({
  /** A base model's name ("model 3"), or the merged model's key. */
  id: z.string(),
  /** 0 for base models; a merge is one level above the higher of its inputs. */
  level: z.number().int().nonnegative(),
  /** The ids of the nodes merged here, the one the other was aligned to first; empty for a leaf. */
  inputs: z.array(z.string()),
  /** The base models under this node, by name, in order. */
  members: z.array(z.string()),
  ...evaluation,
});

/** A merge of N base models into one by a many-model strategy. */
const manyMerge = z.looseObject({
  key: z.string(),
  /** How the report names the variant across N: strategy, alignment and merge ("hierarchical · cca · learned"). */
  label: z.string(),
  /** The strategy (all-to-one, hierarchical), the alignment label and the merge label. */
  strategy: z.string(),
  alignLabel: z.string(),
  alphaLabel: z.string(),
  /** N: how many base models were merged. */
  models: z.number().int().min(2),
  /** The base models merged, by name; for all-to-one the reference first. */
  members: z.array(z.string()),
  ...evaluation,
  /** For hierarchical merging: every node of the tree, leaves first, the root last. */
  tree: z.array(treeNode).optional(),
  /** Set when learned weights diverged somewhere in the merge. */
  warning: z.string().optional(),
});

/** What N merged models are compared with: the logit ensemble of the same N, and their mean accuracy. */
const manyReference = z.looseObject({
  models: z.number().int().min(2),
  ensemble: z.object(evaluation),
  /** Mean test accuracy and loss of the N base models, with the sample standard deviation of the accuracy. */
  meanBase: z.object({ ...evaluation, testAccuracyStd: z.number() }),
});

/**
 * The test loss and accuracy along W(t) = t W_A + (1 - t) W_B' for one alignment, t from 0 (B') to 1
 * (A), and its barriers: the largest rise of the loss (nats) and fall of the accuracy (fraction) above
 * or below the straight line between the ends.
 */
const interpolation = z.looseObject({
  alignLabel: z.string(),
  align: z.string().optional(),
  key: z.string().optional(),
  points: z.array(z.object({ t: z.number(), testAccuracy: z.number(), testLoss: maybeFinite })).min(2),
  barrier: z.object({ loss: maybeFinite, accuracy: maybeFinite }),
  /** For a run of several repeats (points and barriers are then means): the barriers' sample standard deviations. */
  barrierStd: z.object({ loss: maybeFinite, accuracy: maybeFinite }).optional(),
});

/** Per feature space: for every unit, its largest and second-largest absolute value (see correlationAnalysis). */
export const spaceCorrelationsSchema = z.object({
  /** Each of model A's units: its top-1 and top-2 absolute correlation with model B's units. */
  top1Correlation: z.array(z.number()),
  top2Correlation: z.array(z.number()),
  /** Each aligned unit i (row i of T, z_B' = T z_B): its top-1 and top-2 |T[i, j]| after scaling the row to unit Euclidean norm (not for permutations). */
  top1Coefficient: z.array(z.number()).optional(),
  top2Coefficient: z.array(z.number()).optional(),
});

export const runMetricsSchema = z.looseObject({
  dataset: z.string(),
  models: z.array(modelMetrics),
  ensemble: z.object(evaluation),
  merges: z.array(mergeMetrics),
  /** Wall-clock seconds per stage, in the invocation that wrote the file. */
  timings: z.record(z.string(), z.number()),
  alphaCurves: z.array(alphaCurve).optional(),
  backend: z.string().optional(),
  recipe: z.string().optional(),
  versions: z.record(z.string(), z.string()).optional(),
  /** Examples in each data split. */
  split: z.object({ train: z.number(), merge: z.number(), test: z.number() }).optional(),
  /** Per alignment (by label), per feature space: the aligner's diagnostics (canonical correlations...). */
  alignment: z.record(z.string(), z.unknown()).optional(),
  /** Merges of many models: each (strategy variant, N), and the references for each N. */
  many: z.object({ merges: z.array(manyMerge), references: z.array(manyReference) }).optional(),
  /** Per alignment of model B to model A: the interpolation curve between them and its barriers. */
  interpolations: z.array(interpolation).optional(),
  /** Per alignment (by label), per feature space: how units correlate across the two models. */
  correlations: z.record(z.string(), z.record(z.string(), spaceCorrelationsSchema)).optional(),
  /** What reproduces the numbers: the hash of the resolved recipe and every seed it implies. */
  reproducibility: z.object({ recipeHash: z.string(), seeds: z.record(z.string(), z.unknown()) }).optional(),
  /**
   * For a run of several repeats: each repeat's seed and run directory (relative to this one, each with
   * its own metrics.json). Every figure here is then the mean over the repeats, with acrossRepeats;
   * masks, curves and trees are the first repeat's.
   */
  repeats: z.object({ seeds: z.array(z.number()), runs: z.array(z.string()) }).optional(),
  /** How the run computed: wasm threads, training jobs, and the main process's peak resident memory. */
  resources: z.object({ threads: z.number(), jobs: z.number(), peakRssMB: z.number() }).optional(),
});

/** A run's metrics.json: every model and merge with its settings and test figures, curves, timings. */
export type RunMetrics = z.infer<typeof runMetricsSchema>;
/** A base model's entry in metrics.json. */
export type ModelMetrics = z.infer<typeof modelMetrics>;
/** A merge's entry in metrics.json: its alignment, merge method, settings and test figures. */
export type MergeMetrics = z.infer<typeof mergeMetrics>;
/** Learned alpha's training and validation curves of one merge. */
export type AlphaCurve = z.infer<typeof alphaCurve>;
/** A merge of N base models by a many-model strategy, in metrics.json. */
export type ManyMergeMetrics = z.infer<typeof manyMerge>;
/** What N merged models are compared with: the ensemble of the same N and their mean accuracy. */
export type ManyReference = z.infer<typeof manyReference>;
/** One node of a hierarchical merge tree: a base model or the merge of its inputs. */
export type TreeNode = z.infer<typeof treeNode>;
/** Per unit of a feature space, its top-1 and top-2 correlation with the other model's units. */
export type SpaceCorrelations = z.infer<typeof spaceCorrelationsSchema>;
/** Over the repeats of a run: the standard deviations and each repeat's value. */
export type AcrossRepeats = z.infer<typeof acrossRepeats>;
/** The interpolation curve between model A and an aligned B', and its barriers. */
export type InterpolationMetrics = z.infer<typeof interpolation>;

/** Where a run directory keeps its metrics. */
export function metricsPath(dir: string): string {
  return join(dir, 'metrics.json');
}

/** Reads and validates a run's metrics.json, naming the file and the first field that is wrong. */
export async function readRunMetrics(dir: string): Promise<RunMetrics> {
  return readValidatedJson(metricsPath(dir), runMetricsSchema, {
    missing: `${dir} holds no metrics.json: run the recipe first (merge-train run <recipe>)`,
    expected: 'expected the metrics.json that merge-train run writes',
  });
}

/** Writes a run's metrics.json atomically. */
export async function writeRunMetrics(dir: string, metrics: RunMetrics): Promise<void> {
  await writeJsonAtomic(metricsPath(dir), metrics);
}
