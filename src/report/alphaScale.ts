/**
 * The colour scale of every alpha map: alpha in [0, 1] on a diverging map centred on 0.5, so that a
 * plain average is neutral and the two ends say which model a weight comes from. The domain is fixed
 * rather than fitted to the data, so all maps of a merge, and of a whole report, read alike.
 */

import type { SKRSContext2D } from '@napi-rs/canvas';

import { cssFont, FONT_SIZES, linearColourMap, rgbCss, TEXT_COLOUR, type Rgb } from './theme.js';

/**
 * Paul Tol's diverging "BuRd" scheme (ColorBrewer RdBu), which stays readable under the common
 * colour-vision deficiencies: blue for alpha 0 (model B), near-white for 0.5, red for 1 (model A).
 * @see https://personal.sron.nl/~pault/#fig:scheme_bured
 */
const BU_RD_STOPS: readonly Rgb[] = [
  [0x21, 0x66, 0xac],
  [0x43, 0x93, 0xc3],
  [0x92, 0xc5, 0xde],
  [0xd1, 0xe5, 0xf0],
  [0xf7, 0xf7, 0xf7],
  [0xfd, 0xdb, 0xc7],
  [0xf4, 0xa5, 0x82],
  [0xd6, 0x60, 0x4d],
  [0xb2, 0x18, 0x2b],
];

/** Colour of entries without a value (NaN): Tol's "bad data" colour for BuRd, unlike any colour of the map. */
export const ALPHA_MISSING_COLOUR: Rgb = [0xff, 0xee, 0x99];

/** Title of the alpha colour bar. */
export const ALPHA_SCALE_TITLE = 'alpha (1 = model A, 0 = model B)';

const BU_RD = linearColourMap(BU_RD_STOPS, ALPHA_MISSING_COLOUR);

/**
 * The alpha colour of `value` in [0, 1] (0 = model B blue, 0.5 = near-white, 1 = model A red), linear
 * between the scheme's stops. Values outside [0, 1] are clamped; NaN maps to {@link ALPHA_MISSING_COLOUR}.
 */
export function divergingAlphaColour(value: number): Rgb {
  return BU_RD.colour(value);
}

/** The control points of {@link divergingAlphaColour} as (value, colour) pairs, for canvas gradients. */
export function divergingAlphaStops(): [value: number, colour: Rgb][] {
  return BU_RD.stops();
}

/** Geometry of the colour bar in px. */
const COLOUR_BAR = { width: 18, tickLength: 5 } as const;

/**
 * Draws the alpha colour bar with its left edge at `x` from `top` (alpha 1) to `bottom` (alpha 0): ticks
 * at 0, 0.25, ..., 1, the ends marked with the model they stand for, and the title along the bar where
 * it fits (else "alpha"). Returns the right edge of what it drew.
 */
export function drawAlphaColourBar(ctx: SKRSContext2D, x: number, top: number, bottom: number): number {
  const height = bottom - top;
  ctx.save();
  // The map is piecewise linear between its stops, so a gradient through the same stops reproduces it,
  // and stays vector (and seamless) in the SVG version.
  const gradient = ctx.createLinearGradient(0, bottom, 0, top);
  for (const [offset, rgb] of divergingAlphaStops()) gradient.addColorStop(offset, rgbCss(rgb));
  ctx.fillStyle = gradient;
  ctx.fillRect(x, top, COLOUR_BAR.width, height);
  ctx.strokeStyle = TEXT_COLOUR;
  ctx.lineWidth = 1;
  ctx.strokeRect(x, top, COLOUR_BAR.width, height);
  ctx.fillStyle = TEXT_COLOUR;
  ctx.font = cssFont(FONT_SIZES.tick);
  ctx.textAlign = 'left';
  ctx.textBaseline = 'middle';
  let labelsRight = x + COLOUR_BAR.width;
  // The end labels name the models, so even a bar too short for its title says which end is which.
  const ticks: [number, string][] = [
    [0, '0 (B)'],
    [0.25, '0.25'],
    [0.5, '0.5'],
    [0.75, '0.75'],
    [1, '1 (A)'],
  ];
  for (const [tick, label] of ticks) {
    const y = bottom - tick * height;
    ctx.beginPath();
    ctx.moveTo(x + COLOUR_BAR.width, y);
    ctx.lineTo(x + COLOUR_BAR.width + COLOUR_BAR.tickLength, y);
    ctx.stroke();
    const labelX = x + COLOUR_BAR.width + COLOUR_BAR.tickLength + 3;
    ctx.fillText(label, labelX, y);
    labelsRight = Math.max(labelsRight, labelX + ctx.measureText(label).width);
  }
  // Title along the bar, reading top to bottom like Chart.js titles of right-hand axes.
  ctx.font = cssFont(FONT_SIZES.axisTitle);
  ctx.textAlign = 'center';
  ctx.translate(labelsRight + 6 + FONT_SIZES.axisTitle / 2, (top + bottom) / 2);
  ctx.rotate(Math.PI / 2);
  const title = ctx.measureText(ALPHA_SCALE_TITLE).width <= height ? ALPHA_SCALE_TITLE : 'alpha';
  ctx.fillText(title, 0, 0);
  ctx.restore();
  return labelsRight + 6 + FONT_SIZES.axisTitle;
}
