/**
 * The one place that decides how every figure looks: fonts, colours, sizes and the alpha colour map.
 * Figure builders take colours and sizes from here so that all figures of a report match.
 */

import type { SKRSContext2D } from '@napi-rs/canvas';
import type { Chart, PointStyle } from 'chart.js';

/** The font of all text: DejaVu Sans, which the renderer loads from the npm package dejavu-fonts-ttf. */
export const FONT_NAME = 'DejaVu Sans';

/** The font family as CSS: the bundled font, then sans-serif should anything else draw the text. */
export const FONT_FAMILY = `'${FONT_NAME}', sans-serif`;

/** Font sizes in px, chosen to stay legible when a 900 px wide figure is scaled to one paper column. */
export const FONT_SIZES = {
  title: 17,
  axisTitle: 15,
  tick: 13,
  legend: 13,
  /** Small annotations drawn on the plot, e.g. values on bars. */
  annotation: 11,
} as const;

/** Colour of text, axis lines and ticks. */
export const TEXT_COLOUR = '#222222';
/** Colour of grid lines: light so they guide the eye without competing with data. */
export const GRID_COLOUR = '#e3e3e3';

/**
 * Default figure size (in px of the layout; the SVG's units) and background. The PNG is rendered at
 * `pngScale` times that size: 1,800 px wide, over 500 dpi at a single column's 3.5 in, for print.
 */
export const FIGURE = {
  width: 900,
  height: 540,
  pngScale: 2,
  background: '#ffffff',
} as const;

/**
 * The Okabe-Ito palette: eight colours that stay distinguishable under the common colour-vision deficiencies.
 * @see https://jfly.uni-koeln.de/color/
 */
export const OKABE_ITO = {
  black: '#000000',
  orange: '#E69F00',
  skyBlue: '#56B4E9',
  bluishGreen: '#009E73',
  yellow: '#F0E442',
  blue: '#0072B2',
  vermillion: '#D55E00',
  reddishPurple: '#CC79A7',
} as const;

/** Okabe-Ito grey companion, for reference series such as the base models. */
export const NEUTRAL_GREY = '#999999';

/**
 * Order in which categorical series take palette colours. Yellow comes last because it is hard to see on white.
 */
export const CATEGORICAL: readonly string[] = [
  OKABE_ITO.blue,
  OKABE_ITO.orange,
  OKABE_ITO.bluishGreen,
  OKABE_ITO.vermillion,
  OKABE_ITO.reddishPurple,
  OKABE_ITO.skyBlue,
  OKABE_ITO.black,
  OKABE_ITO.yellow,
];

/** The `i`-th categorical colour, cycling when there are more series than colours. */
export function categoricalColour(i: number): string {
  const n = CATEGORICAL.length;
  return CATEGORICAL[((i % n) + n) % n] ?? OKABE_ITO.black;
}

/**
 * Line dash patterns used together with {@link categoricalColour} once the colours have cycled,
 * so that series `i` and `i + 8` still look different.
 */
export function categoricalDash(i: number): number[] {
  const dashes: number[][] = [[], [8, 4], [2, 3], [10, 3, 2, 3]];
  return dashes[Math.floor(i / CATEGORICAL.length) % dashes.length] ?? [];
}

/**
 * Colours of the groups of merges, one per alignment: the i-th registered aligner takes the i-th
 * (none, permutation and cca: orange, bluish green and blue), further variants the ones after. The
 * ensemble's reddish purple is left out, so no group looks like it.
 */
export const MERGE_GROUP_COLOURS: readonly string[] = [
  OKABE_ITO.orange,
  OKABE_ITO.bluishGreen,
  OKABE_ITO.blue,
  OKABE_ITO.vermillion,
  OKABE_ITO.skyBlue,
  OKABE_ITO.black,
  OKABE_ITO.yellow,
];

/** The colour of the `i`-th group of merges, cycling when there are more groups than colours. */
export function mergeGroupColour(i: number): string {
  return MERGE_GROUP_COLOURS[i % MERGE_GROUP_COLOURS.length]!;
}

/**
 * Colour of the `i`-th of several merge variants drawn as lines in one figure (one per variant, so
 * lines of one alignment can still be told apart): the merge-group colours, which leave out the
 * ensemble's, cycling. Past the palette, {@link variantMarkerFilled} tells the cycles apart.
 */
export function variantColour(i: number): string {
  return mergeGroupColour(i);
}

/** Whether the `i`-th variant's markers are filled: hollow once the colours have cycled. */
export function variantMarkerFilled(i: number): boolean {
  return i < MERGE_GROUP_COLOURS.length;
}

/** Marker shapes, one per kind of series (e.g. per many-model strategy), in order. */
export const MARKER_STYLES: readonly PointStyle[] = ['circle', 'triangle', 'rect', 'rectRot', 'star', 'crossRot'];

/** The `i`-th marker shape, cycling. */
export function markerStyle(i: number): PointStyle {
  return MARKER_STYLES[i % MARKER_STYLES.length]!;
}

/** Dash pattern of the ensemble's line beside merges; short enough that a legend's 15 px line shows it. */
export const ENSEMBLE_DASH: readonly number[] = [6, 3];
/** Dash pattern (dots) of the mean base model's line beside merges. */
export const BASE_MEAN_DASH: readonly number[] = [2, 2];

/** Colour of axis lines and connectors (tree edges) in figures drawn directly on the canvas. */
export const AXIS_COLOUR = '#777777';

/** Colour of the independently trained base models. */
export const BASE_MODEL_COLOUR = NEUTRAL_GREY;
/** Colour of the logit (output-averaging) ensemble. */
export const ENSEMBLE_COLOUR = OKABE_ITO.reddishPurple;

/** An RGB triple with channels in 0..255. */
export type Rgb = [number, number, number];

/** A colour map over [0, 1], linear between evenly spaced stops. */
export interface ColourMap {
  /** The colour of `value`: clamped into [0, 1]; NaN gives the map's colour for missing values. */
  colour(value: number): Rgb;
  /** The control points as (value, colour) pairs, e.g. for canvas gradients, which then reproduce the map. */
  stops(): [value: number, colour: Rgb][];
}

/** The {@link ColourMap} through `stops` (evenly spaced over [0, 1]) with `missing` for NaN. */
export function linearColourMap(stops: readonly Rgb[], missing: Rgb): ColourMap {
  const last = stops.length - 1;
  return {
    colour(value) {
      if (Number.isNaN(value)) return [...missing];
      const pos = Math.min(1, Math.max(0, value)) * last;
      const i = Math.min(last - 1, Math.floor(pos));
      const t = pos - i;
      const [a, b] = [stops[i]!, stops[i + 1]!];
      return [0, 1, 2].map((c) => Math.round(a[c]! + (b[c]! - a[c]!) * t)) as Rgb;
    },
    stops: () => stops.map((rgb, i) => [i / last, [...rgb] as Rgb]),
  };
}

/** Colour for values that are not numbers (NaN), distinct from every viridis colour. */
export const MISSING_VALUE_COLOUR: Rgb = [200, 200, 200];

/**
 * Viridis (matplotlib's perceptually uniform sequential map, 0 = dark purple, 1 = yellow) sampled at 9
 * evenly spaced points; linear interpolation between them stays within a few units of the full
 * 256-entry table.
 */
export const VIRIDIS = linearColourMap(
  [
    [68, 1, 84],
    [72, 40, 120],
    [62, 73, 137],
    [49, 104, 142],
    [38, 130, 142],
    [31, 158, 137],
    [53, 183, 121],
    [110, 206, 88],
    [253, 231, 37],
  ],
  MISSING_VALUE_COLOUR,
);

/** CSS `rgb(...)` string of an {@link Rgb}. */
export function rgbCss([r, g, b]: Rgb): string {
  return `rgb(${r}, ${g}, ${b})`;
}

/** `colour` (a `#rrggbb` string) with the given opacity, as CSS `rgba(...)`. */
export function withOpacity(colour: string, opacity: number): string {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(colour);
  if (!m) return colour;
  const [r, g, b] = [m[1], m[2], m[3]].map((h) => parseInt(h ?? '0', 16));
  return `rgba(${r}, ${g}, ${b}, ${opacity})`;
}

/**
 * `colour` (a `#rrggbb` string) mixed with white: `amount` 1 is the colour, 0 white. Opaque, unlike
 * {@link withOpacity}, so that a fill looks the same whatever lies beneath it.
 */
export function tint(colour: string, amount: number): string {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(colour);
  if (!m) return colour;
  const channels = [m[1], m[2], m[3]].map((h) => Math.round(255 - (255 - parseInt(h ?? 'ff', 16)) * amount));
  return `#${channels.map((c) => c.toString(16).padStart(2, '0')).join('')}`;
}

/**
 * Writes a drawn figure's heading centred across `width`: the title in bold with its top at `top`,
 * then each subtitle line (legend size) with its top where given. Leaves the text centred, top-aligned.
 */
export function fillHeading(ctx: SKRSContext2D, width: number, title: string, top: number, subtitles: readonly (readonly [text: string, top: number])[]): void {
  ctx.fillStyle = TEXT_COLOUR;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  ctx.font = cssFont(FONT_SIZES.title, 'bold');
  ctx.fillText(title, width / 2, top);
  ctx.font = cssFont(FONT_SIZES.legend);
  for (const [text, lineTop] of subtitles) ctx.fillText(text, width / 2, lineTop);
}

/** Writes `text` turned a quarter left (as a y-axis title reads), centred at (x, y), in the context's font and colour. */
export function fillVerticalText(ctx: SKRSContext2D, text: string, x: number, y: number): void {
  ctx.save();
  ctx.translate(x, y);
  ctx.rotate(-Math.PI / 2);
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  ctx.fillText(text, 0, 0);
  ctx.restore();
}

/** CSS font shorthand for drawing directly on a canvas context with the theme font. */
export function cssFont(sizePx: number, weight: 'normal' | 'bold' = 'normal'): string {
  return `${weight} ${sizePx}px ${FONT_FAMILY}`;
}

/**
 * Sets Chart.js global defaults (font, colours, no animation) on one Chart.js instance.
 * Called once per renderer, so figures need only state what differs from the theme.
 */
export function applyChartDefaults(chartJs: typeof Chart): void {
  const d = chartJs.defaults;
  d.font.family = FONT_FAMILY;
  d.font.size = FONT_SIZES.tick;
  d.color = TEXT_COLOUR;
  d.borderColor = GRID_COLOUR;
  d.animation = false;
  d.responsive = false;
  d.maintainAspectRatio = false;
  d.plugins.title.font = { family: FONT_FAMILY, size: FONT_SIZES.title, weight: 'bold' };
  d.plugins.title.color = TEXT_COLOUR;
  d.plugins.legend.labels.font = { family: FONT_FAMILY, size: FONT_SIZES.legend };
  d.plugins.legend.labels.color = TEXT_COLOUR;
  d.plugins.tooltip.enabled = false;
}

/** Axis title options in the theme style (Chart.js `scales.*.title`). */
export function axisTitle(text: string): { display: boolean; text: string; color: string; font: { size: number; family: string } } {
  return { display: text.length > 0, text, color: TEXT_COLOUR, font: { size: FONT_SIZES.axisTitle, family: FONT_FAMILY } };
}

/**
 * A linear axis over [0, 1] in tenths, in the theme style: the scale of every alpha and of the
 * interpolation weight t (Chart.js `scales.*`).
 */
export function unitAxis(title: string) {
  return { type: 'linear' as const, min: 0, max: 1, title: axisTitle(title), ticks: { stepSize: 0.1 }, grid: { color: GRID_COLOUR } };
}
