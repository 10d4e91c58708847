/**
 * A sweep's grid cells: points that differ only in their seed are one cell, and each of its
 * accuracies is summarised over those seeds by its mean and sample standard deviation.
 */

import { orderedUnion } from '../report/orderedUnion.js';
import { canonical } from '../util/hash.js';
import { meanAndStd } from '../util/statistics.js';
import type { PointResult } from './pointResults.js';
import type { OverSeeds, SweepCell, SweepMetrics } from './sweepMetrics.js';

/** The axis that repeats vary: within a cell, not across cells. */
export const SEED_AXIS = 'seed';

/** `values` without the seed: what a cell is. */
function cellValues(values: Record<string, unknown>): Record<string, unknown> {
  const { [SEED_AXIS]: _seed, ...rest } = values;
  return rest;
}

/** The mean and sample standard deviation of one value per seed, with the values. */
function overSeeds(values: number[]): OverSeeds {
  const { mean, std } = meanAndStd(values);
  return { testAccuracy: mean, std, values };
}

/** One cell from its points (one per seed, ascending). */
function cellOf(points: PointResult[]): SweepCell {
  const first = points[0]!;
  const labels = orderedUnion(points.map((p) => p.merges.map((m) => m.label)));
  return {
    values: cellValues(first.values),
    seeds: points.map((p) => p.seed),
    points: points.map((p) => p.id),
    dataset: first.dataset,
    ...(first.split ? { split: first.split } : {}),
    models: overSeeds(points.map((p) => p.models)),
    ensemble: overSeeds(points.map((p) => p.ensemble)),
    merges: labels.map((label) => {
      const values = points.map((p) => p.merges.find((m) => m.label === label)?.testAccuracy);
      // A cell's points share their recipe but for the seed, so they make the same merges.
      if (values.some((v) => v === undefined)) throw new Error(`the points ${points.map((p) => p.id).join(', ')} of one grid cell do not all make ${label}`);
      return { label, ...overSeeds(values as number[]) };
    }),
  };
}

/**
 * The cells of `results`, in the order of their first points: the points of equal values but for
 * the seed, in seed order. Two points of one cell with the same seed are one experiment (an explicit
 * point that repeats a grid point): the first is kept.
 */
export function sweepCells(results: readonly PointResult[]): SweepCell[] {
  const groups = new Map<string, Map<number, PointResult>>();
  for (const result of results) {
    const key = JSON.stringify(canonical(cellValues(result.values)));
    const bySeed = groups.get(key) ?? new Map<number, PointResult>();
    if (!bySeed.has(result.seed)) bySeed.set(result.seed, result);
    groups.set(key, bySeed);
  }
  return [...groups.values()].map((bySeed) => cellOf([...bySeed.values()].sort((a, b) => a.seed - b.seed)));
}

/** What every cell shares, or undefined where they differ (then it is an axis). */
function shared<T>(cells: readonly SweepCell[], of: (cell: SweepCell) => T | undefined): T | undefined {
  const first = cells[0] ? of(cells[0]) : undefined;
  return cells.every((cell) => JSON.stringify(of(cell)) === JSON.stringify(first)) ? first : undefined;
}

/** A sweep's metrics: its name, its axes without the seed, and its cells (see {@link sweepCells}). */
export function sweepMetrics(name: string, axes: readonly string[], results: readonly PointResult[]): SweepMetrics {
  const cells = sweepCells(results);
  const dataset = shared(cells, (cell) => cell.dataset);
  const split = shared(cells, (cell) => cell.split);
  return { name, ...(dataset ? { dataset } : {}), ...(split ? { split } : {}), axes: axes.filter((axis) => axis !== SEED_AXIS), cells };
}
