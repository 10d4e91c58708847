import { join } from 'node:path';
import { writeRunMetrics, type RunMetrics } from '../artifacts/metrics.js';
import { selectBackend, wasmThreadCount } from '../backend/selectBackend.js';
import { versions } from '../backend/versions.js';
import { runInWorkers } from '../pool/workerPool.js';
import { checkRecipe } from '../recipe/loadRecipe.js';
import { alignSettings, dataOf, interpolationSettings, mergeSettings, trainSettings } from '../recipe/methodSettings.js';
import type { Recipe } from '../recipe/schema.js';
import { LABEL_SEPARATOR } from '../report/rows.js';
import { variantLabels } from '../report/variantLabels.js';
import { writeReport } from '../report/writeReport.js';
import { alignmentOf, alignStage } from '../stages/alignStage.js';
import { StageContext, type StageOutcome } from '../stages/context.js';
import { evaluateStage } from '../stages/evaluateStage.js';
import { interpolateStage } from '../stages/interpolateStage.js';
import { hasBatchNorm } from '../nn/resetBatchNorm.js';
import { mergeStage } from '../stages/mergeStage.js';
import { holdsArtifact } from '../stages/outputs.js';
import { baseModelKey, baseModelName, baseModelSeed, trainStage } from '../stages/trainStage.js';
import { settingsKey } from '../util/hash.js';
import { silentObserver } from '../util/observer.js';
import { parallelism } from '../util/parallelism.js';
import { collectMetrics } from './collectMetrics.js';
import { runManyModels } from './manyModels.js';
import { runRepeats } from './runRepeats.js';
import type { RunOptions, RunResult } from './runOptions.js';

export type { RunOptions, RunResult } from './runOptions.js';
import { claimRunDirectory, runLayout, type RunLayout } from './runDirectory.js';

/** This process's peak resident memory so far, in MB (maxRSS is in KiB). */
function peakRssMB(): number {
  return Math.round(process.resourceUsage().maxRSS / 1024);
}

/**
 * The base models (train stage): reused where their files hold the same key, the rest trained in up
 * to `jobs` worker processes at once (each with its share of the threads), or here when one is enough.
 * Training in a worker gives the same weights as training here: same code, same seeds.
 */
async function baseModels(recipe: Recipe, layout: RunLayout, ctx: StageContext, jobs: number, threads: number): Promise<StageOutcome[]> {
  const settings = trainSettings(recipe);
  const indices = Array.from({ length: recipe.train.models }, (_, i) => i);
  const missing: number[] = [];
  for (const i of indices) if (!(await holdsArtifact(layout.model(i), baseModelKey(settings, i), ctx.observer))) missing.push(i);
  const inWorkers = Math.min(jobs, missing.length) > 1;
  if (inWorkers) {
    const work = missing.map((index) => ({ stage: 'train' as const, settings, index, out: layout.model(index) }));
    await ctx.timed('train', () => runInWorkers(work, jobs, { backend: recipe.backend, threads, cacheDir: ctx.cacheDir }, ctx.observer));
  }
  const outcomes: StageOutcome[] = [];
  for (const i of indices) {
    const trainedByWorker = inWorkers && missing.includes(i);
    const outcome = trainedByWorker ? { path: layout.model(i), key: baseModelKey(settings, i), made: true } : await trainStage(settings, i, layout.model(i), ctx);
    if (!outcome.made) ctx.observer.log(`${baseModelName(i)}: reusing ${outcome.path}`);
    outcomes.push(outcome);
  }
  return outcomes;
}

/**
 * Runs a recipe in its run directory: trains (or reuses) the base models, evaluates them and their
 * ensemble, aligns model B to model A with every alignment method and merges them with every merge
 * method, merges many models as its `many` section asks, each stage skipped where its output exists
 * with the same key, then gathers every result
 * in the directory (earlier settings' variants too) into metrics.json and the report. With
 * `repeats` > 1, it does all of that once per seed and reports the mean ± std (runRepeats).
 */
export async function runRecipe(recipe: Recipe, options: RunOptions = {}): Promise<RunResult> {
  return recipe.repeats > 1 ? runRepeats(recipe, options, runOnce) : runOnce(recipe, options);
}

/** One run of the recipe, with its seed, in its run directory. */
async function runOnce(recipe: Recipe, options: RunOptions): Promise<RunResult> {
  const observer = options.observer ?? silentObserver;
  const layout = runLayout(options.outDir ?? join('reports', recipe.name));
  const source = options.recipePath ?? recipe.name;
  // Refusals that need no data come before any work (loadRecipe has run them already for files).
  checkRecipe(recipe, source);
  const threads = wasmThreadCount({ threads: options.threads });
  const jobs = parallelism('jobs', options.jobs, 'MERGE_TRAIN_JOBS');
  const backend = await selectBackend(recipe.backend, { threads });
  observer.log(`backend: ${backend}`);
  const release = await claimRunDirectory(layout, recipe, options.restart ?? false);
  const ctx = new StageContext(observer, recipe.data.cacheDir);
  try {
    const { splits } = await ctx.data(dataOf(recipe));
    observer.log(`data: ${splits.name} train ${splits.train.count} / merge ${splits.merge.count} / test ${splits.test.count}`);
    // Artifacts of other base models may lie here (their keys differ): the report leaves them out.
    const models = await baseModels(recipe, layout, ctx, jobs, threads);
    const base = await evaluateStage(models.map((m) => m.path), ctx, { ensemble: true, store: layout.evaluations });
    base.models.forEach((evaluation, i) => observer.log(`${baseModelName(i)}: test accuracy ${(100 * evaluation.accuracy).toFixed(2)}%`));

    // Model A is the anchor; model B is aligned to it. (Merges of more models follow: runManyModels.)
    const [a, b] = [models[0]!, models[1]!];
    const spec = (await ctx.checkpoint(a.path)).spec;
    const alignLabels = variantLabels(recipe.align.methods.map((method) => alignmentOf(alignSettings(method, recipe), spec)));
    const mergeLabels = variantLabels(recipe.merge.alphas.map((alpha) => ({ method: alpha, options: mergeSettings(alpha, recipe).options })));
    for (const [m, method] of recipe.align.methods.entries()) {
      const aligned = await alignStage({ a: a.path, b: b.path }, alignSettings(method, recipe), layout.alignOutputs(method), ctx);
      if (!aligned.made) observer.log(`align ${alignLabels[m]}: reusing ${aligned.path}`);
      for (const [k, alpha] of recipe.merge.alphas.entries()) {
        const merged = await mergeStage([a.path, aligned.path], mergeSettings(alpha, recipe), layout.mergeOutputs(method, alpha), ctx);
        const [evaluation] = (await evaluateStage([merged.path], ctx, { store: layout.evaluations })).models;
        const reused = merged.made ? '' : ' (reused)';
        observer.log(`merge ${alignLabels[m]}${LABEL_SEPARATOR}${mergeLabels[k]}: test accuracy ${(100 * evaluation!.accuracy).toFixed(2)}%${reused}`);
        await ctx.release(merged.path);
      }
      if (recipe.merge.interpolationPoints > 0) {
        const curve = await interpolateStage({ a: a.path, b: aligned.path }, interpolationSettings(recipe, hasBatchNorm(spec)), layout.interpolations, ctx);
        const { loss, accuracy } = curve.record.barrier;
        observer.log(`interpolate ${alignLabels[m]}: loss barrier ${loss.toFixed(4)}, accuracy barrier ${(100 * accuracy).toFixed(2)} points${curve.made ? '' : ' (reused)'}`);
      }
      await ctx.release(aligned.path);
    }

    await runManyModels(recipe, models, layout, ctx, { jobs, threads, backend: recipe.backend });

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
    if (options.report ?? true) {
      await ctx.timed('report', () => writeReport(layout.dir));
      // Now with the report's own timing and memory.
      metrics.resources!.peakRssMB = peakRssMB();
      await writeRunMetrics(layout.dir, metrics);
    }
    return { metrics, dir: layout.dir };
  } finally {
    try {
      await ctx.dispose();
    } finally {
      await release();
    }
  }
}
