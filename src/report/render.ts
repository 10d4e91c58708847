/**
 * Turns a Chart.js configuration into PNG and SVG bytes (server-side, via chartjs-node-canvas) and writes them.
 */

import { join } from 'node:path';

import type { ChartConfiguration, Plugin } from 'chart.js';
import { ChartJSNodeCanvas } from 'chartjs-node-canvas';

import { writeFileAtomic } from '../io/atomicWrite.js';
import { applyChartDefaults, FIGURE } from './theme.js';

/** A rendered figure: the same chart as a raster (PNG) and as vector graphics (SVG). */
export interface Figure {
  png: Buffer;
  svg: Buffer;
}

/** Figure size in px; defaults from {@link FIGURE}. */
export interface FigureSize {
  width?: number;
  height?: number;
}

/**
 * Paints the theme background before anything else is drawn.
 * chartjs-node-canvas's own background plugin composites with 'destination-over', which cairo's SVG
 * surface can only emulate by rasterising, so ours paints first with plain 'source-over' instead.
 */
const whiteBackground: Plugin = {
  id: 'mergeTrainBackground',
  beforeDraw(chart) {
    const { ctx, width, height } = chart;
    ctx.save();
    ctx.fillStyle = FIGURE.background;
    ctx.fillRect(0, 0, width, height);
    ctx.restore();
  },
};

interface Renderers {
  png: ChartJSNodeCanvas;
  svg: ChartJSNodeCanvas;
}

/** One pair of renderers per size: each loads its own copy of Chart.js, which is slow enough to be worth reusing. */
const rendererCache = new Map<string, Renderers>();

function renderersFor(width: number, height: number): Renderers {
  const key = `${width}x${height}`;
  let renderers = rendererCache.get(key);
  if (!renderers) {
    const chartCallback = (chartJs: Parameters<typeof applyChartDefaults>[0]): void => {
      applyChartDefaults(chartJs);
      chartJs.register(whiteBackground);
    };
    renderers = {
      png: new ChartJSNodeCanvas({ width, height, chartCallback }),
      svg: new ChartJSNodeCanvas({ width, height, chartCallback, type: 'svg' }),
    };
    rendererCache.set(key, renderers);
  }
  return renderers;
}

function checkSize(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 16 || value > 16384) {
    throw new RangeError(`figure ${name} must be an integer number of px in [16, 16384], got ${value}`);
  }
  return value;
}

/**
 * Renders `config` to PNG and SVG with the report theme (fonts, colours, white background).
 *
 * The configuration is rendered twice, so inline plugins must not rely on running only once.
 * Chart.js options `responsive` and `animation` are forced off by the renderer.
 */
export function renderChart(config: ChartConfiguration, options: FigureSize = {}): Figure {
  const width = checkSize('width', options.width ?? FIGURE.width);
  const height = checkSize('height', options.height ?? FIGURE.height);
  const renderers = renderersFor(width, height);
  const png = renderers.png.renderToBufferSync(config, 'image/png');
  const svg = renderers.svg.renderToBufferSync(config, 'image/svg+xml');
  return { png, svg };
}

/**
 * Writes `figure` as `<dir>/<baseName>.png` and `<dir>/<baseName>.svg`, creating `dir` if needed.
 * Each file is replaced atomically, so a reader never sees a half-written figure.
 * @returns the paths written, PNG first.
 */
export async function writeFigure(dir: string, baseName: string, figure: Figure): Promise<string[]> {
  if (baseName.length === 0 || /[/\\]/.test(baseName)) {
    throw new RangeError(`figure base name must be a non-empty file name without slashes, got '${baseName}'`);
  }
  const pngPath = join(dir, `${baseName}.png`);
  const svgPath = join(dir, `${baseName}.svg`);
  await writeFileAtomic(pngPath, figure.png);
  await writeFileAtomic(svgPath, figure.svg);
  return [pngPath, svgPath];
}
