/**
 * Which figures a sweep's report draws: for each axis whose values can be ordered, test accuracy
 * against it with the other axes fixed, one figure per combination of their values (a grid of 2 × 2
 * cells has two figures per axis). Merge variants keep one colour across all the figures.
 */

import { orderedUnion } from '../report/orderedUnion.js';
import { toPercent } from '../report/rows.js';
import type { SweepChartData, SweepLine } from '../report/sweepChart.js';
import { fileSlug } from '../report/writeReport.js';
import { canonical } from '../util/hash.js';
import { orderedValues, valueText } from './axisValues.js';
import type { OverSeeds, SweepCell, SweepMetrics } from './sweepMetrics.js';

/** One figure: its file name (without extension), the axis on x, and what it shows. */
export interface SweepFigure {
  name: string;
  axis: string;
  /** The values of the other axes that the figure's cells share (an axis they do not set is absent). */
  fixed: Record<string, unknown>;
  data: SweepChartData;
}

/** Longest figure name; a longer one (many axes, long values) is named by its axis and a number. */
const MAX_NAME = 100;

/** Prefix of every figure of a sweep's report, so that a new report can remove the figures the old one drew. */
export const SWEEP_FIGURE_PREFIX = 'sweep-';

/** The merge labels of a sweep, in the cells' order: their index fixes each variant's colour. */
export function sweepMergeLabels(metrics: SweepMetrics): string[] {
  return orderedUnion(metrics.cells.map((cell) => cell.merges.map((m) => m.label)));
}

/** "a = 1, b = [16]": what a figure's other axes are fixed at. */
export function fixedText(fixed: Record<string, unknown>, axes: readonly string[]): string {
  return axes.map((axis) => `${axis} = ${valueText(fixed[axis])}`).join(', ');
}

/** A line in % through `cells` (one per tick, undefined where none), from what each has. */
function line(cells: readonly (SweepCell | undefined)[], of: (cell: SweepCell) => OverSeeds | undefined): SweepLine {
  const found = cells.map((cell) => (cell ? of(cell) : undefined));
  return { means: found.map((f) => (f ? toPercent(f.testAccuracy) : null)), stds: found.map((f) => (f ? toPercent(f.std) : null)) };
}

/** The cells of `cells` grouped by their values of `axes`, each group in cell order, the groups in the order of their first cells. */
function groupBy(cells: readonly SweepCell[], axes: readonly string[]): SweepCell[][] {
  const groups = new Map<string, SweepCell[]>();
  for (const cell of cells) {
    // An axis a cell does not set is [], a value [value]: null stays a value of its own.
    const key = JSON.stringify(canonical(axes.map((axis) => (Object.hasOwn(cell.values, axis) ? [cell.values[axis]] : []))));
    groups.set(key, [...(groups.get(key) ?? []), cell]);
  }
  return [...groups.values()];
}

/**
 * The figures of a sweep (see the file's comment), each axis in turn, its slices in the order of
 * their first cells. An axis with fewer than two values in a slice has no figure there.
 */
export function sweepFigures(metrics: SweepMetrics): SweepFigure[] {
  const labels = sweepMergeLabels(metrics);
  const figures: SweepFigure[] = [];
  const names = new Set<string>();
  for (const axis of metrics.axes) {
    const has = (cell: SweepCell) => Object.hasOwn(cell.values, axis);
    const order = orderedValues(metrics.cells.filter(has).map((cell) => cell.values[axis]));
    if (!order) continue;
    const others = metrics.axes.filter((other) => other !== axis);
    for (const slice of groupBy(metrics.cells.filter(has), others)) {
      const at = (value: unknown) => slice.find((cell) => JSON.stringify(cell.values[axis]) === JSON.stringify(value));
      const ticks = order.filter((value) => at(value) !== undefined);
      if (ticks.length < 2) continue;
      const cells = ticks.map(at);
      const fixed = Object.fromEntries(others.flatMap((other) => (Object.hasOwn(slice[0]!.values, other) ? [[other, slice[0]!.values[other]]] : [])));
      const text = fixedText(fixed, others);
      const merges = labels
        .map((label, variant) => ({ label, variant, ...line(cells, (cell) => cell.merges.find((m) => m.label === label)) }))
        .filter((l) => l.means.some((mean) => mean !== null));
      const described = `${SWEEP_FIGURE_PREFIX}${fileSlug(others.length ? `${axis} ${text}` : axis)}`;
      const name = described.length <= MAX_NAME && !names.has(described) ? described : `${SWEEP_FIGURE_PREFIX}${fileSlug(axis).slice(0, MAX_NAME - 20)}-${figures.length + 1}`;
      names.add(name);
      figures.push({
        name,
        axis,
        fixed,
        data: {
          axis,
          ticks: ticks.map(valueText),
          fixed: text,
          merges,
          ensemble: line(cells, (cell) => cell.ensemble),
          meanBase: line(cells, (cell) => cell.models),
        },
      });
    }
  }
  return figures;
}
