/**
 * Figure: test accuracy against one axis of a sweep, the other axes fixed: one line per merge
 * variant, beside the logit ensemble and the mean base model, each point the mean over seeds with ±
 * one sample standard deviation.
 */

import type { ChartConfiguration } from 'chart.js';

import { categoryAccuracyScales, percentRange } from './axisRange.js';
import { errorBars, type DatasetErrors } from './errorBars.js';
import { referenceLegend, referenceLine, variantLine } from './lineSeries.js';
import { renderChart, type Figure, type FigureSize } from './render.js';
import { ENSEMBLE_LABEL } from './rows.js';
import {
  BASE_MEAN_DASH,
  BASE_MODEL_COLOUR,
  ENSEMBLE_COLOUR,
  ENSEMBLE_DASH,
  FONT_SIZES,
  TEXT_COLOUR,
  variantColour,
} from './theme.js';

/** One line of the figure: means and standard deviations in %, one per tick (null where not measured). */
export interface SweepLine {
  means: readonly (number | null)[];
  stds: readonly (number | null)[];
}

/** A merge variant's line; `variant` is its index among all of the sweep's variants, which fixes its colour in every figure. */
export interface SweepMergeLine extends SweepLine {
  label: string;
  variant: number;
}

/** What {@link renderSweepChart} draws: the axis, its values in order, and the lines. */
export interface SweepChartData {
  /** The axis's dot path, the x axis's title. */
  axis: string;
  /** The axis's values as ticks, in order. */
  ticks: readonly string[];
  /** What the other axes are fixed at ("align.gamma = 0.1"), or empty. */
  fixed: string;
  merges: readonly SweepMergeLine[];
  ensemble: SweepLine;
  meanBase: SweepLine;
}

/** Options of {@link renderSweepChart}. */
export interface SweepChartOptions extends FigureSize {
  /** Chart title (default "Test accuracy against <axis>"). */
  title?: string;
}

/** Legend name of the mean base model's line. */
export const SWEEP_MEAN_BASE_LABEL = 'mean base model';

/** A line's values within ± its spread, for the y axis's range. */
function extent({ means, stds }: SweepLine): number[] {
  return means.flatMap((mean, i) => (mean === null ? [] : [mean - (stds[i] ?? 0), mean + (stds[i] ?? 0)]));
}

/**
 * The Chart.js configuration behind {@link renderSweepChart}; exposed for tests. The x axis is
 * categorical: the axis's values evenly spaced in order (0.01, 0.1, 1 as on a log axis).
 */
export function sweepChartConfig(data: SweepChartData, options: SweepChartOptions = {}): ChartConfiguration<'line', (number | null)[]> {
  const merges = data.merges.map(({ label, variant, means }) => variantLine(label, means, variant, 'circle'));
  const datasets = [
    ...merges,
    referenceLine(ENSEMBLE_LABEL, data.ensemble.means, ENSEMBLE_COLOUR, ENSEMBLE_DASH),
    referenceLine(SWEEP_MEAN_BASE_LABEL, data.meanBase.means, BASE_MODEL_COLOUR, BASE_MEAN_DASH),
  ];
  const referenceDashes = new Map<number, readonly number[]>([
    [merges.length, ENSEMBLE_DASH],
    [merges.length + 1, BASE_MEAN_DASH],
  ]);
  const bars: DatasetErrors[] = [
    ...data.merges.map(({ stds, variant }, datasetIndex) => ({ datasetIndex, errors: stds, colour: variantColour(variant) })),
    { datasetIndex: merges.length, errors: data.ensemble.stds, colour: ENSEMBLE_COLOUR },
    { datasetIndex: merges.length + 1, errors: data.meanBase.stds, colour: BASE_MODEL_COLOUR },
  ];
  const { min, max, step } = percentRange([...data.merges, data.ensemble, data.meanBase].flatMap(extent), 8);
  return {
    type: 'line',
    data: { labels: [...data.ticks], datasets },
    options: {
      layout: { padding: { top: 4, right: 16, left: 4, bottom: 4 } },
      scales: categoryAccuracyScales(data.axis, { min, max, step }),
      plugins: {
        title: { display: true, text: options.title ?? `Test accuracy against ${data.axis}`, padding: { top: 4, bottom: data.fixed ? 2 : 8 } },
        subtitle: { display: data.fixed.length > 0, text: data.fixed, font: { size: FONT_SIZES.legend }, color: TEXT_COLOUR, padding: { bottom: 8 } },
        legend: referenceLegend(referenceDashes),
      },
    },
    plugins: [errorBars<'line'>(bars, 'before')],
  };
}

/**
 * Line chart of test accuracy (%) against one axis of a sweep: a line with markers per merge variant
 * (its colour the same in every figure of the sweep), the logit ensemble (long dashes) and the mean
 * base model (short dashes), each with error bars of ± one sample standard deviation over seeds.
 */
export function renderSweepChart(data: SweepChartData, options: SweepChartOptions = {}): Figure {
  // The cast widens the chart type to what the renderer accepts; the line configuration is a valid member.
  return renderChart(sweepChartConfig(data, options) as unknown as ChartConfiguration, options);
}
