import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { ChartConfiguration } from 'chart.js';
import { afterAll, describe, expect, it } from 'vitest';

import { renderChart, renderDrawing, writeFigure } from '../../src/report/render.js';
import { cssFont, FIGURE } from '../../src/report/theme.js';
import { decodePng, distinctColours, looksLikeSvg, pixelAt } from './pixels.js';

const config = (): ChartConfiguration => ({
  type: 'line',
  data: { labels: ['a', 'b', 'c'], datasets: [{ label: 'x', data: [1, 3, 2], borderColor: '#0072B2' }] },
});

describe('renderChart', () => {
  it('renders PNG at the default size on a white background, and SVG', async () => {
    const figure = renderChart(config());
    const pixels = await decodePng(figure.png);
    expect([pixels.width, pixels.height]).toEqual([FIGURE.width, FIGURE.height]);
    expect(pixelAt(pixels, 1, 1)).toEqual([255, 255, 255]);
    expect(pixels.data[3]).toBe(255); // opaque, not transparent
    expect(distinctColours(pixels)).toBeGreaterThan(20);
    expect(looksLikeSvg(figure.svg)).toBe(true);
    expect(figure.svg.toString('utf8')).toContain(`viewBox="0 0 ${FIGURE.width} ${FIGURE.height}"`);
    // Text is drawn as outlines of the bundled font, so the vector version needs no font where it is read.
    expect(figure.svg.toString('utf8')).not.toMatch(/<text\b/);
  });

  it('renders the PNG for print: at least 1,050 px wide (300 dpi over a 3.5 in column), the layout scaled, not redrawn smaller', async () => {
    const figure = renderChart(config());
    const device = await decodePng(figure.png, 1);
    expect([device.width, device.height]).toEqual([FIGURE.width * FIGURE.pngScale, FIGURE.height * FIGURE.pngScale]);
    expect(device.width).toBeGreaterThanOrEqual(1050);
    // A drawing is laid out in layout px and scaled: the rectangle ends where the scaled layout puts it.
    const drawing = await decodePng(renderDrawing((ctx) => ctx.fillRect(10, 20, 30, 40)).png);
    expect(pixelAt(drawing, 24, 39)).toEqual([0, 0, 0]);
    expect(pixelAt(drawing, 41, 39)).toEqual([255, 255, 255]);
  });

  it('honours a custom size', async () => {
    const pixels = await decodePng(renderChart(config(), { width: 320, height: 200 }).png);
    expect([pixels.width, pixels.height]).toEqual([320, 200]);
  });

  it('rejects nonsensical sizes', () => {
    expect(() => renderChart(config(), { width: 0 })).toThrow(RangeError);
    expect(() => renderChart(config(), { height: 10.5 })).toThrow(RangeError);
  });
});

describe('renderDrawing', () => {
  it('paints the same drawing as PNG and SVG on the theme background, text as paths', async () => {
    const sizes: [number, number][] = [];
    const figure = renderDrawing(
      (ctx, { width, height }) => {
        sizes.push([width, height]);
        ctx.fillStyle = '#0072B2';
        ctx.fillRect(10, 10, 50, 30);
        ctx.font = cssFont(13);
        ctx.fillStyle = '#222222';
        ctx.fillText('label', 100, 30);
      },
      { width: 200, height: 80 },
    );
    // Once per format, at the asked size.
    expect(sizes).toEqual([
      [200, 80],
      [200, 80],
    ]);
    const pixels = await decodePng(figure.png);
    expect([pixels.width, pixels.height]).toEqual([200, 80]);
    expect(pixelAt(pixels, 1, 1)).toEqual([255, 255, 255]);
    expect(pixelAt(pixels, 30, 20)).toEqual([0, 0x72, 0xb2]);
    const svg = figure.svg.toString('utf8');
    expect(looksLikeSvg(figure.svg)).toBe(true);
    expect(svg).toContain('viewBox="0 0 200 80"');
    expect(svg).toMatch(/<rect fill="#0072B2" x="10" y="10" width="50" height="30"\/>/);
    expect(svg).not.toMatch(/<text\b/);
    expect(svg).toMatch(/<path fill="#222"/);
  });

  it('defaults to the theme size and rejects nonsensical sizes', async () => {
    const pixels = await decodePng(renderDrawing(() => {}).png);
    expect([pixels.width, pixels.height]).toEqual([FIGURE.width, FIGURE.height]);
    expect(() => renderDrawing(() => {}, { width: 8 })).toThrow(RangeError);
  });
});

describe('writeFigure', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  it('writes <base>.png and <base>.svg, creating the directory, and leaves no temp files', async () => {
    const root = await mkdtemp(join(tmpdir(), 'report-'));
    dirs.push(root);
    const dir = join(root, 'figures');
    const figure = { png: Buffer.from('png bytes'), svg: Buffer.from('<svg></svg>') };
    const paths = await writeFigure(dir, 'accuracy', figure);
    expect(paths).toEqual([join(dir, 'accuracy.png'), join(dir, 'accuracy.svg')]);
    expect(await readFile(join(dir, 'accuracy.png'), 'utf8')).toBe('png bytes');
    expect(await readFile(join(dir, 'accuracy.svg'), 'utf8')).toBe('<svg></svg>');
    // Overwriting replaces the files in place.
    await writeFigure(dir, 'accuracy', { png: Buffer.from('new'), svg: Buffer.from('<svg/>') });
    expect(await readFile(join(dir, 'accuracy.png'), 'utf8')).toBe('new');
    expect((await readdir(dir)).sort()).toEqual(['accuracy.png', 'accuracy.svg']);
  });

  it('rejects base names that are paths', async () => {
    const figure = { png: Buffer.alloc(0), svg: Buffer.alloc(0) };
    await expect(writeFigure(tmpdir(), '../escape', figure)).rejects.toThrow(RangeError);
    await expect(writeFigure(tmpdir(), '', figure)).rejects.toThrow(RangeError);
  });
});
