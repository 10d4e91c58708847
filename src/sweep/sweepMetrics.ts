/**
 * The shape of a sweep's metrics.json: every grid cell (the points that differ only in their seed)
 * with the mean, sample standard deviation and per-seed values of the test accuracy of its base
 * models, their logit ensemble and each merge. Validated when read, like a run's metrics.json.
 */

import { join } from 'node:path';
import { z } from 'zod';

import { writeJsonAtomic } from '../io/atomicWrite.js';
import { readValidatedJson } from '../io/validatedJson.js';

/** A test accuracy over a cell's seeds: fractions in [0, 1], as in a run's metrics.json. */
const overSeeds = z.object({
  /** The mean over the seeds. */
  testAccuracy: z.number(),
  /** The sample standard deviation over the seeds (0 for one seed). */
  std: z.number(),
  /** Each seed's value, in the order of the cell's seeds. */
  values: z.array(z.number()).min(1),
});

const split = z.object({ train: z.number(), merge: z.number(), test: z.number() });

const cell = z.looseObject({
  /** The cell's value of each axis; an axis a point does not set (an explicit point's) is absent. */
  values: z.record(z.string(), z.unknown()),
  /** The seeds of the cell's points, ascending. */
  seeds: z.array(z.number()).min(1),
  /** The plan's ids of those points, in seed order. */
  points: z.array(z.string()).min(1),
  dataset: z.string(),
  split: split.optional(),
  /** The mean accuracy of each seed's base models. */
  models: overSeeds,
  /** The logit ensemble of each seed's base models. */
  ensemble: overSeeds,
  /** Each merge the cell's recipe makes, named as in the cell's runs ("cca · uniform"). */
  merges: z.array(overSeeds.extend({ label: z.string() })),
});

export const sweepMetricsSchema = z.looseObject({
  name: z.string(),
  /** The dataset and split of every cell, where all cells share them (else they are axes). */
  dataset: z.string().optional(),
  split: split.optional(),
  /** The dot paths the cells differ in, the seed left out (it varies within a cell). */
  axes: z.array(z.string()),
  cells: z.array(cell),
});

/** A sweep's metrics.json: its grid cells, each with its accuracies over seeds. */
export type SweepMetrics = z.infer<typeof sweepMetricsSchema>;
/** One grid cell of a sweep: its axes' values, its seeds, and its accuracies over them. */
export type SweepCell = z.infer<typeof cell>;
/** A test accuracy over a cell's seeds: mean, sample standard deviation and each seed's value. */
export type OverSeeds = z.infer<typeof overSeeds>;

/** Where a sweep directory keeps its metrics. */
export function sweepMetricsPath(sweepDir: string): string {
  return join(sweepDir, 'metrics.json');
}

/** Reads and validates a sweep's metrics.json, naming the file and the first field that is wrong. */
export async function readSweepMetrics(sweepDir: string): Promise<SweepMetrics> {
  return readValidatedJson(sweepMetricsPath(sweepDir), sweepMetricsSchema, {
    missing: `${sweepDir} holds no metrics.json: report the sweep first (merge-train sweep report ${sweepDir})`,
    expected: 'expected the metrics.json that merge-train sweep report writes',
  });
}

/** Writes a sweep's metrics.json atomically. */
export async function writeSweepMetrics(sweepDir: string, metrics: SweepMetrics): Promise<void> {
  await writeJsonAtomic(sweepMetricsPath(sweepDir), metrics);
}
