import { describe, expect, it } from 'vitest';
import { datasets } from '../../src/data/registry.js';
import { InputError } from '../../src/util/errors.js';

describe('datasets registry', () => {
  it('lists mnist, fashion-mnist, cifar10 and cifar100 with their default splits', () => {
    expect(datasets.names()).toEqual(['mnist', 'fashion-mnist', 'cifar10', 'cifar100']);
    const mnist = datasets.get('mnist');
    expect(mnist.defaultSplit).toEqual({ train: 6500, merge: 1500, test: 2000 });
    expect(mnist.total).toBe(10_000);
    const fashion = datasets.get('fashion-mnist');
    expect(fashion.defaultSplit).toEqual({ train: 50_000, merge: 10_000, test: 10_000 });
    expect(fashion.total).toBe(70_000);
    expect(fashion.classNames[0]).toBe('T-shirt/top');
    expect(fashion.classNames[9]).toBe('Ankle boot');
    for (const name of ['cifar10', 'cifar100']) {
      const cifar = datasets.get(name);
      expect(cifar.inputShape).toEqual([32, 32, 3]);
      expect(cifar.total).toBe(60_000);
      expect(cifar.defaultSplit).toEqual({ train: 45_000, merge: 5_000, test: 10_000 });
    }
    expect(datasets.get('cifar10').classNames).toEqual(['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck']);
    expect(datasets.get('cifar100').numClasses).toBe(100);
    expect(datasets.get('cifar100').classNames[99]).toBe('worm');
    for (const entry of datasets.list()) {
      expect(entry.inputShape).toEqual(entry.name.startsWith('cifar') ? [32, 32, 3] : [28, 28, 1]);
      expect(entry.numClasses).toBe(entry.classNames.length);
      const { train, merge, test } = entry.defaultSplit;
      expect(train + merge + test).toBeLessThanOrEqual(entry.total);
    }
  });

  it('suggests the closest name for a typo', () => {
    expect(() => datasets.get('fashion')).toThrow(InputError);
    expect(() => datasets.get('fashion_mnist')).toThrow(/did you mean "fashion-mnist"/);
    expect(() => datasets.get('cifar-10')).toThrow(/did you mean "cifar10"/);
    expect(() => datasets.get('CIFAR100')).toThrow(/did you mean "cifar100"/);
  });
});
