import type * as tf from '@tensorflow/tfjs-core';
import { InputError } from '../util/errors.js';

/**
 * A model described as data. Git Re-Basin's permutation spec, generalised from permutations to
 * invertible linear maps: each parameter axis may belong to a feature space, either on the side that
 * produces the space (`out`: multiply by T) or on the side that consumes it (`in`: multiply by T^-T).
 */

/** Where a parameter axis sits relative to a feature space. */
export interface AxisLabel {
  space: string;
  role: 'out' | 'in';
}

/** Labels an axis as producing `space` (rows of a weight in [out, in] terms, biases, norm vectors). */
export const produces = (space: string): AxisLabel => ({ space, role: 'out' });
/** Labels an axis as consuming `space` (columns of the next layer's weight in [out, in] terms). */
export const consumes = (space: string): AxisLabel => ({ space, role: 'in' });

/** How a parameter is initialised: PyTorch's default for Linear is uniform in +-1/sqrt(fan_in). */
export type ParamInit = { kind: 'boundedUniform'; bound: number } | { kind: 'zeros' } | { kind: 'ones' };

/** One parameter of a spec: its shape, the feature space of each axis, and its initialisation. */
export interface ParamSpec {
  shape: number[];
  /** One label per axis: the feature space it belongs to, or null. */
  axes: (AxisLabel | null)[];
  init: ParamInit;
  /**
   * False for state that is estimated, not trained (BatchNorm running statistics): no gradient, no
   * learned alpha; BatchNorm reset recomputes it after merging.
   */
  trainable?: boolean;
}

/** Named parameter tensors of one model. */
export type ParamMap = Record<string, tf.Tensor>;

/** A BatchNorm layer's parameter names. */
export interface BatchNormLayer {
  weight: string;
  bias: string;
  runningMean: string;
  runningVar: string;
  /** Added to the variance before its square root; when absent, BATCH_NORM_EPSILON (layers.ts, PyTorch's 1e-5). Keras's default is 1e-3. */
  epsilon?: number;
}

/** A dense (fully connected) layer as the forward pass reports it to hooks. */
export interface AffineLayer {
  weight: string;
  bias: string;
}

/** Hooks into a forward pass; every hook is optional and the forward pass is pure without them. */
export interface ForwardContext {
  /**
   * Training mode: BatchNorm normalises with the batch's statistics (and reports them through
   * `batchStats`) instead of its running statistics.
   */
  training?: boolean;
  /** Called in training mode with each BatchNorm layer's batch mean and (unbiased) variance [channels]. */
  batchStats?: (layer: BatchNormLayer, mean: tf.Tensor1D, variance: tf.Tensor1D) => void;
  /** Called with each feature space's activations, flattened to [examples, units]. */
  probe?: (space: string, activations: tf.Tensor2D) => void;
  /**
   * Called with each affine layer's input [batch, in] and pre-activation [batch, out]; its return value
   * replaces the pre-activation. Used for per-example gradients (Fisher information).
   */
  affine?: (layer: AffineLayer, input: tf.Tensor2D, preActivation: tf.Tensor2D) => tf.Tensor2D;
  /**
   * Called with each convolution's input [batch, h, w, in], its output (bias included) [batch, oh, ow,
   * out] and how it was applied; its return value replaces the output. Used for per-example gradients
   * (Fisher information): the kernel's gradient needs the input's patches, which the geometry fixes.
   */
  conv?: (layer: ConvLayer, input: tf.Tensor4D, output: tf.Tensor4D, geometry: ConvGeometry) => tf.Tensor4D;
  /**
   * Called with each BatchNorm layer's input and output [batch, ..., channels]; its return value
   * replaces the output. Used for per-example gradients of the scale and shift (Fisher information).
   * With this hook, inference mode computes BatchNorm as the equivalent per-channel x * a + b, whose
   * gradient is cheaper than tf.batchNorm's (outputs equal up to rounding).
   */
  batchNorm?: (layer: BatchNormLayer, input: tf.Tensor, output: tf.Tensor) => tf.Tensor;
}

/** How a forward pass applies a convolution: its stride (both axes) and padding, as tf.conv2d takes them. */
export interface ConvGeometry {
  strides: number;
  pad: 'same' | 'valid' | number;
}

/** A convolution as a spec declares it: its kernel [kh, kw, in, out] and bias [out], if it has one. */
export interface ConvLayer {
  weight: string;
  bias?: string;
}

/**
 * What each parameter is, in forward order, declared by the spec rather than guessed from names:
 * dense layers, convolutions, and BatchNorm layers with the convolution each one follows.
 */
export type LayerInfo =
  | ({ kind: 'dense' } & AffineLayer)
  | ({ kind: 'conv' } & ConvLayer)
  | { kind: 'batchNorm'; norm: BatchNormLayer; follows: ConvLayer };

/** A model as data: parameters with per-axis feature spaces, layers, and a forward pass. */
export interface ModelSpec {
  /** Family key in the `families` registry, and the configuration it was built from. */
  family: string;
  config: Record<string, unknown>;
  inputShape: number[];
  numClasses: number;
  /** Parameters in a stable order. */
  params: Record<string, ParamSpec>;
  /** Every parameter's layer, in forward order. */
  layers: LayerInfo[];
  /** Logits [batch, numClasses] for inputs [batch, ...inputShape]. */
  forward(params: ParamMap, x: tf.Tensor, context?: ForwardContext): tf.Tensor2D;
}

/** One (parameter, axis) touched by a feature space. */
export interface SpaceMember {
  param: string;
  axis: number;
  role: 'out' | 'in';
}

/** A feature space: its name, its number of units, and every parameter axis that produces or consumes it. */
export interface FeatureSpace {
  name: string;
  size: number;
  members: SpaceMember[];
}

/** Derives space -> members from the per-axis labels, checking that each space has one size. */
export function featureSpaces(spec: Pick<ModelSpec, 'family' | 'params'>): FeatureSpace[] {
  const spaces = new Map<string, FeatureSpace>();
  for (const [param, { shape, axes }] of Object.entries(spec.params)) {
    if (axes.length !== shape.length) {
      throw new Error(`spec ${spec.family}: ${param} has ${shape.length} axes [${shape.join(',')}] but ${axes.length} axis labels`);
    }
    axes.forEach((label, axis) => {
      if (!label) return;
      const size = shape[axis]!;
      const space = spaces.get(label.space) ?? { name: label.space, size, members: [] };
      if (space.size !== size) {
        throw new Error(`spec ${spec.family}: space ${label.space} has size ${space.size} but ${param} axis ${axis} has ${size}`);
      }
      space.members.push({ param, axis, role: label.role });
      spaces.set(label.space, space);
    });
  }
  for (const space of spaces.values()) {
    if (!space.members.some((m) => m.role === 'out') || !space.members.some((m) => m.role === 'in')) {
      throw new Error(`spec ${spec.family}: space ${space.name} must be both produced and consumed`);
    }
  }
  return [...spaces.values()];
}

/** The parameter names of a layer. */
export function layerParams(layer: LayerInfo): string[] {
  if (layer.kind === 'batchNorm') return [layer.norm.weight, layer.norm.bias, layer.norm.runningMean, layer.norm.runningVar];
  return layer.bias === undefined ? [layer.weight] : [layer.weight, layer.bias];
}

/** The feature space axis `axis` of parameter `name` produces, if it produces one. */
function producedSpace(spec: Pick<ModelSpec, 'params'>, name: string, axis: number): string | undefined {
  const label = spec.params[name]?.axes[axis];
  return label?.role === 'out' ? label.space : undefined;
}

/**
 * Checks a spec's structure before any model is built from it, with an error naming the space or
 * parameter: every axis labelled, each feature space of one size and both produced and consumed,
 * every parameter in exactly one declared layer of the right rank, each bias and BatchNorm vector as
 * long as its layer's outputs, and each BatchNorm in the space of the convolution it follows. (That
 * every space is probed by the forward pass is checked where activations are read: collectSpaceMoments.)
 * Returns the spec.
 */
export function validateSpec<T extends ModelSpec>(spec: T): T {
  featureSpaces(spec);
  const fail = (message: string): never => {
    throw new Error(`spec ${spec.family}: ${message}`);
  };
  const owner = new Map<string, number>();
  const shapeOf = (name: string, layer: number): number[] => {
    const param = spec.params[name];
    if (!param) return fail(`layer ${layer} (${spec.layers[layer]!.kind}) names parameter ${name}, which the spec does not have`);
    if (owner.has(name)) fail(`parameter ${name} belongs to layers ${owner.get(name)} and ${layer}`);
    owner.set(name, layer);
    return param.shape;
  };
  const vectorOf = (name: string, layer: number, length: number) => {
    const shape = shapeOf(name, layer);
    if (shape.length !== 1 || shape[0] !== length) fail(`${name} has shape [${shape.join(',')}]; expected [${length}] (its layer's outputs)`);
  };
  spec.layers.forEach((layer, index) => {
    if (layer.kind === 'batchNorm') {
      const kernel = spec.params[layer.follows.weight];
      if (!kernel || kernel.shape.length !== 4) fail(`BatchNorm ${layer.norm.weight} follows ${layer.follows.weight}, which is not a convolution kernel`);
      const channels = kernel!.shape[3]!;
      for (const name of layerParams(layer)) {
        vectorOf(name, index, channels);
        if (producedSpace(spec, name, 0) !== producedSpace(spec, layer.follows.weight, 3)) {
          fail(`BatchNorm vector ${name} is not in the space of the convolution it follows (${layer.follows.weight})`);
        }
      }
      return;
    }
    const shape = shapeOf(layer.weight, index);
    const rank = layer.kind === 'dense' ? 2 : 4;
    if (shape.length !== rank) fail(`${layer.kind} weight ${layer.weight} has shape [${shape.join(',')}]; expected ${rank} axes`);
    if (layer.bias !== undefined) vectorOf(layer.bias, index, shape[rank - 1]!);
  });
  const orphan = Object.keys(spec.params).find((name) => !owner.has(name));
  if (orphan) fail(`parameter ${orphan} belongs to no declared layer`);
  return spec;
}

/** Names of the parameters that gradient descent trains (all but estimated statistics). */
export function trainableParams(spec: ModelSpec): string[] {
  return Object.entries(spec.params)
    .filter(([, p]) => p.trainable !== false)
    .map(([name]) => name);
}

/** A string that is equal for two specs exactly when their parameters have the same names and shapes. */
export function architectureSignature(spec: ModelSpec): string {
  const shapes = Object.entries(spec.params).map(([name, p]) => `${name}[${p.shape.join(',')}]`);
  return `${spec.family}:${shapes.join(';')}`;
}

/** Checks real weights against a spec: every parameter present, no extras, shapes equal. */
export function validateParams(spec: ModelSpec, params: Record<string, { shape: number[] }>, source: string): void {
  for (const [name, p] of Object.entries(spec.params)) {
    const actual = Object.hasOwn(params, name) ? params[name] : undefined;
    if (!actual) throw new InputError(`${source}: parameter ${name} is missing (expected shape [${p.shape.join(',')}])`);
    if (actual.shape.join(',') !== p.shape.join(',')) {
      throw new InputError(`${source}: parameter ${name} has shape [${actual.shape.join(',')}], expected [${p.shape.join(',')}]`);
    }
  }
  for (const name of Object.keys(params)) {
    if (!Object.hasOwn(spec.params, name)) throw new InputError(`${source}: unexpected parameter ${name} for a ${spec.family} model`);
  }
}
