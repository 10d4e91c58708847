/** Test helpers: decode rendered PNGs into pixels. */

import { createCanvas, loadImage } from '@napi-rs/canvas';
import { FIGURE } from '../../src/report/theme.js';

/**
 * Decoded RGBA pixels of a figure's PNG. `width` and `height` are in layout px (the SVG's units, the
 * coordinates figures are laid out in); the PNG holds `scale` device pixels per layout px, in `data`.
 */
export interface Pixels {
  width: number;
  height: number;
  scale: number;
  data: Uint8ClampedArray;
}

/** Decodes a PNG rendered at `scale` device pixels per layout px (the report's {@link FIGURE.pngScale}). */
export async function decodePng(png: Buffer, scale: number = FIGURE.pngScale): Promise<Pixels> {
  const image = await loadImage(png);
  const canvas = createCanvas(image.width, image.height);
  const ctx = canvas.getContext('2d');
  ctx.drawImage(image, 0, 0);
  return { width: image.width / scale, height: image.height / scale, scale, data: ctx.getImageData(0, 0, image.width, image.height).data };
}

/** RGB of the pixel at layout coordinates (x, y): the device pixel at its top left corner. */
export function pixelAt(p: Pixels, x: number, y: number): [number, number, number] {
  const o = (Math.floor(y * p.scale) * p.width * p.scale + Math.floor(x * p.scale)) * 4;
  return [p.data[o] ?? 0, p.data[o + 1] ?? 0, p.data[o + 2] ?? 0];
}

/** Number of distinct RGB colours in the image: a blank or single-colour image has very few. */
export function distinctColours(p: Pixels): number {
  const seen = new Set<number>();
  for (let o = 0; o < p.data.length; o += 4) {
    seen.add(((p.data[o] ?? 0) << 16) | ((p.data[o + 1] ?? 0) << 8) | (p.data[o + 2] ?? 0));
  }
  return seen.size;
}

/** Fraction of pixels that are not (near) white. */
export function inkFraction(p: Pixels): number {
  let ink = 0;
  for (let o = 0; o < p.data.length; o += 4) {
    if ((p.data[o] ?? 255) < 240 || (p.data[o + 1] ?? 255) < 240 || (p.data[o + 2] ?? 255) < 240) ink++;
  }
  return ink / (p.width * p.height);
}

/** Largest channel difference between two colours. */
export function colourDistance(a: readonly number[], b: readonly number[]): number {
  return Math.max(...a.map((v, i) => Math.abs(v - (b[i] ?? 0))));
}

/** Asserts-friendly check that an SVG buffer looks like an SVG document. */
export function looksLikeSvg(svg: Buffer): boolean {
  const head = svg.subarray(0, 200).toString('utf8').trimStart();
  return (head.startsWith('<?xml') || head.startsWith('<svg')) && svg.toString('utf8').trimEnd().endsWith('</svg>');
}

/** One element of an SVG document: its tag and attributes (enough to find the shapes Skia writes). */
export interface SvgShape {
  tag: string;
  attrs: Record<string, string>;
}

/** Every element start tag of `svg`, in document order. */
export function svgShapes(svg: Buffer): SvgShape[] {
  const shapes: SvgShape[] = [];
  for (const [, tag, body] of svg.toString('utf8').matchAll(/<([a-zA-Z]+)\b([^>]*)>/g)) {
    const attrs: Record<string, string> = {};
    for (const [, name, value] of (body ?? '').matchAll(/([\w:-]+)="([^"]*)"/g)) attrs[name!] = value ?? '';
    shapes.push({ tag: tag!, attrs });
  }
  return shapes;
}

/** Whether an SVG colour attribute is `hex` (#rrggbb); Skia shortens #999999 to #999 and writes upper case. */
export function isColour(attr: string | undefined, hex: string): boolean {
  if (attr === undefined) return false;
  const long = /^#[0-9a-f]{3}$/i.test(attr) ? `#${[...attr.slice(1)].map((c) => c + c).join('')}` : attr;
  return long.toLowerCase() === hex.toLowerCase();
}

/** Number of subpaths (move-to commands) of an SVG path's `d`: a dashed line becomes one per dash. */
export function subpaths(d: string | undefined): number {
  return (d?.match(/M/g) ?? []).length;
}

/** The shapes of `svg` that fill with `hex`, and those that stroke with it. */
export function shapesIn(svg: Buffer, hex: string): { filled: SvgShape[]; stroked: SvgShape[] } {
  const shapes = svgShapes(svg);
  return {
    filled: shapes.filter((s) => isColour(s.attrs.fill, hex)),
    stroked: shapes.filter((s) => isColour(s.attrs.stroke, hex)),
  };
}

/** Whether a pixel has the colour `hex`, within `tolerance` per channel. */
export function hasColour(pixel: readonly number[], hex: string, tolerance = 3): boolean {
  const rgb = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  return colourDistance(pixel, rgb) <= tolerance;
}
