/**
 * Figure: distribution of the merge coefficients alpha, one histogram line per parameter tensor.
 */

import type { ChartConfiguration, ChartDataset } from 'chart.js';

import { renderChart, type Figure, type FigureSize } from './render.js';
import { axisTitle, categoricalColour, categoricalDash, GRID_COLOUR, unitAxis } from './theme.js';
import type { AlphaMaskSet } from './types.js';

/** Options of {@link renderAlphaHistograms}. */
export interface AlphaHistogramOptions extends FigureSize {
  /** Number of equal-width bins over [0, 1] (default 40). */
  bins?: number;
}

/** A histogram over [0, 1]: the fraction of finite entries in each bin, and how many entries were counted. */
export interface Histogram {
  fractions: number[];
  count: number;
}

/**
 * Histogram of `values` over [0, 1] with `bins` equal bins. Values outside [0, 1] are counted in the end bins
 * (alpha is a convex weight, so those can only be rounding); NaN is not counted.
 */
export function histogram01(values: Float32Array, bins: number): Histogram {
  const counts = new Array<number>(bins).fill(0);
  let count = 0;
  for (const v of values) {
    if (Number.isNaN(v)) continue;
    // v = 1 falls into the last bin rather than a bin of its own.
    const bin = Math.min(bins - 1, Math.max(0, Math.floor(v * bins)));
    counts[bin] = (counts[bin] ?? 0) + 1;
    count++;
  }
  return { fractions: counts.map((c) => (count === 0 ? 0 : c / count)), count };
}

/** The Chart.js configuration behind {@link renderAlphaHistograms}; exposed for tests and custom rendering. */
export function alphaHistogramConfig(
  masks: AlphaMaskSet,
  title: string,
  options: AlphaHistogramOptions = {},
): ChartConfiguration<'line', { x: number; y: number }[]> {
  const bins = options.bins ?? 40;
  if (!Number.isInteger(bins) || bins < 1) throw new RangeError(`bins must be a positive integer, got ${bins}`);
  const datasets: ChartDataset<'line', { x: number; y: number }[]>[] = Object.entries(masks).map(([name, mask], i) => {
    const { fractions, count } = histogram01(mask.values, bins);
    // Points at the left bin edges, stepped 'after' so each level spans its bin; the extra point closes the last bin.
    const points = fractions.map((y, b) => ({ x: b / bins, y }));
    points.push({ x: 1, y: fractions[bins - 1] ?? 0 });
    const colour = categoricalColour(i);
    return {
      label: `${name} [${mask.shape.join('×')}] (n=${count})`,
      data: points,
      stepped: 'after',
      borderColor: colour,
      backgroundColor: colour,
      borderDash: categoricalDash(i),
      borderWidth: 2,
      pointRadius: 0,
      fill: false,
    };
  });
  return {
    type: 'line',
    data: { datasets },
    options: {
      layout: { padding: { top: 4, right: 16, left: 4, bottom: 4 } },
      scales: {
        x: unitAxis('alpha (1 = model A, 0 = model B)'),
        y: {
          type: 'linear',
          beginAtZero: true,
          title: axisTitle('fraction of entries'),
          grid: { color: GRID_COLOUR },
        },
      },
      plugins: {
        title: { display: title.length > 0, text: title, padding: { top: 4, bottom: 8 } },
        legend: { position: 'top', labels: { usePointStyle: true, pointStyle: 'line', boxWidth: 30 } },
      },
    },
  };
}

/**
 * Histograms (default 40 bins over [0, 1]) of alpha for each parameter tensor of `masks`,
 * one line per tensor with the fraction of its entries per bin on the y axis.
 */
export function renderAlphaHistograms(masks: AlphaMaskSet, title: string, options: AlphaHistogramOptions = {}): Figure {
  // The cast widens the chart type to what the renderer accepts; the line configuration is a valid member.
  return renderChart(alphaHistogramConfig(masks, title, options) as unknown as ChartConfiguration, options);
}
