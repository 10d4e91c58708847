import * as tf from '@tensorflow/tfjs-core';
import { batchNormParams, convParams, denseParams, type ParamEntries } from './builders.js';
import { batchNorm, batchNormNames, channelsAsSamples, conv2d, dense, globalAveragePool } from './layers.js';
import type { ModelSpec } from './spec.js';
import { InputError } from '../util/errors.js';

/** A layer list: a number is a 3x3 convolution with that many channels, 'M' a 2x2 max-pool. */
export type VggLayout = (number | 'M')[];

/** VGG11 as in Simonyan & Zisserman (configuration A), the layout model-merging papers use on CIFAR. */
export const VGG11_LAYOUT: VggLayout = [64, 'M', 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'];

export interface VggConfig {
  /** `vgg11` or an explicit layer list. */
  layout: 'vgg11' | VggLayout;
  /** Multiplies every convolution's channels (the x1, x2, x4, x8 of the papers). */
  width: number;
  batchNorm: boolean;
}

/**
 * VGG: 3x3 convolutions (same padding) with ReLU, optional BatchNorm, 2x2 max-pools, then global
 * average pooling and one linear classifier (on 32x32 CIFAR inputs VGG11 ends at 1x1, where the
 * pooling is the identity). Each convolution's output channels form one feature space, `conv<i>`.
 */
export function vggSpec(config: VggConfig, inputShape: number[], numClasses: number): ModelSpec {
  const layout = config.layout === 'vgg11' ? VGG11_LAYOUT : config.layout;
  const pools = layout.filter((item) => item === 'M').length;
  const smallestSide = Math.min(inputShape[0] ?? 0, inputShape[1] ?? 0);
  if (smallestSide >> pools === 0) {
    throw new InputError(
      `a VGG layout with ${pools} max-pools needs inputs of at least ${2 ** pools}x${2 ** pools}, got ${inputShape.slice(0, 2).join('x')}; use fewer "M" entries`,
    );
  }
  const params: ParamEntries = {};
  const convs: { index: number; channels: number }[] = [];
  let channels = inputShape[inputShape.length - 1]!;
  let inSpace: string | null = null;
  layout.forEach((item) => {
    if (item === 'M') return;
    const index = convs.length + 1;
    const width = Math.max(1, Math.round(item * config.width));
    Object.assign(params, convParams(`conv${index}`, 3, channels, width, inSpace, `conv${index}`, !config.batchNorm));
    if (config.batchNorm) Object.assign(params, batchNormParams(`bn${index}`, width, `conv${index}`));
    convs.push({ index, channels: width });
    channels = width;
    inSpace = `conv${index}`;
  });
  if (convs.length === 0) throw new Error('a VGG layout needs at least one convolution');
  Object.assign(params, denseParams('classifier', channels, numClasses, inSpace, null));
  return {
    family: 'vgg',
    config: { layout: [...layout], width: config.width, batchNorm: config.batchNorm },
    inputShape: [...inputShape],
    numClasses,
    params,
    forward(weights, x, context) {
      let h = x as tf.Tensor4D;
      let conv = 0;
      for (const item of layout) {
        if (item === 'M') {
          h = tf.maxPool(h, 2, 2, 'valid');
          continue;
        }
        conv++;
        h = conv2d(weights, { weight: `conv${conv}.weight`, bias: config.batchNorm ? undefined : `conv${conv}.bias` }, h, 1, 'same');
        if (config.batchNorm) h = batchNorm(weights, batchNormNames(`bn${conv}`), h, context) as tf.Tensor4D;
        h = tf.relu(h);
        if (context?.probe) context.probe(`conv${conv}`, channelsAsSamples(h));
      }
      return dense(weights, { weight: 'classifier.weight', bias: 'classifier.bias' }, globalAveragePool(h), 'linear', context);
    },
  };
}
