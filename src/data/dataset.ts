/**
 * The shapes datasets take in memory. A dataset is loaded once as a pool of labelled examples and
 * then split, by seed, into the three disjoint sets every experiment uses.
 */

/** Labelled examples: `x` is `[count, ...inputShape]` row-major with pixel values in [0, 1]. */
export interface LabelledSet {
  x: Float32Array;
  /** Class indices in [0, numClasses). */
  y: Int32Array;
  count: number;
}

/** All examples of a dataset before splitting, in the order the source stores them. */
export interface Pool {
  x: Float32Array;
  y: Int32Array;
}

/** How many examples go to each split. */
export interface SplitSizes {
  /** For training the endpoint models. */
  train: number;
  /** For fitting the merge (alignment statistics, learned merge masks). */
  merge: number;
  /** Held out for the reported accuracies. */
  test: number;
}

/** A dataset split into disjoint train / merge / test sets. */
export interface DatasetSplits {
  name: string;
  inputShape: number[];
  numClasses: number;
  classNames: string[];
  train: LabelledSet;
  merge: LabelledSet;
  test: LabelledSet;
}
