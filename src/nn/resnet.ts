import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { SpecLayers } from './builders.js';
import { defineFamily } from './family.js';
import { batchNorm, batchNormRelu, channelsAsSamples, conv2d, dense, globalAveragePool } from './layers.js';
import type { BatchNormLayer, ConvLayer, ForwardContext, ModelSpec, ParamMap } from './spec.js';

const resnetConfig = z
  .strictObject({
    blocks: z.array(z.number().int().positive()).min(1).default([3, 3, 3]).describe('BasicBlocks per stage; [3,3,3] is ResNet20'),
    widths: z.array(z.number().int().positive()).min(1).default([16, 32, 64]).describe('channels per stage'),
    width: z.number().positive().default(1).describe('channel multiplier'),
    batchNorm: z.boolean().default(true),
    padding: z
      .enum(['same', 'symmetric'])
      .optional()
      .describe(
        'padding of the stride-2 3x3 convolutions: same (the default; on even sizes none above and one below, as TensorFlow pads) or symmetric (one on every side, as PyTorch\'s padding=1)',
      ),
  })
  .superRefine((config, context) => {
    if (config.blocks.length !== config.widths.length) {
      context.addIssue({
        code: 'custom',
        path: ['widths'],
        input: config.widths,
        message: `expected one width per stage, as many as model.config.blocks (${config.blocks.length})`,
      });
    }
  });

/** The settings of a ResNet (`model.config` in a recipe), defaults optional. */
export type ResNetConfig = z.input<typeof resnetConfig>;

/** A convolution (its kernel's side) and, with BatchNorm, the norm after it. */
interface ConvUnit {
  conv: ConvLayer;
  kernel: number;
  norm?: BatchNormLayer;
}

/**
 * A CIFAR-style ResNet (He et al. 2016) of BasicBlocks with BatchNorm. The residual stream of stage s
 * is ONE feature space, `stage<s>`, shared by everything that writes to it (the stem or the stage's
 * block outputs and shortcut convolutions) and everything that reads it (the next blocks, the next
 * stage's first convolution and shortcut, the classifier). Inside each block, the first
 * convolution's output is a space of its own, `layer<s>.<b>.inner`. Parameter names follow
 * torchvision's (conv1, bn1, layer1.0.conv1, layer1.0.shortcut.conv, fc).
 *
 * A stride-2 3x3 convolution with 'same' padding pads an even-sized input by one row and column at the
 * bottom and right only, so its windows centre on odd positions; PyTorch's padding=1 pads one on every
 * side and centres them on even ones, as the 1x1 shortcut samples. `padding: symmetric` pads like
 * PyTorch (the two agree on odd sizes and at stride 1). The field is left out of the configuration
 * when not given, so models made before it existed keep their keys.
 */
export const resnetFamily = defineFamily({
  name: 'resnet',
  description: 'CIFAR ResNet of BasicBlocks with BatchNorm; each stage\'s residual stream is one feature space',
  reference: 'https://arxiv.org/abs/1512.03385',
  configSchema: resnetConfig,
  withoutBatchNorm: (config) => ({ ...config, batchNorm: false }),
  build: (config, inputShape, numClasses) => {
    const widths = config.widths.map((w) => Math.max(1, Math.round(w * config.width)));
    const spec = new SpecLayers();
    /** Convolution `<path>conv<k>` and, with BatchNorm, its norm `<path>bn<k>`. */
    const convUnit = (path: string, k: string, kernel: number, inputs: number, outputs: number, inSpace: string | null, outSpace: string): ConvUnit => {
      const conv = spec.conv(`${path}conv${k}`, kernel, inputs, outputs, inSpace, outSpace, !config.batchNorm);
      return config.batchNorm ? { conv, kernel, norm: spec.batchNorm(`${path}bn${k}`, outputs, outSpace, conv) } : { conv, kernel };
    };
    const stem = convUnit('', '1', 3, inputShape[inputShape.length - 1]!, widths[0]!, null, 'stage1');
    const blocks: { prefix: string; stage: number; stride: number; first: ConvUnit; second: ConvUnit; shortcut?: ConvUnit }[] = [];
    let channels = widths[0]!;
    config.blocks.forEach((count, s) => {
      const stage = `stage${s + 1}`;
      const width = widths[s]!;
      for (let b = 0; b < count; b++) {
        const prefix = `layer${s + 1}.${b}`;
        const inSpace = b === 0 && s > 0 ? `stage${s}` : stage;
        const stride = b === 0 && s > 0 ? 2 : 1;
        const inner = `${prefix}.inner`;
        const first = convUnit(`${prefix}.`, '1', 3, channels, width, inSpace, inner);
        const second = convUnit(`${prefix}.`, '2', 3, width, width, inner, stage);
        const projection = stride !== 1 || channels !== width;
        const shortcut = projection ? convUnit(`${prefix}.shortcut.`, '', 1, channels, width, inSpace, stage) : undefined;
        blocks.push({ prefix, stage: s + 1, stride, first, second, ...(shortcut ? { shortcut } : {}) });
        channels = width;
      }
    });
    const fc = spec.dense('fc', channels, numClasses, `stage${config.blocks.length}`, null);
    // (k - 1) / 2 on every side gives an odd kernel the output size 'same' gives it, at any stride.
    const padOf = (kernel: number, stride: number): 'same' | number => (config.padding === 'symmetric' && stride > 1 ? (kernel - 1) / 2 : 'same');

    /** A convolution, its BatchNorm if any, and then ReLU when `relu` (fused with the BatchNorm where the backend can). */
    const convBn = (weights: ParamMap, { conv, kernel, norm }: ConvUnit, x: tf.Tensor4D, stride: number, context?: ForwardContext, relu = false): tf.Tensor4D => {
      const out = conv2d(weights, conv, x, stride, padOf(kernel, stride), context);
      if (relu) return (norm ? batchNormRelu(weights, norm, out, context) : tf.relu(out)) as tf.Tensor4D;
      return norm ? (batchNorm(weights, norm, out, context) as tf.Tensor4D) : out;
    };

    return {
      config: {
        blocks: [...config.blocks],
        widths: [...config.widths],
        width: config.width,
        batchNorm: config.batchNorm,
        ...(config.padding === undefined ? {} : { padding: config.padding }),
      },
      inputShape: [...inputShape],
      numClasses,
      params: spec.params,
      layers: spec.layers,
      forward(weights, x, context) {
        let h = convBn(weights, stem, x as tf.Tensor4D, 1, context, true);
        context?.probe?.('stage1', channelsAsSamples(h));
        for (const { prefix, stage, stride, first, second, shortcut } of blocks) {
          const inner = convBn(weights, first, h, stride, context, true);
          context?.probe?.(`${prefix}.inner`, channelsAsSamples(inner));
          const out = convBn(weights, second, inner, 1, context);
          const skip = shortcut ? convBn(weights, shortcut, h, stride, context) : h;
          h = tf.relu(tf.add(out, skip)) as tf.Tensor4D;
          context?.probe?.(`stage${stage}`, channelsAsSamples(h));
        }
        return dense(weights, fc, globalAveragePool(h), 'linear', context);
      },
    };
  },
});

/** The spec of a ResNet (see {@link resnetFamily}). */
export function resnetSpec(config: ResNetConfig, inputShape: number[], numClasses: number): ModelSpec {
  return resnetFamily.build(config, inputShape, numClasses);
}
