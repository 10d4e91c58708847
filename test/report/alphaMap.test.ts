import { describe, expect, it } from 'vitest';

import { alphaGrid, downsample, matrixShape, renderAlphaMap, unitTicks } from '../../src/report/alphaMap.js';
import { alphaColour, FIGURE } from '../../src/report/theme.js';
import { InputError } from '../../src/util/errors.js';
import { colourDistance, decodePng, distinctColours, looksLikeSvg, pixelAt } from './pixels.js';

/** A rows x cols mask whose left half of columns is 1 and right half 0. */
function halfMask(rows: number, cols: number): { shape: number[]; values: Float32Array } {
  const values = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols / 2; c++) values[r * cols + c] = 1;
  return { shape: [rows, cols], values };
}

describe('matrixShape', () => {
  it('keeps matrices, makes vectors one row and flattens trailing dimensions', () => {
    expect(matrixShape([784, 512])).toEqual([784, 512]);
    expect(matrixShape([10])).toEqual([1, 10]);
    expect(matrixShape([3, 3, 4, 8])).toEqual([36, 8]);
    expect(matrixShape([])).toEqual([1, 1]);
  });
});

describe('downsample', () => {
  it('averages blocks, including partial blocks at the edges, skipping NaN', () => {
    // 3 x 5 matrix, at most 2 cells per side: blocks of 2 x 3.
    const values = Float32Array.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, NaN, 13, 14]);
    const grid = downsample(values, 3, 5, 2);
    expect([grid.rows, grid.cols]).toEqual([2, 2]);
    expect(Array.from(grid.values)).toEqual([(0 + 1 + 2 + 5 + 6 + 7) / 6, (3 + 4 + 8 + 9) / 4, (10 + 11) / 2, (13 + 14) / 2]);
  });

  it('leaves small matrices untouched', () => {
    const values = new Float32Array(6);
    expect(downsample(values, 2, 3, 400).values).toBe(values);
  });

  it('brings 784 x 512 down to at most 400 x 400', () => {
    const grid = downsample(new Float32Array(784 * 512), 784, 512, 400);
    expect([grid.rows, grid.cols]).toEqual([392, 256]);
  });
});

describe('alphaGrid', () => {
  it('rejects masks whose values do not fill the shape', () => {
    expect(() => alphaGrid('w', { shape: [2, 3], values: new Float32Array(5) })).toThrow(InputError);
    expect(() => alphaGrid('w', { shape: [2, 0], values: new Float32Array(0) })).toThrow(InputError);
  });
});

describe('unitTicks', () => {
  it('puts nice integer ticks within the units', () => {
    expect(unitTicks(10)).toEqual([0, 2, 4, 6, 8]);
    expect(unitTicks(512)).toEqual([0, 100, 200, 300, 400, 500]);
    expect(unitTicks(1)).toEqual([0]);
    expect(unitTicks(3)).toEqual([0, 1, 2]);
  });
});

describe('renderAlphaMap', () => {
  it('paints alpha = 1 on the left half and alpha = 0 on the right half of the plot area', async () => {
    const figure = renderAlphaMap('dense/kernel', halfMask(40, 60));
    const pixels = await decodePng(figure.png);
    expect([pixels.width, pixels.height]).toEqual([FIGURE.width, FIGURE.height]);
    const { left, top, right, bottom } = figure.plotArea;
    expect(right - left).toBeGreaterThan(FIGURE.width / 2);
    expect(bottom - top).toBeGreaterThan(FIGURE.height / 2);
    const one = alphaColour(1);
    const zero = alphaColour(0);
    for (const fy of [0.1, 0.5, 0.9]) {
      const y = top + fy * (bottom - top);
      for (const fx of [0.05, 0.25, 0.45]) {
        expect(colourDistance(pixelAt(pixels, left + fx * (right - left), y), one)).toBeLessThanOrEqual(3);
      }
      for (const fx of [0.55, 0.75, 0.95]) {
        expect(colourDistance(pixelAt(pixels, left + fx * (right - left), y), zero)).toBeLessThanOrEqual(3);
      }
    }
    // The colour bar beside the plot shows the map from 0 (bottom) to 1 (top).
    const barX = right + 31;
    expect(colourDistance(pixelAt(pixels, barX, top + 3), one)).toBeLessThanOrEqual(8);
    expect(colourDistance(pixelAt(pixels, barX, bottom - 3), zero)).toBeLessThanOrEqual(8);
    expect(looksLikeSvg(figure.svg)).toBe(true);
    expect(figure.svg.toString('utf8')).toContain('<image');
  });

  it('draws a vector as a single row in a shorter figure', async () => {
    const values = Float32Array.from({ length: 64 }, (_, i) => i / 63);
    const figure = renderAlphaMap('dense/bias', { shape: [64], values });
    const pixels = await decodePng(figure.png);
    expect(pixels.height).toBeLessThan(FIGURE.height);
    const { left, top, right, bottom } = figure.plotArea;
    const y = (top + bottom) / 2;
    // A gradient from 0 on the left to 1 on the right.
    expect(colourDistance(pixelAt(pixels, left + 2, y), alphaColour(0))).toBeLessThanOrEqual(3);
    expect(colourDistance(pixelAt(pixels, right - 2, y), alphaColour(1))).toBeLessThanOrEqual(3);
  });

  it('renders a 784 x 512 matrix in well under a second', async () => {
    const rows = 784;
    const cols = 512;
    const values = Float32Array.from({ length: rows * cols }, (_, i) => (Math.floor(i / cols) < rows / 2 ? 1 : 0));
    renderAlphaMap('warm-up', { shape: [8, 8], values: new Float32Array(64) }); // renderer creation is not what we time
    const started = performance.now();
    const figure = renderAlphaMap('dense_0/kernel', { shape: [rows, cols], values });
    expect(performance.now() - started).toBeLessThan(1000);
    const pixels = await decodePng(figure.png);
    const { left, top, right, bottom } = figure.plotArea;
    const x = (left + right) / 2;
    // Rows are input units: the top half (alpha 1) and bottom half (alpha 0) of the plot.
    expect(colourDistance(pixelAt(pixels, x, top + 0.25 * (bottom - top)), alphaColour(1))).toBeLessThanOrEqual(3);
    expect(colourDistance(pixelAt(pixels, x, top + 0.75 * (bottom - top)), alphaColour(0))).toBeLessThanOrEqual(3);
    expect(distinctColours(pixels)).toBeGreaterThan(20);
  });
});
