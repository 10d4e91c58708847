import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { SpecLayers } from './builders.js';
import { defineFamily } from './family.js';
import { dense } from './layers.js';
import type { ModelSpec } from './spec.js';

const mlpConfig = z.strictObject({
  hidden: z.array(z.number().int().positive()).min(1).default([512, 512]).describe('hidden layer widths'),
});

/** The settings of an MLP (`model.config` in a recipe), defaults optional. */
export type MlpConfig = z.input<typeof mlpConfig>;

/**
 * A multilayer perceptron with ReLU: fc1 .. fc(L+1). Weights are stored [in, out] so the forward
 * product needs no transpose; each hidden layer's units form one feature space, named after the layer
 * that produces it. The logits are never a feature space.
 */
export const mlpFamily = defineFamily({
  name: 'mlp',
  description: 'multilayer perceptron with ReLU hidden layers; each hidden layer is one feature space',
  configSchema: mlpConfig,
  build: (config, inputShape, numClasses) => {
    const inputSize = inputShape.reduce((a, b) => a * b, 1);
    const widths = [inputSize, ...config.hidden, numClasses];
    const spec = new SpecLayers();
    const count = config.hidden.length + 1;
    const layers = widths.slice(1).map((outputs, i) =>
      spec.dense(`fc${i + 1}`, widths[i]!, outputs, i > 0 ? `fc${i}` : null, i + 1 < count ? `fc${i + 1}` : null),
    );
    return {
      config: { hidden: [...config.hidden] },
      inputShape: [...inputShape],
      numClasses,
      params: spec.params,
      layers: spec.layers,
      forward(weights, x, context) {
        let h = tf.reshape(x, [-1, inputSize]) as tf.Tensor2D;
        layers.forEach((layer, i) => {
          const hidden = i + 1 < count;
          h = dense(weights, layer, h, hidden ? 'relu' : 'linear', context);
          if (hidden) context?.probe?.(`fc${i + 1}`, h);
        });
        return h;
      },
    };
  },
});

/** The spec of an MLP (see {@link mlpFamily}). */
export function mlpSpec(config: MlpConfig, inputShape: number[], numClasses: number): ModelSpec {
  return mlpFamily.build(config, inputShape, numClasses);
}
