import { createCanvas } from '@napi-rs/canvas';
import { describe, expect, it } from 'vitest';

import { alphaGrid, cellNote, channelMatrix, downsample, kernelTaps, matrixShape, renderAlphaMap, unitTicks } from '../../src/report/alphaMap.js';
import { ALPHA_MISSING_COLOUR, ALPHA_SCALE_TITLE, divergingAlphaColour as alphaColour } from '../../src/report/alphaScale.js';
import { cssFont, FIGURE, FONT_SIZES, TEXT_COLOUR } from '../../src/report/theme.js';
import { InputError } from '../../src/util/errors.js';
import { colourDistance, decodePng, distinctColours, isColour, looksLikeSvg, pixelAt, svgShapes } from './pixels.js';

/** A rows x cols mask whose left half of columns is 1 and right half 0. */
function halfMask(rows: number, cols: number): { shape: number[]; values: Float32Array } {
  const values = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols / 2; c++) values[r * cols + c] = 1;
  return { shape: [rows, cols], values };
}

describe('matrixShape', () => {
  it('keeps matrices, makes vectors one row and convolution kernels input x output channels', () => {
    expect(matrixShape([784, 512])).toEqual([784, 512]);
    expect(matrixShape([10])).toEqual([1, 10]);
    expect(matrixShape([3, 3, 4, 8])).toEqual([4, 8]);
    expect(matrixShape([2, 3, 5])).toEqual([6, 5]);
    expect(matrixShape([])).toEqual([1, 1]);
    expect([kernelTaps([3, 3, 4, 8]), kernelTaps([1, 1, 4, 8]), kernelTaps([4, 8])]).toEqual([9, 1, 1]);
  });
});

describe('channelMatrix', () => {
  it('averages a [kh, kw, in, out] kernel over its taps for every (input, output) channel pair', () => {
    const [kh, kw, cin, cout] = [2, 3, 4, 5];
    // Entry (i, j, c, o) in row-major order; its value depends on the tap and the channel pair.
    const value = (i: number, j: number, c: number, o: number) => (i * kw + j) / 10 + c + 100 * o + (i === 1 && c === 2 ? 7 : 0);
    const values = new Float32Array(kh * kw * cin * cout);
    for (let i = 0; i < kh; i++)
      for (let j = 0; j < kw; j++) for (let c = 0; c < cin; c++) for (let o = 0; o < cout; o++) values[((i * kw + j) * cin + c) * cout + o] = value(i, j, c, o);
    const matrix = channelMatrix([kh, kw, cin, cout], values);
    expect(matrix).toHaveLength(cin * cout);
    for (let c = 0; c < cin; c++)
      for (let o = 0; o < cout; o++) {
        let sum = 0;
        for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) sum += value(i, j, c, o);
        expect(matrix[c * cout + o]).toBeCloseTo(sum / (kh * kw), 3);
      }
  });

  it('skips NaN taps, keeps an all-NaN pair NaN, and leaves other tensors as they are', () => {
    // 2 x 1 taps of a 1 x 2 kernel: pair 0 has taps [NaN, 0.4], pair 1 only NaN.
    const matrix = channelMatrix([2, 1, 1, 2], Float32Array.from([NaN, NaN, 0.4, NaN]));
    expect(matrix[0]).toBeCloseTo(0.4, 6);
    expect(matrix[1]).toBeNaN();
    const dense = new Float32Array(6);
    expect(channelMatrix([2, 3], dense)).toBe(dense);
    expect(channelMatrix([1, 1, 2, 3], dense)).toBe(dense);
  });
});

describe('cellNote', () => {
  it('says when a cell is a mean over kernel taps or over a block of a downsampled tensor', () => {
    expect(cellNote([40, 60], { rows: 40, cols: 60 })).toBe('');
    expect(cellNote([1, 1, 8, 8], { rows: 8, cols: 8 })).toBe('');
    expect(cellNote([784, 512], { rows: 392, cols: 256 })).toBe('downsampled from 784×512: each cell is the mean of alpha over a 2×2 block of entries');
    expect(cellNote([3, 3, 16, 32], { rows: 16, cols: 32 })).toBe('each cell: mean of alpha over the 3×3 kernel taps of an (input, output) channel pair');
    expect(cellNote([3, 3, 512, 512], { rows: 256, cols: 256 })).toContain('the 3×3 kernel taps and a 2×2 block of channel pairs');
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
    expect(() => alphaGrid('w', { shape: [3, 3, 2, 4], values: new Float32Array(8) })).toThrow(InputError);
  });

  it('summarises a convolution kernel per channel pair before downsampling', () => {
    const grid = alphaGrid('conv', { shape: [3, 3, 6, 4], values: new Float32Array(9 * 24).fill(0.25) }, 3);
    expect([grid.rows, grid.cols]).toEqual([3, 2]);
    expect(Array.from(grid.values)).toEqual(new Array(6).fill(0.25));
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

describe('alpha colour scale of the maps', () => {
  it('diverges from model B blue through white at 0.5 to model A red, with a distinct colour for NaN', () => {
    const [zero, half, one] = [alphaColour(0), alphaColour(0.5), alphaColour(1)];
    expect(zero[2]).toBeGreaterThan(zero[0] + 100);
    expect(one[0]).toBeGreaterThan(one[2] + 100);
    expect(Math.min(...half)).toBeGreaterThan(240);
    // Symmetric in lightness: equal distances from 0.5 are about as light on either side.
    const light = ([r, g, b]: number[]) => 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
    for (const d of [0.1, 0.25, 0.4]) expect(Math.abs(light(alphaColour(0.5 + d)) - light(alphaColour(0.5 - d)))).toBeLessThan(25);
    expect(alphaColour(NaN)).toEqual(ALPHA_MISSING_COLOUR);
    expect(alphaColour(-1)).toEqual(zero);
    expect(alphaColour(2)).toEqual(one);
  });

  it('draws a convolution kernel as input x output channels, on the same fixed scale as any other map', async () => {
    // [3, 3, 4, 6]: output channels 0-2 lean to model A (taps average to 0.9), 3-5 sit at 0.5.
    const [kh, kw, cin, cout] = [3, 3, 4, 6];
    const values = new Float32Array(kh * kw * cin * cout);
    for (let t = 0; t < kh * kw; t++)
      for (let c = 0; c < cin; c++) for (let o = 0; o < cout; o++) values[(t * cin + c) * cout + o] = o < 3 ? (t % 2 === 0 ? 1 : 0.8) + (t === 8 ? -0.1 : 0) : 0.5;
    const figure = renderAlphaMap('conv2.weight', { shape: [kh, kw, cin, cout], values });
    const pixels = await decodePng(figure.png);
    const { left, top, right, bottom } = figure.plotArea;
    // Taps 0, 2, 4, 6 are 1, 1, 3, 5, 7 are 0.8, tap 8 is 0.9: the mean is 0.9 exactly.
    const y = (top + bottom) / 2;
    expect(colourDistance(pixelAt(pixels, left + 0.25 * (right - left), y), alphaColour(0.9))).toBeLessThanOrEqual(3);
    expect(colourDistance(pixelAt(pixels, left + 0.75 * (right - left), y), alphaColour(0.5))).toBeLessThanOrEqual(3);
    // A 4 x 6 map whose cells are as wide as the plot over 6 columns: the edge between columns 2 and 3 is in the middle.
    expect(colourDistance(pixelAt(pixels, left + 0.5 * (right - left) - 3, y), alphaColour(0.9))).toBeLessThanOrEqual(3);
    expect(colourDistance(pixelAt(pixels, left + 0.5 * (right - left) + 3, y), alphaColour(0.5))).toBeLessThanOrEqual(3);
    // The colour bar: red at the top, white in the middle, blue at the bottom, whatever the data.
    const barX = right + 31;
    expect(colourDistance(pixelAt(pixels, barX, top + 2), alphaColour(1))).toBeLessThanOrEqual(8);
    expect(colourDistance(pixelAt(pixels, barX, (top + bottom) / 2), alphaColour(0.5))).toBeLessThanOrEqual(8);
    expect(colourDistance(pixelAt(pixels, barX, bottom - 2), alphaColour(0))).toBeLessThanOrEqual(8);
  });

  it('labels the colour bar "alpha (1 = model A, 0 = model B)" along its length, and says in the subtitle that cells are tap means', () => {
    /** The text paths of an SVG: Skia writes text as paths (rotated text word by word, under a transform). */
    const textPaths = (svg: Buffer) => svgShapes(svg).filter((s) => s.tag === 'path' && isColour(s.attrs.fill, TEXT_COLOUR) && /\d/.test(s.attrs.d ?? ''));
    /** Length along the text of everything written rotated a quarter turn clockwise: the colour bar's title. */
    const barTitleLength = (svg: Buffer) => {
      const xs = textPaths(svg)
        .filter((s) => s.attrs.transform?.startsWith('matrix(0 1 -1 0'))
        .flatMap((s) => (s.attrs.d!.match(/-?[\d.]+/g) ?? []).map(Number).filter((_, i) => i % 2 === 0));
      return Math.max(...xs) - Math.min(...xs);
    };
    const measure = (text: string) => {
      const ctx = createCanvas(10, 10).getContext('2d');
      ctx.font = cssFont(FONT_SIZES.axisTitle);
      return ctx.measureText(text).width;
    };
    const dense = renderAlphaMap('w', halfMask(16, 16));
    expect(ALPHA_SCALE_TITLE).toBe('alpha (1 = model A, 0 = model B)');
    expect(Math.abs(barTitleLength(dense.svg) - measure(ALPHA_SCALE_TITLE))).toBeLessThan(4);
    // A single row's short bar has room for "alpha" only (its ends still say which model is which).
    const short = renderAlphaMap('b', { shape: [16], values: new Float32Array(16).fill(0.5) });
    expect(Math.abs(barTitleLength(short.svg) - measure('alpha'))).toBeLessThan(4);
    // A convolution's map adds one run of text: the subtitle.
    const conv = renderAlphaMap('w', { shape: [3, 3, 16, 16], values: new Float32Array(9 * 256).fill(0.7) });
    expect(textPaths(conv.svg).length).toBe(textPaths(dense.svg).length + 1);
});
});
