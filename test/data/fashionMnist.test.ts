import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  FASHION_MNIST_CACHE_FILE,
  FASHION_MNIST_CLASSES,
  loadFashionMnistPool,
} from '../../src/data/fashionMnist.js';
import { resolvePackageDir } from '../../src/data/packageFiles.js';
import { readSafetensors } from '../../src/io/safetensors.js';
import { InputError } from '../../src/util/errors.js';

const PIXELS = 784;

/** Pixel p of image r of class c in the fake package. */
const pixel = (c: number, r: number, p: number) => (c * 31 + r * 7 + p) % 256;

let root: string;
let packageDir: string;
let cacheDir: string;

/** Writes class file `c` with `rows` images in the package's layout; `extra` rows are appended raw. */
async function writeClass(c: number, rows: number, extra: unknown[] = []): Promise<void> {
  const data: unknown[] = Array.from({ length: rows }, (_, r) => Array.from({ length: PIXELS }, (_, p) => pixel(c, r, p)));
  await writeFile(join(packageDir, 'src', 'clothes', `${c}.json`), JSON.stringify({ data: [...data, ...extra] }));
}

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'fashion-'));
  packageDir = join(root, 'fashion-mnist');
  cacheDir = join(root, 'cache');
  await mkdir(join(packageDir, 'src', 'clothes'), { recursive: true });
  // Class c has c + 1 images; class 0 also has the empty row the real package v1.1.0 contains.
  for (let c = 0; c < 10; c++) await writeClass(c, c + 1, c === 0 ? [[]] : []);
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('loadFashionMnistPool', () => {
  it('reads the per-class layout, skips empty rows and scales pixels to [0, 1]', async () => {
    const pool = await loadFashionMnistPool({ packageDir, cacheDir });
    expect(pool.y.length).toBe(55);
    expect(pool.x.length).toBe(55 * PIXELS);
    expect([...pool.y.subarray(0, 6)]).toEqual([0, 1, 1, 2, 2, 2]);
    // Image 4 is class 2, row 1.
    expect(pool.x[4 * PIXELS + 10]).toBeCloseTo(pixel(2, 1, 10) / 255, 7);
    expect(Math.max(...pool.x)).toBeLessThanOrEqual(1);
    expect(Math.min(...pool.x)).toBeGreaterThanOrEqual(0);
  });

  it('writes a uint8 safetensors cache and reuses it', async () => {
    const first = await loadFashionMnistPool({ packageDir, cacheDir });
    const cache = await readSafetensors(join(cacheDir, FASHION_MNIST_CACHE_FILE));
    expect(cache.tensors['x']!.shape).toEqual([55, PIXELS]);
    expect(cache.tensors['x']!.data).toBeInstanceOf(Uint8Array);
    expect(cache.tensors['y']!.shape).toEqual([55]);
    expect(cache.metadata['format']).toMatch(/fashion-mnist/);

    // Same-size garbage in the package: only a load from the cache can still succeed.
    for (let c = 0; c < 10; c++) {
      const file = join(packageDir, 'src', 'clothes', `${c}.json`);
      await writeFile(file, 'x'.repeat((await stat(file)).size));
    }
    const second = await loadFashionMnistPool({ packageDir, cacheDir });
    expect(second.y).toEqual(first.y);
    expect(Buffer.from(second.x.buffer).equals(Buffer.from(first.x.buffer))).toBe(true);
  });

  it('rebuilds the cache when the package files change', async () => {
    await loadFashionMnistPool({ packageDir, cacheDir });
    await writeClass(9, 12);
    const pool = await loadFashionMnistPool({ packageDir, cacheDir });
    expect(pool.y.length).toBe(57);
    const cache = await readSafetensors(join(cacheDir, FASHION_MNIST_CACHE_FILE));
    expect(cache.tensors['y']!.shape).toEqual([57]);
  });

  it('rebuilds a damaged cache', async () => {
    await loadFashionMnistPool({ packageDir, cacheDir });
    await writeFile(join(cacheDir, FASHION_MNIST_CACHE_FILE), 'not a safetensors file');
    const pool = await loadFashionMnistPool({ packageDir, cacheDir });
    expect(pool.y.length).toBe(55);
    expect((await readSafetensors(join(cacheDir, FASHION_MNIST_CACHE_FILE))).tensors['y']!.shape).toEqual([55]);
  });

  it('still loads, with a warning, when the cache cannot be written', async () => {
    const blocked = join(root, 'blocked');
    await writeFile(blocked, 'a file where the cache directory should be');
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      const pool = await loadFashionMnistPool({ packageDir, cacheDir: blocked });
      expect(pool.y.length).toBe(55);
      expect(warn).toHaveBeenCalledWith(expect.stringMatching(/could not write the Fashion-MNIST cache/));
    } finally {
      warn.mockRestore();
    }
  });

  it('names malformed package files', async () => {
    await writeClass(3, 1, [[1, 2, 3]]);
    await expect(loadFashionMnistPool({ packageDir, cacheDir })).rejects.toThrow(/3\.json row 1 has 3 values; expected 784/);
    await writeClass(3, 1, [new Array(PIXELS).fill(256)]);
    await expect(loadFashionMnistPool({ packageDir, cacheDir })).rejects.toThrow(/3\.json row 1 has pixel value 256; expected an integer in 0\.\.255/);
    await rm(join(packageDir, 'src', 'clothes', '7.json'));
    await expect(loadFashionMnistPool({ packageDir, cacheDir })).rejects.toBeInstanceOf(InputError);
    expect(existsSync(join(cacheDir, FASHION_MNIST_CACHE_FILE))).toBe(false);
  });
});

describe('the real fashion-mnist package', () => {
  it('is installed with the ten class files this loader expects', () => {
    const dir = resolvePackageDir('fashion-mnist');
    for (let c = 0; c < FASHION_MNIST_CLASSES.length; c++) expect(existsSync(join(dir, 'src', 'clothes', `${c}.json`))).toBe(true);
  });
});
