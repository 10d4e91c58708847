import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { aligners } from '../align/aligners.js';
import { collectSpaceMoments, type SpaceMoments } from '../align/moments.js';
import { applyTransforms } from '../align/transform.js';
import { selectBackend, wasmThreadCount } from '../backend/selectBackend.js';
import { TensorSet } from '../data/batches.js';
import { evaluateEnsemble, evaluateModel } from '../eval/evaluate.js';
import type { AlignMethod, AlphaCurve, MergeMetrics, ModelMetrics, RunMetrics } from '../eval/metrics.js';
import { loadCheckpoint, saveCheckpoint } from '../io/checkpoint.js';
import { writeJsonAtomic } from '../io/atomicWrite.js';
import { alphaMasksFor, alphaTrainingSets } from '../merge/alphaMasks.js';
import { disposeAlphaTrainState, loadAlphaTrainState, removeAlphaTrainState, saveAlphaTrainState } from '../merge/alphaTrainState.js';
import { fisherCache } from '../merge/fisher.js';
import { meanAlpha, mergeParams } from '../merge/mergeParams.js';
import { disposeParams } from '../nn/init.js';
import { foldBatchNorm, foldBatchNormScale, transformScaleFolded } from '../nn/foldBatchNorm.js';
import { hasBatchNorm, resetBatchNormStats } from '../nn/resetBatchNorm.js';
import type { ModelSpec, ParamMap } from '../nn/spec.js';
import { writeReport } from '../report/writeReport.js';
import { silentObserver, type RunObserver } from './observer.js';
import { baseModels, loadRunData, type DataInfo } from './baseModels.js';
import { checkRecipe } from './loadRecipe.js';
import { configHash, recipeChange, removeDerivedOutputs, runPaths, type RunPaths } from './runDirectory.js';
import type { Recipe } from './schema.js';
import { versions } from './versions.js';
import { InputError } from '../util/errors.js';
import { parallelism } from '../util/parallelism.js';

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
   * Redo every stage of an existing run directory, even if its recipe changed (base models made
   * from the same settings are still reused). Without it, a directory of another recipe is refused.
   */
  restart?: boolean;
}

/**
 * Makes `paths.dir` the run directory of `recipe`. A directory holding a run of the same recipe is
 * resumed: each stage whose output is there is skipped. One of another recipe is refused, naming the
 * changed field, unless `restart`, which removes every stage output but the base models (their
 * checkpoints record the settings that made them).
 */
async function claimRunDirectory(paths: RunPaths, recipe: Recipe, restart: boolean): Promise<void> {
  if (existsSync(paths.recipe)) {
    let saved: unknown;
    try {
      saved = JSON.parse(await readFile(paths.recipe, 'utf8'));
    } catch {
      saved = undefined;
    }
    const change = recipeChange(saved, recipe);
    if (change && !restart) {
      throw new InputError(
        `${paths.dir} holds a run of another recipe (${change}); resume it with the same recipe, choose another --out, or add --restart to redo its stages (base models trained with the same settings are kept)`,
      );
    }
    if (change || restart) await removeDerivedOutputs(paths);
  }
  await writeJsonAtomic(paths.recipe, recipe);
}

export interface RunResult {
  metrics: RunMetrics;
  dir: string;
}

/** This process's peak resident memory so far, in MB (maxRSS is in KiB). */
function peakRssMB(): number {
  return Math.round(process.resourceUsage().maxRSS / 1024);
}

/** Adds the seconds `work` takes to `timings[stage]`. */
async function timed<T>(timings: Record<string, number>, stage: string, work: () => T | Promise<T>): Promise<T> {
  const started = performance.now();
  try {
    return await work();
  } finally {
    timings[stage] = (timings[stage] ?? 0) + (performance.now() - started) / 1000;
  }
}

/**
 * Runs a recipe end to end: data, base models, alignment statistics, alignment, merges, evaluation on
 * the held-out test split, and the report. Files land in the run directory; metrics are returned.
 */
export async function runRecipe(recipe: Recipe, options: RunOptions = {}): Promise<RunResult> {
  const observer = options.observer ?? silentObserver;
  const paths = runPaths(options.outDir ?? join('reports', recipe.name));
  const timings: Record<string, number> = {};
  const source = options.recipePath ?? recipe.name;
  // Refusals that need no data come before any work (loadRecipe has run them already for files).
  checkRecipe(recipe, source);
  const threads = wasmThreadCount({ threads: options.threads });
  const jobs = parallelism('jobs', options.jobs, 'MERGE_TRAIN_JOBS');
  const backend = await selectBackend(recipe.backend, { threads });
  observer.log(`backend: ${backend}`);
  await claimRunDirectory(paths, recipe, options.restart ?? false);

  const { splits, spec: builtSpec, dataInfo } = await timed(timings, 'data', () => loadRunData(recipe, source));
  observer.log(`data: ${splits.name} train ${splits.train.count} / merge ${splits.merge.count} / test ${splits.test.count}`);
  let spec = builtSpec;
  const train = new TensorSet(splits.train, splits.inputShape);
  const merge = new TensorSet(splits.merge, splits.inputShape);
  const test = new TensorSet(splits.test, splits.inputShape);
  // Learned alpha trains on part of the merge split and picks its best step on the rest.
  const alphaData = alphaTrainingSets(splits.merge, splits.inputShape, recipe.merge.validationFraction);
  const batchNormData = train.take(Math.min(train.count, recipe.merge.resetExamples));
  const owned: ParamMap[] = [];
  const fisher = fisherCache(merge, recipe.merge.fisher);
  try {
    const base = await timed(timings, 'train', () =>
      baseModels(recipe, spec, { train, monitor: merge, dataInfo }, paths, observer, { jobs, threads, source }),
    );
    let models = base.models;
    if (base.trained.length > 0) {
      // Alignments and merges found here were made from other base models: redo them.
      await removeDerivedOutputs(paths);
    }
    owned.push(...models);
    const batchNorm = hasBatchNorm(spec) ? recipe.align.batchNorm : undefined;
    if (batchNorm === 'fold') {
      // From here on the models are BatchNorm-free networks computing the same inference function.
      const folded = models.map((params) => foldBatchNorm(spec, params));
      spec = folded[0]!.spec;
      models = folded.map((f) => f.params);
      owned.push(...models);
    } else if (batchNorm === 'fold-scale') {
      // The same functions, with every BatchNorm a pure shift (what alignment and merging expect).
      models = models.map((params) => foldBatchNormScale(spec, params));
      owned.push(...models);
    }
    const modelMetrics: ModelMetrics[] = models.map((params, i) => {
      const { accuracy, loss } = evaluateModel(spec, params, test);
      return { name: `model ${String.fromCharCode(65 + i)}`, testAccuracy: accuracy, testLoss: loss, seed: recipe.seed + i, checkpoint: paths.model(i) };
    });
    for (const m of modelMetrics) observer.log(`${m.name}: test accuracy ${(100 * m.testAccuracy).toFixed(2)}%`);
    const ensembleEval = evaluateEnsemble(spec, models, test);

    // Model A is the anchor; model B is aligned to it. (More models: hierarchical merging, later.)
    const [paramsA, paramsB] = [models[0]!, models[1]!];
    let moments: SpaceMoments[] | undefined;
    const merges: MergeMetrics[] = [];
    const alphaCurves: AlphaCurve[] = [];
    const diagnostics: Record<string, unknown> = {};
    for (const method of recipe.align.methods) {
      const alignedPath = paths.aligned(method);
      let aligned: ParamMap;
      if (existsSync(alignedPath)) {
        const saved = await loadCheckpoint(alignedPath);
        aligned = saved.params;
        diagnostics[method] = saved.info.details?.diagnostics;
        observer.log(`align ${method}: reusing ${alignedPath}`);
      } else {
        moments ??= await timed(timings, 'statistics', () => collectSpaceMoments(spec, paramsA, paramsB, merge, recipe.align.batchSize));
        const statistics = moments;
        aligned = await timed(timings, 'align', () => {
          const result = aligners.get(method).align(statistics, { gamma: recipe.align.gamma });
          diagnostics[method] = result.diagnostics;
          result.warnings.forEach((line) => observer.warn(line));
          return (batchNorm === 'fold-scale' ? transformScaleFolded : applyTransforms)(spec, paramsB, result.transforms);
        });
        await saveCheckpoint(alignedPath, spec, aligned, {
          kind: 'aligned',
          ...dataInfo,
          details: { align: method, to: paths.model(0), diagnostics: diagnostics[method], ...(batchNorm ? { batchNorm } : {}) },
        });
      }
      owned.push(aligned);
      const mergeData = { ...alphaData, test, batchNormData, fisherOf: (params: ParamMap) => fisher.fisherOf(spec, params) };
      const results = await mergeVariants(recipe, spec, method, paramsA, aligned, mergeData, dataInfo, paths, timings, observer);
      merges.push(...results.merges);
      alphaCurves.push(...results.curves);
    }

    const metrics: RunMetrics = {
      dataset: recipe.data.dataset,
      models: modelMetrics,
      ensemble: { testAccuracy: ensembleEval.accuracy, testLoss: ensembleEval.loss },
      merges,
      timings,
      alphaCurves,
      backend,
      recipe: source,
      versions: versions(backend),
      split: dataInfo.split,
      alignment: diagnostics,
      reproducibility: {
        recipeHash: configHash(recipe),
        seeds: { split: recipe.seed, models: models.map((_, i) => recipe.seed + i), alpha: recipe.seed },
      },
      resources: { threads, jobs, peakRssMB: peakRssMB() },
    };
    await writeJsonAtomic(paths.metrics, metrics);
    await timed(timings, 'report', () => writeReport(paths.dir));
    // Now with the report's own timing and memory.
    metrics.resources!.peakRssMB = peakRssMB();
    await writeJsonAtomic(paths.metrics, metrics);
    return { metrics, dir: paths.dir };
  } finally {
    owned.forEach(disposeParams);
    fisher.dispose();
    [train, merge, test, alphaData.train, alphaData.validation, batchNormData].forEach((set) => set.dispose());
  }
}

/** What a finished merge variant leaves in merges/: its metrics and, for learned alpha, its curves. */
interface MergeResultFile {
  merge: MergeMetrics;
  curve?: AlphaCurve;
}

/**
 * Uniform, Fisher-weighted and learned merges of A with one aligned B, each evaluated on the test
 * split. A variant finished before an interruption is read back; learned alpha resumes from its last
 * validation.
 */
async function mergeVariants(
  recipe: Recipe,
  spec: ModelSpec,
  align: AlignMethod,
  paramsA: ParamMap,
  alignedB: ParamMap,
  data: {
    train: TensorSet;
    validation: TensorSet;
    test: TensorSet;
    /** The base models' training data, on which merged BatchNorm statistics are recomputed. */
    batchNormData: TensorSet;
    fisherOf: (params: ParamMap) => ParamMap;
  },
  dataInfo: DataInfo,
  paths: RunPaths,
  timings: Record<string, number>,
  observer: RunObserver,
): Promise<{ merges: MergeMetrics[]; curves: AlphaCurve[] }> {
  const merges: MergeMetrics[] = [];
  const curves: AlphaCurve[] = [];
  for (const alpha of recipe.merge.alphas) {
    const init = alpha === 'learned' ? recipe.merge.init : null;
    const resultPath = paths.mergeResult(align, alpha);
    if (existsSync(resultPath)) {
      // Finished before an interruption: its result file is written last.
      const saved = JSON.parse(await readFile(resultPath, 'utf8')) as MergeResultFile;
      merges.push(saved.merge);
      if (saved.curve) curves.push(saved.curve);
      observer.log(`merge ${align} · ${alpha}: reusing ${resultPath}`);
      continue;
    }
    const statePath = paths.alphaState(align, alpha);
    const resume = alpha === 'learned' ? await loadAlphaTrainState(statePath) : undefined;
    if (resume) observer.log(`learn alpha (${align}): resuming after step ${resume.optimizer.step} from ${statePath}`);
    const bar = alpha === 'learned' ? observer.bar(`learn alpha (${align}, ${init} init)`, recipe.merge.steps) : undefined;
    const { masks, learned } = await timed(timings, `${alpha} alpha`, () =>
      alphaMasksFor(alpha, {
        spec,
        paramsA,
        paramsB: alignedB,
        fisherOf: data.fisherOf,
        init: recipe.merge.init,
        train: data.train,
        validation: data.validation,
        learn: { ...recipe.merge, seed: recipe.seed },
        hooks: {
          onProgress: (p) => bar?.update(p.step),
          onCheckpoint: (state) => saveAlphaTrainState(statePath, state),
          resume,
        },
      }).finally(() => {
        bar?.stop();
        if (resume) disposeAlphaTrainState(resume);
      }),
    );
    try {
      const curve = learned && { align, init: recipe.merge.init, points: learned.curve, validation: learned.validation, bestStep: learned.bestStep };
      if (curve) curves.push(curve);
      const merged = mergeParams(paramsA, alignedB, masks);
      const result: MergeMetrics = { align, alpha, init, testAccuracy: 0, testLoss: 0, meanAlpha: meanAlpha(masks) };
      if (learned?.diverged) {
        result.warning = learned.diverged.message;
        observer.warn(`${align} · ${alpha}: ${learned.diverged.message}`);
      }
      try {
        const evaluation = await timed(timings, 'evaluate', () => evaluateModel(spec, merged, data.test));
        [result.testAccuracy, result.testLoss] = [evaluation.accuracy, evaluation.loss];
        if (hasBatchNorm(spec)) {
          // Merging changes every layer's output statistics: recompute them on the training data.
          const reset = await timed(timings, 'batchnorm reset', () => resetBatchNormStats(spec, merged, data.batchNormData));
          const afterReset = await timed(timings, 'evaluate', () => evaluateModel(spec, reset, data.test));
          disposeParams(reset);
          result.withoutBatchNormReset = { testAccuracy: evaluation.accuracy, testLoss: evaluation.loss };
          [result.testAccuracy, result.testLoss] = [afterReset.accuracy, afterReset.loss];
        }
      } finally {
        disposeParams(merged);
      }
      merges.push(result);
      observer.log(`merge ${align} · ${alpha}${init ? ` (${init} init)` : ''}: test accuracy ${(100 * result.testAccuracy).toFixed(2)}%`);
      await saveCheckpoint(paths.masks(align, alpha), spec, masks, { kind: 'alpha', ...dataInfo, details: { align, alpha, init } });
      const file: MergeResultFile = curve ? { merge: result, curve } : { merge: result };
      await writeJsonAtomic(resultPath, file);
      await removeAlphaTrainState(statePath);
    } finally {
      disposeParams(masks);
    }
  }
  return { merges, curves };
}
