import { join } from 'node:path';
import { aligners } from '../align/aligners.js';
import { collectSpaceMoments } from '../align/moments.js';
import { applyTransforms } from '../align/transform.js';
import { selectBackend, wasmThreadCount } from '../backend/selectBackend.js';
import { TensorSet } from '../data/batches.js';
import { evaluateEnsemble, evaluateModel } from '../eval/evaluate.js';
import type { AlignMethod, AlphaCurve, MergeMetrics, ModelMetrics, RunMetrics } from '../eval/metrics.js';
import { saveCheckpoint } from '../io/checkpoint.js';
import { writeJsonAtomic } from '../io/atomicWrite.js';
import { alphaMasksFor, alphaTrainingSets } from '../merge/alphaMasks.js';
import { fisherCache } from '../merge/fisher.js';
import { meanAlpha, mergeParams } from '../merge/mergeParams.js';
import { disposeParams } from '../nn/init.js';
import { foldBatchNorm } from '../nn/foldBatchNorm.js';
import { hasBatchNorm, resetBatchNormStats } from '../nn/resetBatchNorm.js';
import type { ModelSpec, ParamMap } from '../nn/spec.js';
import { writeReport } from '../report/writeReport.js';
import { silentObserver, type RunObserver } from './observer.js';
import { baseModels, loadRunData, type DataInfo } from './baseModels.js';
import { checkRecipe } from './loadRecipe.js';
import { runPaths, type RunPaths } from './runDirectory.js';
import type { Recipe } from './schema.js';
import { versions } from './versions.js';
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
  await writeJsonAtomic(paths.recipe, recipe);

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
    let models = await timed(timings, 'train', () =>
      baseModels(recipe, spec, { train, monitor: merge, dataInfo }, paths, observer, { jobs, threads, source }),
    );
    owned.push(...models);
    if (recipe.align.batchNorm === 'fold' && hasBatchNorm(spec)) {
      // From here on the models are BatchNorm-free networks computing the same inference function.
      const folded = models.map((params) => foldBatchNorm(spec, params));
      spec = folded[0]!.spec;
      models = folded.map((f) => f.params);
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
    const moments = await timed(timings, 'statistics', () => collectSpaceMoments(spec, paramsA, paramsB, merge, recipe.align.batchSize));
    const merges: MergeMetrics[] = [];
    const alphaCurves: AlphaCurve[] = [];
    const diagnostics: Record<string, unknown> = {};
    for (const method of recipe.align.methods) {
      const aligned = await timed(timings, 'align', () => {
        const result = aligners.get(method).align(moments, { gamma: recipe.align.gamma });
        diagnostics[method] = result.diagnostics;
        return applyTransforms(spec, paramsB, result.transforms);
      });
      owned.push(aligned);
      await saveCheckpoint(paths.aligned(method), spec, aligned, {
        kind: 'aligned',
        ...dataInfo,
        details: { align: method, to: paths.model(0), diagnostics: diagnostics[method] },
      });
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

/** Uniform, Fisher-weighted and learned merges of A with one aligned B, each evaluated on the test split. */
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
        onProgress: (p) => bar?.update(p.step),
      }),
    );
    bar?.stop();
    try {
      if (learned) curves.push({ align, init: recipe.merge.init, points: learned.curve, validation: learned.validation, bestStep: learned.bestStep });
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
    } finally {
      disposeParams(masks);
    }
  }
  return { merges, curves };
}
