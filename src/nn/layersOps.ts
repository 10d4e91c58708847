import { z } from 'zod';
import { InputError } from '../util/errors.js';
import { INPUT_LAYER, type GraphNode } from './layersTopology.js';

/**
 * The Keras layer classes merge-train can derive a spec from, each read from its config into the
 * operation it computes. Options that would change the computation beyond what merge-train runs
 * (dilation, channels-first data, a leaky or capped ReLU, ...) are refused, naming the layer.
 */

/** An activation a layer may apply: softmax only at the output, where the spec drops it (specs return logits). */
export type Activation = 'relu' | 'linear' | 'softmax';

/** A 2-D window: [rows, columns]. */
export type Pair = [number, number];

/** What one layer computes, in the terms merge-train's forward pass needs. */
export type LayerOp =
  | { kind: 'input'; shape?: (number | null)[] }
  | { kind: 'dense'; units: number; activation: Activation; useBias: boolean }
  | { kind: 'conv'; filters: number; kernel: Pair; strides: Pair; padding: 'same' | 'valid'; activation: Activation; useBias: boolean }
  | { kind: 'batchNorm'; epsilon: number }
  | { kind: 'activation'; activation: Activation }
  | { kind: 'identity' }
  | { kind: 'flatten' }
  | { kind: 'pool'; mode: 'max' | 'average'; size: Pair; strides: Pair; padding: 'same' | 'valid' }
  | { kind: 'globalAveragePool'; keepDims: boolean }
  | { kind: 'pad'; padding: [Pair, Pair] }
  | { kind: 'add' };

const positive = z.number().int().positive();
/** Keras writes windows as [rows, columns]; a single number means both. */
const pair = z.union([positive.transform((n): Pair => [n, n]), z.tuple([positive, positive])]);
const padding = z.enum(['same', 'valid']);
const shape = z.array(z.number().int().positive().nullable()).min(2);
const side = z.number().int().nonnegative();
const sides = z.tuple([side, side]);
/** ZeroPadding2D's padding: one number for every side, [rows, columns] each on both sides, or [[top, bottom], [left, right]]. */
const paddingSides = z.union([
  side.transform((n): [Pair, Pair] => [[n, n], [n, n]]),
  sides.transform(([rows, columns]): [Pair, Pair] => [[rows, rows], [columns, columns]]),
  z.tuple([sides, sides]),
]);

/** Why a well-formed layer is refused: what merge-train does not compute. */
class Refusal extends Error {}

/** Refuses the layer, saying `why`, when `condition` holds. */
function refuse(condition: boolean, why: string): void {
  if (condition) throw new Refusal(why);
}

const activations: readonly string[] = ['relu', 'linear', 'softmax'] satisfies Activation[];

/** An activation by name (default linear), refusing the others. */
function activationOf(name: string | undefined): Activation {
  const value = name ?? 'linear';
  refuse(!activations.includes(value), `activation ${value}; merge-train supports ${activations.join(', ')} (softmax only at the output)`);
  return value as Activation;
}

/** Only channels-last data, merge-train's layout (and tfjs's default). */
function refuseChannelsFirst(format: string | null | undefined): void {
  refuse(format !== undefined && format !== null && format !== 'channels_last', `data_format ${format}; merge-train computes on channels-last data`);
}

/** Per class: the operation its config describes. */
const readers: Record<string, (config: Record<string, unknown>) => LayerOp> = {
  [INPUT_LAYER]: (config) => {
    const { batch_input_shape, batch_shape } = z.looseObject({ batch_input_shape: shape.nullish(), batch_shape: shape.nullish() }).parse(config);
    const declared = batch_input_shape ?? batch_shape;
    return declared ? { kind: 'input', shape: declared.slice(1) } : { kind: 'input' };
  },
  Dense: (config) => {
    const c = z.looseObject({ units: positive, activation: z.string().optional(), use_bias: z.boolean().default(true) }).parse(config);
    return { kind: 'dense', units: c.units, activation: activationOf(c.activation), useBias: c.use_bias };
  },
  Conv2D: (config) => {
    const c = z
      .looseObject({
        filters: positive,
        kernel_size: pair,
        strides: pair.default([1, 1]),
        padding: z.string().default('valid'),
        data_format: z.string().nullish(),
        dilation_rate: pair.default([1, 1]),
        groups: positive.default(1),
        activation: z.string().optional(),
        use_bias: z.boolean().default(true),
      })
      .parse(config);
    refuse(!padding.safeParse(c.padding).success, `padding ${c.padding}; merge-train pads 'same' or 'valid'`);
    refuseChannelsFirst(c.data_format);
    refuse(c.dilation_rate.some((d) => d !== 1), `dilation_rate [${c.dilation_rate.join(', ')}]; dilated convolutions are not supported`);
    refuse(c.groups !== 1, `groups ${c.groups}; grouped convolutions are not supported`);
    const activation = activationOf(c.activation);
    return { kind: 'conv', filters: c.filters, kernel: c.kernel_size, strides: c.strides, padding: c.padding as 'same' | 'valid', activation, useBias: c.use_bias };
  },
  BatchNormalization: (config) => {
    const c = z
      .looseObject({
        axis: z.union([z.number().int(), z.array(z.number().int())]).default(-1),
        epsilon: z.number().positive().default(1e-3),
        center: z.boolean().default(true),
        scale: z.boolean().default(true),
      })
      .parse(config);
    const axes = Array.isArray(c.axis) ? c.axis : [c.axis];
    // the channel axis is the last: -1, or 3 of a [batch, h, w, c] tensor
    refuse(axes.length !== 1 || (axes[0] !== -1 && axes[0] !== 3), `axis ${JSON.stringify(c.axis)}; merge-train normalises the channels, the last axis (-1)`);
    refuse(!c.center || !c.scale, 'center or scale false (no beta or no gamma)');
    return { kind: 'batchNorm', epsilon: c.epsilon };
  },
  ReLU: (config) => {
    const c = z.looseObject({ max_value: z.number().nullish(), negative_slope: z.number().nullish(), threshold: z.number().nullish() }).parse(config);
    refuse(c.max_value !== undefined && c.max_value !== null, `max_value ${c.max_value} (a capped ReLU)`);
    refuse(!!c.negative_slope, `negative_slope ${c.negative_slope} (a leaky ReLU)`);
    refuse(!!c.threshold, `threshold ${c.threshold}`);
    return { kind: 'activation', activation: 'relu' };
  },
  Activation: (config) => ({ kind: 'activation', activation: activationOf(z.looseObject({ activation: z.string() }).parse(config).activation) }),
  Softmax: (config) => {
    const { axis } = z.looseObject({ axis: z.union([z.number().int(), z.array(z.number().int())]).default(-1) }).parse(config);
    refuse(JSON.stringify(axis) !== '-1' && JSON.stringify(axis) !== '[-1]', `axis ${JSON.stringify(axis)}; only a softmax over the last axis is supported`);
    return { kind: 'activation', activation: 'softmax' };
  },
  Dropout: () => ({ kind: 'identity' }),
  Flatten: (config) => {
    refuseChannelsFirst(z.looseObject({ data_format: z.string().nullish() }).parse(config).data_format);
    return { kind: 'flatten' };
  },
  MaxPooling2D: (config) => poolOp('max', config),
  AveragePooling2D: (config) => poolOp('average', config),
  GlobalAveragePooling2D: (config) => {
    const c = z.looseObject({ data_format: z.string().nullish(), keepdims: z.boolean().default(false) }).parse(config);
    refuseChannelsFirst(c.data_format);
    return { kind: 'globalAveragePool', keepDims: c.keepdims };
  },
  ZeroPadding2D: (config) => {
    const c = z.looseObject({ padding: paddingSides.default((): [Pair, Pair] => [[1, 1], [1, 1]]), data_format: z.string().nullish() }).parse(config);
    refuseChannelsFirst(c.data_format);
    return { kind: 'pad', padding: c.padding };
  },
  Add: () => ({ kind: 'add' }),
};

function poolOp(mode: 'max' | 'average', config: Record<string, unknown>): LayerOp {
  const c = z
    .looseObject({ pool_size: pair.default([2, 2]), strides: pair.nullish(), padding: z.string().default('valid'), data_format: z.string().nullish() })
    .parse(config);
  refuse(!padding.safeParse(c.padding).success, `padding ${c.padding}; merge-train pads 'same' or 'valid'`);
  refuseChannelsFirst(c.data_format);
  return { kind: 'pool', mode, size: c.pool_size, strides: c.strides ?? c.pool_size, padding: c.padding as 'same' | 'valid' };
}

/** The layer classes merge-train derives specs from. */
export const supportedLayerClasses: readonly string[] = Object.keys(readers);

/** "layer <name> (<class>)", as every message about a layer begins. */
export function describeLayer(node: GraphNode): string {
  return `layer ${node.name} (${node.className})`;
}

/** A refusal of a layer merge-train cannot express: "layer <name> (<class>) is not supported: <why>". */
export function unsupported(node: GraphNode, why: string): InputError {
  return new InputError(`${describeLayer(node)} is not supported: ${why}`);
}

/** The operation `node` computes, or an InputError naming the layer and what is wrong with it. */
export function layerOp(node: GraphNode): LayerOp {
  const read = Object.hasOwn(readers, node.className) ? readers[node.className] : undefined;
  if (!read) throw unsupported(node, `merge-train derives specs from ${supportedLayerClasses.join(', ')}`);
  try {
    return read(node.config);
  } catch (error) {
    if (error instanceof z.ZodError) {
      const issue = error.issues[0]!;
      const field = issue.path.length ? `${issue.path.join('.')}: ` : '';
      throw new InputError(`${describeLayer(node)}: ${field}${issue.message}`);
    }
    if (error instanceof Refusal) throw unsupported(node, error.message);
    throw error;
  }
}
