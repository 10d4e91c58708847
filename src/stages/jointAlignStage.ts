import { aligners } from '../align/aligners.js';
import { batchNormModes } from '../align/batchNormModes.js';
import { dataInfoOf, ensureSameArchitecture, ensureSameData, saveCheckpoint, type Alignment, type LoadedCheckpoint } from '../artifacts/checkpoint.js';
import { disposeParams } from '../nn/init.js';
import type { ParamMap } from '../nn/spec.js';
import type { AlignSettings } from '../recipe/methodSettings.js';
import { InputError } from '../util/errors.js';
import { settingsKey } from '../util/hash.js';
import { alignmentOf, type AlignOutputs } from './alignStage.js';
import type { PreparedModel, StageContext, StageOutcome } from './context.js';
import { holdsArtifact } from './outputs.js';

/**
 * The joint align stage: every model after the first aligned together with the others, by the
 * aligner's joint form (Git Re-Basin's MergeMany for weight matching), into the first model's frame.
 * Each aligned model is a checkpoint as the align stage writes (aligned to the first model), its
 * alignment recording the whole group, so it merges like any aligned model. Skipped where every
 * output holds its key. Returns one outcome per model after the first.
 */
export async function jointAlignStage(models: readonly string[], settings: AlignSettings, outputs: AlignOutputs, ctx: StageContext): Promise<StageOutcome[]> {
  const aligner = aligners.get(settings.method);
  if (!aligner.alignMany) throw new InputError(`aligner ${aligner.name} has no joint form for many models; use one that has (${aligners.list().filter((a) => a.alignMany).map((a) => a.name).join(', ')})`);
  const loaded: LoadedCheckpoint[] = [];
  for (const path of models) loaded.push(await ctx.checkpoint(path));
  const [first, ...others] = loaded as [LoadedCheckpoint, ...LoadedCheckpoint[]];
  others.forEach((other, j) => {
    ensureSameArchitecture(first, models[0]!, other, models[j + 1]!);
    ensureSameData(first.info, models[0]!, other.info, models[j + 1]!);
  });
  const alignment: Alignment = { ...alignmentOf(settings, first.spec), group: loaded.map((m) => m.info.key) };
  const keys = others.map((other) => settingsKey({ kind: 'aligned', models: [first.info.key, other.info.key], ...alignment }));
  const paths = keys.map((key) => outputs(key, '').model);
  const present = await Promise.all(paths.map((path, j) => holdsArtifact(path, keys[j]!, ctx.observer)));
  if (present.every(Boolean)) return paths.map((path, j) => ({ path, key: keys[j]!, made: false }));
  const mode = batchNormModes.get(settings.batchNorm);
  const reason = aligner.unsupported?.(first.spec) ?? mode.unsupported?.(first.spec);
  if (reason) throw new InputError(`${models[0]}: cannot align with ${aligner.name} and batch-norm ${mode.name}: ${reason}`);
  const prepared: PreparedModel[] = [];
  for (const path of models) prepared.push(await ctx.prepared(path, mode.name));
  const spec = prepared[0]!.spec;
  const { aligned, diagnostics } = await ctx.timed('align', () => {
    const result = aligner.alignMany!({ spec, models: prepared.map((m) => m.params), ...(aligner.usesSeed ? { seed: settings.seed } : {}) }, settings.options);
    result.warnings.forEach((line) => ctx.observer.warn(line));
    return { aligned: prepared.slice(1).map((model, j) => mode.transform(model.spec, model.params, result.transforms[j]!)), diagnostics: result.diagnostics };
  });
  try {
    for (const [j, other] of others.entries()) {
      const info = { kind: 'aligned' as const, ...dataInfoOf(first.info), key: keys[j]!, align: alignment, inputs: [first.info.key, other.info.key] as [string, string], diagnostics };
      await saveCheckpoint(paths[j]!, spec, aligned[j]!, info);
    }
  } finally {
    aligned.forEach((params: ParamMap) => disposeParams(params));
  }
  return paths.map((path, j) => ({ path, key: keys[j]!, made: true }));
}
