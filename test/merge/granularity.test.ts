import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/backend/selectBackend.js';
import { TensorSet } from '../../src/data/batches.js';
import { alphaInits } from '../../src/merge/alphaInits.js';
import { diagonalFisher } from '../../src/merge/fisher.js';
import { coarsen, weightGroups } from '../../src/merge/granularity.js';
import { learnAlphaMasks } from '../../src/merge/learnAlpha.js';
import { constantMasks } from '../../src/merge/mergeParams.js';
import { disposeParams, initParams } from '../../src/nn/init.js';
import { mlpSpec } from '../../src/nn/mlp.js';
import { vggSpec } from '../../src/nn/vgg.js';
import { liveTensors, readParams, separableSet } from '../nn/helpers.js';

const inputShape = [4, 5];
const spec = mlpSpec({ hidden: [6] }, inputShape, 3);

beforeAll(async () => {
  await selectBackend('wasm');
});

describe('weight groups', () => {
  it('keep the output axis per unit, nothing per tensor, and join a layer\'s weight and bias per layer', () => {
    const names = Object.keys(spec.params);
    expect(weightGroups(spec, names, 'entry').shapeOf['fc1.weight']).toEqual([20, 6]);
    expect(weightGroups(spec, names, 'unit').shapeOf['fc1.weight']).toEqual([1, 6]);
    expect(weightGroups(spec, names, 'unit').shapeOf['fc1.bias']).toEqual([6]);
    expect(weightGroups(spec, names, 'tensor').shapeOf['fc2.weight']).toEqual([]);
    const layer = weightGroups(spec, names, 'layer');
    expect(layer.groupOf['fc1.bias']).toBe(layer.groupOf['fc1.weight']);
    expect(layer.groupOf['fc2.weight']).not.toBe(layer.groupOf['fc1.weight']);
  });

  it('of a convolution keep its output channels, and a BatchNorm layer is a layer of its own', () => {
    const conv = vggSpec({ layout: [4, 'M'], batchNorm: true }, [8, 8, 1], 3);
    const names = Object.keys(conv.params);
    const kernel = names.find((n) => conv.params[n]!.shape.length === 4)!;
    expect(weightGroups(conv, names, 'unit').shapeOf[kernel]).toEqual([1, 1, 1, 4]);
    const layer = weightGroups(conv, names, 'layer');
    expect(new Set(names.map((n) => layer.groupOf[n])).size).toBe(conv.layers.length);
  });

  it('coarsen sums (or averages) over a group and spreads the result over its entries', () => {
    const values = { 'fc1.weight': tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2]), 'fc1.bias': tf.tensor1d([10, 20]) };
    const small = { ...spec, params: { 'fc1.weight': { ...spec.params['fc1.weight']!, shape: [3, 2] }, 'fc1.bias': { ...spec.params['fc1.bias']!, shape: [2] } } };
    const unit = readParams(coarsen(values, small, 'unit', 'sum'));
    expect(Array.from(unit['fc1.weight']!)).toEqual([9, 12, 9, 12, 9, 12]);
    expect(Array.from(unit['fc1.bias']!)).toEqual([10, 20]);
    const layer = readParams(coarsen(values, small, 'layer', 'mean'));
    expect(Array.from(layer['fc1.bias']!)).toEqual([51 / 8, 51 / 8]);
    const entry = readParams(coarsen(values, small, undefined, 'sum'));
    expect(Array.from(entry['fc1.weight']!)).toEqual([1, 2, 3, 4, 5, 6]);
    disposeParams(values);
  });
});

describe('learned weights at a coarser granularity', () => {
  it('are one value per group, and merge like it', async () => {
    const a = initParams(spec, 1);
    const b = initParams(spec, 2);
    const data = new TensorSet(separableSet(60, inputShape, 3, 5), inputShape);
    const init = constantMasks(a, 0.5);
    const before = liveTensors();
    for (const granularity of ['unit', 'tensor', 'layer'] as const) {
      const learned = await learnAlphaMasks(spec, [a, b], [init], data, data, { steps: 5, batchSize: 30, learningRate: 0.1, seed: 0, granularity, evalEvery: 1 });
      const masks = readParams(learned.masks[0]!);
      const distinct = (name: string) => new Set(masks[name]).size;
      if (granularity === 'unit') {
        // [20 inputs, 6 units]: one value per column, and the units differ
        const weight = masks['fc1.weight']!;
        for (let j = 0; j < 6; j++) expect(new Set(Array.from({ length: 20 }, (_, i) => weight[i * 6 + j])).size).toBe(1);
        expect(distinct('fc1.weight')).toBeGreaterThan(1);
      }
      if (granularity === 'tensor') expect(distinct('fc1.weight')).toBe(1);
      if (granularity === 'layer') expect(new Set([...masks['fc2.weight']!, ...masks['fc2.bias']!]).size).toBe(1);
      // the learning moved them (the models differ), and each stays a weight in (0, 1)
      expect(learned.bestStep).toBeGreaterThan(0);
      expect(Object.values(masks).every((m) => m.every((v) => v > 0 && v < 1))).toBe(true);
      learned.masks.forEach(disposeParams);
    }
    expect(liveTensors()).toBe(before);
    [a, b, init].forEach(disposeParams);
    data.dispose();
  });
});

describe('the Fisher init at a coarser granularity', () => {
  it('weighs each group by the Fisher information summed over it: sum F_A / (sum F_A + sum F_B)', () => {
    const a = initParams(spec, 1);
    const b = initParams(spec, 2);
    const data = new TensorSet(separableSet(40, inputShape, 3, 5), inputShape);
    const fisherOf = (params: typeof a) => diagonalFisher(spec, params, data, 'expected');
    const [fa, fb] = [fisherOf(a), fisherOf(b)];
    const [sumA, sumB] = [readParams(fa), readParams(fb)].map((f) => f['fc2.weight']!.reduce((s, v) => s + v, 0));
    const before = liveTensors();
    const masks = alphaInits.get('fisher').masks({ spec, models: [a, b], fisherOf: (params) => (params === a ? fa : fb) }, { fisherMode: 'expected', granularity: 'tensor' });
    expect(masks).toHaveLength(1);
    const alpha = readParams(masks[0]!)['fc2.weight']!;
    expect(new Set(alpha).size).toBe(1);
    expect(alpha[0]).toBeCloseTo(sumA! / (sumA! + sumB!), 5);
    masks.forEach(disposeParams);
    expect(liveTensors()).toBe(before);
    [a, b, fa, fb].forEach(disposeParams);
    data.dispose();
  });
});
