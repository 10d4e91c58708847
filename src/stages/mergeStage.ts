import { dataInfoOf, ensureSameArchitecture, ensureSameData, saveCheckpoint, type CheckpointInfo, type MergeRecord } from '../artifacts/checkpoint.js';
import { mergers } from '../merge/mergers.js';
import { meanAlpha, mergeParams } from '../merge/mergeParams.js';
import { disposeParams } from '../nn/init.js';
import { hasBatchNorm, resetBatchNormStats } from '../nn/resetBatchNorm.js';
import type { ModelSpec, ParamMap } from '../nn/spec.js';
import type { MergeSettings } from '../recipe/methodSettings.js';
import { namesList, nonFiniteParams } from '../train/trainModel.js';
import { InputError } from '../util/errors.js';
import { settingsKey } from '../util/hash.js';
import type { StageContext, StageOutcome } from './context.js';
import { holdsArtifact } from './outputs.js';
import { resumeFile } from './resumeFile.js';

/**
 * The key of A merged with B' by `settings`: the seed counts for mergers that use it, the reset
 * setting where there is BatchNorm to reset.
 */
export function mergeKey(keyA: string, keyB: string, settings: MergeSettings, spec: ModelSpec): string {
  const { method, options, seed, resetExamples } = settings;
  const usesSeed = mergers.has(method) && mergers.get(method).usesSeed === true;
  return settingsKey({
    kind: 'merged',
    models: [keyA, keyB],
    method,
    options,
    seed: usesSeed ? seed : undefined,
    resetExamples: hasBatchNorm(spec) ? resetExamples : undefined,
  });
}

/** The key of the same merge before its BatchNorm statistics were recomputed. */
export function beforeResetKey(key: string): string {
  return settingsKey({ kind: 'merged before reset', merge: key });
}

/** Where the merge stage writes, given the merge's key. */
export interface MergeOutputs {
  /** The merged model. */
  model: string;
  /** The alpha masks, when wanted. */
  masks?: string;
  /** For BatchNorm networks, the merged model before its statistics are recomputed, when wanted. */
  beforeReset?: string;
}

/**
 * The merge stage: model A (`inputs.a`) merged with model B' (`inputs.b`, aligned to A) by
 * W = alpha * W_A + (1 - alpha) * W_B', with the masks of `settings.method`. A is first brought to
 * the BatchNorm form B' is in; a merged BatchNorm network has its statistics recomputed on the first
 * `resetExamples` training examples. Skipped (`made` false) when every output holds its key; a merger that
 * learns continues from the state saved beside `outputs.model`. Learned alpha's divergence is warned
 * of and recorded in the checkpoint.
 */
export async function mergeStage(
  inputs: { a: string; b: string },
  settings: MergeSettings,
  outputsFor: (key: string) => MergeOutputs,
  ctx: StageContext,
): Promise<StageOutcome> {
  const b = await ctx.checkpoint(inputs.b);
  const alignment = b.info.kind === 'aligned' ? b.info.align : undefined;
  const a = alignment?.batchNorm ? await ctx.prepared(inputs.a, alignment.batchNorm) : await ctx.checkpoint(inputs.a);
  const aInfo = (await ctx.checkpoint(inputs.a)).info;
  ensureSameArchitecture({ ...a, info: aInfo }, inputs.a, b, inputs.b);
  ensureSameData(aInfo, inputs.a, b.info, inputs.b);
  if (b.info.kind === 'aligned' && b.info.inputs[0] !== aInfo.key) {
    throw new InputError(`${inputs.b} was aligned to another model than ${inputs.a}; align it to ${inputs.a} first (merge-train align)`);
  }
  const { spec } = b;
  const key = mergeKey(aInfo.key, b.info.key, settings, spec);
  const outputs = outputsFor(key);
  const wanted: [string | undefined, string][] = [
    [outputs.model, key],
    [outputs.masks, key],
    [hasBatchNorm(spec) ? outputs.beforeReset : undefined, beforeResetKey(key)],
  ];
  const present = await Promise.all(wanted.map(async ([path, expected]) => path === undefined || holdsArtifact(path, expected, ctx.observer)));
  if (present.every(Boolean)) return { path: outputs.model, key, made: false };
  const merger = mergers.get(settings.method);
  const data = await ctx.data(dataInfoOf(b.info));
  const refusal = merger.unsupported?.({ spec, mergeExamples: data.splits.merge.count }, settings.options);
  if (refusal) throw new InputError(`${inputs.b}: cannot merge with ${settings.method}${refusal.field ? ` (${refusal.field})` : ''}: ${refusal.reason}`);
  const state = resumeFile(outputs.model, key, `merge ${settings.method}`, ctx.observer);
  const total = merger.progressTotal?.(settings.options);
  const bar = total === undefined ? undefined : ctx.observer.bar(`learn alpha (${settings.method})`, total);
  const outcome = await ctx
    .timed(`${settings.method} alpha`, () =>
      merger.masks(
        {
          spec,
          paramsA: a.params,
          paramsB: b.params,
          fisherOf: (params, mode) => ctx.fisherOf(data, spec, params, mode),
          merge: data.splits.merge,
          inputShape: data.splits.inputShape,
          seed: settings.seed,
          state,
          onProgress: (done) => bar?.update(done),
        },
        settings.options,
      ),
    )
    .finally(() => bar?.stop());
  const owned: ParamMap[] = [outcome.masks];
  try {
    const diverged = outcome.training?.diverged;
    if (diverged) ctx.observer.warn(`merge ${settings.method}: ${diverged.message}`);
    const record: MergeRecord = {
      method: settings.method,
      options: settings.options,
      ...(alignment ? { align: alignment } : {}),
      inputs: [aInfo.key, b.info.key],
      meanAlpha: meanAlpha(outcome.masks),
      ...(outcome.training ? { training: outcome.training } : {}),
    };
    const info = (kind: 'merged' | 'alpha', recordKey: string, extra: Partial<MergeRecord> = {}): CheckpointInfo => ({
      kind,
      ...dataInfoOf(b.info),
      key: recordKey,
      merge: { ...record, ...extra },
    });
    const merged = mergeParams(a.params, b.params, outcome.masks);
    owned.push(merged);
    // The inputs were checked finite when loaded: a non-finite merge is the merger's doing, never written.
    const broken = nonFiniteParams(merged);
    if (broken.length > 0) {
      throw new InputError(`merge ${settings.method}: the merged model holds NaN or infinite values in ${namesList(broken)}, though both models are finite; its alpha masks are not usable`);
    }
    let final = merged;
    if (hasBatchNorm(spec)) {
      if (outputs.beforeReset) await saveCheckpoint(outputs.beforeReset, spec, merged, info('merged', beforeResetKey(key)));
      // Merging changes every layer's output statistics: recompute them on the training split.
      const resetData = data.trainHead(settings.resetExamples);
      final = await ctx.timed('batchnorm reset', () => resetBatchNormStats(spec, merged, resetData));
      owned.push(final);
    }
    if (outputs.masks) await saveCheckpoint(outputs.masks, spec, outcome.masks, info('alpha', key));
    const reset = hasBatchNorm(spec) ? { resetExamples: Math.min(settings.resetExamples, data.splits.train.count) } : {};
    await saveCheckpoint(outputs.model, spec, final, info('merged', key, reset));
    await state.remove();
    return { path: outputs.model, key, made: true };
  } finally {
    owned.forEach(disposeParams);
  }
}
