import * as tf from '@tensorflow/tfjs-core';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/backend/selectBackend.js';
import { layersModelFormat } from '../../src/interop/layersModelFormat.js';
import { mergeParams } from '../../src/merge/mergeParams.js';
import { families } from '../../src/nn/families.js';
import { disposeParams } from '../../src/nn/init.js';
import { layersFamily } from '../../src/nn/layersGraph.js';
import { mlpFamily } from '../../src/nn/mlp.js';
import { resnetFamily } from '../../src/nn/resnet.js';
import type { ModelSpec, ParamMap } from '../../src/nn/spec.js';
import { vggFamily } from '../../src/nn/vgg.js';
import { InputError } from '../../src/util/errors.js';
import { maxAbsDiff, normalInputs, randomParams } from '../nn/helpers.js';
import { artifactsOf, convNet, loadModelFiles, residualNet, sequentialMlp, writeModelFiles } from '../nn/tfjsModels.js';

const root = mkdtempSync(join(tmpdir(), 'merge-train-tfjs-'));
let folders = 0;
/** A new empty folder under the test's temporary root. */
const folder = () => join(root, `case${folders++}`);

function inputs(count: number, shape: readonly number[], seed: number): tf.Tensor {
  return tf.tensor(normalInputs(count, shape.reduce((a, b) => a * b, 1), seed), [count, ...shape]);
}

/** Largest difference between two models' outputs on the same inputs. */
function difference(a: tf.Tensor, b: tf.Tensor): number {
  return maxAbsDiff(a.dataSync(), b.dataSync());
}

/** merge-train's outputs for `x`: logits, or their softmax for a model that ends in one. */
function outputs(spec: ModelSpec, params: ParamMap, x: tf.Tensor, softmax = false): tf.Tensor {
  return tf.tidy(() => (softmax ? tf.softmax(spec.forward(params, x)) : spec.forward(params, x)));
}

/** The InputError `promise` rejects with: one line, naming `path` first. */
async function refusal(promise: Promise<unknown>, path: string): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(InputError);
  const message = (error as Error).message;
  expect(message).not.toContain('\n');
  expect(message.startsWith(path)).toBe(true);
  return message.slice(path.length);
}

const tfjsCases = [
  { name: '(a) Sequential MLP', make: sequentialMlp, inputShape: [4, 5], numClasses: 3, softmax: false },
  { name: '(b) conv net with BatchNorm and pooling', make: convNet, inputShape: [8, 8, 3], numClasses: 4, softmax: true },
  { name: '(c) functional residual net', make: residualNet, inputShape: [8, 8, 3], numClasses: 5, softmax: false },
] as const;

describe('the tfjs model format', () => {
  beforeAll(async () => {
    await selectBackend('cpu');
  });
  afterAll(() => {
    tf.disposeVariables();
    rmSync(root, { recursive: true, force: true });
  });

  for (const { name, make, inputShape, numClasses, softmax } of tfjsCases) {
    it(`${name}: reads model.json as tfjs saves it, and writes what tf.loadLayersModel loads back, predicting alike`, async () => {
      const model = make(1);
      const path = writeModelFiles(await artifactsOf(model), folder());
      const { spec, params } = await layersModelFormat.read(path, {});
      expect(spec.family).toBe(layersFamily.name);
      expect(spec.inputShape).toEqual(inputShape);
      expect(spec.numClasses).toBe(numClasses);
      const x = inputs(5, inputShape, 2);
      const expected = model.predict(x) as tf.Tensor;
      const output = outputs(spec, params, x, softmax);
      expect(difference(output, expected)).toBeLessThan(1e-4);

      const written = await layersModelFormat.write(spec, params, join(folder(), 'exported.json'));
      expect(written.map((file) => file.split('/').pop())).toEqual(['exported.json', 'exported.weights.bin']);
      const loaded = await loadModelFiles(written[0]!);
      const reloaded = loaded.predict(x) as tf.Tensor;
      expect(difference(reloaded, output)).toBeLessThan(1e-4);
      const again = await layersModelFormat.read(written[0]!, {});
      expect(Object.keys(again.params).sort()).toEqual(Object.keys(params).sort());
      for (const param of Object.keys(params)) expect(difference(again.params[param]!, params[param]!)).toBe(0);
      tf.dispose([x, expected, output, reloaded]);
      [params, again.params].forEach(disposeParams);
      [model, loaded].forEach((m) => m.dispose());
    });
  }

  it("reads the Keras converter's model.json: the model_config wrapper, Functional, BatchNorm axis [3], call kwargs", async () => {
    const model = residualNet(2);
    const artifacts = await artifactsOf(model);
    const config = structuredClone(artifacts.modelTopology) as { class_name: string; config: { layers: { class_name: string; config: Record<string, unknown> }[] } };
    config.class_name = 'Functional';
    for (const layer of config.config.layers) if (layer.class_name === 'BatchNormalization') layer.config.axis = [3];
    const converted = { ...artifacts, modelTopology: { keras_version: '2.15.0', backend: 'tensorflow', model_config: config, training_config: { loss: 'categorical_crossentropy' } } };
    const path = writeModelFiles(converted, folder());
    const { spec, params } = await layersModelFormat.read(path, {});
    const loaded = await loadModelFiles(path);
    const x = inputs(3, [8, 8, 3], 4);
    const [expected, output] = [loaded.predict(x) as tf.Tensor, outputs(spec, params, x)];
    expect(difference(output, expected)).toBeLessThan(1e-4);
    tf.dispose([x, expected, output]);
    disposeParams(params);
    [model, loaded].forEach((m) => m.dispose());
  });

  it('writes a merge of two tfjs models as a LayersModel tfjs predicts with as merge-train does', async () => {
    const [a, b] = await Promise.all(
      [3, 4].map(async (seed) => {
        const model = residualNet(seed);
        const read = await layersModelFormat.read(writeModelFiles(await artifactsOf(model), folder()), {});
        model.dispose();
        return read;
      }),
    );
    const merged = mergeParams(a!.params, b!.params, 0.3);
    const [path] = await layersModelFormat.write(a!.spec, merged, join(folder(), 'merged.json'));
    const loaded = await loadModelFiles(path!);
    const x = inputs(4, [8, 8, 3], 5);
    const [expected, actual] = [outputs(a!.spec, merged, x), loaded.predict(x) as tf.Tensor];
    expect(difference(actual, expected)).toBeLessThan(1e-4);
    tf.dispose([x, expected, actual]);
    [a!.params, b!.params, merged].forEach(disposeParams);
    loaded.dispose();
  });

  const ownCases: [string, string, Record<string, unknown>, number[]][] = [
    ['mlp', mlpFamily.name, { hidden: [6, 5] }, [3, 4]],
    ['vgg with BatchNorm', vggFamily.name, { layout: [4, 'M', 6, 'M', 5], batchNorm: true }, [7, 7, 3]],
    ['vgg without BatchNorm', vggFamily.name, { layout: [4, 'M', 6], batchNorm: false }, [6, 6, 2]],
    ['resnet', resnetFamily.name, { blocks: [1, 2], widths: [4, 6] }, [7, 7, 3]],
    ['resnet padded as PyTorch pads, on even sizes', resnetFamily.name, { blocks: [1, 1, 1], widths: [4, 6, 5], padding: 'symmetric' }, [8, 8, 3]],
  ];
  for (const [label, family, config, inputShape] of ownCases) {
    it(`${label}: writes an equivalent Keras model tf.loadLayersModel predicts with as merge-train does, and reads it back as it was`, async () => {
      const entry = families.get(family);
      const spec = entry.build(entry.configSchema.parse(config), inputShape, 4);
      const params = randomParams(spec, 8);
      const [path] = await layersModelFormat.write(spec, params, join(folder(), 'model.json'));
      const loaded = await loadModelFiles(path!);
      const x = inputs(5, inputShape, 9);
      const expected = outputs(spec, params, x);
      const predicted = loaded.predict(x) as tf.Tensor;
      expect(difference(predicted, expected)).toBeLessThan(1e-4);

      // Read back: the same family, configuration and parameters, entry for entry.
      const back = await layersModelFormat.read(path!, {});
      expect(back.spec.family).toBe(family);
      expect(back.spec.config).toEqual(spec.config);
      expect(back.spec.inputShape).toEqual(inputShape);
      expect(Object.keys(back.params)).toEqual(Object.keys(params));
      for (const param of Object.keys(params)) expect(difference(back.params[param]!, params[param]!)).toBe(0);
      // Read as any LayersModel, the derived spec computes the same function.
      const derived = await layersModelFormat.read(path!, { family: layersFamily.name });
      expect(derived.spec.family).toBe(layersFamily.name);
      const output = outputs(derived.spec, derived.params, x);
      expect(difference(output, expected)).toBeLessThan(1e-4);
      tf.dispose([x, expected, predicted, output]);
      [params, back.params, derived.params].forEach(disposeParams);
      loaded.dispose();
    });
  }

  it('refuses files it cannot read as a LayersModel of float32 weights, naming the file and what is wrong', async () => {
    const model = convNet(1);
    const artifacts = await artifactsOf(model);
    model.dispose();
    /** The conv net's files, with model.json changed by `edit`. */
    const variant = (edit: (json: Record<string, any>) => void): string => {
      const path = writeModelFiles(artifacts, folder());
      const json = JSON.parse(readFileSync(path, 'utf8')) as Record<string, any>;
      edit(json);
      writeFileSync(path, JSON.stringify(json));
      return path;
    };
    const cases: [(json: Record<string, any>) => void, RegExp][] = [
      [(json) => (json.weightsManifest[0].weights[0].quantization = { dtype: 'uint8', scale: 0.1, min: -1 }), /^: weight conv_a\/kernel is quantised \(uint8\); merge-train reads float32 weights/],
      [(json) => (json.weightsManifest[0].weights[1].dtype = 'int32'), /^: weight conv_a\/bias has dtype int32; merge-train reads float32 weights$/],
      [(json) => (json.format = 'graph-model'), /^: format graph-model; merge-train reads TensorFlow\.js LayersModels/],
      [(json) => (json.weightsManifest[0].paths = ['missing.bin']), /^: cannot read weight file missing\.bin: no such file or folder$/],
      [(json) => json.weightsManifest[0].weights.pop(), /^: weight group 0 \(group1-shard1of1\.bin\) holds \d+ bytes; its manifest's float32 weights need \d+$/],
      [(json) => (json.weightsManifest[0].weights[0].name = 'renamed/kernel'), /^: weight conv_a\/kernel is missing \(the layers model's conv_a\/kernel, shape \[3, 3, 3, 4\]\)$/],
      [(json) => (json.modelTopology.config.layers[2].class_name = 'PReLU'), /^: layer relu_a \(PReLU\) is not supported: merge-train derives specs from/],
      [(json) => delete json.weightsManifest, /^: weightsManifest: Invalid input/],
    ];
    for (const [edit, expected] of cases) {
      const path = variant(edit);
      expect(await refusal(layersModelFormat.read(path, {}), path)).toMatch(expected);
    }
    // weights that are not finite
    const nanPath = writeModelFiles(artifacts, folder());
    const shard = join(nanPath, '..', 'group1-shard1of1.bin');
    const bytes = readFileSync(shard);
    bytes.writeFloatLE(Number.NaN, 8);
    writeFileSync(shard, bytes);
    expect(await refusal(layersModelFormat.read(nanPath, {}), nanPath)).toMatch(/^: weight conv_a\/kernel holds NaN at entry 2; expected finite weights$/);
    // hints that disagree with the file
    const path = writeModelFiles(artifacts, folder());
    expect(await refusal(layersModelFormat.read(path, { inputShape: [6, 6, 3] }), path)).toMatch(/takes examples of shape \[8, 8, 3\], but the data's are \[6, 6, 3\]$/);
    expect(await refusal(layersModelFormat.read(path, { numClasses: 10 }), path)).toMatch(/^: layer classes \(Dense\) gives 4 class logits, but the data has 10 classes$/);
    expect(await refusal(layersModelFormat.read(path, { family: vggFamily.name }), path)).toMatch(/needs its configuration/);
    // a model file that is not JSON
    const notJson = join(folder(), 'model.json');
    mkdirSync(join(notJson, '..'));
    writeFileSync(notJson, 'not json');
    expect(await refusal(layersModelFormat.read(notJson, {}), notJson)).toMatch(/^: not JSON/);
  });

  it('writes only .json model files, and only models it has a Keras equivalent for', async () => {
    const spec = families.get(mlpFamily.name).build({ hidden: [3] }, [2], 2);
    const params = randomParams(spec, 1);
    await expect(layersModelFormat.write(spec, params, join(folder(), 'model.bin'))).rejects.toThrow(/give a path ending in \.json$/);
    await expect(layersModelFormat.write({ ...spec, family: 'elsewhere' }, params, join(folder(), 'model.json'))).rejects.toThrow(
      /^a elsewhere model has no TensorFlow\.js equivalent here; the tfjs format writes layers, mlp, vgg, resnet models$/,
    );
    disposeParams(params);
  });
});
