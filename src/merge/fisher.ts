import * as tf from '@tensorflow/tfjs-core';
import type { Batch, TensorSet } from '../data/batches.js';
import { batchNormEpsilon, param } from '../nn/layers.js';
import {
  trainableParams,
  type AffineLayer,
  type BatchNormLayer,
  type ConvGeometry,
  type ConvLayer,
  type ForwardContext,
  type ModelSpec,
  type ParamMap,
} from '../nn/spec.js';
import { ensure } from '../util/errors.js';
import type { AlphaMasks } from './mergeParams.js';

/**
 * `expected`: the true Fisher, an expectation over the model's own predicted class distribution
 * (as in Fisher merging, Matena & Raffel, NeurIPS 2022, https://arxiv.org/abs/2111.09832).
 * `empirical`: squared gradients of the loss at the true labels.
 */
export const fisherModes = ['expected', 'empirical'] as const;
/** Which Fisher information: `expected` or `empirical` (see {@link fisherModes}). */
export type FisherMode = (typeof fisherModes)[number];
const [EXPECTED] = fisherModes;

/** Options of {@link diagonalFisher}. */
export interface FisherOptions {
  /**
   * Examples per batch (each is stacked once per class in expected mode). Default: 250 for a model of
   * dense layers only, {@link CONV_FISHER_BATCH} for one with convolutions (their per-example
   * gradients are far larger than a dense layer's factors).
   */
  batchSize?: number;
  /** Use the first `examples` examples of the set (all of them when absent or larger than the set). */
  examples?: number;
}

const DENSE_FISHER_BATCH = 250;
/**
 * Default batch size of the Fisher of a model with convolutions. Measured on fashion-vgg's and
 * fashion-resnet's models (expected mode, wasm, 2 threads), in ms per example at batch 16 / 32 / 64
 * / 128 (scratch/fisherBench.mts): VGG 6.5 / 6.0 / 6.2 / 6.3, ResNet 23.5 / 22.2 / 22.3 / 23.0. The
 * time is flat past 32, and memory grows with the batch (expected mode stacks 10 classes: ~150 MB at
 * 32 for the ResNet), so 32.
 */
export const CONV_FISHER_BATCH = 32;

/** A layer as the first (recording) pass saw it: what its per-example gradient needs. */
type RecordedLayer =
  | { kind: 'dense'; layer: AffineLayer; input: tf.Tensor2D; outShape: number[] }
  | { kind: 'conv'; layer: ConvLayer; input: tf.Tensor4D; geometry: ConvGeometry; outShape: number[] }
  | { kind: 'batchNorm'; layer: BatchNormLayer; input: tf.Tensor; outShape: number[] };

/**
 * Diagonal Fisher information of every parameter, averaged over the (first `examples`) examples of
 * `data`, with the model in inference mode (BatchNorm on its running statistics, so examples are
 * independent): F = E_x E_y [(d log p(y|x) / d theta)^2], y ~ p(y|x) (expected) or the true label
 * (empirical), as Fisher merging uses it (Matena & Raffel, https://arxiv.org/abs/2111.09832).
 *
 * The per-example gradients come from one batched backward pass to zero "taps" added to every
 * layer's output, which gives each example's output gradient delta:
 * - dense: the gradient is outer(input, delta), so its squares sum as (input^2)^T (delta^2), exactly,
 *   without forming any per-example gradient;
 * - convolution: the kernel's gradient is patches^T delta (the input's patches [positions, kh kw in],
 *   see {@link imagePatches}), formed for every example and class by one batched product, squared;
 *   the bias's is delta summed over positions;
 * - BatchNorm: the scale's gradient is the sum over positions of delta x^ (x^ the input normalised by
 *   the running statistics), the shift's the sum of delta.
 * Per-example squares are weighted and summed over examples by one product with the weights.
 * For the expected Fisher the batch is stacked once per class (row c * batch + i differentiates class
 * c of example i, weighted by p_c(x_i)), so one pass covers every class. Running statistics get zero.
 *
 * ```ts
 * const fisher = diagonalFisher(spec, params, mergeSet, 'expected', { examples: 1000 });
 * ```
 */
export function diagonalFisher(spec: ModelSpec, params: ParamMap, data: TensorSet, mode: FisherMode, options: FisherOptions = {}): ParamMap {
  const { examples } = options;
  ensure(examples === undefined || (Number.isSafeInteger(examples) && examples > 0), `Fisher examples must be a positive integer; got ${examples}`);
  const used = Math.min(examples ?? data.count, data.count);
  ensure(used > 0, 'Fisher information needs at least one example, and the set is empty');
  const hasConv = spec.layers.some((layer) => layer.kind !== 'dense');
  const batchSize = options.batchSize ?? (hasConv ? CONV_FISHER_BATCH : DENSE_FISHER_BATCH);
  const sums: ParamMap = Object.fromEntries(Object.entries(params).map(([name, p]) => [name, tf.zeros(p.shape)]));
  const accumulate = (name: string, value: tf.Tensor) => {
    const previous = sums[name]!;
    sums[name] = tf.keep(tf.add(previous, tf.reshape(value, previous.shape)));
    previous.dispose();
  };
  let checked = false;
  try {
    for (const batch of firstExamples(data, batchSize, used)) {
      try {
        tf.tidy(() => {
          // A first pass records each layer's input and the model's class probabilities.
          const recorded: RecordedLayer[] = [];
          const logits = spec.forward(params, batch.x, {
            affine: (layer, input, preActivation) => {
              recorded.push({ kind: 'dense', layer, input, outShape: preActivation.shape });
              return preActivation;
            },
            conv: (layer, input, output, geometry) => {
              recorded.push({ kind: 'conv', layer, input, geometry, outShape: output.shape });
              return output;
            },
            batchNorm: (layer, input, output) => {
              recorded.push({ kind: 'batchNorm', layer, input, outShape: output.shape });
              return output;
            },
          });
          if (!checked) checkCoverage(spec, recorded);
          checked = true;
          const count = batch.y.shape[0];
          const classes = mode === EXPECTED ? spec.numClasses : 1;
          // Which log-probability each stacked row differentiates, and the weight of its square.
          const probabilities = mode === EXPECTED ? tf.softmax(logits) : undefined; // [count, classes]
          const [targets, weights] = probabilities
            ? [
                tf.oneHot(tf.tensor1d(Int32Array.from({ length: classes * count }, (_, row) => Math.floor(row / count)), 'int32'), classes),
                tf.reshape(tf.transpose(probabilities), [classes * count, 1]),
              ]
            : [tf.oneHot(batch.y, spec.numClasses), tf.ones([count, 1])];
          // concat, not tile: the wasm backend's Tile is a slow generic loop (~70 ms for [250, 784] x 10)
          const stacked = classes === 1 ? batch.x : tf.concat(Array.from({ length: classes }, () => batch.x), 0);
          const taps = recorded.map((r) => tf.zeros([classes * count, ...r.outShape.slice(1)]));
          const deltas = tf.grads((...tapValues: tf.Tensor[]) => {
            let index = 0;
            const tap = <T extends tf.Tensor>(output: T): T => tf.add(output, tapValues[index++]!) as T;
            const context: ForwardContext = {
              affine: (_layer, _input, preActivation) => tap(preActivation),
              ...(hasConv
                ? {
                    conv: (_layer, _input, output) => tap(output),
                    batchNorm: (_layer, _input, output) => tap(output),
                  }
                : {}),
            };
            const out = spec.forward(params, stacked, context);
            return tf.sum(tf.mul(tf.logSoftmax(out), targets));
          })(taps);
          // [1, rows]: each stacked row's weight, for products that weight and sum squares; rows class by
          // class (as stacked), or example by example (as convKernelFisher orders them)
          const weightRow = hasConv ? tf.reshape(weights, [1, classes * count]) : undefined;
          const exampleMajorWeights = hasConv ? (probabilities ? tf.reshape(probabilities, [1, count * classes]) : weightRow) : undefined;
          recorded.forEach((r, i) => {
            const delta = deltas[i]!;
            if (r.kind === 'dense') {
              // [classes * count, out] weighted squares, summed over the classes: [count, out]
              const weightedSquares = tf.sum(tf.reshape(tf.mul(tf.square(delta), weights), [classes, count, -1]), 0);
              accumulate(r.layer.weight, tf.matMul(tf.square(r.input), weightedSquares, true, false)); // [in, batch] x [batch, out]
              accumulate(r.layer.bias, tf.sum(weightedSquares, 0));
              return;
            }
            // A layer at a time: its per-example gradients are freed before the next layer's are made.
            tf.tidy(() => {
              if (r.kind === 'conv') {
                accumulate(r.layer.weight, convKernelFisher(r.input, delta as tf.Tensor4D, param(params, r.layer.weight).shape, r.geometry, exampleMajorWeights!, classes));
                if (r.layer.bias) accumulate(r.layer.bias, weightedSquareSum(weightRow!, positionSums(delta)));
              } else {
                const normalised = stackClasses(normalisedInput(params, r.layer, r.input), classes);
                accumulate(r.layer.weight, weightedSquareSum(weightRow!, positionSums(tf.mul(delta, normalised))));
                accumulate(r.layer.bias, weightedSquareSum(weightRow!, positionSums(delta)));
              }
            });
            delta.dispose();
          });
        });
      } finally {
        tf.dispose([batch.x, batch.y]);
      }
    }
    // Parameters outside the layers above (running statistics) keep zero Fisher.
    return tf.tidy(() => Object.fromEntries(Object.entries(sums).map(([name, s]) => [name, tf.div(s, used)])));
  } finally {
    tf.dispose(Object.values(sums));
  }
}

/** Batches of the first `count` examples of `data`. */
function* firstExamples(data: TensorSet, batchSize: number, count: number): Generator<Batch> {
  let start = 0;
  for (const batch of data.batches(batchSize)) {
    if (start >= count) {
      tf.dispose([batch.x, batch.y]);
      return;
    }
    const size = Math.min(batch.y.shape[0], count - start);
    start += size;
    if (size === batch.y.shape[0]) {
      yield batch;
      continue;
    }
    const cut = tf.tidy(() => ({ x: tf.slice(batch.x, 0, size), y: tf.slice(batch.y, 0, size) }));
    tf.dispose([batch.x, batch.y]);
    yield cut;
  }
}

/**
 * Refuses a forward pass whose per-example gradients the hooks cannot give: a trained parameter
 * that no reported layer owns (an op called without the layer functions of nn/layers.ts), or a
 * layer reported twice (shared weights: its per-example gradient is a sum whose square does not split).
 */
function checkCoverage(spec: ModelSpec, recorded: RecordedLayer[]): void {
  const seen = new Set<string>();
  for (const r of recorded) {
    const names = r.kind === 'batchNorm' ? [r.layer.weight, r.layer.bias] : r.layer.bias === undefined ? [r.layer.weight] : [r.layer.weight, r.layer.bias];
    for (const name of names) {
      if (seen.has(name)) throw new Error(`diagonalFisher: the ${spec.family} forward pass uses ${name} twice; per-example Fisher needs each layer applied once`);
      seen.add(name);
    }
  }
  const missing = trainableParams(spec).filter((name) => !seen.has(name));
  if (missing.length > 0) {
    throw new Error(
      `diagonalFisher: the ${spec.family} forward pass reports no dense, conv2d or batchNorm layer (nn/layers.ts, given the context) for ${missing.length} trained parameters (${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ', ...' : ''})`,
    );
  }
}

/** Repeats `x` [count, ...] once per class along the batch axis: [classes * count, ...] (concat: see above). */
function stackClasses(x: tf.Tensor, classes: number): tf.Tensor {
  return classes === 1 ? x : tf.concat(Array.from({ length: classes }, () => x), 0);
}

/** [rows, ...positions, channels] -> [rows, channels], summed over the positions. */
function positionSums(x: tf.Tensor): tf.Tensor2D {
  const rows = x.shape[0]!;
  const channels = x.shape[x.shape.length - 1]!;
  return tf.sum(tf.reshape(x, [rows, -1, channels]), 1) as tf.Tensor2D;
}

/**
 * sum_rows weight_row * perRow_row^2: [1, rows] x [rows, n] -> [1, n], squares weighted and summed in
 * one product. mul(x, x), not square: the same values, and the wasm Square kernel is ~5x slower.
 */
function weightedSquareSum(weightRow: tf.Tensor, perRow: tf.Tensor2D): tf.Tensor {
  return tf.matMul(weightRow as tf.Tensor2D, tf.mul(perRow, perRow));
}

/** BatchNorm's input normalised by the running statistics, x^ = (x - mean) / sqrt(var + eps), as x r - mean r (per-channel ops, fast on wasm). */
function normalisedInput(params: ParamMap, layer: BatchNormLayer, x: tf.Tensor): tf.Tensor {
  const inverseStd = tf.rsqrt(tf.add(param(params, layer.runningVar), batchNormEpsilon(layer)));
  return tf.sub(tf.mul(x, inverseStd), tf.mul(param(params, layer.runningMean), inverseStd));
}

/**
 * Summed weighted squares of per-example kernel gradients, [kh, kw, in, out]. Example i's gradient
 * for class c is patches_i^T delta_(c, i), [kh kw in, positions] x [positions, out]. One batched
 * product per layer forms every example's gradients for all its classes at once, transposed,
 * [count, classes out, kh kw in]; `weights` [1, count classes] (example by example) weights their
 * squares and sums them in another.
 */
function convKernelFisher(
  input: tf.Tensor4D,
  delta: tf.Tensor4D,
  kernelShape: number[],
  geometry: ConvGeometry,
  weights: tf.Tensor,
  classes: number,
): tf.Tensor {
  const [kh, kw, , outChannels] = kernelShape as [number, number, number, number];
  const count = input.shape[0];
  const positions = delta.shape[1] * delta.shape[2];
  const patches = imagePatches(input, kh, kw, geometry); // [count, positions, kh kw in]
  const rows = patches.shape[2];
  // stacked class by class [classes, count, positions, out] -> example by example [count, classes out, positions]
  const byExample = tf.reshape(tf.transpose(tf.reshape(delta, [classes, count, positions, outChannels]), [1, 0, 3, 2]), [count, classes * outChannels, positions]) as tf.Tensor3D;
  const gradients = tf.reshape(tf.matMul(byExample, patches), [count * classes, outChannels * rows]) as tf.Tensor2D;
  const sums = tf.reshape(weightedSquareSum(weights, gradients), [outChannels, rows]); // [out, kh kw in]
  return tf.reshape(tf.transpose(sums), kernelShape);
}

/**
 * Below this many input channels a one-hot convolution makes the patches faster than a gather; above
 * it, slower, as its cost grows with the channels squared. Measured on wasm (2 threads, 32 examples,
 * 3x3, best of 8): 28x28x8: 11 ms against 16 ms; 28x28x12: 35 against 21; 7x7x48: 27 against 1.2.
 */
const GATHER_PATCHES_MIN_CHANNELS = 10;

/**
 * The input's patches as a convolution of `geometry` sees them, [batch, out positions, kh kw in], the
 * last axis in the order of a kernel [kh, kw, in, out] flattened (tfjs-core has no extractImagePatches).
 * With few channels: a convolution with one-hot kernels (output channel (a kw + b) in + i copies
 * input (a, b, i) of each window); with more: the zero-padded input's rows [in] gathered window by window.
 */
export function imagePatches(input: tf.Tensor4D, kh: number, kw: number, geometry: ConvGeometry): tf.Tensor3D {
  return tf.tidy(() => {
    const [count, height, width, channels] = input.shape;
    const rows = kh * kw * channels;
    const info = tf.backend_util.computeConv2DInfo(input.shape, [kh, kw, channels, rows], geometry.strides, 1, geometry.pad);
    const positions = info.outHeight * info.outWidth;
    if (channels < GATHER_PATCHES_MIN_CHANNELS) {
      const oneHot = tf.reshape(tf.eye(rows), [kh, kw, channels, rows]) as tf.Tensor4D;
      return tf.reshape(tf.conv2d(input, oneHot, geometry.strides, geometry.pad), [count, positions, rows]);
    }
    const { top, bottom, left, right } = info.padInfo;
    const [paddedHeight, paddedWidth] = [height + top + bottom, width + left + right];
    const stride = geometry.strides;
    const indices = new Int32Array(count * positions * kh * kw);
    let k = 0;
    for (let e = 0; e < count; e++) {
      for (let i = 0; i < info.outHeight; i++) {
        for (let j = 0; j < info.outWidth; j++) {
          for (let a = 0; a < kh; a++) {
            for (let b = 0; b < kw; b++) indices[k++] = (e * paddedHeight + i * stride + a) * paddedWidth + j * stride + b;
          }
        }
      }
    }
    const padded = tf.reshape(tf.pad(input, [[0, 0], [top, bottom], [left, right], [0, 0]]), [count * paddedHeight * paddedWidth, channels]);
    return tf.reshape(tf.gather(padded, tf.tensor1d(indices, 'int32')), [count, positions, rows]);
  });
}

/**
 * Fisher merging's weights for N models: w_k = (F_k + eps) / (sum_j F_j + N eps) per parameter entry
 * (Matena & Raffel, https://arxiv.org/abs/2111.09832), so the merge sum_k w_k theta_k weights each
 * model by its share of the Fisher information; the weights sum to 1 over the models and epsilon makes
 * 0/0 give 1/N. For two models `fisherWeights([fa, fb])[0]` is F_A / (F_A + F_B) as the two-model
 * merge's alpha, computed as (fa + eps) / ((fa + fb) + 2 eps).
 *
 * ```ts
 * const [alphaA, alphaB] = fisherWeights([fisherA, fisherB]); // alphaB = 1 - alphaA, up to rounding
 * ```
 */
export function fisherWeights(fishers: ParamMap[], epsilon = 1e-10): AlphaMasks[] {
  const [first] = fishers;
  if (!first) throw new Error('fisherWeights: no Fisher information given (need one ParamMap per model)');
  const names = Object.keys(first);
  fishers.forEach((fisher, k) => {
    const missing = names.find((name) => !Object.hasOwn(fisher, name));
    if (missing !== undefined) throw new Error(`fisherWeights: model ${k} has no Fisher for ${missing}`);
  });
  return tf.tidy(() => {
    const denominators = Object.fromEntries(
      names.map((name) => {
        let sum = first[name]!;
        for (const fisher of fishers.slice(1)) sum = tf.add(sum, fisher[name]!);
        return [name, tf.add(sum, fishers.length * epsilon)];
      }),
    );
    return fishers.map((fisher) => Object.fromEntries(names.map((name) => [name, tf.div(tf.add(fisher[name]!, epsilon), denominators[name]!)])));
  });
}

/** Fisher information computed once per parameter set, mode and example count (see {@link fisherCache}). */
export interface FisherCache {
  /** {@link diagonalFisher} of `params` on the first `examples` examples (all when absent). */
  fisherOf(spec: ModelSpec, params: ParamMap, mode: FisherMode, examples?: number): ParamMap;
  /** Frees what was computed for `params` (the caller is done with them). */
  forget(params: ParamMap): void;
  /** Frees everything computed. */
  dispose(): void;
}

/** Fisher information per parameter set, mode and example count, computed once and reused: model A's serves every alignment of B. */
export function fisherCache(data: TensorSet): FisherCache {
  const cache = new Map<ParamMap, Map<string, ParamMap>>();
  const free = (byKey: Map<string, ParamMap>) => byKey.forEach((fisher) => tf.dispose(Object.values(fisher)));
  return {
    fisherOf: (spec, params, mode, examples) => {
      const byKey = cache.get(params) ?? new Map<string, ParamMap>();
      cache.set(params, byKey);
      // keyed by the examples actually used, so a count beyond the set shares the full set's entry
      const used = examples === undefined ? data.count : Math.min(examples, data.count);
      const key = `${mode}/${used}`;
      let fisher = byKey.get(key);
      if (!fisher) {
        fisher = diagonalFisher(spec, params, data, mode, examples === undefined ? {} : { examples });
        byKey.set(key, fisher);
      }
      return fisher;
    },
    forget: (params) => {
      const byKey = cache.get(params);
      if (byKey) free(byKey);
      cache.delete(params);
    },
    dispose: () => {
      cache.forEach(free);
      cache.clear();
    },
  };
}
