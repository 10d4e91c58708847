import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { readCheckpointInfo, type CheckpointInfo } from '../artifacts/checkpoint.js';
import type { MergeMetrics, RunMetrics } from '../artifacts/metrics.js';
import { mergers } from '../merge/mergers.js';
import type { Recipe } from '../recipe/schema.js';
import { compareMerges, LABEL_SEPARATOR } from '../report/rows.js';
import { variantLabels } from '../report/variantLabels.js';
import type { StageContext } from '../stages/context.js';
import { evaluateStage } from '../stages/evaluateStage.js';
import { baseModelName } from '../stages/trainStage.js';
import type { RunLayout } from './runDirectory.js';

/** The checkpoints in `folder` (not training states, not the before-reset copies of merges). */
async function checkpointsIn(folder: string): Promise<{ path: string; info: CheckpointInfo }[]> {
  if (!existsSync(folder)) return [];
  const files = (await readdir(folder)).filter((name) => name.endsWith('.safetensors') && !/\.(training|before-reset)\.safetensors$/.test(name)).sort();
  const found: { path: string; info: CheckpointInfo }[] = [];
  for (const name of files) {
    const path = join(folder, name);
    // A file that cannot be read is not part of the report; its stage makes it again on the next run.
    const info = await readCheckpointInfo(path).catch(() => undefined);
    if (info) found.push({ path, info });
  }
  return found;
}

/**
 * A run's metrics, gathered from its directory: every base model and their logit ensemble, and every
 * merge of the current base models, made in this invocation or an earlier one, each evaluated on the
 * test split (evaluations are stored, so only new models are evaluated). Labels tell variants of one
 * method apart by the settings that differ.
 */
export async function collectMetrics(
  layout: RunLayout,
  recipe: Recipe,
  ctx: StageContext,
): Promise<Pick<RunMetrics, 'dataset' | 'split' | 'models' | 'ensemble' | 'merges' | 'alphaCurves' | 'alignment'>> {
  const store = layout.evaluations;
  const modelPaths = Array.from({ length: recipe.train.models }, (_, i) => layout.model(i));
  const modelInfos = await Promise.all(modelPaths.map((path) => readCheckpointInfo(path)));
  const base = await evaluateStage(modelPaths, ctx, { ensemble: true, store });
  const [keyA, keyB] = modelInfos.map((info) => info.key);

  const aligned = (await checkpointsIn(layout.aligned)).filter(({ info }) => info.kind === 'aligned' && info.inputs[0] === keyA && info.inputs[1] === keyB);
  const alignedKeys = new Set(aligned.map(({ info }) => info.key));
  const merges = (await checkpointsIn(layout.merges)).flatMap(({ path, info }) =>
    info.kind === 'merged' && info.merge.align && info.merge.inputs[0] === keyA && alignedKeys.has(info.merge.inputs[1])
      ? [{ path, key: info.key, record: info.merge, align: info.merge.align }]
      : [],
  );
  const evaluations = (await evaluateStage(merges.map((m) => m.path), ctx, { store })).models;
  const alignLabels = variantLabels(merges.map(({ align }) => align));
  const mergeLabels = variantLabels(merges.map(({ record }) => ({ method: record.method, options: record.options, resetExamples: record.resetExamples })));

  const mergeMetrics: MergeMetrics[] = [];
  for (const [i, { key, record, align }] of merges.entries()) {
    const merger = mergers.has(record.method) ? mergers.get(record.method) : undefined;
    // The init's name as recorded (a plug-in that made it may not be registered now).
    const init = merger?.usesInit && typeof record.options.init === 'string' ? record.options.init : null;
    const label = `${alignLabels[i]}${LABEL_SEPARATOR}${mergeLabels[i]}`;
    const { beforeReset, masks } = layout.mergeOutputs(align.method, record.method)(key);
    const unreset = record.resetExamples !== undefined && beforeReset && existsSync(beforeReset) ? (await evaluateStage([beforeReset], ctx, { store })).models[0] : undefined;
    mergeMetrics.push({
      key,
      label,
      alignLabel: alignLabels[i],
      align: align.method,
      alpha: record.method,
      init,
      settings: { align, merge: { method: record.method, options: record.options } },
      testAccuracy: evaluations[i]!.accuracy,
      testLoss: evaluations[i]!.loss,
      meanAlpha: record.meanAlpha,
      ...(unreset ? { withoutBatchNormReset: { testAccuracy: unreset.accuracy, testLoss: unreset.loss } } : {}),
      ...(record.training?.diverged ? { warning: record.training.diverged.message } : {}),
      ...(masks && existsSync(masks) ? { masks: relative(layout.dir, masks) } : {}),
    });
  }
  const alphaCurves = merges.flatMap(({ record }, i) =>
    record.training
      ? [{ label: mergeMetrics[i]!.label, align: alignLabels[i]!, init: String(record.options.init ?? ''), points: record.training.curve, validation: record.training.validation, bestStep: record.training.bestStep }]
      : [],
  );
  const alignment = Object.fromEntries(
    aligned.map(({ info }) => {
      const index = merges.findIndex(({ align }) => JSON.stringify(align) === JSON.stringify(info.kind === 'aligned' ? info.align : undefined));
      const label = index >= 0 ? alignLabels[index]! : info.kind === 'aligned' ? info.align.method : '';
      return [label, info.kind === 'aligned' ? info.diagnostics : undefined];
    }),
  );
  return {
    dataset: modelInfos[0]!.dataset,
    split: modelInfos[0]!.split,
    models: modelInfos.map((info, i) => ({
      name: baseModelName(i),
      testAccuracy: base.models[i]!.accuracy,
      testLoss: base.models[i]!.loss,
      ...(info.kind === 'base' && info.seed !== undefined ? { seed: info.seed } : {}),
      checkpoint: relative(layout.dir, modelPaths[i]!),
      key: info.key,
    })),
    ensemble: { testAccuracy: base.ensemble!.accuracy, testLoss: base.ensemble!.loss },
    merges: mergeMetrics.sort(compareMerges),
    alphaCurves,
    alignment,
  };
}
