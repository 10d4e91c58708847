import { describe, expect, it } from 'vitest';

import {
  categoricalColour,
  categoricalDash,
  CATEGORICAL,
  ENSEMBLE_COLOUR,
  markerStyle,
  MERGE_GROUP_COLOURS,
  MISSING_VALUE_COLOUR,
  tint,
  variantColour,
  variantMarkerFilled,
  VIRIDIS,
  withOpacity,
} from '../../src/report/theme.js';

describe('VIRIDIS', () => {
  it('maps the ends of [0, 1] to the ends of viridis', () => {
    expect(VIRIDIS.colour(0)).toEqual([68, 1, 84]);
    expect(VIRIDIS.colour(1)).toEqual([253, 231, 37]);
  });

  it('passes through its control points and interpolates between them', () => {
    for (const [value, rgb] of VIRIDIS.stops()) expect(VIRIDIS.colour(value)).toEqual(rgb);
    const mid = VIRIDIS.colour(0.5 + 1 / 16); // halfway between stops 4 and 5
    expect(mid).toEqual([35, 144, 140]);
  });

  it('gets lighter as the value grows (sequential)', () => {
    const lum = (v: number): number => {
      const [r, g, b] = VIRIDIS.colour(v);
      return 0.2126 * r + 0.7152 * g + 0.0722 * b;
    };
    for (let v = 0; v < 1; v += 0.05) expect(lum(v + 0.05)).toBeGreaterThan(lum(v));
  });

  it('clamps values outside [0, 1] and marks NaN', () => {
    expect(VIRIDIS.colour(-3)).toEqual(VIRIDIS.colour(0));
    expect(VIRIDIS.colour(7)).toEqual(VIRIDIS.colour(1));
    expect(VIRIDIS.colour(NaN)).toEqual(MISSING_VALUE_COLOUR);
  });
});

describe('categorical colours', () => {
  it('cycles through the palette and switches dash pattern when it wraps', () => {
    expect(categoricalColour(0)).toBe(CATEGORICAL[0]);
    expect(categoricalColour(CATEGORICAL.length)).toBe(CATEGORICAL[0]);
    expect(new Set(CATEGORICAL).size).toBe(CATEGORICAL.length);
    expect(categoricalDash(0)).toEqual([]);
    expect(categoricalDash(CATEGORICAL.length)).not.toEqual([]);
  });

  it('adds opacity to hex colours', () => {
    expect(withOpacity('#0072B2', 0.5)).toBe('rgba(0, 114, 178, 0.5)');
  });
});

describe('variant styles', () => {
  it('never give a variant the ensemble colour, and mark cycled colours with hollow markers', () => {
    const colours = Array.from({ length: 20 }, (_, i) => variantColour(i));
    expect(colours).not.toContain(ENSEMBLE_COLOUR);
    expect(new Set(colours.slice(0, MERGE_GROUP_COLOURS.length)).size).toBe(MERGE_GROUP_COLOURS.length);
    expect(variantMarkerFilled(0)).toBe(true);
    expect(variantMarkerFilled(MERGE_GROUP_COLOURS.length)).toBe(false);
    expect(markerStyle(0)).not.toBe(markerStyle(1));
  });

  it('tints colours towards white, opaquely', () => {
    expect(tint('#0072B2', 1)).toBe('#0072b2');
    expect(tint('#0072B2', 0)).toBe('#ffffff');
    expect(tint('#000000', 0.5)).toBe('#808080');
  });
});
