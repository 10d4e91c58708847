/**
 * Turns a Chart.js configuration, or a drawing made directly on a canvas, into PNG and SVG bytes and
 * writes them. Drawing is done by
 * @napi-rs/canvas (Skia, shipped prebuilt inside its npm package: no compiler, no system library),
 * with the DejaVu Sans fonts of the npm package dejavu-fonts-ttf, so a figure looks the same on every
 * machine; the SVG's text is drawn as paths for the same reason.
 */

import { createRequire } from 'node:module';
import { join } from 'node:path';

import { createCanvas, GlobalFonts, SvgExportFlag, type Canvas, type SKRSContext2D, type SvgCanvas } from '@napi-rs/canvas';
import { Chart, type ChartConfiguration, type Plugin } from 'chart.js/auto';

import { writeFileAtomic } from '../io/atomicWrite.js';
import { applyChartDefaults, FIGURE, FONT_NAME } from './theme.js';

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

/** Paints the theme background before anything else is drawn. */
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

let prepared = false;

/** Registers the bundled fonts with the renderer and the theme with Chart.js, once per process. */
function prepare(): void {
  if (prepared) return;
  prepared = true;
  const require = createRequire(import.meta.url);
  for (const file of ['DejaVuSans.ttf', 'DejaVuSans-Bold.ttf']) {
    GlobalFonts.registerFromPath(require.resolve(`dejavu-fonts-ttf/ttf/${file}`), FONT_NAME);
  }
  applyChartDefaults(Chart);
  Chart.register(whiteBackground);
}

function checkSize(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 16 || value > 16384) {
    throw new RangeError(`figure ${name} must be an integer number of px in [16, 16384], got ${value}`);
  }
  return value;
}

/**
 * Paints one picture on a raster and on a vector canvas: the one code path behind every figure, so that
 * the PNG and the SVG cannot drift apart. `paint` lays out on a canvas of the figure's size and draws
 * at `scale` device pixels per layout pixel (the PNG's {@link FIGURE.pngScale}; 1 for the SVG). It may
 * return a clean-up, run after the bytes are read.
 */
function renderBoth(options: FigureSize, paint: (canvas: Canvas | SvgCanvas, scale: number) => (() => void) | void): Figure {
  prepare();
  const width = checkSize('width', options.width ?? FIGURE.width);
  const height = checkSize('height', options.height ?? FIGURE.height);
  const read = <C extends Canvas | SvgCanvas>(canvas: C, scale: number, bytes: (canvas: C) => Buffer): Buffer => {
    const cleanUp = paint(canvas, scale);
    try {
      return bytes(canvas);
    } finally {
      cleanUp?.();
    }
  };
  return {
    png: read(createCanvas(width, height), FIGURE.pngScale, (canvas) => canvas.toBuffer('image/png')),
    svg: withViewBox(read(createCanvas(width, height, SvgExportFlag.ConvertTextToPaths), 1, (canvas) => canvas.getContent()), width, height),
  };
}

/** The SVG with a viewBox, so that a document can scale it to any width (Skia writes width and height only). */
function withViewBox(svg: Buffer, width: number, height: number): Buffer {
  const text = svg.toString('utf8');
  return text.includes('viewBox=') ? svg : Buffer.from(text.replace(/<svg /, `<svg viewBox="0 0 ${width} ${height}" `), 'utf8');
}

/**
 * Renders `config` to PNG and SVG with the report theme (fonts, colours, white background).
 *
 * The configuration is rendered twice, so inline plugins must not rely on running only once.
 * Chart.js options `responsive` and `animation` are forced off by the renderer.
 */
export function renderChart(config: ChartConfiguration, options: FigureSize = {}): Figure {
  return renderBoth(options, (canvas, scale) => {
    // Chart.js enlarges the canvas by the pixel ratio itself and draws in layout pixels.
    const chartOptions = { ...config.options, responsive: false, animation: false as const, devicePixelRatio: scale };
    // Chart.js types its item as a DOM canvas; Skia's has the same drawing API.
    const chart = new Chart(canvas as unknown as HTMLCanvasElement, { ...config, options: chartOptions } as ChartConfiguration);
    // Destroying the chart clears the canvas, so it waits until the bytes are read.
    return () => chart.destroy();
  });
}

/** Size in px of the canvas a {@link Drawing} paints on. */
export interface DrawingSize {
  width: number;
  height: number;
}

/**
 * A figure drawn directly on a 2-D canvas context, for pictures Chart.js has no chart type for (trees,
 * small multiples). It runs once per format, so it must draw the same thing every time it is called.
 */
export type Drawing = (ctx: SKRSContext2D, size: DrawingSize) => void;

/**
 * Renders `draw` to PNG and SVG, on the theme background with the bundled fonts (text becomes paths
 * in the SVG, as in charts).
 *
 * @example
 * const figure = renderDrawing((ctx, { width }) => { ctx.font = cssFont(13); ctx.fillText('hello', width / 2, 20); }, { height: 40 });
 */
export function renderDrawing(draw: Drawing, options: FigureSize = {}): Figure {
  return renderBoth(options, (canvas, scale) => {
    const size = { width: canvas.width, height: canvas.height };
    if (scale !== 1) {
      canvas.width = size.width * scale;
      canvas.height = size.height * scale;
    }
    const ctx = canvas.getContext('2d');
    ctx.scale(scale, scale);
    ctx.save();
    ctx.fillStyle = FIGURE.background;
    ctx.fillRect(0, 0, size.width, size.height);
    ctx.restore();
    ctx.save();
    try {
      draw(ctx, size);
    } finally {
      ctx.restore();
    }
  });
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
