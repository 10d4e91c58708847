import { describe, expect, it } from 'vitest';

import { aligners } from '../../src/align/aligners.js';
import { accuracyChartConfig, renderAccuracyChart } from '../../src/report/accuracyChart.js';
import { FIGURE, MERGE_GROUP_COLOURS, mergeGroupColour, TEXT_COLOUR } from '../../src/report/theme.js';
import { aggregateRepeats } from '../../src/run/aggregateRepeats.js';
import { sampleMetrics } from './fixtures.js';
import { colourDistance, decodePng, distinctColours, inkFraction, isColour, looksLikeSvg, subpaths, svgShapes } from './pixels.js';

describe('accuracyChartConfig', () => {
  const config = accuracyChartConfig(sampleMetrics());

  it('has a bar per row, in % and coloured by group', () => {
    expect(config.data.labels).toHaveLength(15);
    expect(config.data.labels?.[3]).toBe('none · uniform');
    // Groups of merges in table order (none, permutation, cca) take the group colours in order.
    expect(config.data.datasets.map((d) => d.label)).toEqual(['base models', 'logit ensemble', 'align none', 'align permutation', 'align cca']);
    const cca = config.data.datasets.find((d) => d.backgroundColor === MERGE_GROUP_COLOURS[2]);
    expect(cca?.data.filter((v) => v !== null)).toHaveLength(4);
    // Every bar belongs to exactly one group.
    for (let i = 0; i < 15; i++) expect(config.data.datasets.filter((d) => d.data[i] !== null)).toHaveLength(1);
    const modelA = config.data.datasets[0]?.data[0];
    expect(modelA).toBeCloseTo(98.13, 6);
  });

  it('gives an alignment method the same colour whatever else the report holds, and its variants others', () => {
    const metrics = sampleMetrics();
    metrics.merges = metrics.merges.filter((m) => m.align === 'cca').flatMap((m) => [m, { ...m, label: `cca (gamma 0.1) · ${m.alpha}`, alignLabel: 'cca (gamma 0.1)' }]);
    const groups = accuracyChartConfig(metrics).data.datasets.slice(2);
    // Further variants take the colours after those of every registered aligner.
    expect(groups.map((d) => [d.label, d.backgroundColor])).toEqual([
      ['align cca', MERGE_GROUP_COLOURS[2]],
      ['align cca (gamma 0.1)', mergeGroupColour(aligners.names().length)],
    ]);
  });

  it('starts the y axis 5 points below the worst bar, rounded down to 5', () => {
    expect(config.options?.scales?.y?.min).toBe(35); // worst is 43.21
  });
});

describe('renderAccuracyChart', () => {
  it('renders a non-blank PNG with the merge colours, and an SVG', async () => {
    const figure = renderAccuracyChart(sampleMetrics());
    const pixels = await decodePng(figure.png);
    expect([pixels.width, pixels.height]).toEqual([FIGURE.width, FIGURE.height]);
    expect(distinctColours(pixels)).toBeGreaterThan(50);
    expect(inkFraction(pixels)).toBeGreaterThan(0.1);
    // Solid bar colours appear in the image.
    for (const colour of MERGE_GROUP_COLOURS.slice(0, 3)) {
      const rgb = [1, 3, 5].map((i) => parseInt(colour.slice(i, i + 2), 16));
      let found = false;
      for (let o = 0; o < pixels.data.length && !found; o += 4) {
        found = colourDistance([pixels.data[o]!, pixels.data[o + 1]!, pixels.data[o + 2]!], rgb) <= 2;
      }
      expect(found, colour).toBe(true);
    }
    expect(looksLikeSvg(figure.svg)).toBe(true);
  });
});

describe('accuracy chart of a run of several repeats', () => {
  it('draws each bar at the mean with an error bar of one sample std, proportional to it', () => {
    const shifted = (delta: number) => {
      const m = sampleMetrics();
      m.models.forEach((model, i) => (model.testAccuracy += delta * (i + 1)));
      m.ensemble.testAccuracy += delta;
      m.merges.forEach((merge) => (merge.testAccuracy += delta));
      return m;
    };
    const metrics = aggregateRepeats([0, 0.01, 0.02].map((delta, r) => ({ seed: r, dir: `repeat-${r + 1}`, metrics: shifted(delta) })));
    const figure = renderAccuracyChart(metrics);
    // An error bar: one stroke with two caps, three subpaths.
    const bars = svgShapes(figure.svg).filter((s) => isColour(s.attrs.stroke, TEXT_COLOUR) && subpaths(s.attrs.d) === 3);
    const rows = metrics.models.length + 1 + metrics.merges.length;
    expect(bars).toHaveLength(rows);
    const height = (bar: (typeof bars)[number]) => {
      const [, y1, , y2] = (/^M([\d.]+) ([\d.]+)L([\d.]+) ([\d.]+)/.exec(bar.attrs.d ?? '') ?? []).slice(1).map(Number);
      return Math.abs(y2! - y1!);
    };
    // Model B moved twice as far as model A between repeats: its error bar is twice as long.
    expect(height(bars[1]!) / height(bars[0]!)).toBeCloseTo(2, 1);
  });
});
