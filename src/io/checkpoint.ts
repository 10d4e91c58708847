import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import type { SplitSizes } from '../data/dataset.js';
import { datasets, type DatasetEntry } from '../data/registry.js';
import { architectureRecord, families, parseFamilyConfig, type ArchitectureRecord, type FamilyEntry } from '../nn/families.js';
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

/** What the metadata must hold; checked before anything is built from it. */
const architectureSchema = z.looseObject({
  family: z.string(),
  config: z.record(z.string(), z.unknown()),
  inputShape: z.array(z.number().int().positive()).min(1).max(3),
  numClasses: z.number().int().min(2),
});
const infoSchema = z.looseObject({
  kind: z.enum(['base', 'aligned', 'merged', 'alpha']),
  dataset: z.string(),
  splitSeed: z.number().int().nonnegative(),
  split: z
    .object({ train: z.number().int().nonnegative(), merge: z.number().int().nonnegative(), test: z.number().int().nonnegative() })
    .optional(),
  seed: z.number().int().nonnegative().optional(),
  details: z.record(z.string(), z.unknown()).optional(),
  configHash: z.string().optional(),
});

/** The first line of a message, for wrapping an error from a lower layer into one line. */
function firstLine(message: string): string {
  return message.split('\n')[0] ?? '';
}

function parseJsonField<T>(metadata: Record<string, string>, key: string, path: string, schema: z.ZodType<T>): T {
  const text = metadata[key];
  if (text === undefined) {
    throw new InputError(`${path} has no "${key}" metadata: it was not written by merge-train (expected format ${FORMAT})`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new InputError(`${path}: metadata "${key}" is not valid JSON; expected the JSON that merge-train writes (format ${FORMAT})`);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.map((k) => (typeof k === 'number' ? `[${k}]` : `.${String(k)}`)).join('');
    throw new InputError(`${path}: metadata "${key}"${field}: ${issue.message.replace(/^Invalid input: /, '')}; the file was not written by this merge-train or was altered`);
  }
  return parsed.data;
}

/** Rebuilds the spec a checkpoint records; every problem names the file and is an {@link InputError}. */
function specOf(record: ArchitectureRecord, path: string): ModelSpec {
  let family: FamilyEntry;
  try {
    family = families.get(record.family);
  } catch (error) {
    throw error instanceof InputError ? new InputError(`${path}: metadata "architecture".family: ${error.message}`) : error;
  }
  const config = parseFamilyConfig(family, record.config, `${path}: metadata "architecture"`);
  try {
    return family.build(config, record.inputShape, record.numClasses);
  } catch (error) {
    // The record comes from the file, so a model that cannot be built is a bad file, not a bug.
    const message = firstLine(error instanceof Error ? error.message : String(error));
    throw new InputError(`${path}: metadata "architecture" describes a ${family.name} model that cannot be built: ${message}`);
  }
}

/** Checks the recorded dataset and split against the registry and the architecture. */
function checkData(info: CheckpointInfo, record: ArchitectureRecord, path: string): void {
  let dataset: DatasetEntry;
  try {
    dataset = datasets.get(info.dataset);
  } catch (error) {
    throw error instanceof InputError ? new InputError(`${path}: metadata "info".dataset: ${error.message}`) : error;
  }
  if (record.inputShape.join(',') !== dataset.inputShape.join(',') || record.numClasses !== dataset.numClasses) {
    throw new InputError(
      `${path}: metadata "architecture" takes inputs [${record.inputShape.join(',')}] and ${record.numClasses} classes, but its dataset ${dataset.name} has inputs [${dataset.inputShape.join(',')}] and ${dataset.numClasses} classes`,
    );
  }
  if (info.split) {
    const { train, merge, test } = info.split;
    if (train + merge + test > dataset.total) {
      throw new InputError(
        `${path}: metadata "info".split: train ${train} + merge ${merge} + test ${test} = ${train + merge + test} examples, but ${dataset.name} has ${dataset.total}`,
      );
    }
  }
}

/** Reads and validates a merge-train checkpoint; errors name the file and what is wrong. */
export async function loadCheckpoint(path: string): Promise<LoadedCheckpoint> {
  const { tensors, metadata } = await readSafetensors(path);
  if (metadata.format !== undefined && metadata.format !== FORMAT) {
    throw new InputError(`${path}: metadata "format" is ${JSON.stringify(metadata.format).slice(0, 60)}; expected ${FORMAT}`);
  }
  const architecture = parseJsonField(metadata, 'architecture', path, architectureSchema) as ArchitectureRecord;
  const info = parseJsonField(metadata, 'info', path, infoSchema) as CheckpointInfo;
  checkData(info, architecture, path);
  const spec = specOf(architecture, path);
  validateParams(spec, tensors, path);
  for (const [name, { data }] of Object.entries(tensors)) {
    if (!(data instanceof Float32Array)) {
      throw new InputError(`${path}: parameter ${name} has an integer or boolean dtype; expected floating-point weights (F32, F16, BF16 or F64)`);
    }
  }
  return { spec, params: arraysToParams(tensors), info };
}

/** Where two specs first differ, in words: the family, or the first parameter that differs. */
function firstDifference(a: ModelSpec, b: ModelSpec): string {
  if (a.family !== b.family) return `a ${a.family} model vs a ${b.family} model`;
  const shape = (spec: ModelSpec, name: string) => (Object.hasOwn(spec.params, name) ? `[${spec.params[name]!.shape.join(',')}]` : 'absent');
  const names = [...Object.keys(a.params), ...Object.keys(b.params).filter((name) => !Object.hasOwn(a.params, name))];
  const name = names.find((n) => shape(a, n) !== shape(b, n));
  const configs = `${a.family} ${JSON.stringify(a.config)} vs ${JSON.stringify(b.config)}`;
  return name ? `${configs}; parameter ${name} is ${shape(a, name)} vs ${shape(b, name)}` : configs;
}

/** Refuses two checkpoints whose architectures differ, naming both files and the first difference. */
export function ensureSameArchitecture(a: LoadedCheckpoint, pathA: string, b: LoadedCheckpoint, pathB: string): void {
  if (architectureSignature(a.spec) !== architectureSignature(b.spec)) {
    throw new InputError(
      `${pathA} and ${pathB} have different architectures (${firstDifference(a.spec, b.spec)}); expected checkpoints of one architecture`,
    );
  }
}
