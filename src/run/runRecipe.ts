import { join } from 'node:path';
import { recordedKey } from '../artifacts/checkpoint.js';
import { writeRunMetrics, type RunMetrics } from '../artifacts/metrics.js';
import { selectBackend, wasmThreadCount } from '../backend/selectBackend.js';
import { versions } from '../backend/versions.js';
import { hasBatchNorm } from '../nn/resetBatchNorm.js';
import { runInWorkers } from '../pool/workerPool.js';
import { checkRecipe } from '../recipe/loadRecipe.js';
import { alignSettings, dataOf, mergeSettings, trainSettings } from '../recipe/methodSettings.js';
import type { Recipe } from '../recipe/schema.js';
import { variantLabels } from '../report/variantLabels.js';
import { writeReport } from '../report/writeReport.js';
import { alignKey, alignmentOf, alignStage } from '../stages/alignStage.js';
import { StageContext } from '../stages/context.js';
import { evaluateStage } from '../stages/evaluateStage.js';
import { mergeKey, mergeStage } from '../stages/mergeStage.js';
import { statisticsKey } from '../stages/statisticsStage.js';
import { baseModelKey, baseModelSeed, trainStage, type StageOutcome } from '../stages/trainStage.js';
import { settingsKey } from '../util/hash.js';
import { silentObserver, type RunObserver } from '../util/observer.js';
import { parallelism } from '../util/parallelism.js';
import { collectMetrics, LABEL_SEPARATOR, modelName } from './collectMetrics.js';
import { claimRunDirectory, removeDerivedOutputs, runLayout, type RunLayout } from './runDirectory.js';

export interface RunOptions {
  /** The run directory; default reports/<recipe name>. */
  outDir?: string;
  observer?: RunObserver;
  /** Where the recipe came from, recorded in metrics.json. */
  recipePath?: string;
  /** Base models trained at once, in worker processes; default MERGE_TRAIN_JOBS, else one per core. */
  jobs?: number;
  /** wasm compute threads for the run; default MERGE_TRAIN_THREADS, else one per core. */
  threads?: number;
  /**
   * Start the run directory over even if its base-model settings changed (base models made from the
   * same settings are still reused). Without it, a directory of other base-model settings is refused.
   */
  restart?: boolean;
}

export interface RunResult {
  metrics: RunMetrics;
  dir: string;
}

/** This process's peak resident memory so far, in MB (maxRSS is in KiB). */
function peakRssMB(): number {
  return Math.round(process.resourceUsage().maxRSS / 1024);
}

/** A short name for an artifact file: what it is, and the start of its key. */
const stem = (what: string, key: string) => `${what}-${key.slice(0, 8)}`;

/**
 * The base models (train stage): reused where their files hold the same key, the rest trained in up
 * to `jobs` worker processes at once (each with its share of the threads), or here when one is enough.
 * Training in a worker gives the same weights as training here: same code, same seeds.
 */
async function baseModels(recipe: Recipe, layout: RunLayout, ctx: StageContext, jobs: number, threads: number): Promise<StageOutcome[]> {
  const settings = trainSettings(recipe);
  const indices = Array.from({ length: recipe.train.models }, (_, i) => i);
  const missing: number[] = [];
  for (const i of indices) if ((await recordedKey(layout.model(i))) !== baseModelKey(settings, i)) missing.push(i);
  const inWorkers = Math.min(jobs, missing.length) > 1;
  if (inWorkers) {
    const work = missing.map((index) => ({ stage: 'train' as const, settings, index, out: layout.model(index) }));
    await ctx.timed('train', () => runInWorkers(work, jobs, { backend: recipe.backend, threads }, ctx.observer));
  }
  const outcomes: StageOutcome[] = [];
  for (const i of indices) {
    const trainedByWorker = inWorkers && missing.includes(i);
    const outcome = trainedByWorker ? { path: layout.model(i), key: baseModelKey(settings, i), made: true } : await trainStage(settings, i, layout.model(i), ctx);
    if (!outcome.made) ctx.observer.log(`model ${i}: reusing ${outcome.path}`);
    outcomes.push(outcome);
  }
  return outcomes;
}

/**
 * Runs a recipe in its run directory: trains (or reuses) the base models, evaluates them and their
 * ensemble, aligns model B to model A with every alignment method and merges them with every merge
 * method, each stage skipped where its output exists with the same key, then gathers every result
 * in the directory (earlier settings' variants too) into metrics.json and the report.
 */
export async function runRecipe(recipe: Recipe, options: RunOptions = {}): Promise<RunResult> {
  const observer = options.observer ?? silentObserver;
  const layout = runLayout(options.outDir ?? join('reports', recipe.name));
  const source = options.recipePath ?? recipe.name;
  // Refusals that need no data come before any work (loadRecipe has run them already for files).
  checkRecipe(recipe, source);
  const threads = wasmThreadCount({ threads: options.threads });
  const jobs = parallelism('jobs', options.jobs, 'MERGE_TRAIN_JOBS');
  const backend = await selectBackend(recipe.backend, { threads });
  observer.log(`backend: ${backend}`);
  await claimRunDirectory(layout, recipe, options.restart ?? false);
  const ctx = new StageContext(observer, recipe.data.cacheDir);
  try {
    const { splits } = await ctx.data(dataOf(recipe));
    observer.log(`data: ${splits.name} train ${splits.train.count} / merge ${splits.merge.count} / test ${splits.test.count}`);
    const models = await baseModels(recipe, layout, ctx, jobs, threads);
    // Alignments and merges found here were made from other models A and B: they go.
    if (models.slice(0, 2).some((m) => m.made)) await removeDerivedOutputs(layout);
    const base = await evaluateStage(models.map((m) => m.path), ctx, { ensemble: true, store: layout.evaluations });
    base.models.forEach((evaluation, i) => observer.log(`${modelName(i)}: test accuracy ${(100 * evaluation.accuracy).toFixed(2)}%`));

    // Model A is the anchor; model B is aligned to it. (More models: hierarchical merging, later.)
    const [a, b] = [models[0]!, models[1]!];
    const spec = (await ctx.checkpoint(a.path)).spec;
    const alignLabels = variantLabels(recipe.align.methods.map((method) => alignmentOf(alignSettings(method, recipe.align), spec)));
    const mergeLabels = variantLabels(recipe.merge.alphas.map((alpha) => mergeSettings(alpha, recipe)));
    for (const [m, method] of recipe.align.methods.entries()) {
      const settings = alignSettings(method, recipe.align);
      const key = alignKey(a.key, b.key, settings, spec);
      const statistics = statisticsKey(a.key, b.key, alignmentOf(settings, spec).batchNorm, settings.batchSize);
      const aligned = await alignStage(
        { a: a.path, b: b.path },
        settings,
        { model: layout.alignedFile(stem(`model-1-${method}`, key)), statistics: layout.statisticsFile(stem('model-1', statistics)) },
        ctx,
      );
      if (!aligned.made) observer.log(`align ${alignLabels[m]}: reusing ${aligned.path}`);
      const alignedSpec = (await ctx.checkpoint(aligned.path)).spec;
      for (const [k, alpha] of recipe.merge.alphas.entries()) {
        const merge = mergeSettings(alpha, recipe);
        const name = stem(`${method}-${alpha}`, mergeKey(a.key, aligned.key, merge, alignedSpec));
        const outputs = {
          model: layout.mergeFile(name),
          masks: layout.masksFile(name),
          ...(hasBatchNorm(alignedSpec) ? { beforeReset: layout.beforeResetFile(name) } : {}),
        };
        const merged = await mergeStage({ a: a.path, b: aligned.path }, merge, outputs, ctx);
        const [evaluation] = (await evaluateStage([outputs.model], ctx, { store: layout.evaluations })).models;
        const reused = merged.made ? '' : ' (reused)';
        observer.log(`merge ${alignLabels[m]}${LABEL_SEPARATOR}${mergeLabels[k]}: test accuracy ${(100 * evaluation!.accuracy).toFixed(2)}%${reused}`);
        await ctx.release(outputs.model);
      }
      await ctx.release(aligned.path);
    }

    const collected = await collectMetrics(layout, recipe, ctx);
    const metrics: RunMetrics = {
      ...collected,
      timings: ctx.timings,
      backend,
      recipe: source,
      versions: versions(backend),
      reproducibility: {
        recipeHash: settingsKey(recipe),
        seeds: { split: recipe.seed, models: models.map((_, i) => baseModelSeed(recipe.seed, i)), alpha: recipe.seed },
      },
      resources: { threads, jobs, peakRssMB: peakRssMB() },
    };
    await writeRunMetrics(layout.dir, metrics);
    await ctx.timed('report', () => writeReport(layout.dir));
    // Now with the report's own timing and memory.
    metrics.resources!.peakRssMB = peakRssMB();
    await writeRunMetrics(layout.dir, metrics);
    return { metrics, dir: layout.dir };
  } finally {
    await ctx.dispose();
  }
}
