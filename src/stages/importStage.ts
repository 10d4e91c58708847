import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { saveCheckpoint, type CheckpointInfo, type DataInfo } from '../artifacts/checkpoint.js';
import { modelFormats, type FormatHints } from '../interop/formats.js';
import { describeFsError } from '../io/fsErrors.js';
import { architectureRecord } from '../nn/families.js';
import { disposeParams } from '../nn/init.js';
import type { ModelSpec, ParamMap } from '../nn/spec.js';
import { InputError } from '../util/errors.js';
import { settingsKey } from '../util/hash.js';
import type { StageContext, StageOutcome } from './context.js';
import { holdsArtifact } from './outputs.js';

/** What an imported checkpoint is made from besides the file: its format, the hints it needs, its data split. */
export interface ImportSettings {
  /** A registered model format (see modelFormats). */
  format: string;
  /** What the file may not say: the family and configuration given, the dataset's input shape and classes. */
  hints: FormatHints;
  /** The data split later stages align, merge and evaluate the model on. */
  data: DataInfo;
}

/** The SHA-256 of the file at `path`, in hex. */
async function fileHash(path: string): Promise<string> {
  try {
    return createHash('sha256').update(await readFile(path)).digest('hex');
  } catch (error) {
    throw new InputError(`cannot read ${path}: ${describeFsError(error)}`);
  }
}

/** The SHA-256 of every parameter's name, shape and values, in the spec's order. */
function weightsHash(params: ParamMap): string {
  const hash = createHash('sha256');
  for (const [name, tensor] of Object.entries(params)) {
    hash.update(`${name}:${tensor.shape.join('x')};`);
    hash.update(tensor.dataSync() as Float32Array);
  }
  return hash.digest('hex');
}

/**
 * The import stage: the model in `file` (of `settings.format`) as a merge-train checkpoint at `out`,
 * with the data split every later stage checks and the source recorded (the file's name, format and
 * SHA-256). Skipped (`made` false) when `out` already holds that import (same weights, format,
 * architecture and split). Returns the model's spec too.
 */
export async function importStage(file: string, settings: ImportSettings, out: string, ctx: StageContext): Promise<StageOutcome & { spec: ModelSpec }> {
  const format = modelFormats.get(settings.format);
  // Read first: the format refuses what is not a file (a FIFO would block the hash's read).
  const { spec, params } = await ctx.timed('import', () => format.read(file, settings.hints));
  try {
    const source = { file: basename(file), format: format.name, sha256: await fileHash(file) };
    // The key hashes the weights read, not the file: a format may spread a model over several files
    // (model.json and its shards), and the same weights under another name are the same model.
    const key = settingsKey({ kind: 'imported', data: settings.data, format: source.format, weights: weightsHash(params), architecture: architectureRecord(spec) });
    if (await holdsArtifact(out, key, ctx.observer)) return { path: out, key, made: false, spec };
    const info: CheckpointInfo = { kind: 'imported', ...settings.data, key, source };
    await saveCheckpoint(out, spec, params, info);
    return { path: out, key, made: true, spec };
  } finally {
    disposeParams(params);
  }
}
