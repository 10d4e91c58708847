import { describe, expect, it } from 'vitest';

import { ALPHA_LAYERS_NOTE, alphaLayersConfig, alphaLayerStats, renderAlphaLayers } from '../../src/report/alphaLayers.js';
import { AXIS_COLOUR, FIGURE, tint, variantColour } from '../../src/report/theme.js';
import type { AlphaMaskSet } from '../../src/report/types.js';
import { decodePng, distinctColours, hasColour, inkFraction, looksLikeSvg, pixelAt, shapesIn, subpaths } from './pixels.js';

/** The values 0, 1/(n-1), ..., 1 in a scrambled order (a stride coprime to n), so that nothing relies on sorted input. */
function evenlySpread(n: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => ((i * 7919) % n) / (n - 1));
}

/** A small network's masks: an evenly spread weight, a constant bias, a weight split between 0.2 and 0.9. */
function masks(): AlphaMaskSet {
  return {
    'fc1.weight': { shape: [20, 11], values: evenlySpread(220) },
    'fc1.bias': { shape: [11], values: new Float32Array(11).fill(0.5) },
    // 30 entries at 0.2 then 70 at 0.9.
    'fc2.weight': { shape: [10, 10], values: Float32Array.from({ length: 100 }, (_, i) => (i < 30 ? 0.2 : 0.9)) },
  };
}

describe('alphaLayerStats', () => {
  it('matches the closed form for alpha spread evenly over [0, 1]', () => {
    const n = 220;
    const [stats] = alphaLayerStats(masks());
    expect(stats).toMatchObject({ name: 'fc1.weight', shape: [20, 11], count: n });
    // Values k / (n - 1): mean 1/2, population variance (n + 1) / (12 (n - 1)), and quantile p at exactly p.
    expect(stats!.mean).toBeCloseTo(0.5, 6);
    expect(stats!.std).toBeCloseTo(Math.sqrt((n + 1) / (12 * (n - 1))), 6);
    for (const [key, p] of [['min', 0], ['p5', 0.05], ['q1', 0.25], ['median', 0.5], ['q3', 0.75], ['p95', 0.95], ['max', 1]] as const) {
      expect(stats![key], key).toBeCloseTo(p, 6);
    }
  });

  it('matches the closed form for a constant tensor and for a two-valued one, in the masks order', () => {
    const [, bias, split] = alphaLayerStats(masks());
    expect(bias).toMatchObject({ name: 'fc1.bias', count: 11, std: 0, min: 0.5, max: 0.5 });
    expect([bias!.mean, bias!.p5, bias!.q1, bias!.median, bias!.q3, bias!.p95]).toEqual(new Array(6).fill(0.5).map((v) => expect.closeTo(v, 7)));
    // 30 % at a = 0.2 and 70 % at b = 0.9: mean 0.3 a + 0.7 b, std |b - a| sqrt(0.3 * 0.7).
    expect(split!.name).toBe('fc2.weight');
    expect(split!.mean).toBeCloseTo(0.3 * 0.2 + 0.7 * 0.9, 6);
    expect(split!.std).toBeCloseTo(0.7 * Math.sqrt(0.21), 6);
    // Order statistics 0..29 are 0.2: p5 and q1 (positions 4.95, 24.75) fall among them, q3 and p95 among the 0.9s;
    // p = 0.3 sits at position 29.7, between the last 0.2 and the first 0.9.
    expect([split!.p5, split!.q1, split!.q3, split!.p95]).toEqual([0.2, 0.2, 0.9, 0.9].map((v) => expect.closeTo(v, 6)));
  });

  it('leaves NaN out, and gives NaN statistics for a tensor of only NaN', () => {
    const values = Float32Array.from([NaN, 0.1, 0.3, NaN, 0.5]);
    const [stats, empty] = alphaLayerStats({ w: { shape: [5], values }, v: { shape: [2], values: Float32Array.from([NaN, NaN]) } });
    expect(stats).toMatchObject({ count: 3, min: expect.closeTo(0.1, 6), median: expect.closeTo(0.3, 6), max: expect.closeTo(0.5, 6) });
    expect(stats!.mean).toBeCloseTo(0.3, 6);
    expect(empty!.count).toBe(0);
    expect(empty!.mean).toBeNaN();
    expect(empty!.q1).toBeNaN();
  });
});

describe('alphaLayersConfig', () => {
  it('has a floating interquartile bar per tensor and merge, in variant colours, on a [0, 1] alpha axis', () => {
    const other: AlphaMaskSet = { 'fc1.weight': masks()['fc1.weight']!, 'fc2.weight': masks()['fc2.weight']! };
    const { config, layers } = alphaLayersConfig([
      { label: 'learned (uniform init)', masks: masks() },
      { label: 'learned (fisher init)', masks: other },
    ]);
    expect(layers).toEqual(['fc1.weight', 'fc1.bias', 'fc2.weight']);
    expect(config.data.labels).toEqual(layers);
    expect(config.data.datasets.map((d) => [d.label, d.borderColor])).toEqual([
      ['learned (uniform init)', variantColour(0)],
      ['learned (fisher init)', variantColour(1)],
    ]);
    const [first, second] = config.data.datasets;
    expect(first!.data[0]).toEqual([expect.closeTo(0.25, 6), expect.closeTo(0.75, 6)]);
    // The second merge has no bias: a gap, not a box.
    expect(second!.data[1]).toBeNull();
    expect(config.options?.scales?.y).toMatchObject({ min: 0, max: 1, title: { text: 'alpha (1 = model A)' } });
    expect(config.options?.plugins?.subtitle).toMatchObject({ text: ALPHA_LAYERS_NOTE });
    expect(() => alphaLayersConfig([])).toThrow(RangeError);
  });
});

describe('renderAlphaLayers', () => {
  const merges = [
    { label: 'fisher', masks: masks() },
    { label: 'learned', masks: masks() },
  ];
  const figure = renderAlphaLayers(merges, { title: 'alpha per layer (cca)' });

  it('renders a non-blank PNG with each merge colour, its box tint and the reference line', async () => {
    const pixels = await decodePng(figure.png);
    expect([pixels.width, pixels.height]).toEqual([FIGURE.width, FIGURE.height]);
    expect(distinctColours(pixels)).toBeGreaterThan(50);
    expect(inkFraction(pixels)).toBeGreaterThan(0.02);
    for (const colour of [variantColour(0), variantColour(1), tint(variantColour(0), 0.35), tint(variantColour(1), 0.35), AXIS_COLOUR]) {
      let found = false;
      for (let o = 0; o < pixels.data.length && !found; o += 4) found = hasColour([pixels.data[o]!, pixels.data[o + 1]!, pixels.data[o + 2]!], colour, 2);
      expect(found, colour).toBe(true);
    }
    expect(looksLikeSvg(figure.svg)).toBe(true);
    expect(figure.svg.toString('utf8')).not.toMatch(/<text\b/);
  });

  it('draws per merge one box, one mean dot and one whisker with caps per tensor', () => {
    const tensors = figure.layers.length;
    expect(tensors).toBe(3);
    merges.forEach((merge, i) => {
      const colour = variantColour(i);
      const { filled, stroked } = shapesIn(figure.svg, colour);
      // Box outlines are filled rings (even-odd); dots are curves.
      expect(filled.filter((s) => s.attrs['fill-rule'] === 'evenodd'), merge.label).toHaveLength(tensors);
      expect(filled.filter((s) => /Q/.test(s.attrs.d ?? '')), merge.label).toHaveLength(tensors);
      // Box interiors, plus the legend's swatch; the constant bias's box is all outline.
      expect(shapesIn(figure.svg, tint(colour, 0.35)).filled, merge.label).toHaveLength(tensors - 1 + 1);
      // All whiskers of a merge are one path: a vertical and two caps per tensor.
      expect(stroked.filter((s) => subpaths(s.attrs.d) === 3 * tensors), merge.label).toHaveLength(1);
    });
  });

  it('makes whiskers as long as the 5th to 95th percentile range', () => {
    const whiskers = shapesIn(figure.svg, variantColour(0)).stroked.find((s) => subpaths(s.attrs.d) === 9)!;
    const verticals = [...(whiskers.attrs.d ?? '').matchAll(/M([\d.]+) ([\d.]+)L([\d.]+) ([\d.]+)/g)]
      .map((m) => m.slice(1).map(Number))
      .filter(([x1, , x2]) => Math.abs(x1! - x2!) < 1e-3)
      .map(([, y1, , y2]) => Math.abs(y2! - y1!));
    expect(verticals).toHaveLength(3);
    const stats = alphaLayerStats(masks());
    const ranges = stats.map((s) => s.p95 - s.p5);
    // fc1.weight spans 0.9, the constant bias nothing, fc2.weight 0.7.
    expect(verticals[1]).toBeCloseTo(0, 3);
    expect(verticals[2]! / verticals[0]!).toBeCloseTo(ranges[2]! / ranges[0]!, 3);
  });

  it('puts the dashed reference at alpha 0.5, midway between the whisker ends of a symmetric tensor', async () => {
    const pixels = await decodePng(figure.png);
    const whiskers = shapesIn(figure.svg, variantColour(0)).stroked.find((s) => subpaths(s.attrs.d) === 9)!;
    const [x, top, , bottom] = (/^M([\d.]+) ([\d.]+)L([\d.]+) ([\d.]+)/.exec(whiskers.attrs.d ?? '') ?? []).slice(1).map(Number);
    // fc1.weight's whisker runs from 0.05 to 0.95, so alpha 0.5 is at its middle; the dashes run across the plot.
    const y = (top! + bottom!) / 2;
    const dashes = (at: number) => Array.from({ length: pixels.width }, (_, k) => pixelAt(pixels, k, at)).filter((p) => hasColour(p, AXIS_COLOUR, 30)).length;
    // Dashes between the boxes: a good share of the row, and nothing like it a few px off.
    expect(dashes(y)).toBeGreaterThan(pixels.width / 10);
    expect(dashes(y - 6)).toBeLessThan(pixels.width / 50);
    expect(x).toBeGreaterThan(0);
  });

  it('widens for many tensors so that every box keeps its room', async () => {
    const many: AlphaMaskSet = Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`layer${i}.weight`, { shape: [4, 4], values: evenlySpread(16) }]));
    const wide = renderAlphaLayers([{ label: 'a', masks: many }, { label: 'b', masks: many }]);
    expect(wide.layers).toHaveLength(60);
    expect((await decodePng(wide.png)).width).toBeGreaterThan(FIGURE.width * 2);
  });
});
