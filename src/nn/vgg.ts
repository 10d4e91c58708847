import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { InputError } from '../util/errors.js';
import { SpecLayers } from './builders.js';
import { defineFamily } from './family.js';
import { batchNormRelu, channelsAsSamples, conv2d, dense, globalAveragePool } from './layers.js';
import type { BatchNormLayer, ConvLayer, ModelSpec } from './spec.js';

/** A layer list: a number is a 3x3 convolution with that many channels, 'M' a 2x2 max-pool. */
export type VggLayout = (number | 'M')[];

const VGG11 = 'vgg11';

/** VGG11 as in Simonyan & Zisserman (configuration A), the layout model-merging papers use on CIFAR. */
export const VGG11_LAYOUT: VggLayout = [64, 'M', 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'];

const vggConfig = z
  .strictObject({
    layout: z
      .union([z.literal(VGG11), z.array(z.union([z.number().int().positive(), z.literal('M')])).min(1)])
      .default(VGG11)
      .describe(`${VGG11}, or a list of conv widths and "M" (max-pool)`),
    width: z.number().positive().default(1).describe('channel multiplier'),
    batchNorm: z.boolean().default(true),
  })
  .superRefine((config, context) => {
    if (Array.isArray(config.layout) && config.layout.every((item) => item === 'M')) {
      context.addIssue({ code: 'custom', path: ['layout'], input: config.layout, message: 'expected at least one convolution width besides "M"' });
    }
  });

/** The settings of a VGG (`model.config` in a recipe), defaults optional. */
export type VggConfig = z.input<typeof vggConfig>;

/**
 * VGG: 3x3 convolutions (same padding) with ReLU, optional BatchNorm, 2x2 max-pools, then global
 * average pooling and one linear classifier (on 32x32 CIFAR inputs VGG11 ends at 1x1, where the
 * pooling is the identity). Each convolution's output channels form one feature space, `conv<i>`.
 */
export const vggFamily = defineFamily({
  name: 'vgg',
  description: 'VGG: 3x3 convolutions, optional BatchNorm, max-pools, global average pooling, linear classifier',
  reference: 'https://arxiv.org/abs/1409.1556',
  configSchema: vggConfig,
  withoutBatchNorm: (config) => ({ ...config, batchNorm: false }),
  build: (config, inputShape, numClasses) => {
    const layout = config.layout === VGG11 ? VGG11_LAYOUT : config.layout;
    const pools = layout.filter((item) => item === 'M').length;
    const smallestSide = Math.min(inputShape[0] ?? 0, inputShape[1] ?? 0);
    if (smallestSide >> pools === 0) {
      throw new InputError(
        `a VGG layout with ${pools} max-pools needs inputs of at least ${2 ** pools}x${2 ** pools}, got ${inputShape.slice(0, 2).join('x')}; use fewer "M" entries`,
      );
    }
    const spec = new SpecLayers();
    const convs: { conv: ConvLayer; norm?: BatchNormLayer }[] = [];
    let channels = inputShape[inputShape.length - 1]!;
    for (const item of layout) {
      if (item === 'M') continue;
      const space = `conv${convs.length + 1}`;
      const width = Math.max(1, Math.round(item * config.width));
      const conv = spec.conv(space, 3, channels, width, convs.length > 0 ? `conv${convs.length}` : null, space, !config.batchNorm);
      const norm = config.batchNorm ? spec.batchNorm(`bn${convs.length + 1}`, width, space, conv) : undefined;
      convs.push(norm ? { conv, norm } : { conv });
      channels = width;
    }
    const classifier = spec.dense('classifier', channels, numClasses, `conv${convs.length}`, null);
    return {
      config: { layout: [...layout], width: config.width, batchNorm: config.batchNorm },
      inputShape: [...inputShape],
      numClasses,
      params: spec.params,
      layers: spec.layers,
      forward(weights, x, context) {
        let h = x as tf.Tensor4D;
        let index = 0;
        for (const item of layout) {
          if (item === 'M') {
            h = tf.maxPool(h, 2, 2, 'valid');
            continue;
          }
          const { conv, norm } = convs[index++]!;
          h = conv2d(weights, conv, h, 1, 'same', context);
          h = (norm ? batchNormRelu(weights, norm, h, context) : tf.relu(h)) as tf.Tensor4D;
          if (context?.probe) context.probe(`conv${index}`, channelsAsSamples(h));
        }
        return dense(weights, classifier, globalAveragePool(h), 'linear', context);
      },
    };
  },
});

/** The spec of a VGG (see {@link vggFamily}). */
export function vggSpec(config: VggConfig, inputShape: number[], numClasses: number): ModelSpec {
  return vggFamily.build(config, inputShape, numClasses);
}
