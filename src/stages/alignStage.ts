import { aligners } from '../align/aligners.js';
import { batchNormModes } from '../align/batchNormModes.js';
import { dataInfoOf, ensureSameArchitecture, ensureSameData, recordedKey, saveCheckpoint, type Alignment } from '../artifacts/checkpoint.js';
import { disposeParams } from '../nn/init.js';
import { hasBatchNorm } from '../nn/resetBatchNorm.js';
import type { ModelSpec } from '../nn/spec.js';
import type { AlignSettings } from '../recipe/methodSettings.js';
import { InputError } from '../util/errors.js';
import { settingsKey } from '../util/hash.js';
import type { StageContext } from './context.js';
import { statisticsKey, statisticsStage } from './statisticsStage.js';
import type { StageOutcome } from './trainStage.js';

/** The alignment a settings record describes, as an aligned checkpoint records it. */
export function alignmentOf(settings: AlignSettings, spec: ModelSpec): Alignment {
  return { method: settings.method, options: settings.options, ...(hasBatchNorm(spec) ? { batchNorm: settings.batchNorm } : {}) };
}

/** The key of B aligned to A with `settings`: the models, the method and its settings, and what its statistics used. */
export function alignKey(keyA: string, keyB: string, settings: AlignSettings, spec: ModelSpec): string {
  const statistics = aligners.get(settings.method).needsStatistics ? { batchSize: settings.batchSize } : undefined;
  return settingsKey({ kind: 'aligned', models: [keyA, keyB], ...alignmentOf(settings, spec), statistics });
}

/**
 * The align stage: model B (`inputs.b`) aligned to model A (`inputs.a`) with `settings`, written to
 * `outputs.model` in the form of the BatchNorm mode. Skipped (`made` false) when that file holds the same key.
 * Statistics, for aligners that need them, are read from or saved to `outputs.statistics` when given.
 */
export async function alignStage(
  inputs: { a: string; b: string },
  settings: AlignSettings,
  outputs: { model: string; statistics?: string },
  ctx: StageContext,
): Promise<StageOutcome> {
  const [a, b] = [await ctx.checkpoint(inputs.a), await ctx.checkpoint(inputs.b)];
  ensureSameArchitecture(a, inputs.a, b, inputs.b);
  ensureSameData(a.info, inputs.a, b.info, inputs.b);
  const key = alignKey(a.info.key, b.info.key, settings, a.spec);
  if ((await recordedKey(outputs.model)) === key) return { path: outputs.model, key, made: false };
  const aligner = aligners.get(settings.method);
  const mode = batchNormModes.get(settings.batchNorm);
  for (const [field, name, reason] of [
    ['method', aligner.name, aligner.unsupported?.(a.spec)],
    ['batch-norm', mode.name, mode.unsupported?.(a.spec)],
  ] as const) {
    if (reason) throw new InputError(`${inputs.a}: cannot align with ${field} ${name}: ${reason}`);
  }
  const preparedA = await ctx.prepared(inputs.a, mode.name);
  const preparedB = await ctx.prepared(inputs.b, mode.name);
  const data = dataInfoOf(a.info);
  const alignment = alignmentOf(settings, a.spec);
  const moments = aligner.needsStatistics
    ? await statisticsStage(
        { spec: preparedA.spec, paramsA: preparedA.params, paramsB: preparedB.params },
        data,
        statisticsKey(a.info.key, b.info.key, alignment.batchNorm, settings.batchSize),
        settings.batchSize,
        outputs.statistics,
        ctx,
      )
    : undefined;
  const aligned = await ctx.timed('align', () => {
    const result = aligner.align({ spec: preparedA.spec, paramsA: preparedA.params, paramsB: preparedB.params, ...(moments ? { moments } : {}) }, settings.options);
    result.warnings.forEach((line) => ctx.observer.warn(line));
    return { params: mode.transform(preparedB.spec, preparedB.params, result.transforms), diagnostics: result.diagnostics };
  });
  try {
    await saveCheckpoint(outputs.model, preparedB.spec, aligned.params, {
      kind: 'aligned',
      ...data,
      key,
      align: alignment,
      inputs: [a.info.key, b.info.key],
      diagnostics: aligned.diagnostics,
    });
  } finally {
    disposeParams(aligned.params);
  }
  return { path: outputs.model, key, made: true };
}
