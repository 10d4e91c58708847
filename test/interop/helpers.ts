import * as tf from '@tensorflow/tfjs-core';
import { writeSafetensors, type WritableArrays } from '../../src/io/safetensors.js';
import { torchDefinitionOf } from '../../src/interop/torchInfer.js';
import { stateDictLayout } from '../../src/interop/torchLayout.js';
import { stateDictFromParams } from '../../src/interop/torchStateDict.js';
import { families } from '../../src/nn/families.js';
import { initParams } from '../../src/nn/init.js';
import type { ModelSpec, ParamMap } from '../../src/nn/spec.js';
import { subSeed } from '../../src/util/random.js';

/** A spec of a registered family. */
export function specOf(family: string, config: Record<string, unknown>, inputShape: number[], numClasses: number): ModelSpec {
  return families.get(family).build(config, inputShape, numClasses);
}

/** Seeded parameters with every BatchNorm vector drawn at random too (its scale, shift and statistics), so a mix-up shows. */
export function randomParams(spec: ModelSpec, seed: number): ParamMap {
  const params = initParams(spec, seed);
  for (const layer of spec.layers) {
    if (layer.kind !== 'batchNorm') continue;
    for (const [name, low, high] of [
      [layer.norm.weight, 0.5, 1.5],
      [layer.norm.bias, -0.3, 0.3],
      [layer.norm.runningMean, -0.5, 0.5],
      [layer.norm.runningVar, 0.5, 2],
    ] as const) {
      params[name]!.dispose();
      params[name] = tf.randomUniform(spec.params[name]!.shape, low, high, 'float32', subSeed(seed, name));
    }
  }
  return params;
}

/** `spec`'s state dict in its PyTorch definition's keys and layouts, as a plain PyTorch program would save it (no merge-train metadata). */
export function torchStateDict(spec: ModelSpec, params: ParamMap): WritableArrays {
  return stateDictFromParams(spec, stateDictLayout(spec, torchDefinitionOf(spec.family, 'test').keyOf(spec)), params);
}

/** Writes `tensors` as a PyTorch program saves a state dict with safetensors (metadata `format: pt` only). */
export async function writeTorchFile(path: string, tensors: WritableArrays): Promise<string> {
  await writeSafetensors(path, tensors, { format: 'pt' });
  return path;
}
