import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/backend/selectBackend.js';
import { TensorSet } from '../../src/data/batches.js';
import { evaluateModel } from '../../src/eval/evaluate.js';
import { disposeParams, initParams } from '../../src/nn/init.js';
import { mlpSpec } from '../../src/nn/mlp.js';
import type { ParamMap } from '../../src/nn/spec.js';
import { trainModel, type TrainOptions, type TrainProgress } from '../../src/train/trainModel.js';
import { liveTensors, readParams, relativeError, separableSet } from '../nn/helpers.js';

const inputShape = [4, 5];
const spec = mlpSpec({ hidden: [16, 12] }, inputShape, 3);
const adam: TrainOptions = { epochs: 25, batchSize: 32, optimizer: 'adam', learningRate: 0.01, momentum: 0, seed: 7 };

describe.each(['wasm', 'cpu'] as const)('trainModel on the %s backend', (backend) => {
  let data: TensorSet;
  let heldOut: TensorSet;
  let initial: ParamMap;

  beforeAll(async () => {
    expect(await selectBackend(backend)).toBe(backend);
    data = new TensorSet(separableSet(300, inputShape, 3, 1), inputShape);
    heldOut = new TensorSet(separableSet(300, inputShape, 3, 2), inputShape);
    initial = initParams(spec, 1);
  });

  afterAll(() => {
    data.dispose();
    heldOut.dispose();
    disposeParams(initial);
  });

  it('fits a small separable problem', async () => {
    const untrained = evaluateModel(spec, initial, data);
    const progress: TrainProgress[] = [];
    const { params, history } = await trainModel(spec, initial, data, adam, { onProgress: (p) => progress.push(p) });
    const fitted = evaluateModel(spec, params, data);
    expect(untrained.accuracy).toBeLessThan(0.7);
    expect(fitted.accuracy).toBeGreaterThan(0.95);
    // it generalises: the labels are a linear function of the inputs
    expect(evaluateModel(spec, params, heldOut).accuracy).toBeGreaterThan(0.8);

    expect(history.map((h) => h.epoch)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    expect(history[24]!.loss).toBeLessThan(history[0]!.loss / 3);
    expect(history[24]!.accuracy).toBeGreaterThan(0.95);
    expect(history.every((h) => h.seconds >= 0 && Number.isFinite(h.loss))).toBe(true);
    // the epoch record's loss is the mean batch loss while training: close to, above, the final loss
    expect(history[0]!.loss).toBeGreaterThan(fitted.loss);

    // ceil(300 / 32) = 10 steps per epoch, then one `finished` report per epoch
    const steps = progress.filter((p) => !p.finished);
    expect(steps).toHaveLength(250);
    expect(steps.every((p) => p.stepsPerEpoch === 10)).toBe(true);
    expect(steps.slice(0, 10).map((p) => p.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const finished = progress.filter((p) => p.finished);
    expect(finished.map((p) => p.finished)).toEqual(history);
    disposeParams(params);
  });

  it('trains with SGD and momentum too', async () => {
    const { params, history } = await trainModel(spec, initial, data, { ...adam, optimizer: 'sgd', learningRate: 0.1, momentum: 0.9, epochs: 15 });
    expect(history[14]!.loss).toBeLessThan(history[0]!.loss);
    expect(evaluateModel(spec, params, data).accuracy).toBeGreaterThan(0.9);
    disposeParams(params);
  });

  it('is reproducible bit for bit for a seed, and the seed matters', async () => {
    const options = { ...adam, epochs: 3 };
    const first = await trainModel(spec, initial, data, options);
    const second = await trainModel(spec, initial, data, options);
    const other = await trainModel(spec, initial, data, { ...options, seed: 8 });
    expect(readParams(second.params)).toEqual(readParams(first.params));
    expect(second.history.map((h) => [h.loss, h.accuracy])).toEqual(first.history.map((h) => [h.loss, h.accuracy]));
    // another batch order gives other weights
    expect(relativeError(readParams(other.params)['fc1.weight']!, readParams(first.params)['fc1.weight']!)).toBeGreaterThan(1e-4);
    // and a fresh init from the same seed is the same init
    const again = initParams(spec, 1);
    const third = await trainModel(spec, again, data, options);
    expect(readParams(third.params)).toEqual(readParams(first.params));
    [first.params, second.params, other.params, again, third.params].forEach(disposeParams);
  });

  it('leaves its initial parameters untouched and leaks no tensors or variables', async () => {
    const original = readParams(initial);
    const tensorsBefore = liveTensors();
    const variablesBefore = Object.keys(tf.engine().registeredVariables).length;
    const { params } = await trainModel(spec, initial, data, { ...adam, epochs: 2 });
    expect(liveTensors()).toBe(tensorsBefore + Object.keys(initial).length);
    expect(Object.keys(tf.engine().registeredVariables).length).toBe(variablesBefore);
    expect(Object.keys(params)).toEqual(Object.keys(initial));
    for (const name of Object.keys(params)) {
      expect(params[name]).not.toBe(initial[name]);
      expect(params[name]!.shape).toEqual(initial[name]!.shape);
    }
    expect(relativeError(readParams(params)['fc2.weight']!, original['fc2.weight']!)).toBeGreaterThan(1e-3);
    disposeParams(params);
    expect(liveTensors()).toBe(tensorsBefore);
    expect(readParams(initial)).toEqual(original);
  });

  it('reads nothing back from the backend inside an epoch: two reads per epoch, however many steps', async () => {
    const engine = tf.engine() as unknown as { readSync: (dataId: object) => unknown };
    const original = engine.readSync;
    let reads = 0;
    engine.readSync = function (this: unknown, dataId: object) {
      reads++;
      return original.call(this, dataId);
    };
    try {
      const { params } = await trainModel(spec, initial, data, { ...adam, epochs: 3, batchSize: 10 });
      disposeParams(params);
    } finally {
      engine.readSync = original;
    }
    // 30 steps per epoch; the loss and accuracy sums are read once each at the end of an epoch.
    expect(reads).toBe(3 * 2);
  });

  it('reports divergence as an error, without leaking', async () => {
    const before = liveTensors();
    const variablesBefore = Object.keys(tf.engine().registeredVariables).length;
    const huge = Object.fromEntries(Object.entries(initial).map(([name, t]) => [name, tf.mul(t, 1e30)]));
    await expect(trainModel(spec, huge, data, { ...adam, epochs: 1, optimizer: 'sgd', learningRate: 1e30 })).rejects.toThrow(
      /^training diverged in epoch 1 at step \d+ of 10 \(loss (NaN|-?Infinity)\); non-finite parameters after the epoch: fc1\.weight, .*the state after epoch 0 is the last good one; lower the learning rate$/,
    );
    disposeParams(huge);
    expect(liveTensors()).toBe(before);
    expect(Object.keys(tf.engine().registeredVariables).length).toBe(variablesBefore);
  });
});
