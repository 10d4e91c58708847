import { describe, expect, it } from 'vitest';

import { renderAlphaTrainingCurves, trainingCurveConfig } from '../../src/report/trainingCurve.js';
import { FIGURE } from '../../src/report/theme.js';
import { sampleCurves } from './fixtures.js';
import { decodePng, distinctColours, inkFraction, looksLikeSvg } from './pixels.js';

describe('trainingCurveConfig', () => {
  it('has a loss and an accuracy (%) line per curve, sharing a colour', () => {
    const curves = sampleCurves();
    const { datasets } = trainingCurveConfig(curves).data;
    expect(datasets).toHaveLength(2 * curves.length);
    const [loss, acc] = [datasets[0]!, datasets[1]!];
    expect(loss.label).toBe('cca · fisher init');
    expect([loss.yAxisID, acc.yAxisID]).toEqual(['loss', 'accuracy']);
    expect(acc.borderColor).toBe(loss.borderColor);
    expect(datasets[2]!.borderColor).not.toBe(loss.borderColor);
    expect(acc.data[0]?.y).toBeCloseTo(100 * curves[0]!.points[0]!.accuracy, 9);
  });
});

describe('renderAlphaTrainingCurves', () => {
  it('renders a non-blank PNG and an SVG', async () => {
    const figure = renderAlphaTrainingCurves(sampleCurves());
    const pixels = await decodePng(figure.png);
    expect([pixels.width, pixels.height]).toEqual([FIGURE.width, FIGURE.height]);
    expect(distinctColours(pixels)).toBeGreaterThan(50);
    expect(inkFraction(pixels)).toBeGreaterThan(0.02);
    expect(looksLikeSvg(figure.svg)).toBe(true);
  });

  it('renders an empty list of curves without failing', async () => {
    const pixels = await decodePng(renderAlphaTrainingCurves([]).png);
    expect(pixels.width).toBe(FIGURE.width);
  });
});
