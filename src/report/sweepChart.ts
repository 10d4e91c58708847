/**
 * Figure: test accuracy against one axis of a sweep, the other axes fixed: one line per merge
 * variant, beside the logit ensemble and the mean base model, each point the mean over seeds with ±
 * one sample standard deviation.
 */

import type { ChartConfiguration, ChartDataset } from 'chart.js';

import { categoryAccuracyScales, percentRange } from './axisRange.js';
import { referenceLegend } from './referenceLegend.js';
import { errorBars, type DatasetErrors } from './errorBars.js';
import { renderChart, type Figure, type FigureSize } from './render.js';
import { ENSEMBLE_LABEL } from './rows.js';
import {
  BASE_MEAN_DASH,
  BASE_MODEL_COLOUR,
  ENSEMBLE_COLOUR,
  ENSEMBLE_DASH,
  FIGURE,
  FONT_SIZES,
  TEXT_COLOUR,
  variantColour,
  variantMarkerFilled,
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

/** Marker radius in px of merges; references get smaller ones so that merges stay in front. */
const MARKER_RADIUS = 5;
const REFERENCE_MARKER_RADIUS = 3;

type Line = ChartDataset<'line', (number | null)[]>;

/** A line's values within ± its spread, for the y axis's range. */
function extent({ means, stds }: SweepLine): number[] {
  return means.flatMap((mean, i) => (mean === null ? [] : [mean - (stds[i] ?? 0), mean + (stds[i] ?? 0)]));
}

/**
 * The Chart.js configuration behind {@link renderSweepChart}; exposed for tests. The x axis is
 * categorical: the axis's values evenly spaced in order (0.01, 0.1, 1 as on a log axis).
 */
export function sweepChartConfig(data: SweepChartData, options: SweepChartOptions = {}): ChartConfiguration<'line', (number | null)[]> {
  const merges: Line[] = data.merges.map(({ label, variant, means }) => {
    const colour = variantColour(variant);
    return {
      label,
      data: [...means],
      borderColor: colour,
      backgroundColor: colour,
      pointBackgroundColor: variantMarkerFilled(variant) ? colour : FIGURE.background,
      pointBorderColor: colour,
      pointBorderWidth: 1.5,
      pointStyle: 'circle',
      pointRadius: MARKER_RADIUS,
      borderWidth: 2,
      // A variant missing at some value is still one line: markers show where it was measured.
      spanGaps: true,
      fill: false,
    };
  });
  const reference = (label: string, colour: string, dash: readonly number[], line: SweepLine): Line => ({
    label,
    data: [...line.means],
    borderColor: colour,
    backgroundColor: colour,
    pointBackgroundColor: colour,
    pointBorderColor: colour,
    pointStyle: 'circle',
    pointRadius: REFERENCE_MARKER_RADIUS,
    borderWidth: 2,
    borderDash: [...dash],
    spanGaps: true,
    fill: false,
  });
  const datasets = [
    ...merges,
    reference(ENSEMBLE_LABEL, ENSEMBLE_COLOUR, ENSEMBLE_DASH, data.ensemble),
    reference(SWEEP_MEAN_BASE_LABEL, BASE_MODEL_COLOUR, BASE_MEAN_DASH, data.meanBase),
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
