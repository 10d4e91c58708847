import { describe, expect, it } from 'vitest';

import { renderAlphaTrainingCurves, trainingCurveConfig } from '../../src/report/trainingCurve.js';
import { FIGURE } from '../../src/report/theme.js';
import { sampleCurves } from './fixtures.js';
import { decodePng, distinctColours, inkFraction, looksLikeSvg } from './pixels.js';

describe('trainingCurveConfig', () => {
  it('has a loss and an accuracy (%) line per curve, sharing a colour', () => {
    const curves = sampleCurves();
    const { datasets } = trainingCurveConfig(curves).data;
    expect(datasets).toHaveLength(3 * curves.length);
    const [loss, batchLoss, acc] = [datasets[0]!, datasets[1]!, datasets[2]!];
    expect(loss.label).toBe('cca · fisher init');
    expect([loss.yAxisID, acc.yAxisID]).toEqual(['loss', 'accuracy']);
    expect(acc.borderColor).toBe(loss.borderColor);
    expect(datasets[3]!.borderColor).not.toBe(loss.borderColor);
    // Without held-out points, the batch points are the curve and no faint copy is drawn.
    expect(batchLoss.data).toHaveLength(0);
    expect(acc.data[0]?.y).toBeCloseTo(100 * curves[0]!.points[0]!.accuracy, 9);
  });

  it('draws held-out points as the curve, batch losses faint, and marks the kept step', () => {
    const [curve] = sampleCurves();
    const validation = [0, 50, 100].map((step) => ({ step, loss: 1 / (1 + step), accuracy: 0.9 }));
    const { datasets } = trainingCurveConfig([{ ...curve!, validation, bestStep: 50 }]).data;
    const [loss, batchLoss] = [datasets[0]!, datasets[1]!];
    expect(loss.data.map((p) => p.x)).toEqual([0, 50, 100]);
    expect(batchLoss.data).toHaveLength(curve!.points.length);
    expect(batchLoss.borderColor).not.toBe(loss.borderColor);
    expect(loss.pointRadius).toEqual([2, 5, 2]);
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
