import * as tf from '@tensorflow/tfjs-core';
import { open, stat } from 'node:fs/promises';
import { readSafetensors, type NamedArrays, type WritableArrays } from '../io/safetensors.js';
import type { ModelSpec, ParamMap } from '../nn/spec.js';
import { InputError } from '../util/errors.js';
import type { TorchShapes } from './torchDefinition.js';
import { fromTorch, toTorch, torchShape, type TorchStateDictLayout } from './torchLayout.js';

/**
 * A PyTorch state dict as a file holds it: safetensors (what `safetensors.torch.save_file(
 * model.state_dict(), path)` writes), its tensors by key and its metadata.
 */
export interface TorchStateDict {
  /** Floating-point tensors as float32 or float64, integer ones (counters) as int32. */
  tensors: NamedArrays;
  metadata: Record<string, string>;
}

/** The prefix nn.DataParallel and DistributedDataParallel put before every key of the model they wrap. */
const WRAPPER_PREFIX = 'module.';

/** Refuses a pickle (what torch.save writes: a zip archive, or a bare pickle) with how to save safetensors instead. */
async function refusePickle(path: string): Promise<void> {
  const stats = await stat(path).catch(() => undefined);
  if (!stats?.isFile()) return; // the safetensors reader names what is wrong
  const head = new Uint8Array(4);
  const handle = await open(path, 'r').catch(() => undefined);
  if (!handle) return;
  try {
    await handle.read(head, 0, 4, 0);
  } finally {
    await handle.close();
  }
  const zip = head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04;
  const pickle = head[0] === 0x80 && head[1]! >= 2 && head[1]! <= 5;
  if (zip || pickle) {
    throw new InputError(
      `${path} is a PyTorch pickle (torch.save); merge-train reads state dicts saved as safetensors: from safetensors.torch import save_file; save_file(model.state_dict(), "model.safetensors")`,
    );
  }
}

/** Reads the state dict in `path`; keys of a wrapped model lose their `module.` prefix. */
export async function readTorchStateDict(path: string): Promise<TorchStateDict> {
  await refusePickle(path);
  const { tensors, metadata } = await readSafetensors(path);
  const keys = Object.keys(tensors);
  const wrapped = keys.length > 0 && keys.every((key) => key.startsWith(WRAPPER_PREFIX));
  if (!wrapped) return { tensors, metadata };
  return { tensors: Object.fromEntries(Object.entries(tensors).map(([key, value]) => [key.slice(WRAPPER_PREFIX.length), value])), metadata };
}

/** Each tensor's shape by key. */
export function torchShapesOf(tensors: NamedArrays): TorchShapes {
  return Object.fromEntries(Object.entries(tensors).map(([key, { shape }]) => [key, shape]));
}

/** The model a spec describes, in words for messages: `the PyTorch vgg {"layout":[...],...}`. */
function described(spec: ModelSpec): string {
  return `the PyTorch ${spec.family} ${JSON.stringify(spec.config)}`;
}

/** A floating-point tensor's values as float32, refused unless every one is finite. */
function floatValues(tensors: NamedArrays, key: string, source: string): Float32Array {
  const { data } = tensors[key]!;
  if (!(data instanceof Float32Array || data instanceof Float64Array)) {
    throw new InputError(`${source}: tensor ${key} holds integers; expected floating-point weights`);
  }
  const values = data instanceof Float32Array ? data : Float32Array.from(data);
  const bad = values.findIndex((value) => !Number.isFinite(value));
  if (bad >= 0) throw new InputError(`${source}: tensor ${key} holds ${values[bad]} at index ${bad}; expected finite weights`);
  return values;
}

/**
 * merge-train's parameters of `spec` from a state dict laid out as `layout`. Every key must be one of
 * the layout's (its BatchNorm counters may be absent; a convolution bias before a BatchNorm is folded
 * into the running mean), every tensor of the layout present with its shape; refusals name `source`
 * and the key. Returns new tensors the caller owns.
 */
export function paramsFromStateDict(spec: ModelSpec, layout: TorchStateDictLayout, tensors: NamedArrays, source: string): ParamMap {
  const expected = new Map(layout.tensors.map((tensor) => [tensor.key, tensor]));
  const counters = new Set(layout.batchNorms.map((norm) => norm.counter));
  const foldable = new Map(layout.batchNorms.map((norm) => [norm.convBias, norm]));
  const keys = Object.keys(tensors);
  const unknowns = keys.filter((key) => !expected.has(key) && !counters.has(key) && !foldable.has(key));
  // A weight says most about what the file holds instead; a counter or a bias little.
  const unknown = unknowns.find((key) => key.endsWith('.weight')) ?? unknowns[0];
  if (unknown !== undefined) {
    const examples = layout.tensors.slice(0, 4).map((tensor) => tensor.key).join(', ');
    throw new InputError(`${source}: tensor ${unknown} is not one of ${described(spec)}; expected keys such as ${examples}`);
  }
  for (const { key, param, layout: axes } of layout.tensors) {
    const wanted = torchShape(spec.params[param]!.shape, axes);
    const actual = Object.hasOwn(tensors, key) ? tensors[key]!.shape : undefined;
    if (!actual) throw new InputError(`${source}: tensor ${key} is missing; ${described(spec)} has it, of shape [${wanted.join(',')}]`);
    if (actual.join(',') !== wanted.join(',')) {
      throw new InputError(`${source}: tensor ${key} has shape [${actual.join(',')}]; ${described(spec)} has it of shape [${wanted.join(',')}]`);
    }
  }
  const biases = layout.batchNorms.filter((norm) => Object.hasOwn(tensors, norm.convBias));
  for (const { convBias, runningMean } of biases) {
    const channels = spec.params[runningMean]!.shape.join(',');
    if (tensors[convBias]!.shape.join(',') !== channels) {
      throw new InputError(`${source}: tensor ${convBias} has shape [${tensors[convBias]!.shape.join(',')}]; expected one bias per channel, [${channels}]`);
    }
  }
  const params: ParamMap = {};
  try {
    for (const { key, param, layout: axes } of layout.tensors) {
      const stored = tf.tensor(floatValues(tensors, key, source), tensors[key]!.shape, 'float32');
      params[param] = fromTorch(stored, axes);
      stored.dispose();
    }
    for (const { convBias, runningMean } of biases) {
      // BatchNorm subtracts the mean of what the convolution gives, its bias included: the bias moves the mean.
      const bias = tf.tensor(floatValues(tensors, convBias, source), tensors[convBias]!.shape, 'float32');
      const shifted = tf.sub(params[runningMean]!, bias);
      params[runningMean]!.dispose();
      bias.dispose();
      params[runningMean] = shifted;
    }
  } catch (error) {
    tf.dispose(Object.values(params));
    throw error;
  }
  return params;
}

/** The state dict of `params` laid out as `layout`: float32 tensors, and each BatchNorm's counter an int64 0. */
export function stateDictFromParams(spec: ModelSpec, layout: TorchStateDictLayout, params: ParamMap): WritableArrays {
  const arrays: WritableArrays = {};
  for (const { key, param, layout: axes } of layout.tensors) {
    const value = toTorch(params[param]!, axes);
    arrays[key] = { shape: torchShape(spec.params[param]!.shape, axes), data: new Float32Array(value.dataSync()) };
    value.dispose();
  }
  for (const { counter } of layout.batchNorms) arrays[counter] = { shape: [], data: new BigInt64Array(1) };
  return arrays;
}
