/**
 * A sweep's summary.md: what was swept, a table with a row per grid cell (a column per axis, then the
 * ensemble, the mean base model and each merge, mean ± std over seeds), every figure, and links to
 * the LaTeX and CSV tables.
 */

import { markdownTable } from '../report/markdownTable.js';
import type { PaperTable, TableCell } from '../report/tables.js';
import { valueText } from './axisValues.js';
import type { SweepFigure } from './sweepFigures.js';
import type { SweepMetrics } from './sweepMetrics.js';

/** Where the report keeps its figures, relative to the sweep directory. */
export const FIGURES_DIR = 'figures';
/** Where the report keeps its tables, relative to the sweep directory. */
export const TABLES_DIR = 'tables';

/** A table cell as markdown shows it: mean ± std in %, bold where best, a dash where there is none. */
function percentText(cell: TableCell | undefined): string {
  if (cell === undefined) return '—';
  const number = (value: number) => (Number.isFinite(value) ? value.toFixed(2) : 'not finite');
  const text = cell.std === undefined ? number(cell.mean) : `${number(cell.mean)} ± ${number(cell.std)}`;
  return cell.best ? `**${text}**` : text;
}

/** "seeds 0, 1" where every cell has the same seeds, else each cell's count. */
function seedsText(metrics: SweepMetrics): string {
  const counts = [...new Set(metrics.cells.map((cell) => cell.seeds.length))];
  const first = metrics.cells[0]?.seeds ?? [];
  if (metrics.cells.every((cell) => cell.seeds.join() === first.join())) return `${first.length === 1 ? 'seed' : 'seeds'} ${first.join(', ')}`;
  return `${counts.join(' to ')} seeds per cell`;
}

/**
 * summary.md of a sweep from its metrics, its table (see sweepTable: a row per cell, in cell order)
 * and its figures.
 */
export function sweepMarkdown(metrics: SweepMetrics, table: PaperTable, figures: readonly SweepFigure[]): string {
  const cells = metrics.cells.length;
  const points = metrics.cells.reduce((sum, cell) => sum + cell.points.length, 0);
  const axes = metrics.axes.length ? metrics.axes.map((axis) => `\`${axis}\``).join(', ') : 'none (the base recipe alone)';
  const header = [...(metrics.axes.length ? metrics.axes : [table.labelHeader]), ...table.columns.map((c) => c.header)];
  const rows = table.rows.map((row, r) => {
    const cell = metrics.cells[r]!;
    const axisCells = metrics.axes.length ? metrics.axes.map((axis) => valueText(cell.values[axis])) : [row.label];
    return [...axisCells, ...row.cells.map(percentText)];
  });
  const aligned = [...(metrics.axes.length ? metrics.axes : [table.labelHeader]).map(() => false), ...table.columns.map(() => true)];
  const split = metrics.split ? `, test split of ${metrics.split.test} examples` : '';
  const lines = [
    `## Sweep: ${metrics.name}${metrics.dataset ? ` (${metrics.dataset})` : ''}`,
    '',
    `${points} points in ${cells} grid ${cells === 1 ? 'cell' : 'cells'} over ${seedsText(metrics)}${split}. Axes: ${axes}.`,
    '',
    `${table.title} ${table.notes.join(' ')}`,
    '',
    ...markdownTable(header, rows, aligned),
    '',
  ];
  if (figures.length) {
    const bars = metrics.cells.some((cell) => cell.seeds.length > 1) ? ' Error bars: ± one sample standard deviation over seeds.' : '';
    lines.push('### Figures', '', `Test accuracy against each axis whose values can be ordered, one figure for each combination of the other axes' values.${bars}`, '');
    for (const figure of figures) {
      const caption = `Test accuracy against ${figure.axis}${figure.data.fixed ? ` (${figure.data.fixed})` : ''}`;
      lines.push(`![${caption}](${FIGURES_DIR}/${figure.name}.png)`, '');
    }
  }
  lines.push(`For papers: [${TABLES_DIR}/${table.name}.tex](${TABLES_DIR}/${table.name}.tex) (booktabs, to \\input{}) and [${TABLES_DIR}/${table.name}.csv](${TABLES_DIR}/${table.name}.csv).`, '');
  return lines.join('\n');
}
