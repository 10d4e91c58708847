import { describe, expect, it } from 'vitest';

import type { SpaceCorrelations } from '../../src/artifacts/metrics.js';
import { correlationLayout, renderCorrelationHistograms, TOP1_COLOUR, TOP2_COLOUR } from '../../src/report/correlationHistogram.js';
import { FIGURE, TEXT_COLOUR } from '../../src/report/theme.js';
import { sampleCorrelations } from './fixtures.js';
import { decodePng, hasColour, isColour, looksLikeSvg, pixelAt, shapesIn, svgShapes } from './pixels.js';

const { cca, permutation } = sampleCorrelations() as Record<'cca' | 'permutation', Record<string, SpaceCorrelations>>;

describe('correlationLayout', () => {
  it('gives each CCA space a row: correlations left, coefficients right', () => {
    const layout = correlationLayout(cca);
    expect([layout.columns, layout.rows]).toEqual([2, 3]);
    expect(layout.panels.map((p) => `${p.space} ${p.quantity}`)).toEqual([
      'fc1 correlation',
      'fc1 coefficient',
      'fc2 correlation',
      'fc2 coefficient',
      'fc3 correlation',
      'fc3 coefficient',
    ]);
    expect(layout.panels.map((p) => p.units)).toEqual([64, 64, 32, 32, 16, 16]);
    // Every top-1 correlation lies in [0.9, 0.95): bin 18 of 20 holds all of them.
    const fc1 = layout.panels[0]!;
    expect(fc1.top1?.fractions[18]).toBe(1);
    expect(fc1.top2?.fractions[4]).toBe(1);
    expect(layout.panels[1]!.top1?.fractions[14]).toBe(1);
    expect([layout.yMax, layout.yTicks]).toEqual([100, [0, 50, 100]]);
    expect(layout.width).toBe(FIGURE.width);
  });

  it('stacks spaces without coefficients in one column, and in two beyond four spaces', () => {
    const one = correlationLayout(permutation);
    expect([one.columns, one.rows, one.panels.length]).toEqual([1, 3, 3]);
    expect(one.panels.every((p) => p.quantity === 'correlation')).toBe(true);
    const fc1 = permutation.fc1!;
    const ten = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`layer${i}`, fc1]));
    const layout = correlationLayout(ten);
    expect([layout.columns, layout.rows]).toEqual([2, 5]);
    // Panels never overlap, and all fit the figure.
    for (const p of layout.panels) {
      expect(p.right).toBeLessThanOrEqual(layout.width);
      expect(p.bottom).toBeLessThan(layout.height);
      expect(p.bottom - p.top).toBeGreaterThan(60);
    }
    for (let i = 2; i < layout.panels.length; i++) expect(layout.panels[i]!.top).toBeGreaterThan(layout.panels[i - 2]!.bottom);
  });

  it('leaves a coefficient panel empty for a space without them, and rejects nothing to draw', () => {
    const mixed = { fc1: cca.fc1!, fc2: permutation.fc2! };
    const layout = correlationLayout(mixed);
    expect(layout.panels.map((p) => [p.space, p.quantity, p.top1 !== undefined])).toEqual([
      ['fc1', 'correlation', true],
      ['fc1', 'coefficient', true],
      ['fc2', 'correlation', true],
      ['fc2', 'coefficient', false],
    ]);
    expect(() => correlationLayout({})).toThrow(RangeError);
    expect(() => correlationLayout(cca, { bins: 0 })).toThrow(RangeError);
  });

  it('scales the shared y axis to the highest bin', () => {
    // Spread over five bins: 20 % each.
    const spread = Array.from({ length: 50 }, (_, i) => 0.5 + (i % 5) * 0.1 + 0.01);
    const layout = correlationLayout({ fc1: { top1Correlation: spread, top2Correlation: spread } }, { bins: 10 });
    expect(layout.yMax).toBe(20);
    expect(layout.yTicks.at(-1)).toBe(20);
  });
});

describe('renderCorrelationHistograms', () => {
  const figure = renderCorrelationHistograms('cca', cca);
  const { layout } = figure;

  it('draws each histogram where its values lie: top-1 and top-2 bars of 100 % in their bins', async () => {
    const pixels = await decodePng(figure.png);
    expect([pixels.width, pixels.height]).toEqual([layout.width, layout.height]);
    for (const panel of layout.panels) {
      const x = (v: number) => panel.left + v * (panel.right - panel.left);
      // The top of the one full bar of each histogram, at the panel's top (100 %).
      const [top1, top2] = panel.quantity === 'correlation' ? [0.925, 0.225] : [0.725, 0.425];
      expect(hasColour(pixelAt(pixels, x(top1), panel.top), TOP1_COLOUR), `${panel.space} ${panel.quantity} top-1`).toBe(true);
      expect(hasColour(pixelAt(pixels, x(top2), panel.top), TOP2_COLOUR), `${panel.space} ${panel.quantity} top-2`).toBe(true);
      // Nothing at 100 % elsewhere.
      expect(hasColour(pixelAt(pixels, x(0.6), panel.top), TOP1_COLOUR, 40)).toBe(false);
    }
  });

  it('writes an SVG with a filled and outlined histogram per panel and series, and text as paths', () => {
    expect(looksLikeSvg(figure.svg)).toBe(true);
    expect(figure.svg.toString('utf8')).not.toMatch(/<text\b/);
    for (const colour of [TOP1_COLOUR, TOP2_COLOUR]) {
      // One outline per panel, plus the legend's swatch.
      expect(shapesIn(figure.svg, colour).stroked).toHaveLength(layout.panels.length + 1);
    }
    // Title, subtitle, legend, column headers, and per panel its name, unit count and tick labels.
    const text = svgShapes(figure.svg).filter((s) => s.tag === 'path' && isColour(s.attrs.fill, TEXT_COLOUR));
    expect(text.length).toBeGreaterThan(6 * (2 + 6));
  });

  it('grows taller with more spaces', async () => {
    const fc1 = cca.fc1!;
    const ten = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`layer${i}`, fc1]));
    const tall = renderCorrelationHistograms('cca', ten);
    expect(tall.layout.rows).toBe(10);
    expect((await decodePng(tall.png)).height).toBeGreaterThan(layout.height);
  });
});
