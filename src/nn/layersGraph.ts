import * as tf from '@tensorflow/tfjs-core';
import { defineFamily } from './family.js';
import { batchNorm, channelsAsSamples, conv2d, dense, globalAveragePool } from './layers.js';
import { planLayersModel, type PlannedNode } from './layersPlan.js';
import { layersTopologySchema, type LayersTopology } from './layersTopology.js';
import { topologyWithoutBatchNorm } from './layersWithoutBatchNorm.js';
import type { ForwardContext, ModelSpec, ParamMap } from './spec.js';

/** One node's output from its inputs' outputs. */
function runNode({ step }: PlannedNode, inputs: tf.Tensor[], weights: ParamMap, context?: ForwardContext): tf.Tensor {
  const x = inputs[0]!;
  switch (step.kind) {
    case 'input':
      return step.reshape ? tf.reshape(x, [-1, ...step.reshape]) : x;
    case 'identity':
      return x;
    case 'dense':
      return dense(weights, step.layer, x as tf.Tensor2D, step.relu ? 'relu' : 'linear', context);
    case 'conv': {
      const out = conv2d(weights, step.layer, x as tf.Tensor4D, step.strides, step.padding, context);
      return step.relu ? tf.relu(out) : out;
    }
    case 'batchNorm':
      return batchNorm(weights, step.norm, x, context);
    case 'relu':
      return tf.relu(x);
    case 'flatten':
      return tf.reshape(x, [-1, step.size]);
    case 'pool':
      return step.mode === 'max'
        ? tf.maxPool(x as tf.Tensor4D, step.size, step.strides, step.padding)
        : tf.avgPool(x as tf.Tensor4D, step.size, step.strides, step.padding);
    case 'globalAveragePool':
      return step.keepDims ? tf.mean(x, [1, 2], true) : globalAveragePool(x as tf.Tensor4D);
    case 'pad':
      return tf.pad(x, [[0, 0], ...step.padding, [0, 0]]);
    case 'add':
      return inputs.slice(1).reduce((sum, term) => tf.add(sum, term), x);
  }
}

/**
 * A TensorFlow.js LayersModel (or Keras model) as merge-train sees it, its architecture derived
 * from the layer graph: the config is the model's topology (`modelTopology` of model.json).
 * Parameters carry tfjs's weight names (`dense_1/kernel`, `batch_normalization/gamma`) and layouts;
 * feature spaces, residual streams, BatchNorm pairing and probes come from the graph (see
 * planLayersModel). Supported: InputLayer, Dense, Conv2D, BatchNormalization, MaxPooling2D,
 * AveragePooling2D, GlobalAveragePooling2D, ZeroPadding2D, Flatten, ReLU, Activation, Softmax, Dropout
 * and Add; a final softmax is dropped (specs return logits) and dropout is the identity, in training too.
 * New parameters start as Keras's do: Glorot-uniform kernels, zero biases, identity BatchNorm.
 */
export const layersFamily = defineFamily({
  name: 'layers',
  description: 'a TensorFlow.js / Keras LayersModel; architecture, feature spaces and residual streams derived from its layer graph',
  reference: 'https://js.tensorflow.org/api/latest/#class:LayersModel',
  configSchema: layersTopologySchema,
  withoutBatchNorm: (config: LayersTopology) => topologyWithoutBatchNorm(config),
  build: (config, inputShape, numClasses) => {
    const plan = planLayersModel(config, inputShape, numClasses);
    return {
      config,
      inputShape: [...inputShape],
      numClasses,
      params: plan.params,
      layers: plan.layers,
      forward(weights, x, context) {
        const outputs: tf.Tensor[] = [];
        for (const node of plan.nodes) {
          const out = runNode(node, node.step.kind === 'input' ? [x] : node.inputs.map((j) => outputs[j]!), weights, context);
          if (node.probe !== undefined) context?.probe?.(node.probe, channelsAsSamples(out));
          outputs.push(out);
        }
        return outputs[plan.output] as tf.Tensor2D;
      },
    };
  },
});

/** The spec of a LayersModel topology (see {@link layersFamily}). */
export function layersSpec(topology: Record<string, unknown>, inputShape: number[], numClasses: number): ModelSpec {
  return layersFamily.build(topology, inputShape, numClasses);
}
