/**
 * Figure: where along the network a merge leans on which model. For every parameter tensor (in model
 * order) a box over alpha's interquartile range, whiskers over its 5th to 95th percentile and a dot at
 * its mean, one box per merge side by side in variant colours, against a dashed reference at 0.5 (the
 * plain average). Quantiles rather than a standard deviation because learned and Fisher alpha are
 * skewed and often pile up at 0 or 1, where mean ± std would leave [0, 1].
 */

import type { ChartConfiguration, ChartDataset, Plugin } from 'chart.js';

import { quantileOfSorted } from '../util/statistics.js';
import { traceWhisker } from './errorBars.js';
import { orderedUnion } from './orderedUnion.js';
import { renderChart, type Figure, type FigureSize } from './render.js';
import { AXIS_COLOUR, axisTitle, FIGURE, FONT_SIZES, TEXT_COLOUR, tint, unitAxis, variantColour } from './theme.js';
import type { AlphaMaskSet } from './types.js';

/** The distribution of alpha over one parameter tensor's entries (NaN entries left out). */
export interface AlphaLayerStats {
  /** The parameter's name. */
  name: string;
  shape: number[];
  /** Entries counted: all but NaN. */
  count: number;
  mean: number;
  /** Population standard deviation (the tensor's entries are all there is, not a sample of them). */
  std: number;
  min: number;
  /** 5th, 25th, 50th, 75th and 95th percentiles, interpolated linearly between order statistics. */
  p5: number;
  q1: number;
  median: number;
  q3: number;
  p95: number;
  max: number;
}

/** One merge drawn in {@link renderAlphaLayers}: its legend label and its masks. */
export interface AlphaLayersMerge {
  label: string;
  masks: AlphaMaskSet;
}

/** Options of {@link renderAlphaLayers}. */
export interface AlphaLayersOptions extends FigureSize {
  /** Title (default "alpha per layer"). */
  title?: string;
}

/** A rendered alpha-per-layer figure, with the tensors along its x axis in order. */
export interface AlphaLayersFigure extends Figure {
  layers: string[];
}

/** What the glyphs mean, written under the title. */
export const ALPHA_LAYERS_NOTE = 'box: 25th–75th percentile · whiskers: 5th–95th · dot: mean · dashed: 0.5 (plain average)';

/** The statistics of one tensor's alpha. */
function tensorStats(name: string, shape: number[], values: Float32Array): AlphaLayerStats {
  const finite = values.filter((v) => !Number.isNaN(v)).sort();
  const count = finite.length;
  let sum = 0;
  for (const v of finite) sum += v;
  const mean = count === 0 ? NaN : sum / count;
  let squares = 0;
  for (const v of finite) squares += (v - mean) ** 2;
  const q = (p: number) => quantileOfSorted(finite, p);
  return {
    name,
    shape: [...shape],
    count,
    mean,
    std: count === 0 ? NaN : Math.sqrt(squares / count),
    min: count === 0 ? NaN : finite[0]!,
    p5: q(0.05),
    q1: q(0.25),
    median: q(0.5),
    q3: q(0.75),
    p95: q(0.95),
    max: count === 0 ? NaN : finite[count - 1]!,
  };
}

/**
 * Per parameter tensor of `masks`, in the set's order (model order when the masks were read in it),
 * the mean, standard deviation and quantiles of alpha over its entries.
 */
export function alphaLayerStats(masks: AlphaMaskSet): AlphaLayerStats[] {
  return Object.entries(masks).map(([name, mask]) => tensorStats(name, mask.shape, mask.values));
}

/** Width in px that leaves each tensor's group of boxes room, and never less than the theme's. */
function figureWidth(layers: number, merges: number): number {
  return Math.min(16384, Math.max(FIGURE.width, Math.round(140 + layers * (12 + 14 * merges))));
}

/**
 * Draws the dashed 0.5 reference and the whiskers under the boxes, and the mean dots over them. Bar
 * elements give each box's x and width, so whiskers and dots follow Chart.js's grouping of the boxes.
 */
function glyphsPlugin(stats: (AlphaLayerStats | undefined)[][], colours: string[]): Plugin<'bar'> {
  return {
    id: 'alphaLayerGlyphs',
    beforeDatasetsDraw(chart) {
      const { ctx, chartArea } = chart;
      const y = chart.scales.y!;
      ctx.save();
      ctx.strokeStyle = AXIS_COLOUR;
      ctx.lineWidth = 1.5;
      ctx.setLineDash([6, 4]);
      ctx.beginPath();
      ctx.moveTo(chartArea.left, y.getPixelForValue(0.5));
      ctx.lineTo(chartArea.right, y.getPixelForValue(0.5));
      ctx.stroke();
      ctx.setLineDash([]);
      stats.forEach((layers, i) => {
        const bars = chart.getDatasetMeta(i).data;
        ctx.strokeStyle = colours[i]!;
        ctx.lineWidth = 1.5;
        // One path per merge: a vertical whisker and two caps per tensor.
        ctx.beginPath();
        layers.forEach((s, j) => {
          const bar = bars[j] as unknown as { x: number; width: number } | undefined;
          if (!s || !bar || s.count === 0) return;
          const cap = Math.max(2, bar.width * 0.3);
          const [top, bottom] = [y.getPixelForValue(s.p95), y.getPixelForValue(s.p5)];
          traceWhisker(ctx, bar.x, top, bottom, cap);
        });
        ctx.stroke();
      });
      ctx.restore();
    },
    afterDatasetsDraw(chart) {
      const { ctx } = chart;
      const y = chart.scales.y!;
      ctx.save();
      stats.forEach((layers, i) => {
        const bars = chart.getDatasetMeta(i).data;
        layers.forEach((s, j) => {
          const bar = bars[j] as unknown as { x: number; width: number } | undefined;
          if (!s || !bar || s.count === 0) return;
          ctx.beginPath();
          ctx.arc(bar.x, y.getPixelForValue(s.mean), Math.max(2, Math.min(4, bar.width / 2)), 0, 2 * Math.PI);
          ctx.fillStyle = colours[i]!;
          ctx.fill();
          // A white rim keeps the dot visible on its own box's edge.
          ctx.strokeStyle = '#ffffff';
          ctx.lineWidth = 1;
          ctx.stroke();
        });
      });
      ctx.restore();
    },
  };
}

/**
 * The Chart.js configuration behind {@link renderAlphaLayers}, and the tensors along its x axis (the
 * union of the merges' tensors, each merge's order kept); exposed for tests and custom rendering.
 */
export function alphaLayersConfig(
  merges: readonly AlphaLayersMerge[],
  options: AlphaLayersOptions = {},
): { config: ChartConfiguration<'bar', ([number, number] | null)[]>; layers: string[] } {
  if (merges.length === 0) throw new RangeError('no merges to draw alpha per layer of');
  const layers = orderedUnion(merges.map((m) => Object.keys(m.masks)));
  const stats = merges.map((m) => {
    const byName = new Map(alphaLayerStats(m.masks).map((s) => [s.name, s]));
    return layers.map((name) => byName.get(name));
  });
  const colours = merges.map((_, i) => variantColour(i));
  const datasets: ChartDataset<'bar', ([number, number] | null)[]>[] = merges.map((m, i) => ({
    label: m.label,
    // A floating bar from the first to the third quartile; a tensor the merge lacks leaves a gap.
    data: stats[i]!.map((s) => (s && s.count > 0 ? ([s.q1, s.q3] as [number, number]) : null)),
    backgroundColor: tint(colours[i]!, 0.35),
    borderColor: colours[i]!,
    borderWidth: 1.5,
    borderSkipped: false,
    // A merge whose quartiles coincide (a constant tensor) still shows a line.
    minBarLength: 2,
    categoryPercentage: 0.8,
    barPercentage: 0.9,
  }));
  const title = options.title ?? 'alpha per layer';
  const config: ChartConfiguration<'bar', ([number, number] | null)[]> = {
    type: 'bar',
    data: { labels: layers, datasets },
    options: {
      layout: { padding: { top: 4, right: 16, left: 4, bottom: 4 } },
      scales: {
        x: {
          title: axisTitle('parameter tensor'),
          grid: { display: false },
          // Every tensor is named: skipping labels would leave boxes a reader cannot place.
          ticks: { autoSkip: false, maxRotation: 90, font: { size: FONT_SIZES.annotation + 1 } },
        },
        y: unitAxis('alpha (1 = model A)'),
      },
      plugins: {
        title: { display: title.length > 0, text: title, padding: { top: 4, bottom: 2 } },
        subtitle: { display: true, text: ALPHA_LAYERS_NOTE, font: { size: FONT_SIZES.legend }, color: TEXT_COLOUR, padding: { bottom: 6 } },
        legend: { position: 'top', labels: { boxWidth: 14, boxHeight: 14 } },
      },
    },
    plugins: [glyphsPlugin(stats, colours)],
  };
  return { config, layers };
}

/**
 * Per-layer mean and spread of alpha for one or more merges (e.g. learned from the uniform init beside
 * learned from the Fisher init): for each parameter tensor in order, each merge's interquartile box,
 * 5th–95th percentile whiskers and mean dot in its variant colour, and a dashed line at 0.5. The figure
 * widens with the number of tensors and merges (at least the theme's width) unless a width is given.
 */
export function renderAlphaLayers(merges: readonly AlphaLayersMerge[], options: AlphaLayersOptions = {}): AlphaLayersFigure {
  const { config, layers } = alphaLayersConfig(merges, options);
  const width = options.width ?? figureWidth(layers.length, merges.length);
  // The cast widens the chart type to what the renderer accepts; the bar configuration is a valid member.
  const figure = renderChart(config as unknown as ChartConfiguration, { width, ...(options.height ? { height: options.height } : {}) });
  return { ...figure, layers };
}
