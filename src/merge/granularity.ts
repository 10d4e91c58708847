import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { layerParams, type ModelSpec, type ParamMap } from '../nn/spec.js';

/**
 * How finely merge weights vary: one per parameter entry (the default), per output unit or channel,
 * per tensor, or per layer (a layer's weight and bias share one). Coarser weights have fewer free
 * values: comparing them shows what the per-entry freedom of learned alpha buys.
 */
export const granularities = ['entry', 'unit', 'tensor', 'layer'] as const;
/** How coarse merge weights are: one per entry, output unit, tensor or layer. */
export type Granularity = (typeof granularities)[number];

/**
 * The recipe field, shared by every method whose weights it shapes. Unset means per entry, so the
 * keys of merges made before the field existed stay the same.
 */
export const granularityOption = z
  .enum(granularities)
  .optional()
  .describe('merge weights per parameter entry (default), per output unit or channel, per tensor, or per layer');

/** Which weight each parameter's entries share: the group of each parameter, and each group's (broadcastable) shape. */
export interface WeightGroups {
  groupOf: Record<string, string>;
  shapeOf: Record<string, number[]>;
}

/**
 * The groups of `names` (parameters of `spec`) at `granularity`. A unit is an entry of a parameter's
 * last axis (a dense layer's or a convolution's output, a bias or BatchNorm entry), so a group's shape
 * keeps that axis and is 1 elsewhere; a tensor's or a layer's is a scalar.
 */
export function weightGroups(spec: ModelSpec, names: readonly string[], granularity: Granularity = 'entry'): WeightGroups {
  const layerOf = new Map(spec.layers.flatMap((layer) => layerParams(layer).map((name) => [name, layerParams(layer)[0]!] as const)));
  const groupOf: Record<string, string> = {};
  const shapeOf: Record<string, number[]> = {};
  for (const name of names) {
    const shape = spec.params[name]!.shape;
    const group = granularity === 'layer' ? (layerOf.get(name) ?? name) : name;
    groupOf[name] = group;
    shapeOf[group] = granularity === 'entry' ? shape : granularity === 'unit' ? shape.map((size, axis) => (axis === shape.length - 1 ? size : 1)) : [];
  }
  return { groupOf, shapeOf };
}

/** The axes a group reduces of a parameter of `shape` to reach `groupShape`. */
function reducedAxes(shape: readonly number[], groupShape: readonly number[]): number[] {
  return groupShape.length === 0 ? shape.map((_, axis) => axis) : shape.flatMap((size, axis) => (groupShape[axis] === size ? [] : [axis]));
}

/**
 * Per group, the sum (or the mean) of `values` over every entry of the group's parameters, in the
 * group's shape. Returns new tensors the caller owns.
 */
export function reduceToGroups(values: ParamMap, groups: WeightGroups, how: 'sum' | 'mean'): ParamMap {
  return tf.tidy(() => {
    const sums: ParamMap = {};
    const counts: Record<string, number> = {};
    for (const [name, group] of Object.entries(groups.groupOf)) {
      const value = values[name]!;
      const groupShape = groups.shapeOf[group]!;
      const axes = reducedAxes(value.shape, groupShape);
      const sum = axes.length ? tf.reshape(tf.sum(value, axes), groupShape) : value;
      sums[group] = sums[group] ? tf.add(sums[group]!, sum) : sum;
      counts[group] = (counts[group] ?? 0) + value.size / Math.max(1, groupShape.reduce((a, b) => a * b, 1));
    }
    if (how === 'sum') return Object.fromEntries(Object.entries(sums).map(([group, sum]) => [group, tf.clone(sum)]));
    return Object.fromEntries(Object.entries(sums).map(([group, sum]) => [group, tf.div(sum, counts[group]!)]));
  });
}

/** Group values spread back over every entry of their parameters. Returns new tensors the caller owns. */
export function expandGroups(groupValues: ParamMap, groups: WeightGroups, spec: ModelSpec): ParamMap {
  return tf.tidy(() =>
    Object.fromEntries(Object.entries(groups.groupOf).map(([name, group]) => [name, tf.broadcastTo(groupValues[group]!, spec.params[name]!.shape)])),
  );
}

/**
 * `values` made constant over each group at `granularity` (the group's sum, or mean, in every entry);
 * per entry, `values` themselves (cloned). Returns new tensors the caller owns.
 */
export function coarsen(values: ParamMap, spec: ModelSpec, granularity: Granularity | undefined, how: 'sum' | 'mean'): ParamMap {
  if (granularity === undefined || granularity === 'entry') return tf.tidy(() => Object.fromEntries(Object.entries(values).map(([n, v]) => [n, tf.clone(v)])));
  const groups = weightGroups(spec, Object.keys(values), granularity);
  const reduced = reduceToGroups(values, groups, how);
  const expanded = expandGroups(reduced, groups, spec);
  tf.dispose(Object.values(reduced));
  return expanded;
}
