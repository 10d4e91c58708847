/** Deterministic, seeded train / merge / test splits of a dataset pool. */
import { ensure } from '../util/errors.js';
import { shuffledIndices, subSeed } from '../util/random.js';
import type { DatasetSplits, LabelledSet, Pool, SplitSizes } from './dataset.js';
import { datasets } from './registry.js';

/** A pool together with the dataset name that seeds its split. */
export interface NamedPool extends Pool {
  name: string;
}

/** Pool row indices of each split. */
export interface SplitIndices {
  train: Int32Array;
  merge: Int32Array;
  test: Int32Array;
}

/** The three sets of a split, without the dataset description. */
export interface SplitSets {
  train: LabelledSet;
  merge: LabelledSet;
  test: LabelledSet;
}

const splitNames = ['train', 'merge', 'test'] as const;

/**
 * Which pool rows go to which split: one seeded permutation of the pool
 * (`shuffledIndices(total, subSeed(seed, 'split/<name>'))`); train takes its first rows, merge the
 * rows after those, test the last rows. So the test set depends only on the seed and its size, and
 * the train set does not move when the merge size changes.
 * @throws InputError if a size is not a non-negative integer or the sizes add up to more than `total`.
 */
export function splitIndices(name: string, total: number, sizes: SplitSizes, seed: number): SplitIndices {
  for (const split of splitNames) {
    const size = sizes[split];
    ensure(Number.isSafeInteger(size) && size >= 0, `split size ${split} must be a non-negative integer; got ${size}`);
  }
  const wanted = sizes.train + sizes.merge + sizes.test;
  ensure(
    wanted <= total,
    `dataset ${name} has ${total} examples but the split asks for train ${sizes.train} + merge ${sizes.merge} + test ${sizes.test} = ${wanted}`,
  );
  const order = shuffledIndices(total, subSeed(seed, `split/${name}`));
  return {
    train: order.slice(0, sizes.train),
    merge: order.slice(sizes.train, sizes.train + sizes.merge),
    test: order.slice(total - sizes.test),
  };
}

/** The examples at `rows` of the pool, in that order, as a new set (copies, not views). */
export function gatherRows(pool: Pool, rows: Int32Array): LabelledSet {
  const width = pool.x.length / pool.y.length;
  const x = new Float32Array(rows.length * width);
  const y = new Int32Array(rows.length);
  rows.forEach((row, i) => {
    x.set(pool.x.subarray(row * width, (row + 1) * width), i * width);
    y[i] = pool.y[row]!;
  });
  return { x, y, count: rows.length };
}

/**
 * Splits `pool` into disjoint train / merge / test sets of exactly `sizes` examples, deterministically
 * from `seed` (see {@link splitIndices}). Examples within a set are in shuffled order.
 */
export function splitDataset(pool: NamedPool, sizes: SplitSizes, seed: number): SplitSets {
  const total = pool.y.length;
  ensure(total > 0 && pool.x.length % total === 0, `dataset ${pool.name}: ${pool.x.length} pixel values do not divide into ${total} examples`);
  const indices = splitIndices(pool.name, total, sizes, seed);
  return {
    train: gatherRows(pool, indices.train),
    merge: gatherRows(pool, indices.merge),
    test: gatherRows(pool, indices.test),
  };
}

/** Options of {@link loadSplits}. */
export interface LoadSplitsOptions {
  /** Overrides of the dataset's default split sizes. */
  sizes?: Partial<SplitSizes>;
  seed: number;
  /** Where datasets may cache decoded files. Default `data`. */
  cacheDir?: string;
}

/**
 * Loads the registered dataset `name` and splits it.
 * @throws InputError for an unknown dataset name (with a did-you-mean) or sizes that do not fit.
 */
export async function loadSplits(name: string, options: LoadSplitsOptions): Promise<DatasetSplits> {
  const entry = datasets.get(name);
  const sizes: SplitSizes = { ...entry.defaultSplit };
  for (const split of splitNames) {
    const size = options.sizes?.[split];
    if (size !== undefined) sizes[split] = size;
  }
  // Checked before loading so a bad recipe fails fast, not after seconds of parsing.
  splitIndices(name, entry.total, sizes, options.seed);
  const pool = await entry.loadPool(options.cacheDir ?? 'data');
  const sets = splitDataset({ name, ...pool }, sizes, options.seed);
  return {
    name,
    inputShape: [...entry.inputShape],
    numClasses: entry.numClasses,
    classNames: [...entry.classNames],
    ...sets,
  };
}

/** The first `count` examples of a set and the rest, as two sets that view the same memory. */
export function splitOff(set: LabelledSet, count: number): [LabelledSet, LabelledSet] {
  const width = set.x.length / set.count;
  return [
    { x: set.x.subarray(0, count * width), y: set.y.subarray(0, count), count },
    { x: set.x.subarray(count * width), y: set.y.subarray(count), count: set.count - count },
  ];
}

/** How many examples each split of `splits` holds. */
export function splitSizesOf(splits: DatasetSplits): SplitSizes {
  return { train: splits.train.count, merge: splits.merge.count, test: splits.test.count };
}
