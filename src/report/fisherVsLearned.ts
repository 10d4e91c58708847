/**
 * Figure and numbers: does the Fisher init predict where learning ends? For one alignment, each entry's
 * Fisher alpha, alpha_F = F_A / (F_A + F_B'), against its learned alpha, as a 2-D histogram per layer
 * (small multiples, log colour scale, the diagonal learned = Fisher dashed), with each layer's Pearson
 * and Spearman correlation written on its panel.
 *
 * A layer is a weight tensor (two or more dimensions) together with the tensors that share its name
 * up to the last '.' or '/' (its bias): the bias is pooled with its layer. Layers of vectors only
 * (BatchNorm's scale and shift, running statistics) are left out: they hold a handful of entries each.
 */

import type { SKRSContext2D } from '@napi-rs/canvas';

import { ensure } from '../util/errors.js';
import { renderDrawing, type DrawingSize, type Figure, type FigureSize } from './render.js';
import { pearson, spearman } from '../util/statistics.js';
import { AXIS_COLOUR, cssFont, FIGURE, fillHeading, fillVerticalText, FONT_SIZES, OKABE_ITO, rgbCss, TEXT_COLOUR, VIRIDIS, type Rgb } from './theme.js';
import type { AlphaMaskSet } from './types.js';

/** Options of {@link renderFisherVsLearned}. */
export interface FisherVsLearnedOptions extends FigureSize {
  /** Title (default "Fisher vs learned alpha (<alignment>)"). */
  title?: string;
  /** Cells along each axis of a panel's histogram over [0, 1] (default 40). */
  bins?: number;
}

/** How far a layer's learned alpha follows its Fisher alpha, over `count` entries (NaN pairs left out). */
export interface FisherLearnedCorrelation {
  pearson: number;
  spearman: number;
  count: number;
}

/** One layer's paired alpha: Fisher and learned, entry for entry, its tensors pooled in order. */
export interface PairedLayer {
  layer: string;
  /** The parameter tensors pooled into the layer. */
  tensors: string[];
  fisher: Float32Array;
  learned: Float32Array;
}

/** One panel of the figure: a layer's 2-D histogram, its correlations, and where its plot lies in px. */
export interface FisherLearnedPanel extends FisherLearnedCorrelation {
  layer: string;
  tensors: string[];
  /** Entries per cell, row-major by learned-alpha bin (row 0: learned alpha near 0), then Fisher-alpha bin. */
  counts: Uint32Array;
  left: number;
  top: number;
  /** Side of one cell in px; the plot is `bins` cells square. */
  cell: number;
  side: number;
}

/** Where everything of the figure goes. */
export interface FisherLearnedLayout extends DrawingSize {
  bins: number;
  columns: number;
  rows: number;
  panels: FisherLearnedPanel[];
  /** The colour scale: log10 of the smallest and largest share of a layer's entries in one cell. */
  logMin: number;
  logMax: number;
  /** The colour bar's rectangle. */
  colourBar: { left: number; top: number; width: number; bottom: number };
}

/** A rendered figure with the layout it was drawn from (for tests and annotation). */
export interface FisherVsLearnedFigure extends Figure {
  layout: FisherLearnedLayout;
}

/** Colour of the diagonal learned alpha = Fisher alpha: vermillion stands out on every viridis colour. */
export const DIAGONAL_COLOUR = OKABE_ITO.vermillion;

/** The layer a parameter belongs to: its name up to the last '.' or '/' ("fc1.weight" → "fc1"). */
export function layerOf(name: string): string {
  const cut = Math.max(name.lastIndexOf('.'), name.lastIndexOf('/'));
  return cut > 0 ? name.slice(0, cut) : name;
}

/**
 * Pairs the Fisher and learned masks of one alignment layer by layer (see the module comment for what
 * a layer is), in the Fisher masks' order. Both must hold the same parameters with the same shapes.
 */
export function pairLayers(fisherMasks: AlphaMaskSet, learnedMasks: AlphaMaskSet): PairedLayer[] {
  const names = Object.keys(fisherMasks);
  const missing = [...names.filter((n) => !(n in learnedMasks)), ...Object.keys(learnedMasks).filter((n) => !(n in fisherMasks))];
  ensure(missing.length === 0, () => `Fisher and learned masks must hold the same parameters; only one of them has ${missing.join(', ')}`);
  const groups = new Map<string, string[]>();
  for (const name of names) {
    const fisher = fisherMasks[name]!;
    const learned = learnedMasks[name]!;
    ensure(
      fisher.shape.join(',') === learned.shape.join(','),
      () => `parameter ${name} has shape [${fisher.shape.join(', ')}] in the Fisher masks but [${learned.shape.join(', ')}] in the learned masks`,
    );
    ensure(
      fisher.values.length === learned.values.length,
      () => `parameter ${name} has ${fisher.values.length} Fisher alphas but ${learned.values.length} learned ones`,
    );
    const layer = layerOf(name);
    groups.set(layer, [...(groups.get(layer) ?? []), name]);
  }
  return [...groups]
    .filter(([, tensors]) => tensors.some((name) => fisherMasks[name]!.shape.length >= 2))
    .map(([layer, tensors]) => {
      const pooled = (masks: AlphaMaskSet): Float32Array => {
        const out = new Float32Array(tensors.reduce((n, name) => n + masks[name]!.values.length, 0));
        let offset = 0;
        for (const name of tensors) {
          out.set(masks[name]!.values, offset);
          offset += masks[name]!.values.length;
        }
        return out;
      };
      return { layer, tensors, fisher: pooled(fisherMasks), learned: pooled(learnedMasks) };
    });
}

/** The pairs of `layer` where both alphas are numbers. */
function finitePairs(layer: PairedLayer): { x: Float32Array; y: Float32Array } {
  const keep: number[] = [];
  for (let i = 0; i < layer.fisher.length; i++) if (!Number.isNaN(layer.fisher[i]!) && !Number.isNaN(layer.learned[i]!)) keep.push(i);
  if (keep.length === layer.fisher.length) return { x: layer.fisher, y: layer.learned };
  return { x: Float32Array.from(keep, (i) => layer.fisher[i]!), y: Float32Array.from(keep, (i) => layer.learned[i]!) };
}

/** The correlations of one paired layer. */
function correlationOf(layer: PairedLayer): FisherLearnedCorrelation {
  const { x, y } = finitePairs(layer);
  return { pearson: pearson(x, y), spearman: spearman(x, y), count: x.length };
}

/**
 * Per layer (weight tensors with their biases pooled; vector-only layers left out), the Pearson and
 * Spearman rank correlation between the Fisher merge's alpha and the learned merge's alpha of the same
 * alignment, over the entries where both are numbers. NaN where either is constant over the layer
 * (e.g. a learned alpha that never left a uniform init).
 */
export function fisherLearnedCorrelation(fisherMasks: AlphaMaskSet, learnedMasks: AlphaMaskSet): Record<string, FisherLearnedCorrelation> {
  return Object.fromEntries(pairLayers(fisherMasks, learnedMasks).map((layer) => [layer.layer, correlationOf(layer)]));
}

/**
 * Counts of the pairs (x, y) on a `bins` x `bins` grid over [0, 1]², row-major by y bin then x bin.
 * Bins are those of the alpha histograms: 1 falls into the last bin, values outside [0, 1] into the end
 * bins; pairs with a NaN are not counted.
 */
export function histogram2d(x: ArrayLike<number>, y: ArrayLike<number>, bins: number): Uint32Array {
  const counts = new Uint32Array(bins * bins);
  const bin = (v: number) => Math.min(bins - 1, Math.max(0, Math.floor(v * bins)));
  for (let i = 0; i < x.length; i++) {
    const [a, b] = [x[i]!, y[i]!];
    if (Number.isNaN(a) || Number.isNaN(b)) continue;
    counts[bin(b) * bins + bin(a)]!++;
  }
  return counts;
}

/** Geometry in px. A panel is two header lines, its square plot, then its tick labels. */
const MARGIN = { left: 58, right: 150, bottom: 34 } as const;
const HEADER = { title: 6, subtitle: 30, subtitle2: 48, height: 74 } as const;
const PANEL = { header: 34, ticks: 18, gap: 14, columnGap: 18, maxSide: 260 } as const;
const TICKS = [0, 0.5, 1];

/** Columns for `n` panels: a row for up to three, two by two for four, else three or four abreast. */
function columnsFor(n: number): number {
  return n <= 3 ? n : n === 4 ? 2 : n <= 6 ? 3 : 4;
}

/**
 * Lays out one panel per layer: histograms, correlations and positions, with a colour scale shared by
 * all panels so that densities compare across layers. Cells are whole px, so that neighbouring cells
 * meet without seams.
 */
export function fisherVsLearnedLayout(fisherMasks: AlphaMaskSet, learnedMasks: AlphaMaskSet, options: FisherVsLearnedOptions = {}): FisherLearnedLayout {
  const bins = options.bins ?? 40;
  if (!Number.isInteger(bins) || bins < 1) throw new RangeError(`bins must be a positive integer, got ${bins}`);
  const layers = pairLayers(fisherMasks, learnedMasks);
  if (layers.length === 0) throw new RangeError('no weight tensors to compare Fisher and learned alpha of');
  const columns = columnsFor(layers.length);
  const rows = Math.ceil(layers.length / columns);
  const width = options.width ?? FIGURE.width;
  const room = (width - MARGIN.left - MARGIN.right - (columns - 1) * PANEL.columnGap) / columns;
  const cell = Math.max(1, Math.floor(Math.min(room, PANEL.maxSide) / bins));
  const side = cell * bins;
  const rowHeight = PANEL.header + side + PANEL.ticks + PANEL.gap;
  const height = options.height ?? HEADER.height + rows * rowHeight + MARGIN.bottom;
  // The panels' block and its colour bar are centred in the figure.
  const used = columns * side + (columns - 1) * PANEL.columnGap;
  const offset = MARGIN.left + Math.max(0, Math.floor((width - MARGIN.left - MARGIN.right - used) / 2));

  let logMin = Infinity;
  let logMax = -Infinity;
  const panels = layers.map((layer, i) => {
    const correlation = correlationOf(layer);
    const counts = histogram2d(layer.fisher, layer.learned, bins);
    for (const c of counts) {
      if (c === 0) continue;
      const share = Math.log10(c / correlation.count);
      logMin = Math.min(logMin, share);
      logMax = Math.max(logMax, share);
    }
    const [row, column] = [Math.floor(i / columns), i % columns];
    return {
      layer: layer.layer,
      tensors: layer.tensors,
      ...correlation,
      counts,
      left: offset + column * (side + PANEL.columnGap),
      top: HEADER.height + row * rowHeight + PANEL.header,
      cell,
      side,
    };
  });
  if (!Number.isFinite(logMin)) [logMin, logMax] = [0, 0];
  const plotsTop = panels[0]!.top;
  const lastRowTop = HEADER.height + (rows - 1) * rowHeight + PANEL.header;
  // The colour bar sits right of the panels, however narrow their block is.
  const colourBar = { left: offset + used + 30, top: plotsTop, width: 18, bottom: Math.max(lastRowTop + side, plotsTop + 120) };
  return { width, height, bins, columns, rows, panels, logMin, logMax, colourBar };
}

/**
 * Colour of a cell holding `share` of its layer's entries: reversed viridis on a log scale from the
 * layout's smallest share (light yellow) to its largest (dark purple), so dense cells read as ink.
 */
export function densityColour(share: number, layout: Pick<FisherLearnedLayout, 'logMin' | 'logMax'>): Rgb {
  const span = layout.logMax - layout.logMin;
  const t = span > 0 ? (Math.log10(share) - layout.logMin) / span : 1;
  return VIRIDIS.colour(1 - t);
}

/** "0.42", or "n/a" where the correlation is undefined (a constant alpha); never "-0.00". */
function formatCorrelation(value: number): string {
  if (Number.isNaN(value)) return 'n/a';
  const text = value.toFixed(2);
  return text === '-0.00' ? '0.00' : text;
}

/** Powers of ten as labels: 10⁻³. */
function powerLabel(exponent: number): string {
  const superscript: Record<string, string> = { '-': '⁻', 0: '⁰', 1: '¹', 2: '²', 3: '³', 4: '⁴', 5: '⁵', 6: '⁶', 7: '⁷', 8: '⁸', 9: '⁹' };
  return exponent === 0 ? '1' : `10${[...String(exponent)].map((c) => superscript[c] ?? c).join('')}`;
}

function drawPanel(ctx: SKRSContext2D, panel: FisherLearnedPanel, layout: FisherLearnedLayout, firstColumn: boolean): void {
  const { left, top, cell, side } = panel;
  const bins = layout.bins;
  const bottom = top + side;
  for (let j = 0; j < bins; j++) {
    for (let i = 0; i < bins; i++) {
      const c = panel.counts[j * bins + i]!;
      if (c === 0) continue;
      ctx.fillStyle = rgbCss(densityColour(c / panel.count, layout));
      ctx.fillRect(left + i * cell, bottom - (j + 1) * cell, cell, cell);
    }
  }
  ctx.strokeStyle = DIAGONAL_COLOUR;
  ctx.lineWidth = 1.5;
  ctx.setLineDash([5, 4]);
  ctx.beginPath();
  ctx.moveTo(left, bottom);
  ctx.lineTo(left + side, top);
  ctx.stroke();
  ctx.setLineDash([]);
  ctx.strokeStyle = AXIS_COLOUR;
  ctx.lineWidth = 1;
  ctx.strokeRect(left - 0.5, top - 0.5, side + 1, side + 1);

  ctx.fillStyle = TEXT_COLOUR;
  ctx.font = cssFont(FONT_SIZES.annotation);
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  for (const t of TICKS) ctx.fillText(String(t), left + t * side, bottom + 4);
  if (firstColumn) {
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    for (const t of TICKS) ctx.fillText(String(t), left - 5, bottom - t * side);
  }

  ctx.textAlign = 'left';
  ctx.textBaseline = 'bottom';
  ctx.font = cssFont(FONT_SIZES.tick, 'bold');
  ctx.fillText(panel.layer, left, top - 19);
  const nameWidth = ctx.measureText(panel.layer).width;
  ctx.font = cssFont(FONT_SIZES.annotation);
  ctx.fillText(`  n = ${panel.count.toLocaleString('en-US')}`, left + nameWidth, top - 19);
  ctx.font = cssFont(FONT_SIZES.tick);
  ctx.fillText(`r = ${formatCorrelation(panel.pearson)}   ρ = ${formatCorrelation(panel.spearman)}`, left, top - 3);
}

/** The shared colour bar: share of a layer's entries per cell, log scale, dense (dark) at the top. */
function drawColourBar(ctx: SKRSContext2D, layout: FisherLearnedLayout): void {
  const { left, top, width, bottom } = layout.colourBar;
  const height = bottom - top;
  // Reversed viridis from the bottom (smallest share) to the top (largest), linear between stops as the cells are.
  const gradient = ctx.createLinearGradient(0, bottom, 0, top);
  for (const [offset, rgb] of VIRIDIS.stops()) gradient.addColorStop(1 - offset, rgbCss(rgb));
  ctx.fillStyle = gradient;
  ctx.fillRect(left, top, width, height);
  ctx.strokeStyle = TEXT_COLOUR;
  ctx.lineWidth = 1;
  ctx.strokeRect(left, top, width, height);

  const { logMin, logMax } = layout;
  const span = logMax - logMin;
  const y = (log: number) => (span > 0 ? bottom - ((log - logMin) / span) * height : top);
  const decades: number[] = [];
  for (let e = Math.ceil(logMin - 1e-9); e <= logMax + 1e-9; e++) decades.push(e);
  ctx.fillStyle = TEXT_COLOUR;
  ctx.font = cssFont(FONT_SIZES.tick);
  ctx.textAlign = 'left';
  ctx.textBaseline = 'middle';
  let labelsRight = left + width;
  for (const e of decades) {
    ctx.beginPath();
    ctx.moveTo(left + width, y(e));
    ctx.lineTo(left + width + 5, y(e));
    ctx.stroke();
    const label = powerLabel(e);
    ctx.fillText(label, left + width + 8, y(e));
    labelsRight = Math.max(labelsRight, left + width + 8 + ctx.measureText(label).width);
  }
  ctx.save();
  ctx.font = cssFont(FONT_SIZES.axisTitle);
  ctx.textAlign = 'center';
  ctx.translate(labelsRight + 8 + FONT_SIZES.axisTitle / 2, (top + bottom) / 2);
  ctx.rotate(Math.PI / 2);
  const title = "share of the layer's entries per cell";
  ctx.fillText(ctx.measureText(title).width <= height ? title : 'share of entries', 0, 0);
  ctx.restore();
}

function drawFigure(ctx: SKRSContext2D, layout: FisherLearnedLayout, title: string): void {
  fillHeading(ctx, layout.width, title, HEADER.title, [
    [`per layer (bias pooled with its weight; vector-only layers left out): entries on a ${layout.bins}×${layout.bins} grid, log colour scale`, HEADER.subtitle],
    ['dashed: learned = Fisher · r: Pearson correlation · ρ: Spearman rank correlation', HEADER.subtitle2],
  ]);

  layout.panels.forEach((panel, i) => drawPanel(ctx, panel, layout, i % layout.columns === 0));
  drawColourBar(ctx, layout);

  const first = layout.panels[0]!;
  const last = layout.panels[layout.panels.length - 1]!;
  const rowRight = Math.max(...layout.panels.slice(0, layout.columns).map((p) => p.left + p.side));
  ctx.fillStyle = TEXT_COLOUR;
  ctx.font = cssFont(FONT_SIZES.axisTitle);
  ctx.textAlign = 'center';
  ctx.textBaseline = 'bottom';
  ctx.fillText("Fisher alpha  F_A / (F_A + F_B')", (first.left + rowRight) / 2, layout.height - 8);
  // Beside the first column's tick labels, however far the centred panels sit from the figure's edge.
  fillVerticalText(ctx, 'learned alpha (1 = model A)', Math.max(8, first.left - 48) + FONT_SIZES.axisTitle / 2, (first.top + last.top + last.side) / 2);
}

/**
 * For one alignment, a 2-D histogram per layer of the Fisher merge's alpha (x) against the learned
 * merge's alpha (y) of the same parameters: the share of the layer's entries in each cell of a 40 x 40
 * grid over [0, 1]² on a log colour scale shared by all panels (empty cells white), the diagonal where
 * learning stayed at the Fisher value dashed, and the layer's Pearson r and Spearman ρ on its panel.
 * Points on the diagonal mean learning ended where a Fisher init starts; a flat cloud means it ignored
 * the Fisher weights.
 */
export function renderFisherVsLearned(
  alignLabel: string,
  fisherMasks: AlphaMaskSet,
  learnedMasks: AlphaMaskSet,
  options: FisherVsLearnedOptions = {},
): FisherVsLearnedFigure {
  const layout = fisherVsLearnedLayout(fisherMasks, learnedMasks, options);
  const title = options.title ?? `Fisher vs learned alpha (${alignLabel})`;
  const figure = renderDrawing((ctx) => drawFigure(ctx, layout, title), layout);
  return { ...figure, layout };
}

/**
 * One line for a summary's list of learned merges: each layer's Spearman and (in brackets) Pearson
 * correlation between Fisher and learned alpha, e.g. "cca · learned (fisher init): fc1 ρ 0.83 (r 0.91), fc2 ...".
 */
export function fisherLearnedSummary(label: string, correlations: Readonly<Record<string, FisherLearnedCorrelation>>): string {
  const layers = Object.entries(correlations).map(([layer, c]) => `${layer} ρ ${formatCorrelation(c.spearman)} (r ${formatCorrelation(c.pearson)})`);
  return `${label}: ${layers.join(', ')}`;
}
