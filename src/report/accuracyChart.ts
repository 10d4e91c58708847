/**
 * Figure: test accuracy of the base models, the ensemble and every merge variant, as one bar chart.
 */

import type { ChartConfiguration, ChartDataset, Plugin } from 'chart.js';

import type { RunMetrics } from '../artifacts/metrics.js';
import { alignmentColours } from './alignmentColours.js';
import { errorBars } from './errorBars.js';
import { renderChart, type Figure, type FigureSize } from './render.js';
import { resultRows, toPercent, type ResultRow } from './rows.js';
import {
  axisTitle,
  BASE_MODEL_COLOUR,
  cssFont,
  ENSEMBLE_COLOUR,
  FONT_SIZES,
  GRID_COLOUR,
  TEXT_COLOUR,
} from './theme.js';

/** Options of {@link renderAccuracyChart}. */
export interface AccuracyChartOptions extends FigureSize {
  /** Chart title; defaults to "Test accuracy (<dataset>)". */
  title?: string;
  /** Print each bar's value above it (default true). */
  valueLabels?: boolean;
}

/** A legend entry: rows of one group share a colour. */
interface BarGroup {
  label: string;
  colour: string;
  member: (row: ResultRow) => boolean;
}

/**
 * The legend's groups: base models, the ensemble, then the merges of each alignment in table order,
 * in the alignment's colour (alignmentColours).
 */
function barGroups(rows: readonly ResultRow[]): BarGroup[] {
  const alignments = new Map<string, string>(); // label -> method
  for (const r of rows) if (r.kind === 'merge' && r.alignLabel !== undefined) alignments.set(r.alignLabel, r.align ?? '');
  const colours = alignmentColours([...alignments].map(([alignLabel, align]) => ({ alignLabel, align })));
  return [
    { label: 'base models', colour: BASE_MODEL_COLOUR, member: (r) => r.kind === 'model' },
    { label: 'logit ensemble', colour: ENSEMBLE_COLOUR, member: (r) => r.kind === 'ensemble' },
    ...[...alignments.keys()].map((alignment) => ({
      label: `align ${alignment}`,
      colour: colours.get(alignment)!,
      member: (r: ResultRow) => r.kind === 'merge' && r.alignLabel === alignment,
    })),
  ];
}

/** Percentage points above 100 reserved for value labels. */
const Y_HEADROOM = 3;

/** Lower end of the y axis: 5 points below the worst bar, rounded down to a multiple of 5, never below 0. */
function yMinimum(percents: number[]): number {
  const finite = percents.filter(Number.isFinite);
  if (finite.length === 0) return 0;
  return Math.max(0, Math.floor((Math.min(...finite) - 5) / 5) * 5);
}

/** Writes each bar's value just above it, or above its error bar (`errors`, in points, per row). */
const valueLabels = (errors: readonly (number | undefined)[]): Plugin<'bar'> => ({
  id: 'accuracyValueLabels',
  afterDatasetsDraw(chart) {
    const y = chart.scales.y;
    const { ctx } = chart;
    ctx.save();
    ctx.font = cssFont(FONT_SIZES.annotation);
    ctx.fillStyle = TEXT_COLOUR;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'bottom';
    chart.data.datasets.forEach((dataset, di) => {
      const bars = chart.getDatasetMeta(di).data;
      dataset.data.forEach((value, i) => {
        const bar = bars[i];
        if (typeof value !== 'number' || !Number.isFinite(value) || !bar) return;
        const top = errors[i] && y ? y.getPixelForValue(value + errors[i]) : bar.y;
        ctx.fillText(value.toFixed(2), bar.x, top - 3);
      });
    });
    ctx.restore();
  },
});

/** The Chart.js configuration behind {@link renderAccuracyChart}; exposed for tests and custom rendering. */
export function accuracyChartConfig(metrics: RunMetrics, options: AccuracyChartOptions = {}): ChartConfiguration<'bar'> {
  const valueLabelsOn = options.valueLabels !== false;
  const rows = resultRows(metrics);
  const percents = rows.map((r) => toPercent(r.testAccuracy));
  // With repeats: each bar is a mean, its error bar one sample standard deviation.
  const errors = rows.map((r) => (r.acrossRepeats ? toPercent(r.acrossRepeats.testAccuracyStd) : undefined));
  // One dataset per colour group, null where a bar belongs to another group: this gives a legend per group,
  // and `grouped: false` keeps each bar centred on its own label.
  const datasets: ChartDataset<'bar', (number | null)[]>[] = barGroups(rows).filter((g) => rows.some(g.member)).map((g) => ({
    label: g.label,
    data: rows.map((r, i) => (g.member(r) ? (percents[i] ?? null) : null)),
    backgroundColor: g.colour,
    borderColor: g.colour,
    borderWidth: 0,
    grouped: false,
    barPercentage: 0.8,
    categoryPercentage: 0.9,
  }));
  return {
    type: 'bar',
    data: { labels: rows.map((r) => r.label), datasets },
    options: {
      layout: { padding: { top: 4, right: 12, left: 4, bottom: 4 } },
      scales: {
        x: {
          grid: { display: false },
          ticks: { autoSkip: false, maxRotation: 45, minRotation: 0, color: TEXT_COLOUR },
        },
        y: {
          min: yMinimum(percents.map((p, i) => p - (errors[i] ?? 0))),
          // Headroom above 100 keeps value labels of near-perfect bars clear of the legend;
          // the tick there is hidden so the axis still reads as ending at 100.
          max: valueLabelsOn ? 100 + Y_HEADROOM : 100,
          title: axisTitle('test accuracy (%)'),
          grid: { color: GRID_COLOUR },
          ticks: { color: TEXT_COLOUR, callback: (value) => (Number(value) > 100 ? null : String(value)) },
        },
      },
      plugins: {
        title: { display: true, text: options.title ?? `Test accuracy (${metrics.dataset})`, padding: { top: 4, bottom: 8 } },
        legend: { position: 'top', labels: { boxWidth: 14, boxHeight: 14 } },
      },
    },
    plugins: [
      ...(errors.some((e) => e !== undefined) ? [errorBars<'bar'>(datasets.map((d, datasetIndex) => ({ datasetIndex, errors: d.data.map((v, i) => (v === null ? null : errors[i])), colour: TEXT_COLOUR })), 'after')] : []),
      ...(valueLabelsOn ? [valueLabels(errors)] : []),
    ],
  };
}

/**
 * Bar chart of the test accuracy (%) of every base model, the logit ensemble and every merge variant,
 * coloured by alignment method, in the order of the results table (each alignment's merges side by
 * side: uniform, fisher, learned). A run of several repeats shows means with ± one standard deviation.
 */
export function renderAccuracyChart(metrics: RunMetrics, options: AccuracyChartOptions = {}): Figure {
  // The cast widens the chart type to what the renderer accepts; the bar configuration is a valid member.
  return renderChart(accuracyChartConfig(metrics, options) as ChartConfiguration, options);
}
