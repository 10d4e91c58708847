import { batchNormEpsilon } from '../nn/layers.js';
import { layersFamily } from '../nn/layersGraph.js';
import { mlpFamily } from '../nn/mlp.js';
import { resnetFamily } from '../nn/resnet.js';
import type { ConvLayer, LayerInfo, ModelSpec } from '../nn/spec.js';
import { vggFamily, type VggLayout } from '../nn/vgg.js';
import { InputError } from '../util/errors.js';

/**
 * The Keras (TensorFlow.js LayersModel) topology that computes what a spec computes, and the tfjs
 * weight name of each of its parameters. A `layers` spec has both already (its config and its
 * parameter names); merge-train's own families get a functional model of Dense, Conv2D,
 * BatchNormalization, Activation('relu'), MaxPooling2D, GlobalAveragePooling2D, Flatten, Add and
 * (for a ResNet padded as PyTorch pads) ZeroPadding2D,
 * whose layers are named after the parameters (`fc1` holds `fc1/kernel` for `fc1.weight`).
 */

/** A topology and the tfjs name of each parameter. */
export interface KerasModel {
  topology: Record<string, unknown>;
  weightName: (param: string) => string;
}

/** A functional model's layers, added in forward order; each returns its name, for the layers that read it. */
class FunctionalTopology {
  readonly layers: Record<string, unknown>[] = [];

  constructor(private readonly inputName: string, inputShape: number[]) {
    this.add('InputLayer', inputName, { batch_input_shape: [null, ...inputShape], dtype: 'float32', sparse: false }, []);
  }

  add(className: string, name: string, config: Record<string, unknown>, inputs: string[]): string {
    const inbound = inputs.length > 0 ? [inputs.map((source) => [source, 0, 0, {}])] : [];
    this.layers.push({ name, class_name: className, config: { name, trainable: true, ...config }, inbound_nodes: inbound });
    return name;
  }

  dense(name: string, units: number, activation: 'relu' | 'linear', input: string): string {
    return this.add('Dense', name, { units, activation, use_bias: true }, [input]);
  }

  conv(name: string, kernel: number[], stride: number, padding: 'same' | 'valid', bias: boolean, input: string): string {
    const [kh, kw, , filters] = kernel;
    const config = { filters, kernel_size: [kh, kw], strides: [stride, stride], padding, data_format: 'channels_last', dilation_rate: [1, 1], activation: 'linear', use_bias: bias };
    return this.add('Conv2D', name, config, [input]);
  }

  relu(name: string, input: string): string {
    return this.add('Activation', name, { activation: 'relu' }, [input]);
  }

  model(output: string): Record<string, unknown> {
    return {
      class_name: 'Model',
      config: { name: 'model', layers: this.layers, input_layers: [[this.inputName, 0, 0]], output_layers: [[output, 0, 0]] },
      keras_version: 'tfjs-layers',
      backend: 'tensor_flow.js',
    };
  }
}

/** The layer name of a merge-train parameter `<layer>.weight`. */
const layerOf = (param: string) => param.replace(/\.weight$/, '');

/** Keras's weight names for merge-train's PyTorch-style ones, layer by layer. */
function weightNames(spec: ModelSpec): Map<string, string> {
  const names = new Map<string, string>();
  for (const layer of spec.layers) {
    if (layer.kind === 'batchNorm') {
      const name = layerOf(layer.norm.weight);
      names.set(layer.norm.weight, `${name}/gamma`).set(layer.norm.bias, `${name}/beta`);
      names.set(layer.norm.runningMean, `${name}/moving_mean`).set(layer.norm.runningVar, `${name}/moving_variance`);
      continue;
    }
    const name = layerOf(layer.weight);
    names.set(layer.weight, `${name}/kernel`);
    if (layer.bias !== undefined) names.set(layer.bias, `${name}/bias`);
  }
  return names;
}

/**
 * A convolution, with the BatchNorm that follows it if there is one: merge-train's conv unit. `pad`
 * pads each side by (k - 1) / 2 first (ZeroPadding2D, then a valid convolution), as PyTorch pads;
 * otherwise the convolution pads 'same', as TensorFlow does.
 */
function convUnit(topology: FunctionalTopology, spec: ModelSpec, conv: ConvLayer, stride: number, input: string, pad = false): string {
  const kernel = spec.params[conv.weight]!.shape;
  const name = layerOf(conv.weight);
  const side = (kernel[0]! - 1) / 2;
  const padded = pad && side > 0 ? topology.add('ZeroPadding2D', `${name}.pad`, { padding: [[side, side], [side, side]], data_format: 'channels_last' }, [input]) : input;
  const out = topology.conv(name, kernel, stride, pad ? 'valid' : 'same', conv.bias !== undefined, padded);
  const norm = spec.layers.find((layer): layer is Extract<LayerInfo, { kind: 'batchNorm' }> => layer.kind === 'batchNorm' && layer.follows.weight === conv.weight)?.norm;
  if (!norm) return out;
  const config = { axis: -1, momentum: 0.9, epsilon: batchNormEpsilon(norm), center: true, scale: true };
  return topology.add('BatchNormalization', layerOf(norm.weight), config, [out]);
}

/** The dense layers of a spec, in forward order. */
const denseLayers = (spec: ModelSpec) => spec.layers.filter((layer): layer is Extract<LayerInfo, { kind: 'dense' }> => layer.kind === 'dense');
/** The convolutions of a spec, in forward order. */
const convLayers = (spec: ModelSpec) => spec.layers.filter((layer): layer is Extract<LayerInfo, { kind: 'conv' }> => layer.kind === 'conv');

/** mlp: the input flattened, then its dense layers, ReLU between them. */
function mlpTopology(spec: ModelSpec): Record<string, unknown> {
  const topology = new FunctionalTopology('input', spec.inputShape);
  let h = spec.inputShape.length > 1 ? topology.add('Flatten', 'flatten', {}, ['input']) : 'input';
  const dense = denseLayers(spec);
  dense.forEach((layer, i) => {
    h = topology.dense(layerOf(layer.weight), spec.params[layer.weight]!.shape[1]!, i + 1 < dense.length ? 'relu' : 'linear', h);
  });
  return topology.model(h);
}

/** vgg: 3x3 convolutions (BatchNorm, ReLU), 2x2 max-pools, global average pooling, the classifier. */
function vggTopology(spec: ModelSpec): Record<string, unknown> {
  const topology = new FunctionalTopology('input', spec.inputShape);
  const convs = convLayers(spec);
  let h = 'input';
  let pools = 0;
  let index = 0;
  for (const item of spec.config.layout as VggLayout) {
    if (item === 'M') {
      h = topology.add('MaxPooling2D', `pool${++pools}`, { pool_size: [2, 2], strides: [2, 2], padding: 'valid', data_format: 'channels_last' }, [h]);
      continue;
    }
    const conv = convs[index++]!;
    h = topology.relu(`${layerOf(conv.weight)}.relu`, convUnit(topology, spec, conv, 1, h));
  }
  h = topology.add('GlobalAveragePooling2D', 'pool', { data_format: 'channels_last' }, [h]);
  const classifier = denseLayers(spec)[0]!;
  return topology.model(topology.dense(layerOf(classifier.weight), spec.numClasses, 'linear', h));
}

/**
 * resnet: the stem, BasicBlocks (a projection shortcut where the shape changes), global average
 * pooling, fc; with `padding: symmetric`, its stride-2 convolutions pad as PyTorch does.
 */
function resnetTopology(spec: ModelSpec): Record<string, unknown> {
  const topology = new FunctionalTopology('input', spec.inputShape);
  const symmetric = spec.config.padding === 'symmetric';
  const convNamed = (name: string) => convLayers(spec).find((layer) => layer.weight === `${name}.weight`);
  let h = topology.relu('relu', convUnit(topology, spec, convNamed('conv1')!, 1, 'input'));
  (spec.config.blocks as number[]).forEach((count, s) => {
    for (let b = 0; b < count; b++) {
      const prefix = `layer${s + 1}.${b}`;
      const stride = b === 0 && s > 0 ? 2 : 1;
      const pad = symmetric && stride > 1;
      const inner = topology.relu(`${prefix}.relu1`, convUnit(topology, spec, convNamed(`${prefix}.conv1`)!, stride, h, pad));
      const out = convUnit(topology, spec, convNamed(`${prefix}.conv2`)!, 1, inner);
      const projection = convNamed(`${prefix}.shortcut.conv`);
      const skip = projection ? convUnit(topology, spec, projection, stride, h, pad) : h;
      h = topology.relu(`${prefix}.relu2`, topology.add('Add', `${prefix}.add`, {}, [out, skip]));
    }
  });
  h = topology.add('GlobalAveragePooling2D', 'pool', { data_format: 'channels_last' }, [h]);
  const fc = denseLayers(spec)[0]!;
  return topology.model(topology.dense(layerOf(fc.weight), spec.numClasses, 'linear', h));
}

const generators: Record<string, (spec: ModelSpec) => Record<string, unknown>> = {
  [mlpFamily.name]: mlpTopology,
  [vggFamily.name]: vggTopology,
  [resnetFamily.name]: resnetTopology,
};

/**
 * The Keras model of `spec`: for a `layers` spec its own topology and names; for mlp, vgg and resnet
 * an equivalent functional model (same padding, strides and BatchNorm epsilon as merge-train's
 * forward pass); any other family is refused.
 */
export function kerasModelOf(spec: ModelSpec): KerasModel {
  if (spec.family === layersFamily.name) return { topology: spec.config, weightName: (param) => param };
  const generate = Object.hasOwn(generators, spec.family) ? generators[spec.family] : undefined;
  if (!generate) {
    throw new InputError(`a ${spec.family} model has no TensorFlow.js equivalent here; the tfjs format writes ${[layersFamily.name, ...Object.keys(generators)].join(', ')} models`);
  }
  const names = weightNames(spec);
  return {
    topology: generate(spec),
    weightName: (param) => {
      const name = names.get(param);
      if (name === undefined) throw new Error(`kerasModelOf: ${spec.family} parameter ${param} belongs to no declared layer`);
      return name;
    },
  };
}
