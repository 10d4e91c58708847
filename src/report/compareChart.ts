/**
 * Figure: several runs side by side, as grouped bars: a group per row of a comparison table (a model
 * or merge), a bar per run in the run's colour, with ± one standard deviation over repeats where a
 * run has several.
 */

import type { ChartConfiguration, ChartDataset } from 'chart.js';

import { errorBars } from './errorBars.js';

import { renderChart, type Figure, type FigureSize } from './render.js';
import type { PaperTable, TableCell } from './tables.js';
import { axisTitle, categoricalColour, GRID_COLOUR, TEXT_COLOUR } from './theme.js';

/** Options of {@link renderCompareChart}. */
export interface CompareChartOptions extends FigureSize {
  /** Chart title (default "Test accuracy by run"). */
  title?: string;
}

/** Colour of the error bars: dark, so that they read on every bar colour. */
export const ERROR_BAR_COLOUR = TEXT_COLOUR;

/** The colour of the `i`-th run: the colour-blind-safe categorical palette, in run order. */
export function runColour(i: number): string {
  return categoricalColour(i);
}

/**
 * Lower end of the y axis: 5 points below the lowest bar or error bar, rounded down to a multiple of
 * the tick step Chart.js will take (10 over a wide range, else 5) so that no tick crowds the bottom; never below 0.
 */
function yMinimum(values: number[]): number {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return 0;
  const low = Math.min(...finite) - 5;
  const step = 100 - low > 40 ? 10 : 5;
  return Math.max(0, Math.floor(low / step) * step);
}

const valueOf = (cell: TableCell | undefined): number | null => (cell !== undefined && Number.isFinite(cell.mean) ? cell.mean : null);

/**
 * The Chart.js configuration behind {@link renderCompareChart}: the table's rows are the groups, its
 * columns (the runs) the bars of each group, its values accuracies in %. Exposed for tests.
 */
export function compareChartConfig(table: PaperTable, options: CompareChartOptions = {}): ChartConfiguration<'bar', (number | null)[]> {
  const datasets: ChartDataset<'bar', (number | null)[]>[] = table.columns.map((column, c) => ({
    label: column.header,
    data: table.rows.map((row) => valueOf(row.cells[c])),
    backgroundColor: runColour(c),
    borderColor: runColour(c),
    borderWidth: 0,
    barPercentage: 0.9,
    categoryPercentage: 0.8,
  }));
  const stds = table.columns.map((_, c) => table.rows.map((row) => row.cells[c]?.std));
  const lows = table.rows.flatMap((row) => row.cells.map((cell) => (cell ? cell.mean - (cell.std ?? 0) : Number.NaN)));
  return {
    type: 'bar',
    data: { labels: table.rows.map((row) => row.label), datasets },
    options: {
      layout: { padding: { top: 4, right: 12, left: 4, bottom: 4 } },
      scales: {
        x: {
          title: axisTitle('model or merge'),
          grid: { display: false },
          ticks: { autoSkip: false, maxRotation: 45, minRotation: 0, color: TEXT_COLOUR },
        },
        y: {
          min: yMinimum(lows),
          max: 100,
          title: axisTitle('test accuracy (%)'),
          grid: { color: GRID_COLOUR },
          ticks: { color: TEXT_COLOUR },
        },
      },
      plugins: {
        title: { display: true, text: options.title ?? 'Test accuracy by run', padding: { top: 4, bottom: 8 } },
        // Above the plot, so that it never covers a bar.
        legend: { position: 'top', labels: { boxWidth: 14, boxHeight: 14 } },
      },
    },
    plugins: [errorBars<'bar'>(stds.map((errors, datasetIndex) => ({ datasetIndex, errors, colour: ERROR_BAR_COLOUR })), 'after')],
  };
}

/**
 * Grouped bar chart of a comparison table: test accuracy (%) of each model and merge (a group) in each
 * run (a bar, one colour per run), with error bars of ± one sample standard deviation over repeats.
 */
export function renderCompareChart(table: PaperTable, options: CompareChartOptions = {}): Figure {
  // The cast widens the chart type to what the renderer accepts; the bar configuration is a valid member.
  return renderChart(compareChartConfig(table, options) as unknown as ChartConfiguration, options);
}
