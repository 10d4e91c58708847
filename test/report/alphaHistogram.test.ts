import { describe, expect, it } from 'vitest';

import { alphaHistogramConfig, histogram01, renderAlphaHistograms } from '../../src/report/alphaHistogram.js';
import { FIGURE } from '../../src/report/theme.js';
import { sampleMasks } from './fixtures.js';
import { decodePng, distinctColours, inkFraction, looksLikeSvg } from './pixels.js';

describe('histogram01', () => {
  it('counts fractions per bin, with 1 in the last bin and NaN skipped', () => {
    const h = histogram01(Float32Array.from([0, 0.1, 0.49, 0.5, 1, NaN, -0.2, 1.3]), 4);
    expect(h.count).toBe(7);
    expect(h.fractions.map((f) => f * 7)).toEqual([3, 1, 1, 2].map((n) => expect.closeTo(n, 9)));
    expect(h.fractions.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
  });

  it('returns zeros for an empty tensor', () => {
    expect(histogram01(new Float32Array(0), 3)).toEqual({ fractions: [0, 0, 0], count: 0 });
  });
});

describe('alphaHistogramConfig', () => {
  it('has one stepped line per parameter spanning [0, 1]', () => {
    const masks = sampleMasks();
    const config = alphaHistogramConfig(masks, 'title', { bins: 40 });
    expect(config.data.datasets).toHaveLength(Object.keys(masks).length);
    const first = config.data.datasets[0]!;
    expect(first.label).toContain('dense_0/kernel');
    expect(first.data).toHaveLength(41);
    expect(first.data[0]?.x).toBe(0);
    expect(first.data[40]?.x).toBe(1);
    expect(first.data.slice(0, 40).reduce((a, p) => a + p.y, 0)).toBeCloseTo(1, 6);
  });
});

describe('renderAlphaHistograms', () => {
  it('renders a non-blank PNG and an SVG', async () => {
    const figure = renderAlphaHistograms(sampleMasks(), 'learned alpha (cca)');
    const pixels = await decodePng(figure.png);
    expect([pixels.width, pixels.height]).toEqual([FIGURE.width, FIGURE.height]);
    expect(distinctColours(pixels)).toBeGreaterThan(50);
    expect(inkFraction(pixels)).toBeGreaterThan(0.02);
    expect(looksLikeSvg(figure.svg)).toBe(true);
  });
});
