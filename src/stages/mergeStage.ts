import * as tf from '@tensorflow/tfjs-core';
import {
  dataInfoOf,
  ensureSameArchitecture,
  ensureSameData,
  saveCheckpoint,
  type Alignment,
  type CheckpointInfo,
  type LoadedCheckpoint,
  type MergeRecord,
} from '../artifacts/checkpoint.js';
import { mergers } from '../merge/mergers.js';
import { meanAlpha, mergeModels, type AlphaMasks } from '../merge/mergeParams.js';
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
 * The key of the merge of `modelKeys` (the reference first) by `settings`: the seed counts for
 * mergers that use it, the reset setting where there is BatchNorm to reset.
 */
export function mergeKey(modelKeys: readonly string[], settings: MergeSettings, spec: ModelSpec): string {
  const { method, options, seed, resetExamples } = settings;
  const usesSeed = mergers.has(method) && mergers.get(method).usesSeed === true;
  return settingsKey({
    kind: 'merged',
    models: modelKeys,
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

/** The masks file's tensors: alpha itself for two models; every model's weights, by model, for more. */
function maskTensors(weights: AlphaMasks[]): { tensors: ParamMap; owned: ParamMap[] } {
  if (weights.length === 1) return { tensors: weights[0]!, owned: [] };
  const lastWeights = tf.tidy(() => Object.fromEntries(Object.keys(weights[0]!).map((n) => [n, weights.reduce((rest, w) => tf.sub(rest, w[n]!), tf.onesLike(weights[0]![n]!))])));
  const tensors: ParamMap = {};
  [...weights, lastWeights].forEach((w, k) => Object.entries(w).forEach(([n, mask]) => (tensors[`model-${k}/${n}`] = mask)));
  return { tensors, owned: [lastWeights] };
}

/**
 * The models of a merge, checked against each other: one architecture and data split; the others all
 * aligned to the first alike, or all merged as they are. Returns their checkpoints (the first in the
 * BatchNorm form of the alignment) and that alignment.
 */
async function mergeInputs(paths: readonly string[], ctx: StageContext): Promise<{ models: LoadedCheckpoint[]; reference: CheckpointInfo; alignment?: Alignment }> {
  if (paths.length < 2) throw new InputError(`merge needs at least two models; got ${paths.length}`);
  const [referencePath, ...otherPaths] = paths as [string, ...string[]];
  const reference = await ctx.checkpoint(referencePath);
  const others: LoadedCheckpoint[] = [];
  for (const path of otherPaths) others.push(await ctx.checkpoint(path));
  const alignmentOf = (info: CheckpointInfo) => (info.kind === 'aligned' ? info.align : undefined);
  const alignment = alignmentOf(others[0]!.info);
  // The reference in the BatchNorm form the aligned models are in (folding may remove BatchNorm).
  const first = alignment?.batchNorm ? { ...(await ctx.prepared(referencePath, alignment.batchNorm)), info: reference.info } : reference;
  others.forEach((other, j) => {
    const path = otherPaths[j]!;
    ensureSameArchitecture(first, referencePath, other, path);
    ensureSameData(reference.info, referencePath, other.info, path);
    if (other.info.kind === 'aligned' && other.info.inputs[0] !== reference.info.key) {
      throw new InputError(`${path} was aligned to another model than ${referencePath}; align it to ${referencePath} first (merge-train align)`);
    }
    if (JSON.stringify(alignmentOf(other.info)) !== JSON.stringify(alignment)) {
      throw new InputError(`${path} and ${otherPaths[0]} were aligned differently (or one not at all); merge models aligned alike`);
    }
  });
  return { models: [first, ...others], reference: reference.info, ...(alignment ? { alignment } : {}) };
}

/**
 * The merge stage: models merged entry by entry, W = sum_k w_k W_k, with the weights of
 * `settings.method`; `inputs` lists the reference first, then the models aligned to it (two models:
 * W = alpha * W_A + (1 - alpha) * W_B'). The reference is first brought to the BatchNorm form the
 * others are in; a merged BatchNorm network has its statistics recomputed on the first
 * `resetExamples` training examples. Skipped (`made` false) when every output holds its key; a merger that
 * learns continues from the state saved beside `outputs.model`. Learned alpha's divergence is warned
 * of and recorded in the checkpoint.
 */
export async function mergeStage(
  inputs: readonly string[],
  settings: MergeSettings,
  outputsFor: (key: string) => MergeOutputs,
  ctx: StageContext,
): Promise<StageOutcome> {
  const { models, reference, alignment } = await mergeInputs(inputs, ctx);
  const { spec } = models[0]!;
  const keys = [reference.key, ...models.slice(1).map((m) => m.info.key)];
  const key = mergeKey(keys, settings, spec);
  const outputs = outputsFor(key);
  const wanted: [string | undefined, string][] = [
    [outputs.model, key],
    [outputs.masks, key],
    [hasBatchNorm(spec) ? outputs.beforeReset : undefined, beforeResetKey(key)],
  ];
  const present = await Promise.all(wanted.map(async ([path, expected]) => path === undefined || holdsArtifact(path, expected, ctx.observer)));
  if (present.every(Boolean)) return { path: outputs.model, key, made: false };
  const merger = mergers.get(settings.method);
  const data = await ctx.data(dataInfoOf(reference));
  const refusal = merger.unsupported?.({ spec, models: models.length, mergeExamples: data.splits.merge.count }, settings.options);
  if (refusal) throw new InputError(`${inputs[1]}: cannot merge with ${settings.method}${refusal.field ? ` (${refusal.field})` : ''}: ${refusal.reason}`);
  const state = resumeFile(outputs.model, key, `merge ${settings.method}`, ctx.observer);
  const total = merger.progressTotal?.(settings.options);
  const bar = total === undefined ? undefined : ctx.observer.bar(`learn alpha (${settings.method})`, total);
  const params = models.map((m) => m.params);
  const outcome = await ctx
    .timed(`${settings.method} alpha`, () =>
      merger.masks(
        {
          spec,
          models: params,
          fisherOf: (model, mode, examples) => ctx.fisherOf(data, spec, model, mode, examples),
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
  const owned: ParamMap[] = [...outcome.masks];
  try {
    const diverged = outcome.training?.diverged;
    if (diverged) ctx.observer.warn(`merge ${settings.method}: ${diverged.message}`);
    const meanWeights = outcome.masks.map(meanAlpha);
    const record: MergeRecord = {
      method: settings.method,
      options: settings.options,
      ...(alignment ? { align: alignment } : {}),
      inputs: keys,
      meanAlpha: meanWeights[0]!,
      ...(models.length > 2 ? { meanWeights: [...meanWeights, 1 - meanWeights.reduce((a, b) => a + b, 0)] } : {}),
      ...(outcome.training ? { training: outcome.training } : {}),
    };
    const info = (kind: 'merged' | 'alpha', recordKey: string, extra: Partial<MergeRecord> = {}): CheckpointInfo => ({
      kind,
      ...dataInfoOf(reference),
      key: recordKey,
      merge: { ...record, ...extra },
    });
    const merged = mergeModels(params, outcome.masks);
    owned.push(merged);
    // The inputs were checked finite when loaded: a non-finite merge is the merger's doing, never written.
    const broken = nonFiniteParams(merged);
    if (broken.length > 0) {
      throw new InputError(`merge ${settings.method}: the merged model holds NaN or infinite values in ${namesList(broken)}, though every input is finite; its merge weights are not usable`);
    }
    let final = merged;
    if (hasBatchNorm(spec)) {
      if (outputs.beforeReset) await saveCheckpoint(outputs.beforeReset, spec, merged, info('merged', beforeResetKey(key)));
      // Merging changes every layer's output statistics: recompute them on the training split.
      const resetData = data.trainHead(settings.resetExamples);
      final = await ctx.timed('batchnorm reset', () => resetBatchNormStats(spec, merged, resetData));
      owned.push(final);
    }
    if (outputs.masks) {
      const { tensors, owned: made } = maskTensors(outcome.masks);
      owned.push(...made);
      await saveCheckpoint(outputs.masks, spec, tensors, info('alpha', key));
    }
    const reset = hasBatchNorm(spec) ? { resetExamples: Math.min(settings.resetExamples, data.splits.train.count) } : {};
    await saveCheckpoint(outputs.model, spec, final, info('merged', key, reset));
    await state.remove();
    return { path: outputs.model, key, made: true };
  } finally {
    owned.forEach(disposeParams);
  }
}
