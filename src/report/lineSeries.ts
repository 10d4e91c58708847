/**
 * The series of the line charts of accuracy over categories (N models, a sweep axis): merge variants
 * with markers, reference lines (ensemble, mean base model) dashed, and a legend that shows the dashes.
 */

import { Chart, type ChartDataset, type LegendItem, type PointStyle } from 'chart.js';

import { FIGURE, variantColour, variantMarkerFilled } from './theme.js';

/** A line of accuracies in %, null where not measured. */
export type Line = ChartDataset<'line', (number | null)[]>;

/** Marker radius in px of merges; references get smaller ones so that merges stay in front. */
export const MARKER_RADIUS = 5;
const REFERENCE_MARKER_RADIUS = 3;

/**
 * Variant `variant`'s line (its colour and marker fill fixed by that index in every figure) with
 * markers of `pointStyle`. A variant missing at some value is still one line: markers show where it
 * was measured.
 */
export function variantLine(label: string, data: readonly (number | null)[], variant: number, pointStyle: PointStyle): Line {
  const colour = variantColour(variant);
  return {
    label,
    data: [...data],
    borderColor: colour,
    backgroundColor: colour,
    pointBackgroundColor: variantMarkerFilled(variant) ? colour : FIGURE.background,
    pointBorderColor: colour,
    pointBorderWidth: 1.5,
    pointStyle,
    pointRadius: MARKER_RADIUS,
    borderWidth: 2,
    spanGaps: true,
    fill: false,
  };
}

/** A reference line (ensemble, mean base model): dashed, in its colour, with small markers. */
export function referenceLine(label: string, data: readonly (number | null)[], colour: string, dash: readonly number[]): Line {
  return {
    label,
    data: [...data],
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
  };
}

/**
 * A line chart's legend above the plot (so that it never covers data) with markers for variants and,
 * for the reference lines (by dataset index), their dash pattern: a point style's legend item has no
 * dash of its own. Markers a little larger than in the plot; a reference's line as long as its box.
 */
export function referenceLegend(referenceDashes: ReadonlyMap<number, readonly number[]>) {
  return {
    position: 'top' as const,
    labels: {
      usePointStyle: true,
      boxWidth: 16,
      boxHeight: 10,
      generateLabels: (chart: Chart) =>
        Chart.defaults.plugins.legend.labels.generateLabels(chart).map((item: LegendItem) => {
          const dash = item.datasetIndex === undefined ? undefined : referenceDashes.get(item.datasetIndex);
          return dash ? { ...item, pointStyle: 'line' as const, lineDash: [...dash], lineWidth: 2 } : item;
        }),
    },
  };
}
