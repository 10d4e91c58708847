import * as tfl from '@tensorflow/tfjs';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aligners } from '../../src/align/aligners.js';
import { batchNormModes, foldBatchNorm } from '../../src/align/batchNormModes.js';
import { collectSpaceMoments } from '../../src/align/moments.js';
import { applyTransforms, permutationTransform, type SpaceTransform } from '../../src/align/transform.js';
import { selectBackend } from '../../src/backend/selectBackend.js';
import { TensorSet } from '../../src/data/batches.js';
import { evaluateModel } from '../../src/eval/evaluate.js';
import { diagonalFisher } from '../../src/merge/fisher.js';
import { mergeParams } from '../../src/merge/mergeParams.js';
import { disposeParams } from '../../src/nn/init.js';
import { layersFamily } from '../../src/nn/layersGraph.js';
import { resetBatchNormStats } from '../../src/nn/resetBatchNorm.js';
import { featureSpaces, trainableParams, type ModelSpec, type ParamMap } from '../../src/nn/spec.js';
import { InputError } from '../../src/util/errors.js';
import { derangement, maxAbsDiff, normalInputs, randomSet } from './helpers.js';
import { artifactsOf, convNet, residualNet, sequentialMlp, weightsOf } from './tfjsModels.js';

/** A derived spec and its weights, from a real tf.LayersModel, with the model for reference predictions. */
interface Derived {
  model: tfl.LayersModel;
  spec: ModelSpec;
  params: ParamMap;
}

const cases = [
  { name: '(a) Sequential MLP', make: sequentialMlp, inputShape: [4, 5], numClasses: 3, softmax: false },
  { name: '(b) conv net with BatchNorm, max-pool, global average pooling', make: convNet, inputShape: [8, 8, 3], numClasses: 4, softmax: true },
  { name: '(c) functional residual net', make: residualNet, inputShape: [8, 8, 3], numClasses: 5, softmax: false },
] as const;

async function derive(make: (seed: number) => tfl.LayersModel, seed: number, inputShape: readonly number[], numClasses: number): Promise<Derived> {
  const model = make(seed);
  const artifacts = await artifactsOf(model);
  const spec = layersFamily.build(artifacts.modelTopology as Record<string, unknown>, [...inputShape], numClasses);
  return { model, spec, params: weightsOf(artifacts) };
}

function inputs(count: number, shape: readonly number[], seed: number): tf.Tensor {
  return tf.tensor(normalInputs(count, shape.reduce((a, b) => a * b, 1), seed), [count, ...shape]);
}

/** The model's outputs as merge-train computes them: logits, or their softmax where tfjs's model ends in one. */
function outputs(spec: ModelSpec, params: ParamMap, x: tf.Tensor, softmax: boolean, training = false): tf.Tensor {
  return tf.tidy(() => {
    const logits = spec.forward(params, x, { training });
    return softmax ? tf.softmax(logits) : logits;
  });
}

/** Every feature space permuted by a derangement. */
function permutations(spec: ModelSpec, seed: number): Record<string, SpaceTransform> {
  return Object.fromEntries(featureSpaces(spec).map((space, i) => [space.name, permutationTransform(derangement(space.size, seed + i))]));
}

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`the layers family on ${backend}`, () => {
    beforeAll(async () => {
      await selectBackend(backend);
    });
    afterAll(() => tf.disposeVariables());

    for (const { name, make, inputShape, numClasses, softmax } of cases) {
      it(`${name}: the derived spec computes model.predict, and permuting every space keeps it`, async () => {
        const { model, spec, params } = await derive(make, 1, inputShape, numClasses);
        const x = inputs(6, inputShape, 2);
        const expected = model.predict(x) as tf.Tensor;
        const output = outputs(spec, params, x, softmax);
        expect(output.shape).toEqual([6, numClasses]);
        expect(maxAbsDiff(output.dataSync(), expected.dataSync())).toBeLessThan(1e-4);

        const permuted = applyTransforms(spec, params, permutations(spec, 10));
        const moved = Object.keys(params).some((param) => maxAbsDiff(permuted[param]!.dataSync(), params[param]!.dataSync()) > 1e-3);
        expect(moved).toBe(true);
        for (const training of [false, true]) {
          const reference = outputs(spec, params, x, softmax, training);
          const after = outputs(spec, permuted, x, softmax, training);
          expect(maxAbsDiff(after.dataSync(), reference.dataSync())).toBeLessThan(1e-4);
          tf.dispose([reference, after]);
        }
        tf.dispose([x, expected, output]);
        [params, permuted].forEach(disposeParams);
        model.dispose();
      });
    }
  });
}

describe('a derived spec', () => {
  beforeAll(async () => {
    await selectBackend('cpu');
  });

  it('names parameters as tfjs does, in its layouts, and lays out spaces, residual streams and BatchNorm pairs', async () => {
    const { model, spec, params } = await derive(residualNet, 1, [8, 8, 3], 5);
    expect(Object.keys(spec.params).sort()).toEqual(Object.keys(params).sort());
    expect(spec.params['b2_conv1/kernel']!.shape).toEqual([3, 3, 4, 6]);
    expect(spec.params['head/kernel']!.shape).toEqual([6, 7]);
    expect(spec.params['stem_bn/moving_variance']!.trainable).toBe(false);
    const spaces = Object.fromEntries(featureSpaces(spec).map((space) => [space.name, space]));
    expect(Object.keys(spaces).sort()).toEqual(['b1_conv1', 'b2_conv1', 'b2_conv2', 'head', 'stem']);
    // One space per residual stream: everything that writes into an Add or reads its output.
    const stream = (space: string) => spaces[space]!.members.map((m) => `${m.param}:${m.role}`);
    expect(stream('stem')).toEqual(
      expect.arrayContaining(['stem/kernel:out', 'stem_bn/gamma:out', 'b1_conv1/kernel:in', 'b1_conv2/kernel:out', 'b1_conv2_bn/beta:out', 'b2_conv1/kernel:in', 'b2_proj/kernel:in']),
    );
    expect(stream('b2_conv2')).toEqual(expect.arrayContaining(['b2_conv2/kernel:out', 'b2_proj/kernel:out', 'b2_proj_bn/moving_mean:out', 'head/kernel:in']));
    expect(spec.layers.filter((layer) => layer.kind === 'batchNorm').map((layer) => layer.kind === 'batchNorm' && [layer.norm.weight, layer.follows.weight, layer.norm.epsilon])).toContainEqual([
      'b2_proj_bn/gamma',
      'b2_proj/kernel',
      1e-3,
    ]);
    // every space is probed, a residual stream once per block that writes it
    const probed: string[] = [];
    tf.tidy(() => spec.forward(params, inputs(2, [8, 8, 3], 3), { probe: (space) => probed.push(space) }));
    expect([...new Set(probed)].sort()).toEqual(Object.keys(spaces).sort());
    expect(probed.filter((space) => space === 'stem')).toHaveLength(2);
    disposeParams(params);
    model.dispose();
  });

  it('gives a space no ReLU acts on its probe where the next layer reads it, and takes Sequential names', async () => {
    const { model, spec, params } = await derive(sequentialMlp, 1, [4, 5], 3);
    expect(featureSpaces(spec).map((space) => space.name)).toEqual(['hidden1', 'hidden2', 'bottleneck']);
    const probed: [string, number[]][] = [];
    tf.tidy(() => spec.forward(params, inputs(2, [4, 5], 3), { probe: (space, value) => probed.push([space, value.shape]) }));
    expect(probed).toEqual([
      ['hidden1', [2, 8]],
      ['hidden2', [2, 6]],
      ['bottleneck', [2, 5]],
    ]);
    disposeParams(params);
    model.dispose();
  });

  it('reads examples of another shape with as many values as its input takes, row-major (a [4, 5] input for [20] data)', async () => {
    const model = sequentialMlp(1);
    const artifacts = await artifactsOf(model);
    const spec = layersFamily.build(artifacts.modelTopology as Record<string, unknown>, [20], 3);
    const params = weightsOf(artifacts);
    const x = inputs(4, [20], 8);
    const [output, expected] = [spec.forward(params, x), model.predict(tf.reshape(x, [4, 4, 5])) as tf.Tensor];
    expect(maxAbsDiff(output.dataSync(), expected.dataSync())).toBeLessThan(1e-4);
    tf.dispose([x, output, expected]);
    disposeParams(params);
    model.dispose();
  });

  it('has Fisher information for every trained parameter, through the forward pass hooks', async () => {
    const { model, spec, params } = await derive(residualNet, 1, [8, 8, 3], 5);
    const set = new TensorSet(randomSet(5, [8, 8, 3], 5, 4), [8, 8, 3]);
    const fisher = diagonalFisher(spec, params, set, 'expected');
    for (const param of trainableParams(spec)) {
      const values = fisher[param]!.dataSync();
      expect(values.every(Number.isFinite)).toBe(true);
      expect(Math.max(...values)).toBeGreaterThan(0);
    }
    set.dispose();
    [params, fisher].forEach(disposeParams);
    model.dispose();
  });

  it("keeps the function under each BatchNorm mode: fold-scale with scaled permutations, and fold (convolution biases kept)", async () => {
    for (const [make, inputShape, numClasses] of [
      [convNet, [8, 8, 3], 4],
      [residualNet, [8, 8, 3], 5],
    ] as const) {
      const { model, spec, params } = await derive(make, 2, inputShape, numClasses);
      const x = inputs(4, inputShape, 5);
      const reference = spec.forward(params, x);
      const tolerance = 1e-4 * Math.max(1, ...Array.from(reference.dataSync(), Math.abs));
      const mode = batchNormModes.get('fold-scale');
      const prepared = mode.prepare(spec, params);
      const transforms = Object.fromEntries(
        featureSpaces(spec).map((space, i) => {
          const { permutation } = permutationTransform(derangement(space.size, 30 + i));
          const scales = Array.from({ length: space.size }, (_, k) => 0.5 + ((k * 7 + i) % 5) / 2);
          const matrix = new Float32Array(space.size ** 2);
          const inverse = new Float32Array(space.size ** 2);
          permutation!.forEach((source, k) => {
            matrix[k * space.size + source] = scales[k]!;
            inverse[source * space.size + k] = 1 / scales[k]!;
          });
          return [space.name, { size: space.size, matrix, inverse }];
        }),
      );
      const transformed = mode.transform(prepared.spec, prepared.params, transforms);
      const folded = foldBatchNorm(spec, params);
      expect(Object.keys(folded.params).some((param) => param.includes('moving'))).toBe(false);
      for (const [outSpec, outParams] of [
        [prepared.spec, prepared.params],
        [prepared.spec, transformed],
        [folded.spec, folded.params],
      ] as const) {
        const output = outSpec.forward(outParams, x);
        expect(maxAbsDiff(output.dataSync(), reference.dataSync())).toBeLessThan(tolerance);
        output.dispose();
      }
      tf.dispose([x, reference]);
      [params, prepared.params, transformed, folded.params].forEach(disposeParams);
      model.dispose();
    }
  });

  it('merges two models of one topology trained apart: aligned by activations or by weights, merged, BatchNorm reset, evaluated', async () => {
    const a = await derive(residualNet, 3, [8, 8, 3], 5);
    const b = await derive(residualNet, 4, [8, 8, 3], 5);
    const { spec } = a;
    const set = new TensorSet(randomSet(24, [8, 8, 3], 5, 6), [8, 8, 3]);
    const mode = batchNormModes.get('fold-scale');
    const [preparedA, preparedB] = [mode.prepare(spec, a.params), mode.prepare(spec, b.params)];
    for (const method of ['permutation', 'weight-matching', 'cca']) {
      const aligner = aligners.get(method);
      const moments = aligner.needsStatistics ? collectSpaceMoments(spec, preparedA.params, preparedB.params, set, 12) : undefined;
      const { transforms } = aligner.align({ spec, paramsA: preparedA.params, paramsB: preparedB.params, ...(moments ? { moments } : {}), seed: 0 }, aligner.name === 'cca' ? { gamma: 1 } : {});
      expect(Object.keys(transforms).sort()).toEqual(featureSpaces(spec).map((space) => space.name).sort());
      const alignedB = mode.transform(spec, preparedB.params, transforms);
      if (method !== 'cca') {
        // a permutation leaves B's function as it was
        const x = inputs(3, [8, 8, 3], 7);
        const [before, after] = [spec.forward(b.params, x), spec.forward(alignedB, x)];
        expect(maxAbsDiff(after.dataSync(), before.dataSync())).toBeLessThan(1e-4);
        tf.dispose([x, before, after]);
      }
      const merged = mergeParams(preparedA.params, alignedB, 0.5);
      const reset = resetBatchNormStats(spec, merged, set, 12);
      const evaluation = evaluateModel(spec, reset, set);
      expect(evaluation.accuracy).toBeGreaterThanOrEqual(0);
      expect(evaluation.accuracy).toBeLessThanOrEqual(1);
      expect(Number.isFinite(evaluation.loss)).toBe(true);
      [alignedB, merged, reset].forEach(disposeParams);
    }
    set.dispose();
    [a.params, b.params, preparedA.params, preparedB.params].forEach(disposeParams);
    [a.model, b.model].forEach((model) => model.dispose());
  });
});

/** The one-line InputError building `topology` gives. */
function refusal(topology: unknown, inputShape: number[], numClasses: number): string {
  try {
    layersFamily.build(topology as Record<string, unknown>, inputShape, numClasses);
  } catch (error) {
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).not.toContain('\n');
    return (error as Error).message;
  }
  throw new Error('expected the topology to be refused');
}

/** The topology of a Sequential of `layers`. */
async function sequentialTopology(layers: tfl.layers.Layer[]): Promise<unknown> {
  const model = tfl.sequential({ layers });
  const topology = (await artifactsOf(model)).modelTopology;
  model.dispose();
  return topology;
}

describe('the layers family refuses', () => {
  beforeAll(async () => {
    await selectBackend('cpu');
  });

  it('a layer class outside the list, naming the layer', async () => {
    const topology = await sequentialTopology([
      tfl.layers.dense({ inputShape: [6], units: 4, name: 'd1' }),
      tfl.layers.layerNormalization({ name: 'norm' }),
      tfl.layers.dense({ units: 3, name: 'out' }),
    ]);
    expect(refusal(topology, [6], 3)).toMatch(/^layer norm \(LayerNormalization\) is not supported: merge-train derives specs from InputLayer, Dense, Conv2D/);
    const leaky = await sequentialTopology([tfl.layers.dense({ inputShape: [6], units: 4, name: 'd1' }), tfl.layers.leakyReLU({ name: 'leaky' }), tfl.layers.dense({ units: 3, name: 'out' })]);
    expect(refusal(leaky, [6], 3)).toMatch(/^layer leaky \(LeakyReLU\) is not supported/);
  });

  it('what per-axis feature spaces cannot express, naming the layer', async () => {
    const conv = (options: Partial<Parameters<typeof tfl.layers.conv2d>[0]> = {}) =>
      tfl.layers.conv2d({ inputShape: [4, 4, 2], filters: 3, kernelSize: 3, padding: 'same', name: 'conv', ...options });
    const flattened = await sequentialTopology([conv(), tfl.layers.flatten({ name: 'flat' }), tfl.layers.dense({ units: 3, name: 'out' })]);
    expect(refusal(flattened, [4, 4, 2], 3)).toMatch(/^layer flat \(Flatten\) is not supported: it flattens 4x4 positions of feature space conv into one axis/);
    const denseNorm = await sequentialTopology([
      tfl.layers.dense({ inputShape: [6], units: 4, name: 'd1' }),
      tfl.layers.batchNormalization({ name: 'bn' }),
      tfl.layers.dense({ units: 3, name: 'out' }),
    ]);
    expect(refusal(denseNorm, [6], 3)).toMatch(/^layer bn \(BatchNormalization\) is not supported: BatchNormalization must directly follow a Conv2D/);
    const afterRelu = await sequentialTopology([conv({ activation: 'relu' }), tfl.layers.batchNormalization({ name: 'bn' }), tfl.layers.globalAveragePooling2d({}), tfl.layers.dense({ units: 3 })]);
    expect(refusal(afterRelu, [4, 4, 2], 3)).toMatch(/^layer bn \(BatchNormalization\) is not supported/);
    const dilated = await sequentialTopology([conv({ dilationRate: 2 }), tfl.layers.globalAveragePooling2d({}), tfl.layers.dense({ units: 3 })]);
    expect(refusal(dilated, [4, 4, 2], 3)).toMatch(/^layer conv \(Conv2D\) is not supported: dilation_rate \[2, 2\]/);
    const hiddenSoftmax = await sequentialTopology([tfl.layers.dense({ inputShape: [6], units: 4, activation: 'softmax', name: 'd1' }), tfl.layers.dense({ units: 3 })]);
    expect(refusal(hiddenSoftmax, [6], 3)).toMatch(/^layer d1 \(Dense\) is not supported: softmax inside the network/);
    const noBias = await sequentialTopology([tfl.layers.dense({ inputShape: [6], units: 4, useBias: false, name: 'd1' }), tfl.layers.dense({ units: 3 })]);
    expect(refusal(noBias, [6], 3)).toMatch(/^layer d1 \(Dense\) is not supported: use_bias false/);
    const onImages = await sequentialTopology([tfl.layers.dense({ inputShape: [4, 4, 2], units: 3, name: 'd1' })]);
    expect(refusal(onImages, [4, 4, 2], 3)).toMatch(/^layer d1 \(Dense\) is not supported: its input has shape \[4, 4, 2\]/);
    const noLogits = await sequentialTopology([conv(), tfl.layers.globalAveragePooling2d({ name: 'gap' })]);
    expect(refusal(noLogits, [4, 4, 2], 3)).toMatch(/^the model's output comes from layer gap \(GlobalAveragePooling2D\), not from a Dense layer/);
  });

  it('structures it cannot run, and data that does not fit', async () => {
    const input = tfl.input({ shape: [4, 4, 3], name: 'image' });
    const conv = tfl.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same', name: 'conv' }).apply(input) as tfl.SymbolicTensor;
    const added = tfl.layers.add({ name: 'skip' }).apply([conv, input]) as tfl.SymbolicTensor;
    const pooled = tfl.layers.globalAveragePooling2d({ name: 'gap' }).apply(added) as tfl.SymbolicTensor;
    const shared = tfl.layers.dense({ units: 3, name: 'shared' });
    const once = shared.apply(pooled) as tfl.SymbolicTensor;
    const twice = shared.apply(once) as tfl.SymbolicTensor;
    const skip = (await artifactsOf(tfl.model({ inputs: input, outputs: once }))).modelTopology;
    expect(refusal(skip, [4, 4, 3], 3)).toMatch(/^layer skip \(Add\) is not supported: it adds the model's input to a feature space/);
    const twiceTopology = (await artifactsOf(tfl.model({ inputs: input, outputs: twice }))).modelTopology;
    expect(refusal(twiceTopology, [4, 4, 3], 3)).toMatch(/^layer shared \(Dense\) is applied 2 times \(shared weights\)/);
    const mlp = (await artifactsOf(sequentialMlp(1))).modelTopology as { config: { layers: { class_name: string }[] } };
    expect(refusal(mlp, [4, 5], 4)).toMatch(/^layer logits \(Dense\) gives 3 class logits, but the data has 4 classes$/);
    expect(refusal(mlp, [21], 3)).toMatch(/^the model's input flat_input takes examples of shape \[4, 5\], but the data's are \[21\]$/);
    const keras3 = structuredClone(skip) as { config: { layers: { inbound_nodes: unknown }[] } };
    keras3.config.layers[1]!.inbound_nodes = [{ args: [{ class_name: '__keras_tensor__', config: { keras_history: ['image', 0, 0] } }], kwargs: {} }];
    expect(() => layersFamily.build(keras3 as unknown as Record<string, unknown>, [4, 4, 3], 3)).toThrow(/Keras 3 format is not supported/);
  });
});
