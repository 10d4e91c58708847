import * as tf from '@tensorflow/tfjs-core';
import { dense } from './layers.js';
import { consumes, produces, type ModelSpec, type ParamSpec } from './spec.js';

export interface MlpConfig {
  /** Widths of the hidden layers, e.g. [512, 512]. */
  hidden: number[];
}

/**
 * A multilayer perceptron with ReLU: fc1 .. fc(L+1). Weights are stored [in, out] so the forward
 * product needs no transpose; each hidden layer's units form one feature space, named after the layer
 * that produces it. The logits are never a feature space.
 */
export function mlpSpec(config: MlpConfig, inputShape: number[], numClasses: number): ModelSpec {
  const inputSize = inputShape.reduce((a, b) => a * b, 1);
  const widths = [inputSize, ...config.hidden, numClasses];
  const params: Record<string, ParamSpec> = {};
  const layers = config.hidden.length + 1;
  for (let i = 1; i <= layers; i++) {
    const [fanIn, fanOut] = [widths[i - 1]!, widths[i]!];
    const inSpace = i > 1 ? consumes(`fc${i - 1}`) : null;
    const outSpace = i < layers ? produces(`fc${i}`) : null;
    const bound = 1 / Math.sqrt(fanIn);
    params[`fc${i}.weight`] = { shape: [fanIn, fanOut], axes: [inSpace, outSpace], init: { kind: 'uniform', bound } };
    params[`fc${i}.bias`] = { shape: [fanOut], axes: [outSpace], init: { kind: 'uniform', bound } };
  }
  return {
    family: 'mlp',
    config: { hidden: [...config.hidden] },
    inputShape: [...inputShape],
    numClasses,
    params,
    forward(weights, x, context) {
      let h = tf.reshape(x, [-1, inputSize]) as tf.Tensor2D;
      for (let i = 1; i <= layers; i++) {
        const hidden = i < layers;
        h = dense(weights, { weight: `fc${i}.weight`, bias: `fc${i}.bias` }, h, hidden ? 'relu' : 'linear', context);
        if (hidden) context?.probe?.(`fc${i}`, h);
      }
      return h;
    },
  };
}
