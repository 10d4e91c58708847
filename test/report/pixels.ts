/** Test helpers: decode rendered PNGs into pixels. */

import { createCanvas, loadImage } from '@napi-rs/canvas';

/** Decoded RGBA pixels of an image. */
export interface Pixels {
  width: number;
  height: number;
  data: Uint8ClampedArray;
}

/** Decodes a PNG buffer. */
export async function decodePng(png: Buffer): Promise<Pixels> {
  const image = await loadImage(png);
  const canvas = createCanvas(image.width, image.height);
  const ctx = canvas.getContext('2d');
  ctx.drawImage(image, 0, 0);
  return { width: image.width, height: image.height, data: ctx.getImageData(0, 0, image.width, image.height).data };
}

/** RGB of the pixel at (x, y), coordinates rounded down. */
export function pixelAt(p: Pixels, x: number, y: number): [number, number, number] {
  const o = (Math.floor(y) * p.width + Math.floor(x)) * 4;
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
