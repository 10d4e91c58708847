import { describe, expect, it } from 'vitest';

import { accuracyVsModelsConfig, MEAN_BASE_LABEL, renderAccuracyVsModels } from '../../src/report/accuracyVsModels.js';
import { ENSEMBLE_LABEL } from '../../src/report/rows.js';
import { BASE_MODEL_COLOUR, ENSEMBLE_COLOUR, FIGURE, MERGE_GROUP_COLOURS, variantColour } from '../../src/report/theme.js';
import { MANY_ACCURACY, sampleManyMetrics } from './fixtures.js';
import { decodePng, distinctColours, hasColour, inkFraction, looksLikeSvg, shapesIn, subpaths, svgShapes } from './pixels.js';

const many = () => sampleManyMetrics().many!;

/** The variants in the order the report lists them: by strategy, then alignment in registry order. */
const ORDERED = ['all-to-one · cca · learned', 'hierarchical · permutation · uniform', 'hierarchical · cca · learned'];

describe('accuracyVsModelsConfig', () => {
  const config = accuracyVsModelsConfig(many());

  it('puts exactly the N values present on the x axis', () => {
    expect(config.data.labels).toEqual(['2', '4', '8']);
    expect(config.options?.scales?.x?.title).toMatchObject({ text: 'models merged (N)' });
    expect(config.options?.scales?.y?.title).toMatchObject({ text: 'test accuracy (%)' });
  });

  it('has a line per variant in report order, then the ensemble and the mean base model', () => {
    expect(config.data.datasets.map((d) => d.label)).toEqual([...ORDERED, ENSEMBLE_LABEL, MEAN_BASE_LABEL]);
    const [first, permutation] = config.data.datasets;
    expect(first?.data).toEqual([2, 4, 8].map((n) => expect.closeTo(100 * MANY_ACCURACY[ORDERED[0]!]![n]!, 9)));
    // Missing at N = 8: a gap, not a zero.
    expect(permutation?.data[2]).toBeNull();
    expect(config.data.datasets.slice(0, 3).map((d) => d.borderColor)).toEqual([0, 1, 2].map(variantColour));
    // Marker shape by strategy: all-to-one one shape, both hierarchical variants another.
    const styles = config.data.datasets.slice(0, 3).map((d) => d.pointStyle);
    expect(styles[1]).toBe(styles[2]);
    expect(styles[0]).not.toBe(styles[1]);
  });

  it('dashes the references in their theme colours', () => {
    const [ensemble, meanBase] = config.data.datasets.slice(3);
    expect(ensemble?.borderColor).toBe(ENSEMBLE_COLOUR);
    expect(meanBase?.borderColor).toBe(BASE_MODEL_COLOUR);
    expect(ensemble?.borderDash).not.toEqual([]);
    expect(meanBase?.borderDash).not.toEqual([]);
    expect(meanBase?.data).toEqual([expect.closeTo(98.06, 9), expect.closeTo(98.01, 9), expect.closeTo(97.98, 9)]);
  });

  it('pins a merge that collapsed far below the references to the bottom of the axis, and writes its value there', () => {
    const collapsed = many();
    const victim = collapsed.merges.find((m) => m.label === ORDERED[0] && m.models === 4)!;
    victim.testAccuracy = 0.3;
    const pinned = accuracyVsModelsConfig(collapsed);
    const y = pinned.options?.scales?.y as { min: number; max: number };
    // The scale stays around the references (about 98%), not stretched down to 30%.
    expect(y.min).toBeGreaterThan(80);
    expect(pinned.data.datasets[0]?.data[1]).toBe(y.min);
    // Everything else as before.
    expect(pinned.data.datasets[0]?.data[0]).toBeCloseTo(100 * MANY_ACCURACY[ORDERED[0]!]![2]!, 9);
    const glyphs = (figure: ReturnType<typeof renderAccuracyVsModels>) => shapesIn(figure.svg, variantColour(0)).filled.length;
    // The value is written beside the pinned marker: more shapes in the variant's colour than its markers.
    expect(glyphs(renderAccuracyVsModels(collapsed))).toBeGreaterThan(glyphs(renderAccuracyVsModels(many())));
  });

  it('keeps a variant its colour whatever order metrics.json lists the merges in', () => {
    const reversed = many();
    reversed.merges.reverse();
    expect(accuracyVsModelsConfig(reversed).data.datasets.map((d) => [d.label, d.borderColor])).toEqual(
      config.data.datasets.map((d) => [d.label, d.borderColor]),
    );
  });
});

describe('renderAccuracyVsModels', () => {
  const figure = renderAccuracyVsModels(many());

  it('renders a non-blank PNG with every line colour, and an SVG with text as paths', async () => {
    const pixels = await decodePng(figure.png);
    expect([pixels.width, pixels.height]).toEqual([FIGURE.width, FIGURE.height]);
    expect(distinctColours(pixels)).toBeGreaterThan(50);
    expect(inkFraction(pixels)).toBeGreaterThan(0.02);
    for (const colour of [...MERGE_GROUP_COLOURS.slice(0, 3), ENSEMBLE_COLOUR, BASE_MODEL_COLOUR]) {
      let found = false;
      for (let o = 0; o < pixels.data.length && !found; o += 4) found = hasColour([pixels.data[o]!, pixels.data[o + 1]!, pixels.data[o + 2]!], colour, 2);
      expect(found, colour).toBe(true);
    }
    expect(looksLikeSvg(figure.svg)).toBe(true);
    expect(figure.svg.toString('utf8')).not.toMatch(/<text\b/);
  });

  it('draws one solid line per variant and one marker per N it was measured at (plus its legend marker)', () => {
    ORDERED.forEach((label, i) => {
      const { filled, stroked } = shapesIn(figure.svg, variantColour(i));
      const lines = stroked.filter((s) => s.attrs['stroke-width'] === '2');
      expect(lines, label).toHaveLength(1);
      expect(filled, label).toHaveLength(Object.keys(MANY_ACCURACY[label]!).length + 1);
    });
  });

  it('draws the ensemble dashed, and an error bar with caps at each N proportional to the std', () => {
    // A dashed line is written as one filled outline per dash.
    expect(shapesIn(figure.svg, ENSEMBLE_COLOUR).filled.some((s) => subpaths(s.attrs.d) > 10)).toBe(true);
    const bars = shapesIn(figure.svg, BASE_MODEL_COLOUR).stroked.filter((s) => subpaths(s.attrs.d) === 3);
    expect(bars).toHaveLength(3);
    // Each bar: a vertical stroke "M x top L x bottom" and two caps.
    const lengths = bars.map((bar) => {
      const [x1, y1, x2, y2] = (/^M([\d.]+) ([\d.]+)L([\d.]+) ([\d.]+)/.exec(bar.attrs.d ?? '') ?? []).slice(1).map(Number);
      expect(x1).toBeCloseTo(x2!, 3);
      return Math.abs(y2! - y1!);
    });
    const stds = [0.1, 0.15, 0.12];
    for (let i = 1; i < 3; i++) expect(lengths[i]! / lengths[0]!).toBeCloseTo(stds[i]! / stds[0]!, 2);
  });

  it('renders references alone, and merges without references', () => {
    const onlyReferences = { merges: [], references: many().references };
    expect(svgShapes(renderAccuracyVsModels(onlyReferences).svg).length).toBeGreaterThan(10);
    const onlyMerges = { merges: many().merges, references: [] };
    expect(accuracyVsModelsConfig(onlyMerges).data.labels).toEqual(['2', '4', '8']);
  });
});
