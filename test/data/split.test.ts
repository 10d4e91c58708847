import { describe, expect, it } from 'vitest';
import type { Pool } from '../../src/data/dataset.js';
import { gatherRows, loadSplits, splitDataset, splitIndices } from '../../src/data/split.js';
import { InputError } from '../../src/util/errors.js';

/** A pool whose example i has every pixel equal to i and label i % 10. */
function syntheticPool(total: number, width = 3): Pool {
  const x = new Float32Array(total * width);
  for (let i = 0; i < total; i++) x.fill(i, i * width, (i + 1) * width);
  return { x, y: Int32Array.from({ length: total }, (_, i) => i % 10) };
}

const sizes = { train: 60, merge: 25, test: 15 };

describe('splitIndices', () => {
  it('gives disjoint in-range splits of exactly the asked sizes', () => {
    const { train, merge, test } = splitIndices('toy', 120, sizes, 0);
    expect([train.length, merge.length, test.length]).toEqual([60, 25, 15]);
    const all = [...train, ...merge, ...test];
    expect(new Set(all).size).toBe(100);
    expect(all.every((i) => Number.isInteger(i) && i >= 0 && i < 120)).toBe(true);
  });

  it('covers the whole pool when the sizes add up to it', () => {
    const { train, merge, test } = splitIndices('toy', 100, sizes, 3);
    expect([...train, ...merge, ...test].sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  it('is deterministic in the seed and the dataset name', () => {
    expect(splitIndices('toy', 120, sizes, 7)).toEqual(splitIndices('toy', 120, sizes, 7));
    expect(splitIndices('toy', 120, sizes, 7).train).not.toEqual(splitIndices('toy', 120, sizes, 8).train);
    expect(splitIndices('toy', 120, sizes, 7).train).not.toEqual(splitIndices('other', 120, sizes, 7).train);
  });

  it('keeps the test set fixed when train or merge sizes change, and train fixed when merge changes', () => {
    const base = splitIndices('toy', 120, sizes, 1);
    const moreTrain = splitIndices('toy', 120, { ...sizes, train: 80 }, 1);
    const lessMerge = splitIndices('toy', 120, { ...sizes, merge: 5 }, 1);
    expect(moreTrain.test).toEqual(base.test);
    expect(lessMerge.test).toEqual(base.test);
    expect(lessMerge.train).toEqual(base.train);
  });

  it('rejects sizes that do not fit or are not counts', () => {
    expect(() => splitIndices('toy', 90, sizes, 0)).toThrow(
      new InputError('dataset toy has 90 examples but the split asks for train 60 + merge 25 + test 15 = 100'),
    );
    expect(() => splitIndices('toy', 90, { ...sizes, merge: -1 }, 0)).toThrow('split size merge must be a non-negative integer; got -1');
    expect(() => splitIndices('toy', 90, { ...sizes, test: 1.5 }, 0)).toThrow(InputError);
  });
});

describe('splitDataset', () => {
  it('copies the indexed rows with their labels', () => {
    const pool = syntheticPool(120);
    const indices = splitIndices('toy', 120, sizes, 5);
    const sets = splitDataset({ name: 'toy', ...pool }, sizes, 5);
    for (const split of ['train', 'merge', 'test'] as const) {
      const set = sets[split];
      expect(set.count).toBe(sizes[split]);
      expect(set.x.length).toBe(sizes[split] * 3);
      expect(set).toEqual(gatherRows(pool, indices[split]));
      indices[split].forEach((row, i) => {
        expect(set.x[i * 3 + 2]).toBe(row);
        expect(set.y[i]).toBe(row % 10);
      });
    }
  });

  it('does not alias the pool', () => {
    const pool = syntheticPool(20);
    const { train } = splitDataset({ name: 'toy', ...pool }, { train: 20, merge: 0, test: 0 }, 0);
    train.x.fill(-1);
    expect(pool.x.every((value) => value >= 0)).toBe(true);
  });
});

describe('loadSplits', () => {
  it('splits mnist with the default sizes and shape', async () => {
    const splits = await loadSplits('mnist', { seed: 0 });
    expect(splits.name).toBe('mnist');
    expect(splits.inputShape).toEqual([28, 28, 1]);
    expect(splits.numClasses).toBe(10);
    expect(splits.classNames).toHaveLength(10);
    expect([splits.train.count, splits.merge.count, splits.test.count]).toEqual([6500, 1500, 2000]);
    expect(splits.train.x.length).toBe(6500 * 784);
    // Every class is represented in every split.
    for (const set of [splits.train, splits.merge, splits.test]) {
      const counts = new Array<number>(10).fill(0);
      for (const label of set.y) counts[label]!++;
      expect(Math.min(...counts)).toBeGreaterThan(set.count * 0.06);
    }
  });

  it('applies partial size overrides and reproduces with the same seed', async () => {
    const a = await loadSplits('mnist', { seed: 3, sizes: { train: 100 } });
    const b = await loadSplits('mnist', { seed: 3, sizes: { train: 100 } });
    const c = await loadSplits('mnist', { seed: 4, sizes: { train: 100 } });
    expect([a.train.count, a.merge.count, a.test.count]).toEqual([100, 1500, 2000]);
    expect(a.train.y).toEqual(b.train.y);
    // Byte comparison: a deep equal of 1.5M floats takes seconds.
    expect(Buffer.from(a.test.x.buffer).equals(Buffer.from(b.test.x.buffer))).toBe(true);
    expect(a.train.y).not.toEqual(c.train.y);
  });

  it('rejects unknown datasets and oversized splits before loading', async () => {
    await expect(loadSplits('mnsit', { seed: 0 })).rejects.toThrow(/unknown dataset "mnsit" \(did you mean "mnist"\?\)/);
    await expect(loadSplits('fashion-mnist', { seed: 0, sizes: { train: 60_000 }, cacheDir: '/nonexistent/never-created' })).rejects.toThrow(
      'dataset fashion-mnist has 70000 examples but the split asks for train 60000 + merge 10000 + test 10000 = 80000',
    );
  });
});
