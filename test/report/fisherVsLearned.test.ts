import { describe, expect, it } from 'vitest';

import {
  DIAGONAL_COLOUR,
  densityColour,
  fisherLearnedCorrelation,
  fisherLearnedSummary,
  fisherVsLearnedLayout,
  histogram2d,
  layerOf,
  pairLayers,
  renderFisherVsLearned,
} from '../../src/report/fisherVsLearned.js';
import { FIGURE, VIRIDIS } from '../../src/report/theme.js';
import type { AlphaMaskSet } from '../../src/report/types.js';
import { InputError } from '../../src/util/errors.js';
import { countingRanks, lcg, sumsPearson } from './referenceStatistics.js';
import { colourDistance, decodePng, distinctColours, inkFraction, looksLikeSvg, pixelAt, shapesIn, subpaths, svgShapes } from './pixels.js';

/** A dense layer with bias, a BatchNorm layer, and a convolution: Fisher alpha at random, learned its own function of it. */
function masksOf(learn: (fisher: number, r: () => number) => number): { fisher: AlphaMaskSet; learned: AlphaMaskSet } {
  const random = lcg(11);
  const shapes: Record<string, number[]> = { 'conv1.weight': [3, 3, 2, 4], 'bn1.weight': [4], 'bn1.bias': [4], 'fc.weight': [16, 10], 'fc.bias': [10] };
  const fisher: AlphaMaskSet = {};
  const learned: AlphaMaskSet = {};
  for (const [name, shape] of Object.entries(shapes)) {
    const values = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => random());
    fisher[name] = { shape, values };
    learned[name] = { shape, values: values.map((v) => learn(v, random)) };
  }
  return { fisher, learned };
}

describe('layerOf and pairLayers', () => {
  it('names a parameter by its layer', () => {
    expect(['fc1.weight', 'layer2.0.shortcut.conv.weight', 'dense_0/kernel', 'scale'].map(layerOf)).toEqual(['fc1', 'layer2.0.shortcut.conv', 'dense_0', 'scale']);
  });

  it('pools each bias with its weight, leaves vector-only layers out, and keeps the masks order', () => {
    const { fisher, learned } = masksOf((v) => v);
    const layers = pairLayers(fisher, learned);
    expect(layers.map((l) => [l.layer, l.tensors])).toEqual([
      ['conv1', ['conv1.weight']],
      ['fc', ['fc.weight', 'fc.bias']],
    ]);
    expect(layers[1]!.fisher).toHaveLength(170);
    expect(Array.from(layers[1]!.fisher.subarray(160))).toEqual(Array.from(fisher['fc.bias']!.values));
  });

  it('refuses masks of different parameters or shapes', () => {
    const { fisher, learned } = masksOf((v) => v);
    const { 'fc.bias': _, ...fewer } = learned;
    expect(() => pairLayers(fisher, fewer)).toThrow(InputError);
    expect(() => pairLayers(fisher, { ...learned, 'fc.weight': { shape: [10, 16], values: learned['fc.weight']!.values } })).toThrow(InputError);
  });
});

describe('fisherLearnedCorrelation', () => {
  it('is 1 where learning kept the Fisher ranks, and matches independent computations on pooled entries', () => {
    const monotone = masksOf((v) => v ** 3);
    const exact = fisherLearnedCorrelation(monotone.fisher, monotone.learned);
    expect(Object.keys(exact)).toEqual(['conv1', 'fc']);
    expect(exact.conv1).toMatchObject({ spearman: expect.closeTo(1, 12), count: 72 });
    expect(exact.fc!.pearson).toBeLessThan(0.99);

    const noisy = masksOf((v, r) => Math.round((0.5 * v + 0.5 * r()) * 8) / 8);
    const result = fisherLearnedCorrelation(noisy.fisher, noisy.learned);
    const x = [...noisy.fisher['fc.weight']!.values, ...noisy.fisher['fc.bias']!.values];
    const y = [...noisy.learned['fc.weight']!.values, ...noisy.learned['fc.bias']!.values];
    expect(result.fc!.count).toBe(170);
    expect(result.fc!.pearson).toBeCloseTo(sumsPearson(x, y), 10);
    expect(result.fc!.spearman).toBeCloseTo(sumsPearson(countingRanks(x), countingRanks(y)), 10);
  });

  it('leaves out pairs with a NaN, and is undefined (NaN) for a learned alpha that never left 0.5', () => {
    const { fisher, learned } = masksOf((v) => 1 - v);
    learned['conv1.weight']!.values[3] = NaN;
    fisher['conv1.weight']!.values[5] = NaN;
    const result = fisherLearnedCorrelation(fisher, learned);
    expect(result.conv1).toMatchObject({ count: 70, pearson: expect.closeTo(-1, 6), spearman: expect.closeTo(-1, 12) });
    const uniform = masksOf(() => 0.5);
    const flat = fisherLearnedCorrelation(uniform.fisher, uniform.learned);
    expect(flat.fc!.pearson).toBeNaN();
    expect(flat.fc!.spearman).toBeNaN();
    expect(fisherLearnedSummary('cca · learned (uniform init)', flat)).toBe('cca · learned (uniform init): conv1 ρ n/a (r n/a), fc ρ n/a (r n/a)');
    expect(fisherLearnedSummary('cca', result)).toBe('cca: conv1 ρ -1.00 (r -1.00), fc ρ -1.00 (r -1.00)');
  });
});

describe('histogram2d', () => {
  it('counts pairs by learned bin (rows) and Fisher bin (columns), 1 in the last bin, NaN skipped', () => {
    const counts = histogram2d([0, 0.3, 1, 0.99, NaN, 0.6], [0.1, 0.8, 1, 0.2, 0.5, NaN], 4);
    const expected = new Uint32Array(16);
    expected[0 * 4 + 0] = 1; // (0, 0.1)
    expected[3 * 4 + 1] = 1; // (0.3, 0.8)
    expected[3 * 4 + 3] = 1; // (1, 1)
    expected[0 * 4 + 3] = 1; // (0.99, 0.2)
    expect(Array.from(counts)).toEqual(Array.from(expected));
  });
});

describe('fisherVsLearnedLayout', () => {
  it('places one square panel per layer, in whole-px cells, with a colour scale shared by all', () => {
    const { fisher, learned } = masksOf((v) => v);
    const layout = fisherVsLearnedLayout(fisher, learned, { bins: 20 });
    expect(layout.panels.map((p) => p.layer)).toEqual(['conv1', 'fc']);
    expect([layout.columns, layout.rows, layout.width]).toEqual([2, 1, FIGURE.width]);
    for (const p of layout.panels) {
      expect(Number.isInteger(p.cell) && p.cell >= 1).toBe(true);
      expect(p.side).toBe(p.cell * 20);
      expect(p.left + p.side).toBeLessThan(layout.colourBar.left);
      expect(p.counts.reduce((a, b) => a + b, 0)).toBe(p.count);
    }
    expect(layout.panels[1]!.left).toBeGreaterThan(layout.panels[0]!.left + layout.panels[0]!.side);
    // Identical alpha: every entry on the diagonal; the densest cell holds the largest share of any layer.
    const shares = layout.panels.flatMap((p) => Array.from(p.counts, (c) => c / p.count).filter((s) => s > 0));
    expect(layout.logMax).toBeCloseTo(Math.log10(Math.max(...shares)), 12);
    expect(layout.logMin).toBeCloseTo(Math.log10(Math.min(...shares)), 12);
    expect(() => fisherVsLearnedLayout({ b: fisher['bn1.bias']! }, { b: learned['bn1.bias']! })).toThrow(RangeError);
  });

  it('goes to rows of three or four for many layers', () => {
    const fisher: AlphaMaskSet = {};
    for (let i = 0; i < 10; i++) fisher[`layer${i}.weight`] = { shape: [4, 4], values: Float32Array.from({ length: 16 }, (_, k) => k / 15) };
    const layout = fisherVsLearnedLayout(fisher, fisher);
    expect([layout.columns, layout.rows]).toEqual([4, 3]);
    for (let i = 4; i < 10; i++) expect(layout.panels[i]!.top).toBeGreaterThan(layout.panels[i - 4]!.top + layout.panels[i - 4]!.side);
    expect(Math.max(...layout.panels.map((p) => p.top + p.side))).toBeLessThan(layout.height);
  });
});

describe('renderFisherVsLearned', () => {
  const bins = 10;
  // Learned alpha equal to the Fisher alpha: only diagonal cells hold entries.
  const same = masksOf((v) => v);
  const figure = renderFisherVsLearned('cca', same.fisher, same.learned, { bins });
  const { layout } = figure;

  it('renders a non-blank PNG whose cells sit on the diagonal in their density colour, and white elsewhere', async () => {
    const pixels = await decodePng(figure.png);
    expect([pixels.width, pixels.height]).toEqual([layout.width, layout.height]);
    expect(distinctColours(pixels)).toBeGreaterThan(30);
    expect(inkFraction(pixels)).toBeGreaterThan(0.02);
    for (const panel of layout.panels) {
      const bottom = panel.top + panel.side;
      for (let k = 0; k < bins; k++) {
        const count = panel.counts[k * bins + k]!;
        // Sample a cell's corner region, clear of the dashed diagonal through its centre.
        const at = (i: number, j: number) => pixelAt(pixels, panel.left + i * panel.cell + 1.5, bottom - (j + 1) * panel.cell + 1.5);
        if (count > 0) expect(colourDistance(at(k, k), densityColour(count / panel.count, layout)), `${panel.layer} cell ${k}`).toBeLessThanOrEqual(3);
        expect(colourDistance(at(k, (k + 3) % bins), [255, 255, 255]), `${panel.layer} off-diagonal ${k}`).toBeLessThanOrEqual(3);
      }
    }
    // The densest cell of all takes the dark end of the scale.
    const darkest = VIRIDIS.colour(0);
    let found = false;
    for (let o = 0; o < pixels.data.length && !found; o += 4) found = colourDistance([pixels.data[o]!, pixels.data[o + 1]!, pixels.data[o + 2]!], darkest) <= 2;
    expect(found).toBe(true);
  });

  it('draws one SVG square per non-empty cell, and one dashed diagonal per panel', () => {
    expect(looksLikeSvg(figure.svg)).toBe(true);
    expect(figure.svg.toString('utf8')).not.toMatch(/<text\b/);
    const cells = svgShapes(figure.svg).filter((s) => s.tag === 'rect' && /^#[0-9a-f]{6}$/i.test(s.attrs.fill ?? ''));
    const nonEmpty = layout.panels.reduce((n, p) => n + p.counts.filter((c) => c > 0).length, 0);
    expect(nonEmpty).toBeGreaterThan(layout.panels.length);
    expect(cells).toHaveLength(nonEmpty);
    for (const cell of cells) expect([Number(cell.attrs.width), Number(cell.attrs.height)]).toEqual([layout.panels[0]!.cell, layout.panels[0]!.cell]);
    // A dashed line is written as one filled outline made of a subpath per dash.
    const diagonals = shapesIn(figure.svg, DIAGONAL_COLOUR).filled.filter((s) => subpaths(s.attrs.d) > 5);
    expect(diagonals).toHaveLength(layout.panels.length);
  });

  it('fills the off-diagonal cells where learning moved away from the Fisher alpha', () => {
    const moved = masksOf((v) => 1 - v);
    const anti = renderFisherVsLearned('cca', moved.fisher, moved.learned, { bins });
    for (const panel of anti.layout.panels) {
      for (let k = 0; k < bins; k++) for (let j = 0; j < bins; j++) if (panel.counts[j * bins + k]! > 0) expect(j + k).toBe(bins - 1);
      expect(panel.pearson).toBeCloseTo(-1, 6);
    }
  });
});
