import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/backend/selectBackend.js';
import { TensorSet } from '../../src/data/batches.js';
import { evaluateModel } from '../../src/eval/evaluate.js';
import { learnAlphaMasks, type LearnAlphaOptions, type LearnAlphaProgress } from '../../src/merge/learnAlpha.js';
import { constantMasks, mergeModels, mergeParams, type AlphaMasks } from '../../src/merge/mergeParams.js';
import { disposeParams, initParams } from '../../src/nn/init.js';
import { mlpSpec } from '../../src/nn/mlp.js';
import type { ParamMap } from '../../src/nn/spec.js';
import { trainModel } from '../../src/train/trainModel.js';
import { liveTensors, readParams, separableSet } from '../nn/helpers.js';

const inputShape = [4, 5];
const spec = mlpSpec({ hidden: [16, 12] }, inputShape, 3);

async function trained(seed: number, data: TensorSet): Promise<ParamMap> {
  const initial = initParams(spec, seed);
  const { params } = await trainModel(spec, initial, data, { epochs: 15, batchSize: 32, optimizer: 'adam', learningRate: 0.01, momentum: 0, seed });
  disposeParams(initial);
  return params;
}

/** Learned alpha of two models: the masks of model A. */
async function learnPair(a: ParamMap, b: ParamMap, init: AlphaMasks, ...rest: Parameters<typeof learnAlphaMasks> extends [unknown, unknown, unknown, ...infer R] ? R : never) {
  const learned = await learnAlphaMasks(spec, [a, b], [init], ...rest);
  return { ...learned, masks: learned.masks[0]! };
}

function allIn01(masks: AlphaMasks): boolean {
  return Object.values(masks).every((m) => Array.from(m.dataSync()).every((v) => v >= 0 && v <= 1));
}

describe.each(['wasm', 'cpu'] as const)('learnAlphaMasks on the %s backend', (backend) => {
  let paramsA: ParamMap;
  let paramsB: ParamMap;
  let train: TensorSet;
  let validation: TensorSet;
  let initial: AlphaMasks;
  const options: LearnAlphaOptions = { steps: 30, batchSize: 100, learningRate: 0.05, seed: 3, evalEvery: 5 };

  beforeAll(async () => {
    expect(await selectBackend(backend)).toBe(backend);
    const base = new TensorSet(separableSet(300, inputShape, 3, 1), inputShape);
    paramsA = await trained(1, base);
    paramsB = await trained(2, base);
    base.dispose();
    // the merge split: alpha trains on 100 examples (one full batch per step) and picks its step on 80
    train = new TensorSet(separableSet(100, inputShape, 3, 2), inputShape);
    validation = new TensorSet(separableSet(80, inputShape, 3, 3), inputShape);
    initial = constantMasks(paramsA, 0.5);
  });

  afterAll(() => {
    [paramsA, paramsB, initial].forEach(disposeParams);
    train.dispose();
    validation.dispose();
  });

  it('stops when the loss turns NaN, says at which step and which masks broke, and keeps the best masks so far', async () => {
    const before = liveTensors();
    // One corrupt training example: the first batch's loss and every gradient turn NaN.
    const corrupt = separableSet(100, inputShape, 3, 2);
    corrupt.x[7] = Number.NaN;
    const corruptTrain = new TensorSet(corrupt, inputShape);
    const learned = await learnPair(paramsA, paramsB, initial, corruptTrain, validation, { ...options, evalEvery: 1 });
    corruptTrain.dispose();
    expect(learned.diverged?.message).toMatch(
      /^alpha training diverged at step 1 \(loss NaN\); non-finite alpha logits: fc1\.weight, fc1\.bias, .*; kept the masks of step 0; lower merge\.learningRate$/,
    );
    expect(learned.diverged!.step).toBe(1);
    expect(learned.bestStep).toBe(0);
    expect(allIn01(learned.masks)).toBe(true);
    expect(learned.validation.every((p) => Number.isFinite(p.loss))).toBe(true);
    disposeParams(learned.masks);
    expect(liveTensors()).toBe(before);
  });

  it('keeps masks in [0, 1], returns those of bestStep, and lowers the training loss', async () => {
    const before = liveTensors();
    const progress: LearnAlphaProgress[] = [];
    const learned = await learnPair(paramsA, paramsB, initial, train, validation, options, { onProgress: (p) => progress.push(p) });
    const { masks, curve, validation: points, bestStep } = learned;

    expect(Object.keys(masks)).toEqual(Object.keys(paramsA));
    for (const [name, mask] of Object.entries(masks)) expect(mask.shape).toEqual(paramsA[name]!.shape);
    expect(allIn01(masks)).toBe(true);
    // the masks moved away from the uniform init
    expect(Object.values(readParams(masks)).some((m) => m.some((v) => Math.abs(v - 0.5) > 0.05))).toBe(true);

    // one training point per step; validation at 0, every evalEvery steps, and the end
    expect(curve.map((p) => p.step)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(points.map((p) => p.step)).toEqual([0, 5, 10, 15, 20, 25, 30]);
    expect(progress.map((p) => p.step)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(progress.every((p) => p.steps === 30)).toBe(true);

    // bestStep is the first step with the lowest validation loss
    const losses = points.map((p) => p.loss);
    const best = points.find((p) => p.step === bestStep)!;
    expect(best.loss).toBe(Math.min(...losses));
    expect(losses.indexOf(best.loss)).toBe(points.indexOf(best));

    // and the returned masks are that step's: merging with them reproduces its validation loss
    const merged = mergeParams(paramsA, paramsB, masks);
    const evaluation = evaluateModel(spec, merged, validation);
    expect(evaluation.loss).toBeCloseTo(best.loss, 5);
    expect(evaluation.accuracy).toBeCloseTo(best.accuracy, 6);
    disposeParams(merged);

    // full-batch Adam: the training loss goes down, and validation improves on the uniform init
    expect(curve[curve.length - 1]!.loss).toBeLessThan(curve[0]!.loss);
    expect(best.loss).toBeLessThan(points[0]!.loss);
    expect(bestStep).toBeGreaterThan(0);

    // the caller owns exactly the masks; the inputs survive
    expect(liveTensors()).toBe(before + Object.keys(paramsA).length);
    disposeParams(masks);
    expect(liveTensors()).toBe(before);
    expect(Object.values(initial).every((t) => !t.isDisposed)).toBe(true);
    expect(Object.values(paramsB).every((t) => !t.isDisposed)).toBe(true);
  });

  it('with zero steps returns the (clipped) initial masks', async () => {
    const before = liveTensors();
    const ones = constantMasks(paramsA, 1);
    const learned = await learnPair(paramsA, paramsB, ones, train, validation, { ...options, steps: 0, clip: 0.01 });
    expect(learned.bestStep).toBe(0);
    expect(learned.curve).toEqual([]);
    expect(learned.validation.map((p) => p.step)).toEqual([0]);
    for (const mask of Object.values(learned.masks)) {
      for (const v of mask.dataSync()) expect(v).toBeCloseTo(0.99, 5);
    }
    // a validation point of the init equals the plain evaluation of the init merge
    const merged = mergeParams(paramsA, paramsB, learned.masks);
    expect(evaluateModel(spec, merged, validation).loss).toBeCloseTo(learned.validation[0]!.loss, 5);
    [ones, merged, learned.masks].forEach(disposeParams);
    expect(liveTensors()).toBe(before);
  });

  it('runs across epochs when steps exceed one pass, validating at the last step', async () => {
    const before = liveTensors();
    const learned = await learnPair(paramsA, paramsB, initial, train, validation, { ...options, steps: 7, batchSize: 30 });
    expect(learned.curve.map((p) => p.step)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(learned.validation.map((p) => p.step)).toEqual([0, 5, 7]);
    expect(allIn01(learned.masks)).toBe(true);
    disposeParams(learned.masks);
    expect(liveTensors()).toBe(before);
  });

  it('is reproducible for a seed', async () => {
    const first = await learnPair(paramsA, paramsB, initial, train, validation, { ...options, steps: 6, batchSize: 40 });
    const second = await learnPair(paramsA, paramsB, initial, train, validation, { ...options, steps: 6, batchSize: 40 });
    expect(second.bestStep).toBe(first.bestStep);
    expect(second.curve).toEqual(first.curve);
    expect(second.validation).toEqual(first.validation);
    expect(readParams(second.masks)).toEqual(readParams(first.masks));
    disposeParams(first.masks);
    disposeParams(second.masks);
  });
});

describe('learned weights of N models', () => {
  it('learn to avoid a model whose layer is broken, and leave the weights of identical layers alone', async () => {
    await selectBackend('wasm');
    const base = new TensorSet(separableSet(300, inputShape, 3, 1), inputShape);
    const good = await trained(1, base);
    base.dispose();
    // Model 3 is model 1 with its output biases shifted far off (model 2 is model 1 itself). The loss
    // is convex in the biases and model 1's are (near) their optimum, so the best weight of model 3's
    // biases is 0, entry by entry.
    const noisy = { ...good, 'fc3.bias': tf.add(good['fc3.bias']!, tf.tensor1d([20, -20, 20])) };
    const models = [good, good, noisy];
    const train = new TensorSet(separableSet(100, inputShape, 3, 2), inputShape);
    const validation = new TensorSet(separableSet(80, inputShape, 3, 3), inputShape);
    const initial = [constantMasks(good, 1 / 3), constantMasks(good, 1 / 3)];
    const before = liveTensors();
    const learned = await learnAlphaMasks(spec, models, initial, train, validation, { steps: 40, batchSize: 100, learningRate: 0.1, seed: 0, evalEvery: 10 });
    expect(learned.masks).toHaveLength(2);
    const mean = (t: tf.Tensor) => tf.tidy(() => tf.mean(t).dataSync()[0]!);
    const brokenWeights = tf.tidy(() => tf.sub(1, tf.add(learned.masks[0]!['fc3.bias']!, learned.masks[1]!['fc3.bias']!)).dataSync());
    // Model 3's share of each broken bias fell from 1/3 to near 0, and the validation loss with it.
    for (const weight of brokenWeights) expect(weight).toBeLessThan(0.1);
    expect(learned.validation.at(-1)!.loss).toBeLessThan(learned.validation[0]!.loss);
    // Where all three models agree there is no gradient: the weights stay at 1/3.
    for (const name of ['fc1.weight', 'fc2.bias', 'fc3.weight']) for (const k of [0, 1]) expect(mean(learned.masks[k]![name]!)).toBeCloseTo(1 / 3, 5);
    // The step-0 validation point is the plain uniform merge of the three.
    const uniform = mergeModels(models, initial);
    expect(evaluateModel(spec, uniform, validation).loss).toBeCloseTo(learned.validation[0]!.loss, 5);
    disposeParams(uniform);
    learned.masks.forEach(disposeParams);
    expect(liveTensors()).toBe(before);
    [...initial, good].forEach(disposeParams);
    noisy['fc3.bias'].dispose();
    train.dispose();
    validation.dispose();
  });
});

describe('learnAlphaMasks leaves no trainable variables behind', () => {
  it('registers and frees its variables', async () => {
    await selectBackend('wasm');
    const a = initParams(spec, 1);
    const b = initParams(spec, 2);
    const data = new TensorSet(separableSet(40, inputShape, 3, 5), inputShape);
    const init = constantMasks(a, 0.5);
    const variablesBefore = Object.keys(tf.engine().registeredVariables).length;
    const tensorsBefore = liveTensors();
    const learned = await learnPair(a, b, init, data, data, { steps: 3, batchSize: 20, learningRate: 0.01, seed: 0 });
    disposeParams(learned.masks);
    expect(liveTensors()).toBe(tensorsBefore);
    expect(Object.keys(tf.engine().registeredVariables).length).toBe(variablesBefore);
    [a, b, init].forEach(disposeParams);
    data.dispose();
  });
});
