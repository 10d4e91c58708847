import { readFile } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../io/atomicWrite.js';
import { describeFsError } from '../io/fsErrors.js';
import { InputError } from '../util/errors.js';

/**
 * The files of a TensorFlow.js LayersModel: model.json (its topology, and a manifest of weight groups,
 * each a list of weights stored one after another across the group's shard files, little-endian) and
 * the shards, as `tf.io` and the converter write them (https://www.tensorflow.org/js/guide/save_load).
 */

/** One weight: its name and shape, and its data in row-major order. */
export interface NamedWeight {
  name: string;
  shape: number[];
  data: Float32Array;
}

/** What model.json and its shards hold. */
export interface LayersModelFiles {
  /** `modelTopology`, unparsed. */
  topology: unknown;
  weights: NamedWeight[];
  /** `userDefinedMetadata`, if any. */
  metadata: Record<string, unknown>;
}

const weightEntry = z.looseObject({
  name: z.string(),
  shape: z.array(z.number().int().nonnegative()),
  dtype: z.string(),
  quantization: z.looseObject({ dtype: z.string().optional() }).optional(),
});

const modelJsonSchema = z.looseObject({
  format: z.string().optional(),
  modelTopology: z.looseObject({}),
  weightsManifest: z.array(z.looseObject({ paths: z.array(z.string()).min(1), weights: z.array(weightEntry) })),
  userDefinedMetadata: z.record(z.string(), z.unknown()).optional(),
});

const LAYERS_MODEL = 'layers-model';
const FLOAT32 = 'float32';

/** The bytes of `file`; a failure is an InputError that begins with `message`. */
async function readBytes(file: string, message: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (error) {
    throw new InputError(`${message}: ${describeFsError(error)}`);
  }
}

/** A group's weights from its shards, in manifest order, checking that the bytes are exactly theirs. */
async function readGroup(path: string, group: z.output<typeof modelJsonSchema>['weightsManifest'][number], index: number): Promise<NamedWeight[]> {
  for (const shard of group.paths) {
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(shard)) throw new InputError(`${path}: weight file ${shard} is a URL; merge-train reads shards beside model.json`);
  }
  for (const { name, dtype, quantization } of group.weights) {
    if (quantization) {
      throw new InputError(`${path}: weight ${name} is quantised (${quantization.dtype ?? 'unknown dtype'}); merge-train reads float32 weights (convert without quantisation)`);
    }
    if (dtype !== FLOAT32) throw new InputError(`${path}: weight ${name} has dtype ${dtype}; merge-train reads float32 weights`);
  }
  const shards = await Promise.all(group.paths.map((shard) => readBytes(join(dirname(path), shard), `${path}: cannot read weight file ${shard}`)));
  const bytes = Buffer.concat(shards);
  const needed = group.weights.reduce((sum, { shape }) => sum + 4 * shape.reduce((a, b) => a * b, 1), 0);
  if (bytes.length !== needed) {
    throw new InputError(`${path}: weight group ${index} (${group.paths.join(', ')}) holds ${bytes.length} bytes; its manifest's float32 weights need ${needed}`);
  }
  let offset = 0;
  return group.weights.map(({ name, shape }) => {
    const length = 4 * shape.reduce((a, b) => a * b, 1);
    // A copy: the shard's bytes need not be 4-byte aligned.
    const data = new Float32Array(bytes.buffer.slice(bytes.byteOffset + offset, bytes.byteOffset + offset + length));
    offset += length;
    return { name, shape: [...shape], data };
  });
}

/**
 * Reads model.json at `path` and the weight files its manifest names (relative to it). Refused with
 * an InputError naming the file: a graph model, quantised or non-float32 weights, missing or short
 * shards, two weights of one name, weights that are not finite.
 */
export async function readLayersModelFiles(path: string): Promise<LayersModelFiles> {
  let json: unknown;
  try {
    json = JSON.parse((await readBytes(path, `cannot read ${path}`)).toString('utf8'));
  } catch (error) {
    if (error instanceof InputError) throw error;
    throw new InputError(`${path}: not JSON (${(error as Error).message.split('\n')[0]}); expected a TensorFlow.js model.json`);
  }
  const format = (json as { format?: unknown } | null)?.format;
  if (typeof format === 'string' && format !== LAYERS_MODEL) {
    throw new InputError(`${path}: format ${format}; merge-train reads TensorFlow.js LayersModels (format ${LAYERS_MODEL}, what tf.loadLayersModel loads)`);
  }
  const parsed = modelJsonSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new InputError(`${path}: ${issue.path.join('.') || 'model.json'}: ${issue.message}; expected a TensorFlow.js LayersModel's model.json`);
  }
  const groups = await Promise.all(parsed.data.weightsManifest.map((group, i) => readGroup(path, group, i)));
  const weights = groups.flat();
  const names = new Set<string>();
  for (const { name, data } of weights) {
    if (names.has(name)) throw new InputError(`${path}: two weights are named ${name}`);
    names.add(name);
    const bad = data.findIndex((value) => !Number.isFinite(value));
    if (bad >= 0) throw new InputError(`${path}: weight ${name} holds ${data[bad]} at entry ${bad}; expected finite weights`);
  }
  return { topology: parsed.data.modelTopology, weights, metadata: parsed.data.userDefinedMetadata ?? {} };
}

/**
 * Writes a LayersModel as `path` (model.json, which must end in .json) and one weight file beside it,
 * `<name>.weights.bin`, as tf.loadLayersModel reads them; each file is written atomically, the
 * weights first. Returns both paths.
 */
export async function writeLayersModelFiles(path: string, topology: unknown, weights: NamedWeight[], metadata?: Record<string, unknown>): Promise<string[]> {
  if (extname(path) !== '.json') throw new InputError(`cannot write a TensorFlow.js model to ${path}: its model file is JSON; give a path ending in .json`);
  const shardName = `${basename(path, '.json')}.weights.bin`;
  const shardPath = join(dirname(path), shardName);
  const bytes = new Uint8Array(weights.reduce((sum, { data }) => sum + data.byteLength, 0));
  let offset = 0;
  for (const { data } of weights) {
    bytes.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), offset);
    offset += data.byteLength;
  }
  const modelJson = {
    format: LAYERS_MODEL,
    generatedBy: 'merge-train',
    convertedBy: null,
    modelTopology: topology,
    weightsManifest: [{ paths: [shardName], weights: weights.map(({ name, shape }) => ({ name, shape, dtype: FLOAT32 })) }],
    ...(metadata ? { userDefinedMetadata: metadata } : {}),
  };
  await writeFileAtomic(shardPath, bytes);
  await writeFileAtomic(path, `${JSON.stringify(modelJson)}\n`);
  return [path, shardPath];
}
