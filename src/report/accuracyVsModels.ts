/**
 * Figure: test accuracy of merges of many models against the number of models merged, one line per
 * variant, beside the logit ensemble of the same models and the mean base model (± std).
 */

import type { ChartConfiguration, Plugin } from 'chart.js';

import { categoryAccuracyScales, percentRange } from './axisRange.js';
import { errorBars, type DatasetErrors } from './errorBars.js';
import { MARKER_RADIUS, referenceLegend, referenceLine, variantLine, type Line } from './lineSeries.js';

import type { ManyReference, RunMetrics } from '../artifacts/metrics.js';
import { renderChart, type Figure, type FigureSize } from './render.js';
import { compareStrategies, ENSEMBLE_LABEL, manyMergeVariants, modelCounts, toPercent } from './rows.js';
import {
  BASE_MEAN_DASH,
  BASE_MODEL_COLOUR,
  cssFont,
  ENSEMBLE_COLOUR,
  ENSEMBLE_DASH,
  FONT_SIZES,
  markerStyle,
  TEXT_COLOUR,
  variantColour,
} from './theme.js';

/** The `many` field of metrics.json: merges of N models and their references per N. */
export type ManyModels = NonNullable<RunMetrics['many']>;

/** Options of {@link renderAccuracyVsModels}. */
export interface AccuracyVsModelsOptions extends FigureSize {
  /** Chart title (default "Merging many models"). */
  title?: string;
}

/** Legend name of the mean base model's line. */
export const MEAN_BASE_LABEL = 'mean base model (± std)';

/**
 * A merge this many points or more below the lowest reference (mean base model less its std, or the
 * ensemble) has collapsed: it is pinned to the bottom of the axis with its value written beside it, so
 * that it does not flatten the differences between the merges that work.
 */
const OFF_SCALE_MARGIN = 15;

/** A merge's value below the axis, at point `index` of dataset `datasetIndex`. */
interface OffScale {
  datasetIndex: number;
  index: number;
  value: number;
}

/** Writes each off-scale merge's value, with a down arrow, beside its pinned marker in the merge's colour. */
function offScaleValues(points: readonly OffScale[]): Plugin<'line'> {
  return {
    id: 'manyModelsOffScale',
    afterDatasetsDraw(chart) {
      const { ctx } = chart;
      ctx.save();
      ctx.font = cssFont(FONT_SIZES.tick);
      ctx.textBaseline = 'bottom';
      for (const { datasetIndex, index, value } of points) {
        const point = chart.getDatasetMeta(datasetIndex).data[index];
        if (!point) continue;
        ctx.fillStyle = String(chart.data.datasets[datasetIndex]?.borderColor ?? TEXT_COLOUR);
        ctx.fillText(`${value.toFixed(1)} \u2193`, point.x + MARKER_RADIUS + 3, point.y - 2);
      }
      ctx.restore();
    },
  };
}

/**
 * The Chart.js configuration behind {@link renderAccuracyVsModels}; exposed for tests and custom rendering.
 * The x axis is categorical with exactly the N values present (2, 4, 8 are evenly spaced, as on a log2 axis).
 */
export function accuracyVsModelsConfig(many: ManyModels, options: AccuracyVsModelsOptions = {}): ChartConfiguration<'line', (number | null)[]> {
  const counts = modelCounts(many);
  const column = (n: number): number => counts.indexOf(n);
  const strategies = [...new Set(many.merges.map((m) => m.strategy))].sort(compareStrategies);

  // With repeats, each merge's spread over them.
  const mergeErrors: DatasetErrors[] = [];
  const variants: Line[] = manyMergeVariants(many.merges).map(({ label, strategy }, i) => {
    const data = counts.map<number | null>(() => null);
    const errors = counts.map<number | null>(() => null);
    for (const m of many.merges) {
      if (m.label !== label) continue;
      data[column(m.models)] = toPercent(m.testAccuracy);
      if (m.acrossRepeats) errors[column(m.models)] = toPercent(m.acrossRepeats.testAccuracyStd);
    }
    if (errors.some((e) => e !== null)) mergeErrors.push({ datasetIndex: i, errors, colour: variantColour(i) });
    // A marker pinned to the bottom of the axis is drawn whole.
    return { ...variantLine(label, data, i, markerStyle(strategies.indexOf(strategy))), clip: MARKER_RADIUS + 2 };
  });

  const reference = (label: string, colour: string, dash: readonly number[], values: (r: ManyReference) => number): Line => {
    const data = counts.map<number | null>(() => null);
    for (const r of many.references) data[column(r.models)] = toPercent(values(r));
    return referenceLine(label, data, colour, dash);
  };
  const ensemble = reference(ENSEMBLE_LABEL, ENSEMBLE_COLOUR, ENSEMBLE_DASH, (r) => r.ensemble.testAccuracy);
  const meanBase = reference(MEAN_BASE_LABEL, BASE_MODEL_COLOUR, BASE_MEAN_DASH, (r) => r.meanBase.testAccuracy);
  const stds = counts.map<number | null>(() => null);
  for (const r of many.references) stds[column(r.models)] = toPercent(r.meanBase.testAccuracyStd);

  const datasets = [...variants, ensemble, meanBase];
  const referenceDashes = new Map<number, readonly number[]>([
    [variants.length, ENSEMBLE_DASH],
    [variants.length + 1, BASE_MEAN_DASH],
  ]);
  const references = many.references.flatMap((r) => [toPercent(r.meanBase.testAccuracy - r.meanBase.testAccuracyStd), toPercent(r.meanBase.testAccuracy + r.meanBase.testAccuracyStd)]);
  const referenceValues = [...[ensemble, meanBase].flatMap((d) => d.data.filter((v): v is number => v !== null)), ...references];
  const floor = referenceValues.length ? Math.min(...referenceValues) - OFF_SCALE_MARGIN : -Infinity;
  const onScale = datasets.flatMap((d) => d.data.filter((v): v is number => v !== null && v >= floor));
  const { min, max, step } = percentRange([...onScale, ...references], 8);
  const offScale: OffScale[] = [];
  variants.forEach((variant, datasetIndex) =>
    variant.data.forEach((value, index) => {
      if (value === null || value >= floor) return;
      offScale.push({ datasetIndex, index, value });
      variant.data[index] = min;
    }),
  );
  return {
    type: 'line',
    data: { labels: counts.map(String), datasets },
    options: {
      layout: { padding: { top: 4, right: 16, left: 4, bottom: 4 } },
      scales: categoryAccuracyScales('models merged (N)', { min, max, step }),
      plugins: {
        title: { display: true, text: options.title ?? 'Merging many models', padding: { top: 4, bottom: 8 } },
        legend: referenceLegend(referenceDashes),
      },
    },
    plugins: [errorBars<'line'>([...mergeErrors, { datasetIndex: datasets.length - 1, errors: stds, colour: BASE_MODEL_COLOUR }], 'before'), offScaleValues(offScale)],
  };
}

/**
 * Line chart of test accuracy (%) against the number of models merged N: one line with markers per
 * merge variant (colour per variant, marker shape per strategy), the logit ensemble of the same N models
 * (long dashes) and the mean accuracy of those base models (short dashes, with ± one standard deviation).
 * A merge that collapsed far below the references is pinned to the bottom of the axis, its value beside it.
 */
export function renderAccuracyVsModels(many: ManyModels, options: AccuracyVsModelsOptions = {}): Figure {
  // The cast widens the chart type to what the renderer accepts; the line configuration is a valid member.
  return renderChart(accuracyVsModelsConfig(many, options) as unknown as ChartConfiguration, options);
}
