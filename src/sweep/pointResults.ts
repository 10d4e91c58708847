/**
 * Each point of a planned sweep with its results, read from its run directory's metrics.json: the
 * mean accuracy of its base models, their logit ensemble, and the merges that belong to it.
 */

import { join } from 'node:path';

import { readRunMetrics, type RunMetrics } from '../artifacts/metrics.js';
import { parseRecipe } from '../recipe/loadRecipe.js';
import type { Recipe } from '../recipe/schema.js';
import { meanAndStd } from '../util/statistics.js';
import { InputError } from '../util/errors.js';
import { planPath, type PlannedPoint, type SweepPlan } from './plan.js';
import { pointMerges, pointVariants } from './pointMerges.js';

/** One point's results; accuracies are fractions in [0, 1], as in metrics.json. */
export interface PointResult {
  id: string;
  /** The point's value of each axis (the seed included where it is one). */
  values: Record<string, unknown>;
  seed: number;
  dataset: string;
  /** Examples in each data split, where the run recorded them. */
  split?: { train: number; merge: number; test: number };
  /** Mean test accuracy of the point's base models. */
  models: number;
  /** Test accuracy of the logit ensemble of the point's base models. */
  ensemble: number;
  /** Test accuracy of each merge the point makes, by the point's label for it. */
  merges: { label: string; testAccuracy: number }[];
}

/** The ensemble of a point's `count` base models: the run's, or where the run has more models the many-model reference of that count. */
function ensembleOf(metrics: RunMetrics, count: number, where: string): number {
  if (metrics.models.length === count) return metrics.ensemble.testAccuracy;
  const reference = metrics.many?.references.find((r) => r.models === count);
  if (reference) return reference.ensemble.testAccuracy;
  throw new InputError(`${where}: its metrics.json has the ensemble of ${metrics.models.length} base models, not of the point's ${count}`);
}

/**
 * A point's results from its run directory's `metrics`: its first `train.models` base models (a
 * directory shared with points of more models lists those), their ensemble, and its merges.
 */
export function pointResult(point: PlannedPoint, recipe: Recipe, metrics: RunMetrics, where: string): PointResult {
  const count = recipe.train.models;
  if (metrics.models.length < count) throw new InputError(`${where}: its metrics.json lists ${metrics.models.length} base models; the point has ${count}`);
  return {
    id: point.id,
    values: point.values,
    seed: point.seed,
    dataset: metrics.dataset,
    ...(metrics.split ? { split: metrics.split } : {}),
    models: meanAndStd(metrics.models.slice(0, count).map((m) => m.testAccuracy)).mean,
    ensemble: ensembleOf(metrics, count, where),
    merges: pointMerges(metrics.merges, pointVariants(recipe), where).map(({ label, merge }) => ({ label, testAccuracy: merge.testAccuracy })),
  };
}

/**
 * Every point of `plan` with its results, in plan order; each run directory's metrics.json is read
 * once, however many points share it.
 * @throws InputError naming the point where a run directory has no results for it.
 */
export async function readPointResults(sweepDir: string, plan: SweepPlan): Promise<PointResult[]> {
  const runs = new Map<string, RunMetrics>();
  const results: PointResult[] = [];
  for (const point of plan.points) {
    const where = `point ${point.id} (${point.runDir})`;
    const recipe = parseRecipe(point.recipe, `${planPath(sweepDir)}: ${where}`);
    let metrics = runs.get(point.runDir);
    if (!metrics) {
      try {
        metrics = await readRunMetrics(join(sweepDir, point.runDir));
      } catch (error) {
        if (error instanceof InputError) throw new InputError(`${where}: ${error.message}`);
        throw error;
      }
      runs.set(point.runDir, metrics);
    }
    results.push(pointResult(point, recipe, metrics, where));
  }
  return results;
}
