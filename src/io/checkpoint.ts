import * as tf from '@tensorflow/tfjs-core';
import type { SplitSizes } from '../data/dataset.js';
import { architectureRecord, specFromRecord, type ArchitectureRecord } from '../nn/families.js';
import { architectureSignature, validateParams, type ModelSpec, type ParamMap } from '../nn/spec.js';
import { InputError } from '../util/errors.js';
import { readSafetensors, writeSafetensors, type NamedArrays } from './safetensors.js';

/** What a merge-train checkpoint records beside its weights (in the safetensors `__metadata__`). */
export interface CheckpointInfo {
  /** What the file holds: a trained base model, an aligned copy of one, a merged model, or alpha masks. */
  kind: 'base' | 'aligned' | 'merged' | 'alpha';
  dataset: string;
  /** The seed and sizes of the data split (train / merge / test), so later stages find the same splits. */
  splitSeed: number;
  split?: SplitSizes;
  /** Seed of the model's own initialisation and batch order, where there is one. */
  seed?: number;
  /** Free-form details: training history, alignment method, alpha kind... */
  details?: Record<string, unknown>;
  /** Hash of the configuration that produced the file, for cache checks. */
  configHash?: string;
}

const FORMAT = 'merge-train/1';

/** Copies parameter tensors to host arrays for writing. */
export function paramsToArrays(params: ParamMap): NamedArrays {
  const arrays: NamedArrays = {};
  for (const [name, tensor] of Object.entries(params)) {
    arrays[name] = { shape: tensor.shape, data: tensor.dataSync() as Float32Array };
  }
  return arrays;
}

/** Uploads host arrays as float32 parameter tensors. */
export function arraysToParams(arrays: NamedArrays): ParamMap {
  const params: ParamMap = {};
  for (const [name, { shape, data }] of Object.entries(arrays)) {
    params[name] = tf.tensor(data instanceof Float32Array ? data : Float32Array.from(data), shape, 'float32');
  }
  return params;
}

/**
 * Writes a checkpoint as .safetensors: weights stored [in, out] as float32, metadata with the
 * architecture record (to rebuild the spec), dataset, split seed and details.
 */
export async function saveCheckpoint(path: string, spec: ModelSpec, params: ParamMap, info: CheckpointInfo): Promise<void> {
  const metadata: Record<string, string> = {
    format: FORMAT,
    architecture: JSON.stringify(architectureRecord(spec)),
    info: JSON.stringify(info),
    layout: 'dense weights are [in, out]',
  };
  await writeSafetensors(path, paramsToArrays(params), metadata);
}

export interface LoadedCheckpoint {
  spec: ModelSpec;
  params: ParamMap;
  info: CheckpointInfo;
}

function parseJsonField<T>(metadata: Record<string, string>, key: string, path: string): T {
  const text = metadata[key];
  if (text === undefined) {
    throw new InputError(`${path} has no "${key}" metadata: it was not written by merge-train (expected format ${FORMAT})`);
  }
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new InputError(`${path}: metadata "${key}" is not valid JSON`);
  }
}

/** Reads and validates a merge-train checkpoint; errors name the file and what is wrong. */
export async function loadCheckpoint(path: string): Promise<LoadedCheckpoint> {
  const { tensors, metadata } = await readSafetensors(path);
  const architecture = parseJsonField<ArchitectureRecord>(metadata, 'architecture', path);
  const info = parseJsonField<CheckpointInfo>(metadata, 'info', path);
  const spec = specFromRecord(architecture, path);
  validateParams(spec, tensors, path);
  return { spec, params: arraysToParams(tensors), info };
}

/** Refuses two checkpoints whose architectures differ, naming both files. */
export function ensureSameArchitecture(a: LoadedCheckpoint, pathA: string, b: LoadedCheckpoint, pathB: string): void {
  const signatureA = architectureSignature(a.spec);
  const signatureB = architectureSignature(b.spec);
  if (signatureA !== signatureB) {
    throw new InputError(`${pathA} and ${pathB} have different architectures (${signatureA.slice(0, 80)} vs ${signatureB.slice(0, 80)}); merge models of one architecture`);
  }
}
