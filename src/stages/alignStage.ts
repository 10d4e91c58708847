import { aligners } from '../align/aligners.js';
import { correlationAnalysis } from '../align/correlationAnalysis.js';
import { batchNormModes } from '../align/batchNormModes.js';
import { dataInfoOf, ensureSameArchitecture, ensureSameData, saveCheckpoint, type Alignment } from '../artifacts/checkpoint.js';
import { disposeParams } from '../nn/init.js';
import { hasBatchNorm } from '../nn/resetBatchNorm.js';
import type { ModelSpec } from '../nn/spec.js';
import type { AlignSettings } from '../recipe/methodSettings.js';
import { InputError } from '../util/errors.js';
import { settingsKey } from '../util/hash.js';
import type { StageContext, StageOutcome } from './context.js';
import { holdsArtifact } from './outputs.js';
import { statisticsKey, statisticsStage } from './statisticsStage.js';

/**
 * The alignment a settings record describes, as an aligned checkpoint records it: the BatchNorm mode
 * where there is BatchNorm, the statistics' batch size where the aligner uses statistics, the seed
 * where it uses one (so other aligners' keys do not depend on the seed).
 */
export function alignmentOf(settings: AlignSettings, spec: ModelSpec): Alignment {
  const aligner = aligners.get(settings.method);
  return {
    method: settings.method,
    options: settings.options,
    ...(hasBatchNorm(spec) ? { batchNorm: settings.batchNorm } : {}),
    ...(aligner.needsStatistics ? { batchSize: settings.batchSize } : {}),
    ...(aligner.usesSeed ? { seed: settings.seed } : {}),
  };
}

/** The key of B aligned to A with `settings`: both models and everything the alignment records. */
export function alignKey(keyA: string, keyB: string, settings: AlignSettings, spec: ModelSpec): string {
  return settingsKey({ kind: 'aligned', models: [keyA, keyB], ...alignmentOf(settings, spec) });
}

/** Where the align stage writes, given the keys of the aligned model and of its statistics. */
export type AlignOutputs = (key: string, statisticsKey: string) => { model: string; statistics?: string };

/**
 * The align stage: model B (`inputs.b`) aligned to model A (`inputs.a`) with `settings`, written to
 * the `model` path `outputs` names for its key, in the form of the BatchNorm mode. Skipped (`made`
 * false) when that file holds the same key. Statistics, for aligners that need them, are read from
 * or saved to the `statistics` path when one is named.
 */
export async function alignStage(inputs: { a: string; b: string }, settings: AlignSettings, outputs: AlignOutputs, ctx: StageContext): Promise<StageOutcome> {
  const [a, b] = [await ctx.checkpoint(inputs.a), await ctx.checkpoint(inputs.b)];
  ensureSameArchitecture(a, inputs.a, b, inputs.b);
  ensureSameData(a.info, inputs.a, b.info, inputs.b);
  const key = alignKey(a.info.key, b.info.key, settings, a.spec);
  const alignment = alignmentOf(settings, a.spec);
  const statisticsAt = statisticsKey(a.info.key, b.info.key, alignment.batchNorm, settings.batchSize);
  const paths = outputs(key, statisticsAt);
  if (await holdsArtifact(paths.model, key, ctx.observer)) return { path: paths.model, key, made: false };
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
  const pair = { spec: preparedA.spec, paramsA: preparedA.params, paramsB: preparedB.params };
  const moments = aligner.needsStatistics ? await statisticsStage(pair, data, statisticsAt, settings.batchSize, paths.statistics, ctx) : undefined;
  const aligned = await ctx.timed('align', () => {
    const result = aligner.align({ ...pair, ...(moments ? { moments } : {}), ...(aligner.usesSeed ? { seed: settings.seed } : {}) }, settings.options);
    result.warnings.forEach((line) => ctx.observer.warn(line));
    // How the two models' units relate, per space: the argument for maps beyond permutations (whose own coefficients say nothing).
    const correlations = moments?.map((m) => {
      const transform = result.transforms[m.space];
      return [m.space, correlationAnalysis(m, transform?.permutation ? undefined : transform)] as const;
    });
    return {
      params: mode.transform(preparedB.spec, preparedB.params, result.transforms),
      diagnostics: result.diagnostics,
      ...(correlations ? { correlations: Object.fromEntries(correlations) } : {}),
    };
  });
  try {
    await saveCheckpoint(paths.model, preparedB.spec, aligned.params, {
      kind: 'aligned',
      ...data,
      key,
      align: alignment,
      inputs: [a.info.key, b.info.key],
      diagnostics: aligned.diagnostics,
      ...(aligned.correlations ? { correlations: aligned.correlations } : {}),
    });
  } finally {
    disposeParams(aligned.params);
  }
  return { path: paths.model, key, made: true };
}
