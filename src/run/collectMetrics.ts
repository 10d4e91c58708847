import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { aligners } from '../align/aligners.js';
import { readCheckpointInfo, type CheckpointInfo } from '../artifacts/checkpoint.js';
import { readManyResults } from '../artifacts/manyResult.js';
import type { InterpolationMetrics, ManyMergeMetrics, MergeMetrics, RunMetrics } from '../artifacts/metrics.js';
import { mergers } from '../merge/mergers.js';
import { interpolationSettings } from '../recipe/methodSettings.js';
import type { Recipe } from '../recipe/schema.js';
import { compareMerges, LABEL_SEPARATOR } from '../report/rows.js';
import { variantLabels } from '../report/variantLabels.js';
import type { StageContext } from '../stages/context.js';
import { evaluateStage, type EvaluationRecord } from '../stages/evaluateStage.js';
import { interpolateStage } from '../stages/interpolateStage.js';
import { baseModelName } from '../stages/trainStage.js';
import { meanAndStd } from '../util/statistics.js';
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
 * The many-model merges recorded in the run directory whose base models are the run's (the first N
 * of them), each with its root's and every tree node's test accuracy, labelled by what tells the
 * variants apart; and for each N, the ensemble and the mean of those N base models.
 */
async function collectMany(layout: RunLayout, models: { path: string; key: string; evaluation: EvaluationRecord }[], ctx: StageContext): Promise<RunMetrics['many']> {
  const records = (await readManyResults(layout.many.results)).filter(
    (record) => record.models.length <= models.length && record.models.every((key, i) => models[i]!.key === key) && record.tree.every((node) => existsSync(join(layout.dir, node.path))),
  );
  if (records.length === 0) return undefined;
  const strategyLabels = variantLabels(records.map((record) => record.strategy));
  const alignLabels = variantLabels(records.map((record) => record.align));
  const alphaLabels = variantLabels(records.map((record) => record.merge));
  const store = layout.evaluations;
  const merges: ManyMergeMetrics[] = [];
  for (const [i, record] of records.entries()) {
    const evaluations = new Map<string, EvaluationRecord>();
    const mergeNodes = record.tree.filter((node) => node.level > 0);
    const evaluated = (await evaluateStage(mergeNodes.map((node) => join(layout.dir, node.path)), ctx, { store })).models;
    mergeNodes.forEach((node, k) => evaluations.set(node.id, evaluated[k]!));
    // The leaves are the first N base models, in order.
    record.tree.filter((node) => node.level === 0).forEach((leaf, k) => evaluations.set(leaf.id, models[k]!.evaluation));
    const diverged = [];
    for (const node of mergeNodes) {
      const info = await readCheckpointInfo(join(layout.dir, node.path));
      const message = info.kind === 'merged' ? info.merge.training?.diverged?.message : undefined;
      if (message) diverged.push(message);
    }
    const root = record.tree.at(-1)!;
    const rootEvaluation = evaluations.get(root.id)!;
    merges.push({
      key: record.key,
      label: [strategyLabels[i], alignLabels[i], alphaLabels[i]].join(LABEL_SEPARATOR),
      strategy: strategyLabels[i]!,
      alignLabel: alignLabels[i]!,
      alphaLabel: alphaLabels[i]!,
      models: record.models.length,
      members: root.members,
      testAccuracy: rootEvaluation.accuracy,
      testLoss: rootEvaluation.loss,
      ...(mergeNodes.length > 1
        ? {
            tree: record.tree.map(({ id, level, inputs, members }) => ({ id, level, inputs, members, testAccuracy: evaluations.get(id)!.accuracy, testLoss: evaluations.get(id)!.loss })),
          }
        : {}),
      ...(diverged.length ? { warning: diverged.join('; ') } : {}),
    });
  }
  const counts = [...new Set(records.map((record) => record.models.length))].sort((a, b) => a - b);
  const references = [];
  for (const count of counts) {
    const members = models.slice(0, count);
    const { ensemble } = await evaluateStage(members.map((m) => m.path), ctx, { ensemble: true, store });
    const accuracy = meanAndStd(members.map((m) => m.evaluation.accuracy));
    const loss = meanAndStd(members.map((m) => m.evaluation.loss));
    references.push({
      models: count,
      ensemble: { testAccuracy: ensemble!.accuracy, testLoss: ensemble!.loss },
      meanBase: { testAccuracy: accuracy.mean, testLoss: loss.mean, testAccuracyStd: accuracy.std },
    });
  }
  merges.sort((a, b) => a.label.localeCompare(b.label) || a.models - b.models);
  return { merges, references };
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
): Promise<Pick<RunMetrics, 'dataset' | 'split' | 'models' | 'ensemble' | 'merges' | 'alphaCurves' | 'alignment' | 'correlations' | 'interpolations' | 'many'>> {
  const store = layout.evaluations;
  const modelPaths = Array.from({ length: recipe.train.models }, (_, i) => layout.model(i));
  const modelInfos = await Promise.all(modelPaths.map((path) => readCheckpointInfo(path)));
  const base = await evaluateStage(modelPaths, ctx, { ensemble: true, store });
  const [keyA, keyB] = modelInfos.map((info) => info.key);

  const aligned = (await checkpointsIn(layout.aligned)).filter(({ info }) => info.kind === 'aligned' && info.inputs[0] === keyA && info.inputs[1] === keyB);
  const alignedKeys = new Set(aligned.map(({ info }) => info.key));
  const merges = (await checkpointsIn(layout.merges)).flatMap(({ path, info }) =>
    info.kind === 'merged' && info.merge.align && info.merge.inputs.length === 2 && info.merge.inputs[0] === keyA && alignedKeys.has(info.merge.inputs[1]!)
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
  const labelled = aligned.map(({ info }) => {
    const index = merges.findIndex(({ align }) => JSON.stringify(align) === JSON.stringify(info.kind === 'aligned' ? info.align : undefined));
    const label = index >= 0 ? alignLabels[index]! : info.kind === 'aligned' ? info.align.method : '';
    return { label, info: info.kind === 'aligned' ? info : undefined };
  });
  const alignment = Object.fromEntries(labelled.map(({ label, info }) => [label, info?.diagnostics]));
  const correlations = Object.fromEntries(labelled.flatMap(({ label, info }) => (info?.correlations ? [[label, info.correlations]] : [])));
  // Curves of alignments made by earlier runs are measured here, as their merges are evaluated here.
  const interpolations: InterpolationMetrics[] = [];
  for (const [i, { path, info }] of aligned.entries()) {
    if (recipe.merge.interpolationPoints === 0 || info.kind !== 'aligned') continue;
    const settings = interpolationSettings(recipe, info.align.batchNorm !== undefined);
    const { record } = await interpolateStage({ a: modelPaths[0]!, b: path }, settings, layout.interpolations, ctx);
    interpolations.push({ alignLabel: labelled[i]!.label, align: info.align.method, key: record.key, points: record.points, barrier: record.barrier });
  }
  // In the order of the merges' alignments: by method in registry order, then label.
  const methodRank = (align: string | undefined) => aligners.names().indexOf(align ?? '');
  interpolations.sort((a, b) => methodRank(a.align) - methodRank(b.align) || a.alignLabel.localeCompare(b.alignLabel));
  const many = await collectMany(
    layout,
    modelInfos.map((info, i) => ({ path: modelPaths[i]!, key: info.key, evaluation: base.models[i]! })),
    ctx,
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
    ...(Object.keys(correlations).length ? { correlations } : {}),
    ...(interpolations.length ? { interpolations } : {}),
    ...(many ? { many } : {}),
  };
}
