import * as tf from '@tensorflow/tfjs-core';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { z } from 'zod';
import { datasets, type DatasetEntry } from '../data/registry.js';
import type { SplitSizes } from '../data/dataset.js';
import { readSafetensors, readSafetensorsHeader, readSafetensorsMetadata, writeSafetensors, type NamedArrays } from '../io/safetensors.js';
import { arraysToTensors, tensorsToArrays } from '../io/tensorArrays.js';
import { firstIssue } from '../io/validatedJson.js';
import { architectureRecord, families, parseFamilyConfig, type ArchitectureRecord, type FamilyEntry } from '../nn/families.js';
import { architectureSignature, validateParams, type ModelSpec, type ParamMap } from '../nn/spec.js';
import { InputError } from '../util/errors.js';
import { spaceCorrelationsSchema } from './metrics.js';

/**
 * merge-train's checkpoint: a safetensors file of float32 weights (dense weights [in, out], kernels
 * [kh, kw, in, out]) whose metadata records the architecture (to rebuild the spec), the data split
 * (so later stages use the same merge and test examples), the key of the settings and inputs that
 * made it, and how it was made. Nothing in it depends on where or when it was written, so equal
 * settings give byte-identical files.
 */

const FORMAT = 'merge-train/2';
/** Files of the first format load too; they carry no key, so theirs is a hash of their contents. */
const FIRST_FORMAT = 'merge-train/1';

/** How a model was aligned: its method, that method's settings, and the BatchNorm mode of its weights. */
const alignmentSchema = z.strictObject({
  method: z.string(),
  options: z.record(z.string(), z.unknown()),
  /** The BatchNorm mode whose form the weights are in; absent for models without BatchNorm. */
  batchNorm: z.string().optional(),
  /** Examples per batch of the activation statistics, for aligners that use them. */
  batchSize: z.number().int().positive().optional(),
  /** For a joint alignment of many models: the keys of every model aligned together, the frame's first. */
  group: z.array(z.string()).min(2).optional(),
  /** The seed of its random choices, for aligners that use one (weight matching's visiting order). */
  seed: z.number().int().nonnegative().optional(),
});

const curvePoint = z.object({ step: z.number(), loss: z.number(), accuracy: z.number() });

/** How a merge was made, recorded on the merged model and on its masks. */
const mergeRecordSchema = z.strictObject({
  method: z.string(),
  options: z.record(z.string(), z.unknown()),
  /** The alignment of the merged B' (of every model but the first; absent when they were merged as they were). */
  align: alignmentSchema.optional(),
  /** Keys of the merged models: model A (the reference) first, then the aligned B' (and any further models). */
  inputs: z.array(z.string()).min(2),
  /** Mean weight of the first model over every parameter entry (alpha of A). */
  meanAlpha: z.number(),
  /** For merges of more than two models: each model's mean weight. */
  meanWeights: z.array(z.number()).optional(),
  /** Training examples its BatchNorm statistics were recomputed on; absent when they were not. */
  resetExamples: z.number().int().positive().optional(),
  /** For learned masks: the optimisation's curves and the step kept. */
  training: z
    .object({
      curve: z.array(curvePoint),
      validation: z.array(curvePoint),
      bestStep: z.number(),
      diverged: z.object({ step: z.number(), message: z.string() }).optional(),
    })
    .optional(),
});

/** Where an imported model came from: the file's name (not its folder), its format and its contents' SHA-256. */
const importSourceSchema = z.strictObject({
  file: z.string(),
  format: z.string(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});

const infoFields = {
  dataset: z.string(),
  /** The seed and sizes of the data split (train / merge / test). */
  splitSeed: z.number().int().nonnegative(),
  split: z.strictObject({ train: z.number().int().nonnegative(), merge: z.number().int().nonnegative(), test: z.number().int().nonnegative() }),
  /** What made the file: equal keys, equal settings and inputs. */
  key: z.string(),
};

const infoSchema = z.discriminatedUnion('kind', [
  z.looseObject({
    kind: z.literal('base'),
    ...infoFields,
    /** The seed of the model's initialisation and batch order. */
    seed: z.number().int().nonnegative().optional(),
    history: z.array(z.record(z.string(), z.unknown())).optional(),
  }),
  z.looseObject({
    kind: z.literal('aligned'),
    ...infoFields,
    align: alignmentSchema,
    /** Keys of the model it was aligned to (A) and of the model it was made from (B). */
    inputs: z.tuple([z.string(), z.string()]),
    diagnostics: z.record(z.string(), z.unknown()).optional(),
    /** Per feature space, each unit's top-1 and top-2 absolute correlation across the models (and transform coefficients). */
    correlations: z.record(z.string(), spaceCorrelationsSchema).optional(),
  }),
  z.looseObject({ kind: z.literal('merged'), ...infoFields, merge: mergeRecordSchema }),
  /** A model read from a file of another format (`merge-train import`), on the data split it was given. */
  z.looseObject({ kind: z.literal('imported'), ...infoFields, source: importSourceSchema }),
  /**
   * Alpha masks: of two models, one per parameter (1 = model A's entry, 0 = B''s); of N models, every
   * model's weights, `model-<k>/<parameter>`.
   */
  z.looseObject({ kind: z.literal('alpha'), ...infoFields, merge: mergeRecordSchema }),
]);

/** What a checkpoint records besides its architecture: its kind, data split, key and how it was made. */
export type CheckpointInfo = z.infer<typeof infoSchema>;
/** A checkpoint's kind: a base, aligned, merged or imported model, or alpha masks. */
export type CheckpointKind = CheckpointInfo['kind'];
/** How an aligned model was aligned, as its checkpoint records it. */
export type Alignment = z.infer<typeof alignmentSchema>;
/** How a merged model (or its masks) was made, as its checkpoint records it. */
export type MergeRecord = z.infer<typeof mergeRecordSchema>;
/** Where an imported model came from, as its checkpoint records it. */
export type ImportSource = z.infer<typeof importSourceSchema>;
/** The fields every checkpoint shares: its data split and key. */
export type DataInfo = Pick<CheckpointInfo, 'dataset' | 'splitSeed' | 'split'>;

/** The model kinds (a file of masks is not a model). */
export const modelKinds: readonly CheckpointKind[] = ['base', 'aligned', 'merged', 'imported'];
/** Every kind of checkpoint. */
export const allKinds: readonly CheckpointKind[] = [...modelKinds, 'alpha'];

/**
 * The validated info of the checkpoint at `path`, refused unless of one of `kinds`, reading only its
 * header (a file of the first format, whose key is its contents' hash, is read whole).
 */
export async function readCheckpointInfo(path: string, kinds: readonly CheckpointKind[] = allKinds): Promise<CheckpointInfo> {
  const metadata = await readSafetensorsMetadata(path);
  if (metadata.format !== FORMAT) {
    const { params, info } = await loadCheckpoint(path, kinds);
    tf.dispose(Object.values(params));
    return info;
  }
  const info = parseWith(infoSchema, parseJson(metadata, 'info', path), 'info', path);
  ensureKind(info, path, kinds);
  return info;
}

/**
 * What the file at `path` holds, reading only its header: the key of the checkpoint there; nothing
 * (no file, or a checkpoint that records no key, such as the first format's); or, for a damaged file
 * (truncated, its header garbled), why it cannot be read. A file-system problem (permission, a folder
 * in its place) is an InputError: the user's to fix.
 */
export async function recordedKey(path: string): Promise<{ key?: string; unreadable?: string }> {
  if (!existsSync(path)) return {};
  let metadata: Record<string, string>;
  try {
    metadata = await readSafetensorsMetadata(path);
  } catch (error) {
    if (error instanceof InputError && error.message.startsWith(`${path} is not a valid safetensors file`)) return { unreadable: error.message };
    throw error;
  }
  try {
    const info = JSON.parse(metadata.info ?? 'null') as { key?: unknown } | null;
    return typeof info?.key === 'string' ? { key: info.key } : {};
  } catch (error) {
    return { unreadable: `its metadata "info" is not JSON (${(error as Error).message})` };
  }
}

/** Writes a checkpoint atomically: the weights and the metadata described above. */
export async function saveCheckpoint(path: string, spec: ModelSpec, params: ParamMap, info: CheckpointInfo): Promise<void> {
  const metadata: Record<string, string> = {
    format: FORMAT,
    architecture: JSON.stringify(architectureRecord(spec)),
    info: JSON.stringify(info),
    layout: 'dense weights are [in, out]',
  };
  await writeSafetensors(path, tensorsToArrays(params), metadata);
}

/** A checkpoint read back: the spec rebuilt from its family, the weights, and what it records. */
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

/** The first line of a message, for wrapping an error from a lower layer into one line. */
function firstLine(message: string): string {
  return message.split('\n')[0] ?? '';
}

function parseJson(metadata: Record<string, string>, key: string, path: string): unknown {
  const text = metadata[key];
  if (text === undefined) {
    throw new InputError(`${path} has no "${key}" metadata: it was not written by merge-train (expected format ${FORMAT})`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new InputError(`${path}: metadata "${key}" is not valid JSON; expected the JSON that merge-train writes (format ${FORMAT})`);
  }
}

function parseWith<T>(schema: z.ZodType<T>, value: unknown, key: string, path: string): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const { field, message } = firstIssue(parsed.error);
    throw new InputError(`${path}: metadata "${key}"${field}: ${message}; the file was not written by this merge-train or was altered`);
  }
  return parsed.data;
}

/**
 * A first-format record in today's shape: base models only (their data fields as they were, a key
 * hashed from the file's contents); aligned and merged models are made again in seconds.
 */
function upgradeFirstFormat(value: unknown, dataset: DatasetEntry | undefined, contentKey: () => string): unknown {
  if (typeof value !== 'object' || value === null) return value;
  const old = value as { kind?: string; split?: SplitSizes; configHash?: string };
  if (old.kind !== 'base') {
    throw new InputError(`it holds a ${old.kind} model of the first checkpoint format (${FIRST_FORMAT}); align or merge its base models again with this merge-train`);
  }
  return { ...old, key: old.configHash ?? contentKey(), split: old.split ?? dataset?.defaultSplit };
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

/** The registered dataset a checkpoint names, or an error naming the file. */
function datasetOf(name: string, path: string): DatasetEntry {
  try {
    return datasets.get(name);
  } catch (error) {
    throw error instanceof InputError ? new InputError(`${path}: metadata "info".dataset: ${error.message}`) : error;
  }
}

/** Checks the recorded split against the dataset and the architecture. */
function checkData(info: CheckpointInfo, dataset: DatasetEntry, record: ArchitectureRecord, path: string): void {
  if (record.inputShape.join(',') !== dataset.inputShape.join(',') || record.numClasses !== dataset.numClasses) {
    throw new InputError(
      `${path}: metadata "architecture" takes inputs [${record.inputShape.join(',')}] and ${record.numClasses} classes, but its dataset ${dataset.name} has inputs [${dataset.inputShape.join(',')}] and ${dataset.numClasses} classes`,
    );
  }
  const { train, merge, test } = info.split;
  if (train + merge + test > dataset.total) {
    throw new InputError(
      `${path}: metadata "info".split: train ${train} + merge ${merge} + test ${test} = ${train + merge + test} examples, but ${dataset.name} has ${dataset.total}`,
    );
  }
}

/** A key from a file's tensors and metadata, for files that record none. */
function contentHash(tensors: NamedArrays, metadata: Record<string, string>): string {
  const hash = createHash('sha256').update(JSON.stringify(metadata));
  for (const name of Object.keys(tensors).sort()) hash.update(name).update(new Uint8Array(tensors[name]!.data.buffer, tensors[name]!.data.byteOffset, tensors[name]!.data.byteLength));
  return hash.digest('hex').slice(0, 16);
}

/** The floating-point dtypes a checkpoint's weights may be stored in. */
const floatDtypes = ['F32', 'F16', 'BF16', 'F64'];

/** Refuses weights that are not finite, naming the first tensor that holds such values and how many. */
function ensureFinite(tensors: NamedArrays, path: string): void {
  const broken = Object.entries(tensors).flatMap(([name, { data }]) => {
    let nan = 0;
    let infinite = 0;
    for (let i = 0; i < data.length; i++) {
      const value = data[i]!;
      if (Number.isNaN(value)) nan++;
      else if (!Number.isFinite(value)) infinite++;
    }
    return nan + infinite > 0 ? [{ name, nan, infinite }] : [];
  });
  const [first] = broken;
  if (!first) return;
  const more = broken.length > 1 ? ` (${broken.length} tensors hold such values)` : '';
  throw new InputError(`${path}: tensor ${first.name} holds ${first.nan} NaN and ${first.infinite} infinite values${more}; expected finite weights`);
}

/**
 * Reads and validates a merge-train checkpoint; errors name the file and what is wrong. The header is
 * checked first (format, architecture, data split, kind, every parameter's name, shape and dtype), so
 * a file that cannot be this model is refused before its data is read; then every value must be
 * finite. `kinds` lists what the caller can use (a model, or masks): any other kind is refused.
 */
export async function loadCheckpoint(path: string, kinds: readonly CheckpointKind[] = modelKinds): Promise<LoadedCheckpoint> {
  const header = await readSafetensorsHeader(path);
  const { metadata } = header;
  const format = metadata.format;
  if (format !== undefined && format !== FORMAT && format !== FIRST_FORMAT) {
    throw new InputError(`${path}: metadata "format" is ${JSON.stringify(format).slice(0, 60)}; expected ${FORMAT}`);
  }
  const architecture = parseWith(architectureSchema, parseJson(metadata, 'architecture', path), 'architecture', path) as ArchitectureRecord;
  const rawInfo = parseJson(metadata, 'info', path);
  const datasetName = (rawInfo as { dataset?: unknown } | null)?.dataset;
  const dataset = typeof datasetName === 'string' ? datasetOf(datasetName, path) : undefined;
  /** The info, validated against what the caller can use and against the architecture. */
  const checkedInfo = (value: unknown): CheckpointInfo => {
    const info = parseWith(infoSchema, value, 'info', path);
    ensureKind(info, path, kinds);
    checkData(info, dataset ?? datasetOf(info.dataset, path), architecture, path);
    return info;
  };
  // Everything the header can tell is checked before any data is read.
  let info = format === FORMAT ? checkedInfo(rawInfo) : undefined;
  const spec = specOf(architecture, path);
  validateParams(spec, header.tensors, path);
  for (const [name, { dtype }] of Object.entries(header.tensors)) {
    if (!floatDtypes.includes(dtype)) {
      throw new InputError(`${path}: parameter ${name} has an integer or boolean dtype; expected floating-point weights (${floatDtypes.join(', ')})`);
    }
  }
  const { tensors } = await readSafetensors(path);
  validateParams(spec, tensors, path); // the file may have been replaced since its header was read
  if (!info) {
    // A file of the first format has no key: its contents' hash stands in.
    try {
      info = checkedInfo(upgradeFirstFormat(rawInfo, dataset, () => contentHash(tensors, metadata)));
    } catch (error) {
      throw error instanceof InputError && !error.message.startsWith(path) ? new InputError(`${path}: ${error.message}`) : error;
    }
  }
  ensureFinite(tensors, path);
  return { spec, params: arraysToTensors(tensors), info };
}

/** What each kind of checkpoint holds, in words. */
const kindWords: Record<CheckpointKind, string> = {
  base: 'a base model',
  aligned: 'an aligned model',
  merged: 'a merged model',
  imported: 'an imported model',
  alpha: 'alpha masks',
};

/** Refuses a checkpoint of a kind the caller cannot use (masks where a model is expected, ...). */
export function ensureKind(info: CheckpointInfo, path: string, kinds: readonly CheckpointKind[]): void {
  if (!kinds.includes(info.kind)) throw new InputError(`${path} holds ${kindWords[info.kind]}; expected ${kinds.map((kind) => kindWords[kind]).join(' or ')}`);
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

/**
 * Refuses checkpoints made on different data splits, naming the fields: their merge and test examples
 * differ, so one model's test split can be the other's training data.
 */
export function ensureSameData(a: DataInfo, pathA: string, b: DataInfo, pathB: string): void {
  const fields = (info: DataInfo) => ({ dataset: info.dataset, splitSeed: info.splitSeed, ...info.split });
  const [left, right] = [fields(a), fields(b)];
  const differing = (Object.keys(left) as (keyof typeof left)[]).filter((key) => left[key] !== right[key]);
  if (differing.length > 0) {
    const shown = differing.map((key) => `${key} ${left[key]} vs ${right[key]}`).join(', ');
    throw new InputError(`${pathA} and ${pathB} come from different data splits (${shown}); expected checkpoints of one dataset split`);
  }
}

/** The data split fields of a checkpoint's info. */
export function dataInfoOf(info: CheckpointInfo): DataInfo {
  return { dataset: info.dataset, splitSeed: info.splitSeed, split: info.split };
}
