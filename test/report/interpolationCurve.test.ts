import { describe, expect, it } from 'vitest';

import type { InterpolationPoint } from '../../src/merge/interpolation.js';
import { alignmentColours } from '../../src/report/alignmentColours.js';
import {
  interpolationCurvesConfig,
  renderInterpolationCurves,
  type InterpolationCurve,
  type InterpolationMarker,
} from '../../src/report/interpolationCurve.js';
import { FIGURE, MERGE_GROUP_COLOURS, TEXT_COLOUR, variantColour } from '../../src/report/theme.js';
import { decodePng, distinctColours, hasColour, inkFraction, looksLikeSvg, shapesIn, type SvgShape } from './pixels.js';

/** A curve of 11 points whose loss rises by `bump` at t = 0.5 above the ends' 0.1, its accuracy falling by bump / 3. */
function bumpedCurve(alignLabel: string, align: string, bump: number): InterpolationCurve {
  const points: InterpolationPoint[] = Array.from({ length: 11 }, (_, i) => {
    const t = i / 10;
    const rise = 4 * t * (1 - t);
    return { t, testLoss: 0.1 + bump * rise, testAccuracy: 0.97 - (bump / 3) * rise };
  });
  return { alignLabel, align, points, barrier: { loss: bump, accuracy: bump / 3 } };
}

const curves = [bumpedCurve('none', 'none', 1.2), bumpedCurve('permutation', 'permutation', 0.3), bumpedCurve('cca', 'cca', 0.1)];
/** Uniform merges at t = 0.5 and learned merges at their mean alpha; permutation has none. */
const markers: InterpolationMarker[] = [
  { label: 'none · uniform', alignLabel: 'none', t: 0.5, testLoss: 1.3, testAccuracy: 0.57 },
  { label: 'none · learned', alignLabel: 'none', t: 0.62, testLoss: 0.5, testAccuracy: 0.8 },
  { label: 'cca · uniform', alignLabel: 'cca', t: 0.5, testLoss: 0.2, testAccuracy: 0.937 },
  { label: 'cca · learned', alignLabel: 'cca', t: 0.47, testLoss: 0.15, testAccuracy: 0.95 },
];
/** none, permutation and cca take their methods' colours, as in the accuracy chart. */
const COLOURS = MERGE_GROUP_COLOURS.slice(0, 3);

/** Width and height in device pixels, from the PNG's header (IHDR: big-endian, at bytes 16 and 20). */
function pngSize(png: Buffer): [number, number] {
  return [png.readUInt32BE(16), png.readUInt32BE(20)];
}

/** The y coordinates of an SVG path's points. */
function ysOf(shape: SvgShape): number[] {
  return [...(shape.attrs.d ?? '').matchAll(/[ML]([-\d.]+) ([-\d.]+)/g)].map((m) => Number(m[2]));
}

describe('interpolationCurvesConfig', () => {
  const config = interpolationCurvesConfig(curves, markers);
  const datasets = config.data.datasets;

  it('draws t from 0 to 1 against stacked loss and accuracy axes with their units', () => {
    const scales = config.options?.scales as Record<string, { min?: number; max?: number; title?: { text: string }; stack?: string }>;
    expect(scales.x).toMatchObject({ min: 0, max: 1, title: { text: 't (weight on model A)' } });
    expect(scales.loss).toMatchObject({ stack: 'panels', title: { text: 'test loss (nats)' } });
    expect(scales.accuracy).toMatchObject({ stack: 'panels', title: { text: 'test accuracy (%)' } });
    expect(scales.accuracy!.max).toBeLessThanOrEqual(100);
    expect(scales.accuracy!.min).toBeLessThanOrEqual(57);
  });

  it('has a loss and an accuracy line per alignment in its colour, accuracy in %', () => {
    const lines = datasets.slice(0, 6);
    expect(lines.map((d) => d.yAxisID)).toEqual(['loss', 'accuracy', 'loss', 'accuracy', 'loss', 'accuracy']);
    expect(lines.map((d) => d.borderColor)).toEqual(COLOURS.flatMap((c) => [c, c]));
    expect(lines[0]!.label).toMatch(/^none \(barrier: loss 1\.200, accuracy 40\.0 pts\)$/);
    expect(lines[1]!.data[5]).toEqual({ x: 0.5, y: expect.closeTo(57, 9) });
    expect(lines[4]!.data[10]).toEqual({ x: 1, y: expect.closeTo(0.1, 12) });
  });

  it('puts each merge at its t on both panels, coloured by alignment and shaped by merge kind', () => {
    const [onLoss, onAccuracy] = datasets.slice(6);
    expect(onLoss!.data).toEqual(markers.map((m) => ({ x: m.t, y: m.testLoss })));
    expect(onAccuracy!.data).toEqual(markers.map((m) => ({ x: m.t, y: expect.closeTo(100 * m.testAccuracy, 9) })));
    expect(onLoss!.pointBackgroundColor).toEqual([COLOURS[0], COLOURS[0], COLOURS[2], COLOURS[2]]);
    const shapes = onLoss!.pointStyle as string[];
    expect(shapes[0]).toBe(shapes[2]);
    expect(shapes[1]).toBe(shapes[3]);
    expect(shapes[0]).not.toBe(shapes[1]);
  });

  it('leaves a gap for a NaN loss, and sorts points by t', () => {
    const broken = bumpedCurve('cca', 'cca', 0.1);
    const points = [...broken.points].reverse();
    points[5] = { ...points[5]!, testLoss: Number.NaN };
    const line = interpolationCurvesConfig([{ ...broken, points, barrier: { loss: Number.NaN, accuracy: 0 } }]).data.datasets[0]!;
    expect(line.data.map((p) => p.x)).toEqual(broken.points.map((p) => p.t));
    expect(line.data[5]!.y).toBeNull();
    expect(line.label).toContain('loss n/a');
  });

  it("gives a method's first variant the method's colour, further variants the colours after the methods'", () => {
    const colours = alignmentColours([
      { alignLabel: 'cca', align: 'cca' },
      { alignLabel: 'cca (gamma 0.1)', align: 'cca' },
      { alignLabel: 'permutation', align: 'permutation' },
    ]);
    expect(colours.get('cca')).toBe(MERGE_GROUP_COLOURS[2]);
    expect(colours.get('permutation')).toBe(MERGE_GROUP_COLOURS[1]);
    expect(colours.get('cca (gamma 0.1)')).not.toBe(colours.get('cca'));
    // Without methods: the variant colours in order.
    expect([...alignmentColours([{ alignLabel: 'x' }, { alignLabel: 'y' }]).values()]).toEqual([variantColour(0), variantColour(1)]);
  });
});

describe('renderInterpolationCurves', () => {
  const figure = renderInterpolationCurves(curves, markers);

  it('renders a non-blank PNG of the figure size in which every line colour is drawn', async () => {
    // The PNG is the layout (default width, two-panel height) at the report's print scale.
    const scale = (FIGURE as { pngScale?: number }).pngScale ?? 1;
    expect(pngSize(figure.png)).toEqual([FIGURE.width * scale, 680 * scale]);
    const pixels = await decodePng(figure.png);
    expect(distinctColours(pixels)).toBeGreaterThan(50);
    expect(inkFraction(pixels)).toBeGreaterThan(0.02);
    for (const colour of COLOURS) {
      let found = false;
      for (let o = 0; o < pixels.data.length && !found; o += 4) found = hasColour([pixels.data[o]!, pixels.data[o + 1]!, pixels.data[o + 2]!], colour, 2);
      expect(found, colour).toBe(true);
    }
    expect(looksLikeSvg(figure.svg)).toBe(true);
    expect(figure.svg.toString('utf8')).not.toMatch(/<text\b/);
  });

  it('strokes one line per alignment per panel, and fills a dot per point and a marker per merge on each panel', () => {
    curves.forEach((curve, i) => {
      const { filled, stroked } = shapesIn(figure.svg, COLOURS[i]!);
      expect(stroked.filter((s) => s.attrs['stroke-width'] === '2'), curve.alignLabel).toHaveLength(2);
      const merges = markers.filter((m) => m.alignLabel === curve.alignLabel).length;
      expect(filled, curve.alignLabel).toHaveLength(2 * (curve.points.length + merges));
    });
    // Every merge marker is outlined in the text colour on both panels, and each merge kind once in the legend.
    const outlines = shapesIn(figure.svg, TEXT_COLOUR).stroked.filter((s) => s.attrs['stroke-width'] === '1.5');
    expect(outlines).toHaveLength(2 * markers.length + 2);
  });

  it('keeps the legend above every line', () => {
    for (const colour of COLOURS) {
      const { stroked } = shapesIn(figure.svg, colour);
      const [legend] = stroked.filter((s) => s.attrs['stroke-width'] === '3');
      const lines = stroked.filter((s) => s.attrs['stroke-width'] === '2');
      expect(Math.max(...ysOf(legend!))).toBeLessThan(Math.min(...lines.flatMap(ysOf)));
    }
  });

  it('draws merges without curves, and refuses nothing to draw', () => {
    const alone = renderInterpolationCurves([], markers.slice(0, 1));
    expect(shapesIn(alone.svg, variantColour(0)).filled).toHaveLength(2);
    expect(() => renderInterpolationCurves([], [])).toThrow(RangeError);
  });
});
