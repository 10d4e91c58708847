import { join } from 'node:path';
import { z } from 'zod';
import {
  dataInfoOf,
  ensureSameArchitecture,
  ensureSameData,
  modelKinds,
  readCheckpointInfo,
  type CheckpointInfo,
  type DataInfo,
  type LoadedCheckpoint,
} from '../artifacts/checkpoint.js';
import { maybeFinite } from '../artifacts/metrics.js';
import { writeJsonAtomic } from '../io/atomicWrite.js';
import { readKeyedRecord } from '../io/keyedRecord.js';
import { accuracyBarrier, interpolateModels, lossBarrier } from '../merge/interpolation.js';
import { hasBatchNorm } from '../nn/resetBatchNorm.js';
import type { InterpolationSettings } from '../recipe/methodSettings.js';
import { InputError } from '../util/errors.js';
import { settingsKey } from '../util/hash.js';
import type { StageContext, StageOutcome } from './context.js';

/** The interpolate stage's file: `<folder>/<key>.json`. */
const interpolationRecordSchema = z.object({
  key: z.string(),
  /** Keys of model A and of the aligned B'. */
  inputs: z.tuple([z.string(), z.string()]),
  /** W(t) = t W_A + (1 - t) W_B' on the test split, t ascending from 0 (B') to 1 (A). */
  points: z.array(z.object({ t: z.number(), testAccuracy: z.number(), testLoss: maybeFinite })).min(2),
  /** Largest rise of the loss (nats) and fall of the accuracy (fraction) from the straight line between the ends. */
  barrier: z.object({ loss: maybeFinite, accuracy: maybeFinite }),
});

/** An interpolation curve between A and B' with its barriers, as the interpolate stage writes it. */
export type InterpolationRecord = z.infer<typeof interpolationRecordSchema>;

/**
 * The key of the curve between the models of `keys` (A, then B') with `settings` on split `data`.
 * Made from the checkpoints' records alone, so that a stage whose curve exists loads no weights; the
 * reset examples count whenever given (give them for networks with BatchNorm only, as a merge's key
 * counts them only there).
 */
export function interpolationKey(keys: readonly [string, string], settings: InterpolationSettings, data: DataInfo): string {
  return settingsKey({ kind: 'interpolation', models: keys, data, points: settings.points, resetExamples: settings.resetExamples });
}

/** Where the interpolate stage writes the curve of `key` in `folder`. */
export function interpolationPath(folder: string, key: string): string {
  return join(folder, `${key}.json`);
}

/**
 * The curve saved at `path`, if the file holds one (and, given `key`, the one of that key); an
 * unreadable or foreign file reads as none, so the stage makes it again and writes over it.
 */
export function savedInterpolation(path: string, key?: string): Promise<InterpolationRecord | undefined> {
  return readKeyedRecord(path, interpolationRecordSchema, key);
}

/**
 * The records of A and B', checked against each other as the merge stage checks its inputs: one data
 * split, and B' aligned to A (or a model interpolated as it is).
 */
async function checkedInfos(inputs: { a: string; b: string }): Promise<[CheckpointInfo, CheckpointInfo]> {
  const [a, b] = [await readCheckpointInfo(inputs.a, modelKinds), await readCheckpointInfo(inputs.b, modelKinds)];
  ensureSameData(a, inputs.a, b, inputs.b);
  if (b.kind === 'aligned' && b.inputs[0] !== a.key) {
    throw new InputError(`${inputs.b} was aligned to another model than ${inputs.a}; align it to ${inputs.a} first (merge-train align)`);
  }
  return [a, b];
}

/**
 * A's and B''s weights, A brought to the BatchNorm form B' was aligned in, so that W(t) is made from
 * the very weights a merge of that alignment averages.
 */
async function loadedModels(inputs: { a: string; b: string }, ctx: StageContext): Promise<{ a: LoadedCheckpoint; b: LoadedCheckpoint }> {
  const [reference, other] = [await ctx.checkpoint(inputs.a), await ctx.checkpoint(inputs.b)];
  const mode = other.info.kind === 'aligned' ? other.info.align.batchNorm : undefined;
  const a = mode ? { ...(await ctx.prepared(inputs.a, mode)), info: reference.info } : reference;
  ensureSameArchitecture(a, inputs.a, other, inputs.b);
  return { a, b: other };
}

/**
 * The interpolate stage: the test accuracy and loss of W(t) = t W_A + (1 - t) W_B' at `settings.points`
 * evenly spaced t (`inputs.a` is model A, `inputs.b` B aligned to it), with the loss and accuracy
 * barriers, written to `<folder>/<key>.json`. A BatchNorm network has each W(t) reset on the first
 * `resetExamples` training examples, as the merge stage resets its merges. Skipped (`made` false) when
 * the file holds the curve of the same key, having read only the checkpoints' headers. Returns the
 * curve with the outcome.
 */
export async function interpolateStage(
  inputs: { a: string; b: string },
  settings: InterpolationSettings,
  folder: string,
  ctx: StageContext,
): Promise<StageOutcome & { record: InterpolationRecord }> {
  if (!Number.isInteger(settings.points) || settings.points < 2) throw new InputError(`interpolation points must be an integer >= 2, got ${settings.points}`);
  const [infoA, infoB] = await checkedInfos(inputs);
  const data = dataInfoOf(infoA);
  const keys: [string, string] = [infoA.key, infoB.key];
  const key = interpolationKey(keys, settings, data);
  const path = interpolationPath(folder, key);
  const saved = await savedInterpolation(path, key);
  if (saved) return { path, key, made: false, record: saved };
  const { a, b } = await loadedModels(inputs, ctx);
  const { spec } = a;
  if (hasBatchNorm(spec) && settings.resetExamples === undefined) {
    throw new InputError(`${inputs.a}: interpolating a network with BatchNorm needs resetExamples, the training examples its merges recompute statistics on`);
  }
  const loaded = await ctx.data(data);
  const resetData = hasBatchNorm(spec) ? loaded.trainHead(settings.resetExamples!) : undefined;
  const points = ctx.time('interpolate', () =>
    interpolateModels(spec, a.params, b.params, loaded.test(), { points: settings.points, ...(resetData ? { resetData } : {}) }),
  );
  const record: InterpolationRecord = { key, inputs: keys, points, barrier: { loss: lossBarrier(points), accuracy: accuracyBarrier(points) } };
  await writeJsonAtomic(path, record);
  return { path, key, made: true, record };
}
