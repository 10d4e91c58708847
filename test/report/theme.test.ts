import { describe, expect, it } from 'vitest';

import {
  alphaColour,
  alphaColourStops,
  categoricalColour,
  categoricalDash,
  CATEGORICAL,
  MISSING_VALUE_COLOUR,
  withOpacity,
} from '../../src/report/theme.js';

describe('alphaColour', () => {
  it('maps the ends of [0, 1] to the ends of viridis', () => {
    expect(alphaColour(0)).toEqual([68, 1, 84]);
    expect(alphaColour(1)).toEqual([253, 231, 37]);
  });

  it('passes through its control points and interpolates between them', () => {
    for (const [value, rgb] of alphaColourStops()) expect(alphaColour(value)).toEqual(rgb);
    const mid = alphaColour(0.5 + 1 / 16); // halfway between stops 4 and 5
    expect(mid).toEqual([35, 144, 140]);
  });

  it('gets lighter as alpha grows (sequential)', () => {
    const lum = (v: number): number => {
      const [r, g, b] = alphaColour(v);
      return 0.2126 * r + 0.7152 * g + 0.0722 * b;
    };
    for (let v = 0; v < 1; v += 0.05) expect(lum(v + 0.05)).toBeGreaterThan(lum(v));
  });

  it('clamps values outside [0, 1] and marks NaN', () => {
    expect(alphaColour(-3)).toEqual(alphaColour(0));
    expect(alphaColour(7)).toEqual(alphaColour(1));
    expect(alphaColour(NaN)).toEqual(MISSING_VALUE_COLOUR);
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
