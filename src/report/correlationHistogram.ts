/**
 * Figure: how one-to-one the units of two models are, per feature space. For every unit, its largest
 * (top-1) and second-largest (top-2) absolute correlation with the other model's units, as histograms;
 * where the alignment was CCA, the same for the normalised coefficients with which each aligned unit
 * draws on the other model's units (see src/align/correlationAnalysis.ts). A
 * one-to-one match puts top-1 near 1 and top-2 near 0; many-to-many features bring them together.
 * Small multiples (one panel per space and quantity) drawn directly on the canvas with the report theme.
 *
 * CCA Merge ("Harmony in Diversity", Horoi et al., ICML 2024) draws these to argue for CCA over permutations.
 */

import type { SKRSContext2D } from '@napi-rs/canvas';

import type { SpaceCorrelations } from '../artifacts/metrics.js';
import { histogram01, type Histogram } from './alphaHistogram.js';
import { renderDrawing, type DrawingSize, type Figure, type FigureSize } from './render.js';
import { AXIS_COLOUR, categoricalColour, cssFont, FIGURE, fillHeading, fillVerticalText, FONT_SIZES, GRID_COLOUR, TEXT_COLOUR, withOpacity } from './theme.js';

/** Options of {@link renderCorrelationHistograms}. */
export interface CorrelationHistogramOptions extends FigureSize {
  /** Title (default "Cross-model correlations (<alignment>)"). */
  title?: string;
  /** Number of equal-width bins over [0, 1] (default 20). */
  bins?: number;
}

/** What a panel shows: correlations of units, or coefficients of the CCA transform. */
export type CorrelationQuantity = 'correlation' | 'coefficient';

/** One panel: a space's top-1 and top-2 histograms of one quantity, and where its plot area lies in px. */
export interface CorrelationPanel {
  space: string;
  quantity: CorrelationQuantity;
  /** Units counted: the length of the top-1 list. */
  units: number;
  /** The histograms, absent when the space has no values of this quantity (no CCA coefficients). */
  top1?: Histogram;
  top2?: Histogram;
  left: number;
  top: number;
  right: number;
  bottom: number;
}

/** Where everything of a correlation figure goes. */
export interface CorrelationLayout extends DrawingSize {
  panels: CorrelationPanel[];
  columns: number;
  rows: number;
  bins: number;
  /** Top of every panel's y axis, in % of units per bin (shared, so panels compare at a glance). */
  yMax: number;
  yTicks: number[];
}

/** A rendered correlation figure, with the layout it was drawn from (useful for tests and annotation). */
export interface CorrelationFigure extends Figure {
  layout: CorrelationLayout;
}

/** Colour of the top-1 histograms in every panel. */
export const TOP1_COLOUR = categoricalColour(0);
/** Colour of the top-2 histograms in every panel. */
export const TOP2_COLOUR = categoricalColour(1);

/** The x axis title under each column, by quantity. */
const X_TITLES: Record<CorrelationQuantity, string> = {
  correlation: "absolute correlation with model B's units",
  coefficient: 'absolute CCA transform coefficient (normalised)',
};
const COLUMN_HEADERS: Record<CorrelationQuantity, string> = {
  correlation: 'unit correlations',
  coefficient: 'CCA transform coefficients',
};
const X_TICKS = [0, 0.2, 0.4, 0.6, 0.8, 1];

/** Geometry in px. A row is a panel title, its plot and its x tick labels. */
const MARGIN = { right: 16, bottom: 34, left: 70 } as const;
const HEADER = { title: 6, subtitle: 30, legend: 52, columns: 76, height: 96, noColumnsHeight: 78 } as const;
const PANEL = { title: 20, ticks: 20, gap: 12, columnGap: 28 } as const;

/** Rows get shorter as they get more, so that a ResNet's ten spaces still fit a page. */
function rowHeight(rows: number): number {
  return rows <= 3 ? 180 : rows <= 6 ? 150 : 126;
}

/** A "nice" step (1, 2, 2.5 or 5 times a power of ten) that splits `max` into about three. */
function niceStep(max: number): number {
  const rough = max / 3;
  const power = 10 ** Math.floor(Math.log10(rough));
  return [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= rough) ?? 10 * power;
}

/** Histograms of `values` in [0, 1]; NaN is skipped, as for alpha. */
function histogramOf(values: readonly number[], bins: number): Histogram {
  return histogram01(Float32Array.from(values), bins);
}

/**
 * Places one panel per (space, quantity): with CCA coefficients, a row per space with correlations left
 * and coefficients right; without, the spaces fill one column, or two beyond four spaces.
 */
export function correlationLayout(spaces: Readonly<Record<string, SpaceCorrelations>>, options: CorrelationHistogramOptions = {}): CorrelationLayout {
  const bins = options.bins ?? 20;
  if (!Number.isInteger(bins) || bins < 1) throw new RangeError(`bins must be a positive integer, got ${bins}`);
  const entries = Object.entries(spaces);
  if (entries.length === 0) throw new RangeError('no feature spaces to draw correlations of');
  const withCoefficients = entries.some(([, s]) => s.top1Coefficient !== undefined);
  const quantities: CorrelationQuantity[] = withCoefficients ? ['correlation', 'coefficient'] : ['correlation'];
  const columns = withCoefficients || entries.length > 4 ? 2 : 1;
  const count = entries.length * quantities.length;
  const rows = Math.ceil(count / columns);
  const headerHeight = withCoefficients ? HEADER.height : HEADER.noColumnsHeight;
  const width = options.width ?? FIGURE.width;
  const height = options.height ?? headerHeight + rows * rowHeight(rows) + MARGIN.bottom;
  const rowH = (height - headerHeight - MARGIN.bottom) / rows;
  const columnW = (width - MARGIN.left - MARGIN.right - (columns - 1) * PANEL.columnGap) / columns;

  const panels: CorrelationPanel[] = entries.flatMap(([space, s]) =>
    quantities.map((quantity) => {
      const [top1, top2] = quantity === 'correlation' ? [s.top1Correlation, s.top2Correlation] : [s.top1Coefficient, s.top2Coefficient];
      return {
        space,
        quantity,
        units: top1?.length ?? 0,
        ...(top1 ? { top1: histogramOf(top1, bins) } : {}),
        ...(top2 ? { top2: histogramOf(top2, bins) } : {}),
        left: 0,
        top: 0,
        right: 0,
        bottom: 0,
      };
    }),
  );
  panels.forEach((panel, i) => {
    const [row, column] = [Math.floor(i / columns), i % columns];
    panel.left = Math.round(MARGIN.left + column * (columnW + PANEL.columnGap));
    panel.right = Math.round(panel.left + columnW);
    panel.top = Math.round(headerHeight + row * rowH + PANEL.title);
    panel.bottom = Math.round(headerHeight + (row + 1) * rowH - PANEL.ticks - PANEL.gap);
  });

  const peak = Math.max(...panels.flatMap((p) => [...(p.top1?.fractions ?? []), ...(p.top2?.fractions ?? [])]).map((f) => f * 100), 0);
  const step = niceStep(Math.max(peak, 1));
  const yMax = Math.min(100, Math.ceil(peak / step) * step) || step;
  const yTicks: number[] = [];
  for (let t = 0; t <= yMax + 1e-9; t += step) yTicks.push(Number(t.toFixed(6)));
  return { width, height, panels, columns, rows, bins, yMax, yTicks };
}

/** Pixel coordinates of a panel's data coordinates (x in [0, 1], y in % of units). */
function scales(panel: CorrelationPanel, yMax: number): { x: (v: number) => number; y: (v: number) => number } {
  return {
    x: (v) => panel.left + v * (panel.right - panel.left),
    y: (v) => panel.bottom - (v / yMax) * (panel.bottom - panel.top),
  };
}

/** The outline of a histogram as steps over its bins, from the baseline back to the baseline. */
function stepPath(ctx: SKRSContext2D, histogram: Histogram, panel: CorrelationPanel, yMax: number): void {
  const { x, y } = scales(panel, yMax);
  const bins = histogram.fractions.length;
  ctx.beginPath();
  ctx.moveTo(x(0), y(0));
  histogram.fractions.forEach((f, b) => {
    ctx.lineTo(x(b / bins), y(f * 100));
    ctx.lineTo(x((b + 1) / bins), y(f * 100));
  });
  ctx.lineTo(x(1), y(0));
}

function drawLegend(ctx: SKRSContext2D, width: number): void {
  const items: [string, string][] = [
    ['top-1 (largest)', TOP1_COLOUR],
    ['top-2 (second largest)', TOP2_COLOUR],
  ];
  ctx.font = cssFont(FONT_SIZES.legend);
  ctx.textBaseline = 'middle';
  ctx.textAlign = 'left';
  const swatch = 28;
  const widths = items.map(([label]) => swatch + 6 + ctx.measureText(label).width);
  let x = (width - widths.reduce((a, b) => a + b + 24, -24)) / 2;
  const y = HEADER.legend + 8;
  items.forEach(([label, colour], i) => {
    ctx.fillStyle = withOpacity(colour, 0.2);
    ctx.fillRect(x, y - 6, swatch, 12);
    ctx.strokeStyle = colour;
    ctx.lineWidth = 2;
    ctx.strokeRect(x, y - 6, swatch, 12);
    ctx.fillStyle = TEXT_COLOUR;
    ctx.fillText(label, x + swatch + 6, y);
    x += (widths[i] ?? 0) + 24;
  });
}

function drawPanel(ctx: SKRSContext2D, panel: CorrelationPanel, layout: CorrelationLayout, firstColumn: boolean): void {
  const { x, y } = scales(panel, layout.yMax);
  ctx.lineWidth = 1;
  ctx.strokeStyle = GRID_COLOUR;
  ctx.beginPath();
  for (const t of X_TICKS) {
    ctx.moveTo(Math.round(x(t)) + 0.5, panel.top);
    ctx.lineTo(Math.round(x(t)) + 0.5, panel.bottom);
  }
  for (const t of layout.yTicks) {
    ctx.moveTo(panel.left, Math.round(y(t)) + 0.5);
    ctx.lineTo(panel.right, Math.round(y(t)) + 0.5);
  }
  ctx.stroke();

  // Top-2 under top-1: the top-1 outline is the one a reader compares first.
  for (const [histogram, colour] of [
    [panel.top2, TOP2_COLOUR],
    [panel.top1, TOP1_COLOUR],
  ] as const) {
    if (!histogram || histogram.count === 0) continue;
    stepPath(ctx, histogram, panel, layout.yMax);
    ctx.fillStyle = withOpacity(colour, 0.18);
    ctx.fill();
    ctx.strokeStyle = colour;
    ctx.lineWidth = 2;
    ctx.stroke();
  }

  ctx.strokeStyle = AXIS_COLOUR;
  ctx.lineWidth = 1;
  ctx.beginPath();
  ctx.moveTo(panel.left + 0.5, panel.top);
  ctx.lineTo(panel.left + 0.5, panel.bottom + 0.5);
  ctx.lineTo(panel.right, panel.bottom + 0.5);
  ctx.stroke();

  ctx.fillStyle = TEXT_COLOUR;
  ctx.font = cssFont(FONT_SIZES.tick);
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  for (const t of X_TICKS) ctx.fillText(t === 0 || t === 1 ? String(t) : t.toFixed(1), x(t), panel.bottom + 4);
  if (firstColumn) {
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    for (const t of layout.yTicks) ctx.fillText(String(t), panel.left - 6, y(t));
  }

  ctx.textAlign = 'left';
  ctx.textBaseline = 'bottom';
  ctx.font = cssFont(FONT_SIZES.tick, 'bold');
  ctx.fillText(panel.space, panel.left, panel.top - 4);
  const nameWidth = ctx.measureText(panel.space).width;
  ctx.font = cssFont(FONT_SIZES.tick);
  const note = panel.top1 ? `  ${panel.units} units` : '  no CCA coefficients';
  ctx.fillText(note, panel.left + nameWidth, panel.top - 4);
}

/** Draws `layout`: title, legend, column headers, the panels, then the shared axis titles. */
function drawCorrelations(ctx: SKRSContext2D, layout: CorrelationLayout, title: string): void {
  fillHeading(ctx, layout.width, title, HEADER.title, [[`per feature space: histogram of each unit's top-1 and top-2 values, ${layout.bins} bins over [0, 1]`, HEADER.subtitle]]);
  drawLegend(ctx, layout.width);

  const firstRow = layout.panels.slice(0, layout.columns);
  const distinctColumns = new Set(firstRow.map((p) => p.quantity)).size > 1;
  ctx.fillStyle = TEXT_COLOUR;
  ctx.textBaseline = 'top';
  ctx.textAlign = 'center';
  ctx.font = cssFont(FONT_SIZES.axisTitle, 'bold');
  if (distinctColumns) for (const p of firstRow) ctx.fillText(COLUMN_HEADERS[p.quantity], (p.left + p.right) / 2, HEADER.columns);

  layout.panels.forEach((panel, i) => drawPanel(ctx, panel, layout, i % layout.columns === 0));

  ctx.fillStyle = TEXT_COLOUR;
  ctx.font = cssFont(FONT_SIZES.axisTitle);
  ctx.textAlign = 'center';
  ctx.textBaseline = 'bottom';
  for (const p of firstRow) ctx.fillText(X_TITLES[p.quantity], (p.left + p.right) / 2, layout.height - 6);
  const plotsTop = Math.min(...layout.panels.map((p) => p.top));
  const plotsBottom = Math.max(...layout.panels.map((p) => p.bottom));
  fillVerticalText(ctx, 'units per bin (%)', 8 + FONT_SIZES.axisTitle / 2, (plotsTop + plotsBottom) / 2);
}

/**
 * Histograms of each unit's top-1 and top-2 absolute correlation with the other model's units, one
 * panel per feature space (spaces in their stored order), and beside them, where the alignment was CCA,
 * the top-1 and top-2 absolute coefficients of each column of its transform. All panels share one y
 * axis (% of the space's units per bin), so spaces compare at a glance.
 */
export function renderCorrelationHistograms(
  alignLabel: string,
  spaces: Readonly<Record<string, SpaceCorrelations>>,
  options: CorrelationHistogramOptions = {},
): CorrelationFigure {
  const layout = correlationLayout(spaces, options);
  const title = options.title ?? `Cross-model correlations (${alignLabel})`;
  const figure = renderDrawing((ctx) => drawCorrelations(ctx, layout, title), layout);
  return { ...figure, layout };
}
