/**
 * Real TensorFlow.js LayersModels for the `layers` family and the tfjs format tests: three small
 * networks built with tf.layers and given seeded weights, their saved artifacts (tf.io.withSaveHandler),
 * and model files written and loaded the way tf.io does, independently of merge-train's own reader.
 */
import * as tf from '@tensorflow/tfjs';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { normalRng } from './helpers.js';

/** Seeded weights for every variable of `model`, scaled so activations stay near unit size. */
export function seedWeights(model: tf.LayersModel, seed: number): void {
  const next = normalRng(seed);
  const values = model.weights.map((weight) => {
    const shape = weight.shape as number[];
    const size = shape.reduce((a, b) => a * b, 1);
    const name = weight.originalName;
    const normal = Float32Array.from({ length: size }, () => next());
    if (name.endsWith('/kernel')) {
      const fanIn = shape.slice(0, -1).reduce((a, b) => a * b, 1);
      return tf.tensor(normal.map((v) => (1.5 * v) / Math.sqrt(fanIn)), shape);
    }
    // gamma and the variance positive, away from zero; biases, beta and the mean of either sign
    const positive = name.endsWith('/gamma') || name.endsWith('/moving_variance');
    return tf.tensor(normal.map((v) => (positive ? 0.5 + Math.abs(v) : 0.3 * v)), shape);
  });
  model.setWeights(values);
  tf.dispose(values);
}

/** (a) A Sequential MLP on [4, 5] inputs: Flatten, Dense relu, Dropout, Dense + ReLU, a linear Dense, 3 logits. */
export function sequentialMlp(seed: number): tf.Sequential {
  const model = tf.sequential({
    name: 'mlp',
    layers: [
      tf.layers.flatten({ inputShape: [4, 5], name: 'flat' }),
      tf.layers.dense({ units: 8, activation: 'relu', name: 'hidden1' }),
      tf.layers.dropout({ rate: 0.3, name: 'drop' }),
      tf.layers.dense({ units: 6, name: 'hidden2' }),
      tf.layers.reLU({ name: 'relu2' }),
      tf.layers.dense({ units: 5, name: 'bottleneck' }),
      tf.layers.dense({ units: 3, name: 'logits' }),
    ],
  });
  seedWeights(model, seed);
  return model;
}

/**
 * (b) A Sequential conv net on [8, 8, 3]: Conv2D (with its bias) + BatchNorm + ReLU, max-pool, a
 * valid 3x3 Conv2D with relu, a 3x2 Conv2D without bias + BatchNorm (epsilon 0.01) + ReLU, global
 * average pooling, dropout and a Dense with softmax over 4 classes.
 */
export function convNet(seed: number): tf.Sequential {
  const model = tf.sequential({
    name: 'convnet',
    layers: [
      tf.layers.conv2d({ inputShape: [8, 8, 3], filters: 4, kernelSize: 3, padding: 'same', name: 'conv_a' }),
      tf.layers.batchNormalization({ name: 'bn_a' }),
      tf.layers.activation({ activation: 'relu', name: 'relu_a' }),
      tf.layers.maxPooling2d({ poolSize: 2, name: 'pool_a' }),
      tf.layers.conv2d({ filters: 6, kernelSize: 3, activation: 'relu', name: 'conv_b' }),
      tf.layers.conv2d({ filters: 5, kernelSize: [3, 2], padding: 'same', useBias: false, name: 'conv_c' }),
      tf.layers.batchNormalization({ epsilon: 0.01, name: 'bn_c' }),
      tf.layers.reLU({ name: 'relu_c' }),
      tf.layers.globalAveragePooling2d({ name: 'gap' }),
      tf.layers.dropout({ rate: 0.5, name: 'drop' }),
      tf.layers.dense({ units: 4, activation: 'softmax', name: 'classes' }),
    ],
  });
  seedWeights(model, seed);
  return model;
}

/** A convolution and its BatchNorm, as tf.layers applies them; `pad`: zero padding of one on every side, then a valid convolution. */
function convBn(x: tf.SymbolicTensor, name: string, filters: number, kernelSize: number, strides: number, pad = false): tf.SymbolicTensor {
  const input = pad ? (tf.layers.zeroPadding2d({ padding: 1, name: `${name}_pad` }).apply(x) as tf.SymbolicTensor) : x;
  const conv = tf.layers.conv2d({ filters, kernelSize, strides, padding: pad ? 'valid' : 'same', useBias: false, name }).apply(input) as tf.SymbolicTensor;
  return tf.layers.batchNormalization({ name: `${name}_bn` }).apply(conv) as tf.SymbolicTensor;
}

const relu = (x: tf.SymbolicTensor, name: string) => tf.layers.reLU({ name }).apply(x) as tf.SymbolicTensor;

/**
 * (c) A functional residual net on [8, 8, 3]: a stem, a block with an identity shortcut, a block
 * with stride 2 (zero padding, then a valid convolution) and a projection shortcut (1x1 Conv2D +
 * BatchNorm), 4x4 average pooling to 1x1,
 * Flatten, a hidden Dense with relu and 5 logits.
 */
export function residualNet(seed: number): tf.LayersModel {
  const input = tf.input({ shape: [8, 8, 3], name: 'image' });
  const stem = relu(convBn(input, 'stem', 4, 3, 1), 'stem_relu');
  const inner1 = relu(convBn(stem, 'b1_conv1', 4, 3, 1), 'b1_relu1');
  const out1 = tf.layers.add({ name: 'b1_add' }).apply([convBn(inner1, 'b1_conv2', 4, 3, 1), stem]) as tf.SymbolicTensor;
  const block1 = relu(out1, 'b1_out');
  const inner2 = relu(convBn(block1, 'b2_conv1', 6, 3, 2, true), 'b2_relu1');
  const projection = convBn(block1, 'b2_proj', 6, 1, 2);
  const out2 = tf.layers.add({ name: 'b2_add' }).apply([convBn(inner2, 'b2_conv2', 6, 3, 1), projection]) as tf.SymbolicTensor;
  const block2 = relu(out2, 'b2_out');
  const pooled = tf.layers.averagePooling2d({ poolSize: 4, name: 'avg' }).apply(block2) as tf.SymbolicTensor;
  const flat = tf.layers.flatten({ name: 'flat' }).apply(pooled) as tf.SymbolicTensor;
  const head = tf.layers.dense({ units: 7, activation: 'relu', name: 'head' }).apply(flat) as tf.SymbolicTensor;
  const logits = tf.layers.dense({ units: 5, name: 'logits' }).apply(head) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: logits, name: 'resnet' });
  seedWeights(model, seed);
  return model;
}

/** What tf.LayersModel.save hands its IOHandler: the topology, the weight specs and their bytes. */
export async function artifactsOf(model: tf.LayersModel): Promise<tf.io.ModelArtifacts> {
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return saved!;
}

/** The saved weights by name (tfjs's, e.g. `conv_a/kernel`). */
export function weightsOf(artifacts: tf.io.ModelArtifacts): tf.NamedTensorMap {
  return tf.io.decodeWeights(artifacts.weightData!, artifacts.weightSpecs!);
}

/** Saved artifacts as files, the way tf.io's file handler lays them out: `<dir>/model.json` and one shard. */
export function writeModelFiles(artifacts: tf.io.ModelArtifacts, dir: string): string {
  mkdirSync(dir, { recursive: true });
  const data = artifacts.weightData!;
  const buffers = Array.isArray(data) ? data : [data];
  writeFileSync(join(dir, 'group1-shard1of1.bin'), Buffer.concat(buffers.map((b) => Buffer.from(b))));
  const modelJson = {
    format: 'layers-model',
    generatedBy: 'TensorFlow.js tfjs-layers',
    convertedBy: null,
    modelTopology: artifacts.modelTopology,
    weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: artifacts.weightSpecs }],
  };
  const path = join(dir, 'model.json');
  writeFileSync(path, JSON.stringify(modelJson));
  return path;
}

/** tf.loadLayersModel of model files (a model.json and the shards its manifest names), through tf.io.fromMemory. */
export async function loadModelFiles(path: string): Promise<tf.LayersModel> {
  const modelJson = JSON.parse(readFileSync(path, 'utf8')) as { modelTopology: object; weightsManifest: tf.io.WeightsManifestConfig };
  const shards = modelJson.weightsManifest.flatMap((group) => group.paths.map((shard) => readFileSync(join(dirname(path), shard))));
  const bytes = Buffer.concat(shards);
  const weightData = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  const weightSpecs = modelJson.weightsManifest.flatMap((group) => group.weights);
  return tf.loadLayersModel(tf.io.fromMemory({ modelTopology: modelJson.modelTopology, weightSpecs, weightData }));
}
