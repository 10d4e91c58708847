/**
 * Figure: a heat map of one parameter tensor's alpha, with a colour bar.
 *
 * Chart.js draws the frame (axes, ticks, titles) so the figure shares the report theme; an inline plugin paints
 * the alpha raster into the chart area and the colour bar to its right. Every map uses the one fixed alpha
 * scale of ./alphaScale.ts, so maps of different tensors and merges compare colour for colour.
 */

import { createCanvas, type Canvas, type SKRSContext2D } from '@napi-rs/canvas';
import type { ChartConfiguration, Plugin } from 'chart.js';

import { ensure } from '../util/errors.js';
import { divergingAlphaColour, drawAlphaColourBar } from './alphaScale.js';
import { renderChart, type Figure, type FigureSize } from './render.js';
import { axisTitle, FIGURE, FONT_SIZES, TEXT_COLOUR } from './theme.js';
import type { AlphaMask } from './types.js';

/** Options of {@link renderAlphaMap}. */
export interface AlphaMapOptions extends FigureSize {
  /** Largest number of cells drawn along each axis; larger tensors are averaged down to this (default 400). */
  maxCells?: number;
  /** Title of the x axis (columns; default "output unit", "output channel" for convolution kernels). */
  xTitle?: string;
  /** Title of the y axis (rows; default "input unit", "input channel" for convolution kernels, empty for 1-D tensors). */
  yTitle?: string;
}

/** Where the heat map was drawn, in px of the rendered image. */
export interface PlotArea {
  left: number;
  top: number;
  right: number;
  bottom: number;
}

/** A rendered alpha map, with the rectangle its raster occupies (useful for tests and annotation). */
export interface AlphaMapFigure extends Figure {
  plotArea: PlotArea;
}

/** A row-major matrix of alpha values, possibly averaged down from the tensor. */
export interface AlphaGrid {
  rows: number;
  cols: number;
  values: Float32Array;
}

/**
 * The 2-D view of a tensor shape: a matrix ([in, out]) stays as it is, a vector (e.g. a bias) becomes
 * one row, a convolution kernel [kh, kw, in, out] becomes [in, out] (see {@link kernelTaps}), and any
 * other rank is flattened to [product of all but the last, last].
 */
export function matrixShape(shape: readonly number[]): [rows: number, cols: number] {
  if (shape.length === 0) return [1, 1];
  if (shape.length === 1) return [1, shape[0] ?? 1];
  if (shape.length === 4) return [shape[2] ?? 1, shape[3] ?? 1];
  // Weights keep their output axis last: the columns are output units and the rows every input position.
  const rows = shape.slice(0, -1).reduce((a, b) => a * b, 1);
  return [rows, shape[shape.length - 1] ?? 1];
}

/** Kernel taps averaged into each cell of a tensor's map: kh x kw for a convolution kernel, else 1. */
export function kernelTaps(shape: readonly number[]): number {
  return shape.length === 4 ? (shape[0] ?? 1) * (shape[1] ?? 1) : 1;
}

/**
 * The alpha matrix of a tensor (see {@link matrixShape}): a convolution kernel [kh, kw, in, out], stored
 * row-major, becomes the mean over its kh x kw taps of each (input channel, output channel) pair,
 * because a channel pair is what an alignment matches; NaN taps are skipped, all-NaN pairs stay NaN.
 * Other tensors are returned as they are.
 */
export function channelMatrix(shape: readonly number[], values: Float32Array): Float32Array {
  const taps = kernelTaps(shape);
  if (taps === 1) return values;
  const [rows, cols] = matrixShape(shape);
  const pairs = rows * cols;
  const sums = new Float64Array(pairs);
  const counts = new Uint32Array(pairs);
  // Row-major [kh, kw, in, out]: tap t holds one contiguous in x out block.
  for (let t = 0; t < taps; t++) {
    const base = t * pairs;
    for (let p = 0; p < pairs; p++) {
      const v = values[base + p]!;
      if (Number.isNaN(v)) continue;
      sums[p]! += v;
      counts[p]!++;
    }
  }
  const out = new Float32Array(pairs);
  for (let p = 0; p < pairs; p++) out[p] = counts[p] === 0 ? NaN : sums[p]! / counts[p]!;
  return out;
}

/**
 * Averages `values` (a `rows` x `cols` row-major matrix) over blocks so that neither side exceeds `maxCells`.
 * NaN entries are skipped; a block of only NaN stays NaN.
 */
export function downsample(values: Float32Array, rows: number, cols: number, maxCells: number): AlphaGrid {
  const fy = Math.ceil(rows / maxCells);
  const fx = Math.ceil(cols / maxCells);
  if (fy === 1 && fx === 1) return { rows, cols, values };
  const outRows = Math.ceil(rows / fy);
  const outCols = Math.ceil(cols / fx);
  const sums = new Float64Array(outRows * outCols);
  const counts = new Uint32Array(outRows * outCols);
  for (let r = 0; r < rows; r++) {
    const outBase = Math.floor(r / fy) * outCols;
    const inBase = r * cols;
    for (let c = 0; c < cols; c++) {
      const v = values[inBase + c] as number;
      if (Number.isNaN(v)) continue;
      const o = outBase + Math.floor(c / fx);
      sums[o] = (sums[o] as number) + v;
      counts[o] = (counts[o] as number) + 1;
    }
  }
  const out = new Float32Array(outRows * outCols);
  for (let i = 0; i < out.length; i++) {
    const n = counts[i] as number;
    out[i] = n === 0 ? NaN : (sums[i] as number) / n;
  }
  return { rows: outRows, cols: outCols, values: out };
}

/** 256-entry lookup table of the alpha colour map, so rasterising does no interpolation per cell. */
const COLOUR_LUT: Uint8ClampedArray = (() => {
  const lut = new Uint8ClampedArray(256 * 3);
  for (let i = 0; i < 256; i++) lut.set(divergingAlphaColour(i / 255), i * 3);
  return lut;
})();

/** Paints `grid` into a canvas with one pixel per cell. */
function rasterise(grid: AlphaGrid): Canvas {
  const canvas = createCanvas(grid.cols, grid.rows);
  const ctx = canvas.getContext('2d');
  const image = ctx.createImageData(grid.cols, grid.rows);
  const px = image.data;
  const missing = divergingAlphaColour(NaN);
  for (let i = 0; i < grid.values.length; i++) {
    const v = grid.values[i] as number;
    const o = i * 4;
    if (Number.isNaN(v)) {
      px[o] = missing[0];
      px[o + 1] = missing[1];
      px[o + 2] = missing[2];
    } else {
      const k = Math.round(Math.min(1, Math.max(0, v)) * 255) * 3;
      px[o] = COLOUR_LUT[k] as number;
      px[o + 1] = COLOUR_LUT[k + 1] as number;
      px[o + 2] = COLOUR_LUT[k + 2] as number;
    }
    px[o + 3] = 255;
  }
  ctx.putImageData(image, 0, 0);
  return canvas;
}

/** Room for the colour bar in px from the plot area's right edge: the gap before it, and all it takes. */
const COLOUR_BAR_PLACE = { gap: 22, reserve: 124 } as const;

/** Plugin that paints `raster` over the chart area and the colour bar beside it, and reports where it drew. */
function alphaRasterPlugin(raster: Canvas, onPlotArea: (area: PlotArea) => void): Plugin<'scatter'> {
  return {
    id: 'alphaRaster',
    beforeDatasetsDraw(chart) {
      const { ctx, chartArea } = chart;
      const { left, top, width, height } = chartArea;
      ctx.save();
      // Each cell is a flat block of colour: interpolating between cells would invent values.
      ctx.imageSmoothingEnabled = false;
      // The chart's context comes from the same native canvas module, so our canvas is a valid image source;
      // its DOM type does not know node-canvas, hence the cast.
      ctx.drawImage(raster as unknown as Parameters<typeof ctx.drawImage>[0], left, top, width, height);
      ctx.strokeStyle = TEXT_COLOUR;
      ctx.lineWidth = 1;
      ctx.strokeRect(left, top, width, height);
      ctx.restore();
      onPlotArea({ left, top, right: chartArea.right, bottom: chartArea.bottom });
    },
    afterDraw(chart) {
      const { ctx, chartArea } = chart;
      drawAlphaColourBar(ctx as unknown as SKRSContext2D, chartArea.right + COLOUR_BAR_PLACE.gap, chartArea.top, chartArea.bottom);
    },
  };
}

/**
 * Ticks at "nice" unit indices 0, step, 2 step, ... (step 1, 2 or 5 times a power of ten, at most ~8 ticks).
 * Axes span [-0.5, n - 0.5] so that unit i sits at the centre of its cell; Chart.js's own ticks would start at -0.5.
 */
export function unitTicks(n: number, maxTicks = 8): number[] {
  if (n <= 1) return [0];
  const rough = (n - 1) / maxTicks;
  const power = 10 ** Math.floor(Math.log10(Math.max(rough, 1)));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= rough) ?? 10 * power;
  const ticks: number[] = [];
  for (let t = 0; t <= n - 1; t += step) ticks.push(t);
  return ticks;
}

/**
 * Validates `mask` and returns its 2-D grid: convolution kernels as the mean over kernel taps per channel
 * pair ({@link channelMatrix}), then block means so that neither side exceeds `maxCells`.
 */
export function alphaGrid(name: string, mask: AlphaMask, maxCells = 400): AlphaGrid {
  ensure(
    mask.shape.every((d) => Number.isInteger(d) && d > 0),
    () => `alpha mask '${name}' has an invalid shape [${mask.shape.join(', ')}]`,
  );
  const [rows, cols] = matrixShape(mask.shape);
  const size = rows * cols * kernelTaps(mask.shape);
  ensure(
    mask.values.length === size,
    () => `alpha mask '${name}' has ${mask.values.length} values but shape [${mask.shape.join(', ')}] needs ${size}`,
  );
  ensure(Number.isInteger(maxCells) && maxCells >= 1, () => `maxCells must be a positive integer, got ${maxCells}`);
  return downsample(channelMatrix(mask.shape, mask.values), rows, cols, maxCells);
}

/**
 * What a cell of the map stands for, when it is not one entry: the mean over a convolution's kernel
 * taps, and over blocks of a downsampled tensor. Empty when each cell is one entry.
 */
export function cellNote(shape: readonly number[], grid: Pick<AlphaGrid, 'rows' | 'cols'>): string {
  const [rows, cols] = matrixShape(shape);
  const taps = kernelTaps(shape);
  const [fy, fx] = [Math.ceil(rows / grid.rows), Math.ceil(cols / grid.cols)];
  const downsampled = fy > 1 || fx > 1;
  const tapsText = `the ${shape[0]}×${shape[1]} kernel taps`;
  if (!downsampled) return taps > 1 ? `each cell: mean of alpha over ${tapsText} of an (input, output) channel pair` : '';
  const block = `a ${fy}×${fx} block of ${taps > 1 ? 'channel pairs' : 'entries'}`;
  const over = taps > 1 ? `${tapsText} and ${block}` : block;
  return `downsampled from ${rows}×${cols}: each cell is the mean of alpha over ${over}`;
}

/**
 * Heat map of a parameter tensor's alpha on the report's fixed diverging scale (0 = model B blue,
 * 0.5 = white, 1 = model A red), with its colour bar.
 *
 * Dense weights [in, out] are drawn as they are: rows input units, columns output units. Convolution
 * kernels [kh, kw, in, out] are drawn in x out, each cell the mean of alpha over the kh x kw taps of
 * that channel pair; a 1-D tensor is drawn as a single row. Tensors larger than `maxCells` (default 400)
 * along a side are averaged down in blocks. The subtitle says when a cell is a mean. The SVG version
 * embeds the heat map as a raster image inside vector axes.
 */
export function renderAlphaMap(name: string, mask: AlphaMask, options: AlphaMapOptions = {}): AlphaMapFigure {
  const grid = alphaGrid(name, mask, options.maxCells);
  const [rows, cols] = matrixShape(mask.shape);
  const vector = mask.shape.length <= 1;
  const conv = mask.shape.length === 4;
  // Say when cells are means, so that a reader does not take the map for individual weights.
  const note = cellNote(mask.shape, grid);
  const width = options.width ?? FIGURE.width;
  // A single row needs little height; the default frame would turn it into a tall block.
  const height = options.height ?? (vector ? 260 : FIGURE.height);
  let plotArea: PlotArea | undefined;
  const config: ChartConfiguration<'scatter'> = {
    type: 'scatter',
    // Chart.js lays out the axes without any data; the raster plugin supplies the content.
    data: { datasets: [{ data: [] }] },
    options: {
      layout: { padding: { top: 4, right: COLOUR_BAR_PLACE.reserve, left: 4, bottom: 4 } },
      scales: {
        x: {
          type: 'linear',
          min: -0.5,
          max: cols - 0.5,
          title: axisTitle(options.xTitle ?? (conv ? 'output channel' : 'output unit')),
          grid: { display: false },
          afterBuildTicks: (scale) => {
            scale.ticks = unitTicks(cols).map((value) => ({ value }));
          },
        },
        y: {
          type: 'linear',
          min: -0.5,
          max: rows - 0.5,
          // Row 0 at the top, as in the stored matrix.
          reverse: true,
          title: axisTitle(options.yTitle ?? (vector ? '' : conv ? 'input channel' : 'input unit')),
          grid: { display: false },
          afterBuildTicks: (scale) => {
            scale.ticks = unitTicks(rows).map((value) => ({ value }));
          },
          ticks: { display: !vector },
        },
      },
      plugins: {
        title: { display: true, text: `${name} [${mask.shape.join('×')}]`, padding: { top: 4, bottom: note ? 2 : 8 } },
        subtitle: {
          display: note.length > 0,
          text: note,
          font: { size: FONT_SIZES.legend },
          color: TEXT_COLOUR,
          padding: { bottom: 8 },
        },
        legend: { display: false },
      },
    },
    plugins: [alphaRasterPlugin(rasterise(grid), (area) => (plotArea ??= area))],
  };
  // The cast widens the chart type to what the renderer accepts; the scatter configuration is a valid member.
  const figure = renderChart(config as unknown as ChartConfiguration, { width, height });
  if (!plotArea) throw new Error(`alpha map '${name}' was rendered without a plot area`);
  return { ...figure, plotArea };
}
