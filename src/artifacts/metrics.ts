import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { writeJsonAtomic } from '../io/atomicWrite.js';
import { InputError } from '../util/errors.js';

/**
 * The shape of a run's metrics.json: everything its report shows, gathered from the run directory's
 * artifacts. Validated when read, so a report never draws from a file of another shape. Fields may
 * be added, never renamed.
 */

const evaluation = { testAccuracy: z.number(), testLoss: z.number() };
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
  /** Every setting of the alignment (with its BatchNorm mode) and of the merge. */
  settings: z.object({ align: settings.extend({ batchNorm: z.string().optional() }), merge: settings }).optional(),
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
  /** What reproduces the numbers: the hash of the resolved recipe and every seed it implies. */
  reproducibility: z.object({ recipeHash: z.string(), seeds: z.record(z.string(), z.unknown()) }).optional(),
  /** How the run computed: wasm threads, training jobs, and the main process's peak resident memory. */
  resources: z.object({ threads: z.number(), jobs: z.number(), peakRssMB: z.number() }).optional(),
});

export type RunMetrics = z.infer<typeof runMetricsSchema>;
export type ModelMetrics = z.infer<typeof modelMetrics>;
export type MergeMetrics = z.infer<typeof mergeMetrics>;
export type AlphaCurve = z.infer<typeof alphaCurve>;

/** Where a run directory keeps its metrics. */
export function metricsPath(dir: string): string {
  return join(dir, 'metrics.json');
}

/** Reads and validates a run's metrics.json, naming the file and the first field that is wrong. */
export async function readRunMetrics(dir: string): Promise<RunMetrics> {
  const path = metricsPath(dir);
  if (!existsSync(path)) throw new InputError(`${dir} holds no metrics.json: run the recipe first (merge-train run <recipe>)`);
  let value: unknown;
  try {
    value = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new InputError(`${path} is not valid JSON: ${(error as Error).message.split('\n')[0]}`);
  }
  const parsed = runMetricsSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.map((k) => (typeof k === 'number' ? `[${k}]` : `.${String(k)}`)).join('') || '(top level)';
    throw new InputError(`${path}: ${field}: ${issue.message.replace(/^Invalid input: /, '')}; expected the metrics.json that merge-train run writes`);
  }
  return parsed.data;
}

/** Writes a run's metrics.json atomically. */
export async function writeRunMetrics(dir: string, metrics: RunMetrics): Promise<void> {
  await writeJsonAtomic(metricsPath(dir), metrics);
}
