import * as tf from '@tensorflow/tfjs-core';
import { batchNormParams, convParams, denseParams, type ParamEntries } from './builders.js';
import { batchNorm, batchNormNames, channelsAsSamples, conv2d, dense, globalAveragePool } from './layers.js';
import type { ForwardContext, ModelSpec, ParamMap } from './spec.js';

export interface ResNetConfig {
  /** BasicBlocks per stage: [3, 3, 3] is ResNet20. */
  blocks: number[];
  /** Channels per stage before the multiplier: [16, 32, 64] for CIFAR ResNets. */
  widths: number[];
  /** Multiplies every width (the x1, x2, x4, x8 of the papers). */
  width: number;
  /** False: convolutions with biases and no BatchNorm (what foldBatchNorm turns a trained ResNet into). */
  batchNorm: boolean;
}

/**
 * A CIFAR-style ResNet (He et al. 2016) of BasicBlocks with BatchNorm. The residual stream of stage s
 * is ONE feature space, `stage<s>`, shared by everything that writes to it (the stem or the stage's
 * block outputs and shortcut convolutions) and everything that reads it (the next blocks, the next
 * stage's first convolution and shortcut, the classifier). Inside each block, the first
 * convolution's output is a space of its own, `layer<s>.<b>.inner`. Parameter names follow
 * torchvision's (conv1, bn1, layer1.0.conv1, layer1.0.shortcut.conv, fc).
 */
export function resnetSpec(config: ResNetConfig, inputShape: number[], numClasses: number): ModelSpec {
  if (config.blocks.length !== config.widths.length) throw new Error('resnet: blocks and widths need one entry per stage');
  const widths = config.widths.map((w) => Math.max(1, Math.round(w * config.width)));
  const params: ParamEntries = {};
  const inputChannels = inputShape[inputShape.length - 1]!;
  const withBn = config.batchNorm;
  /** A convolution and, with BatchNorm, its norm: `<path>conv<k>` pairs with `<path>bn<k>`. */
  const convUnit = (conv: string, kernel: number, inputs: number, outputs: number, inSpace: string | null, outSpace: string): ParamEntries => ({
    ...convParams(conv, kernel, inputs, outputs, inSpace, outSpace, !withBn),
    ...(withBn ? batchNormParams(conv.replace(/conv(\d*)$/, 'bn$1'), outputs, outSpace) : {}),
  });
  Object.assign(params, convUnit('conv1', 3, inputChannels, widths[0]!, null, 'stage1'));
  const blocks: { prefix: string; stage: number; stride: number; projection: boolean }[] = [];
  let channels = widths[0]!;
  config.blocks.forEach((count, s) => {
    const stage = `stage${s + 1}`;
    const width = widths[s]!;
    for (let b = 0; b < count; b++) {
      const prefix = `layer${s + 1}.${b}`;
      const inSpace = b === 0 && s > 0 ? `stage${s}` : stage;
      const stride = b === 0 && s > 0 ? 2 : 1;
      const inner = `${prefix}.inner`;
      Object.assign(params, convUnit(`${prefix}.conv1`, 3, channels, width, inSpace, inner), convUnit(`${prefix}.conv2`, 3, width, width, inner, stage));
      const projection = stride !== 1 || channels !== width;
      if (projection) Object.assign(params, convUnit(`${prefix}.shortcut.conv`, 1, channels, width, inSpace, stage));
      blocks.push({ prefix, stage: s + 1, stride, projection });
      channels = width;
    }
  });
  Object.assign(params, denseParams('fc', channels, numClasses, `stage${config.blocks.length}`, null));

  const convBn = (weights: ParamMap, name: string, bn: string, x: tf.Tensor4D, stride: number, context?: ForwardContext): tf.Tensor4D => {
    const out = conv2d(weights, { weight: `${name}.weight`, bias: withBn ? undefined : `${name}.bias` }, x, stride, 'same');
    return withBn ? (batchNorm(weights, batchNormNames(bn), out, context) as tf.Tensor4D) : out;
  };

  return {
    family: 'resnet',
    config: { blocks: [...config.blocks], widths: [...config.widths], width: config.width, batchNorm: withBn },
    inputShape: [...inputShape],
    numClasses,
    params,
    forward(weights, x, context) {
      let h = tf.relu(convBn(weights, 'conv1', 'bn1', x as tf.Tensor4D, 1, context));
      context?.probe?.('stage1', channelsAsSamples(h));
      for (const { prefix, stage, stride, projection } of blocks) {
        const inner = tf.relu(convBn(weights, `${prefix}.conv1`, `${prefix}.bn1`, h, stride, context));
        context?.probe?.(`${prefix}.inner`, channelsAsSamples(inner));
        const out = convBn(weights, `${prefix}.conv2`, `${prefix}.bn2`, inner, 1, context);
        const shortcut = projection ? convBn(weights, `${prefix}.shortcut.conv`, `${prefix}.shortcut.bn`, h, stride, context) : h;
        h = tf.relu(tf.add(out, shortcut)) as tf.Tensor4D;
        context?.probe?.(`stage${stage}`, channelsAsSamples(h));
      }
      return dense(weights, { weight: 'fc.weight', bias: 'fc.bias' }, globalAveragePool(h), 'linear', context);
    },
  };
}
