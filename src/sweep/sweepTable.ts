/**
 * A sweep's paper table: a row per grid cell (its axes' values), a column for the logit ensemble,
 * the mean base model and each merge, test accuracy in % as mean ± sample std over the cell's seeds.
 */

import { ENSEMBLE_LABEL, toPercent } from '../report/rows.js';
import { markBestInColumns, type PaperTable, type TableCell } from '../report/tables.js';
import { valueText } from './axisValues.js';
import { sweepMergeLabels } from './sweepFigures.js';
import type { OverSeeds, SweepCell, SweepMetrics } from './sweepMetrics.js';

/** File name of the table: tables/sweep.tex and .csv. */
export const SWEEP_TABLE_NAME = 'sweep';

/** Header of the mean base model's column. */
export const MEAN_BASE_HEADER = 'mean base model';

/** Joins the axes' values of a cell into the table's one label column, and the axes into its header. */
const AXIS_SEPARATOR = ' / ';

/** What a table names a sweep without axes (a single recipe, perhaps repeated). */
const NO_AXES = 'base recipe';

/** A column of the table: its header, and what it reads from a cell. */
export interface SweepColumn {
  header: string;
  of: (cell: SweepCell) => OverSeeds | undefined;
}

/** The table's columns: the ensemble, the mean base model, then every merge label in the cells' order. */
export function sweepColumns(metrics: SweepMetrics): SweepColumn[] {
  return [
    { header: ENSEMBLE_LABEL, of: (cell) => cell.ensemble },
    { header: MEAN_BASE_HEADER, of: (cell) => cell.models },
    ...sweepMergeLabels(metrics).map((label) => ({ header: label, of: (cell: SweepCell) => cell.merges.find((m) => m.label === label) })),
  ];
}

/** Whether any cell has several seeds: only then has a value a spread to show. */
export function hasSpread(metrics: SweepMetrics): boolean {
  return metrics.cells.some((cell) => cell.seeds.length > 1);
}

/** The seeds every cell has, or undefined where cells differ in them. */
function sharedSeeds(metrics: SweepMetrics): number[] | undefined {
  const first = metrics.cells[0]?.seeds;
  return first && metrics.cells.every((cell) => cell.seeds.join() === first.join()) ? first : undefined;
}

/** A value of a cell in %, with its std and each seed's value when the sweep has spreads. */
function tableCell(value: OverSeeds | undefined, spread: boolean): TableCell | undefined {
  if (value === undefined) return undefined;
  const mean = toPercent(value.testAccuracy);
  return spread ? { mean, std: toPercent(value.std), repeats: value.values.map(toPercent) } : { mean };
}

/** The sentence on what ± means, or none when no cell has two seeds. */
export function spreadNote(metrics: SweepMetrics): string[] {
  if (!hasSpread(metrics)) return [];
  const seeds = sharedSeeds(metrics);
  return [`Mean ± sample standard deviation over ${seeds ? `seeds ${seeds.join(', ')}` : "each cell's seeds"}.`];
}

/** A cell's label: its axes' values in axis order. */
export function cellLabel(metrics: SweepMetrics, cell: SweepCell): string {
  return metrics.axes.length ? metrics.axes.map((axis) => valueText(cell.values[axis])).join(AXIS_SEPARATOR) : NO_AXES;
}

/**
 * The sweep's table: a row per cell (grouped by the first axis's value when there are several axes),
 * the best cell of each column marked.
 */
export function sweepTable(metrics: SweepMetrics): PaperTable {
  const spread = hasSpread(metrics);
  const seeds = sharedSeeds(metrics);
  const columns = sweepColumns(metrics);
  const first = metrics.axes[0];
  const table: PaperTable = {
    name: SWEEP_TABLE_NAME,
    title: `Test accuracy (%) on ${metrics.dataset ?? "each cell's dataset"} of sweep ${metrics.name}: each grid cell (rows), the logit ensemble, the mean base model and each merge (columns).`,
    labelHeader: metrics.axes.length ? metrics.axes.join(AXIS_SEPARATOR) : 'grid cell',
    columnGroup: 'test accuracy (%)',
    columns: columns.map(({ header }) => ({
      header,
      digits: 2,
      better: 'higher' as const,
      ...(spread && seeds ? { repeatLabels: seeds.map((seed) => `seed ${seed}`) } : {}),
    })),
    rows: metrics.cells.map((cell) => ({
      label: cellLabel(metrics, cell),
      group: metrics.axes.length > 1 && first !== undefined ? valueText(cell.values[first]) : 'cells',
      cells: columns.map(({ of }) => tableCell(of(cell), spread)),
    })),
    notes: ['Bold: the best grid cell of each column.', ...spreadNote(metrics)],
  };
  markBestInColumns(table, () => true);
  return table;
}
