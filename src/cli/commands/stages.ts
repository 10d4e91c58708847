import type { Command } from 'commander';
import { aligners } from '../../align/aligners.js';
import { collectSpaceMoments } from '../../align/moments.js';
import { applyTransforms } from '../../align/transform.js';
import { selectBackend, type BackendName } from '../../backend/selectBackend.js';
import { TensorSet } from '../../data/batches.js';
import type { DatasetSplits } from '../../data/dataset.js';
import { loadSplits } from '../../data/split.js';
import { evaluateEnsemble, evaluateModel } from '../../eval/evaluate.js';
import type { AlignMethod, AlphaInit, AlphaKind } from '../../eval/metrics.js';
import { ensureSameArchitecture, loadCheckpoint, saveCheckpoint, type CheckpointInfo, type LoadedCheckpoint } from '../../io/checkpoint.js';
import { alphaMasksFor, alphaTrainingSets } from '../../merge/alphaMasks.js';
import { fisherCache, type FisherMode } from '../../merge/fisher.js';
import { mergeParams } from '../../merge/mergeParams.js';
import { foldBatchNormScale, transformScaleFolded } from '../../nn/foldBatchNorm.js';
import { disposeParams, initParams } from '../../nn/init.js';
import { hasBatchNorm, resetBatchNormStats } from '../../nn/resetBatchNorm.js';
import type { ParamMap } from '../../nn/spec.js';
import { loadRunData, type DataInfo } from '../../recipe/baseModels.js';
import { checkRecipe, parseRecipe } from '../../recipe/loadRecipe.js';
import type { Recipe } from '../../recipe/schema.js';
import { writeReport } from '../../report/writeReport.js';
import { trainModel } from '../../train/trainModel.js';
import { InputError } from '../../util/errors.js';
import { choice, nonNegativeInteger, number, positive, positiveInteger } from '../argumentParsers.js';
import { terminalObserver } from '../progressDisplay.js';
import { addRecipeOptions, recipeOverrides } from '../recipeOptions.js';

/**
 * The pipeline's stages one by one, on checkpoint files, so users can script their own pipelines:
 * train, align, merge, eval, report. Each checkpoint records its dataset and split, so later stages
 * use the same merge and test examples as the run that made it.
 */

/** The recipe defaults: the stages use the same numbers as `merge-train run`. */
const defaults = parseRecipe({ name: 'defaults' }, 'defaults');

const percent = (accuracy: number) => `${(100 * accuracy).toFixed(2)}%`;

/** The data splits a checkpoint was made with. */
function splitsOf(info: CheckpointInfo, cacheDir: string): Promise<DatasetSplits> {
  return loadSplits(info.dataset, { sizes: info.split, seed: info.splitSeed, cacheDir });
}

async function loadPair(pathA: string, pathB: string): Promise<[LoadedCheckpoint, LoadedCheckpoint]> {
  const a = await loadCheckpoint(pathA);
  const b = await loadCheckpoint(pathB);
  ensureSameArchitecture(a, pathA, b, pathB);
  ensureSameData(a.info, pathA, b.info, pathB);
  return [a, b];
}

/** Refuses checkpoints trained on different datasets or splits: their held-out sets would differ. */
function ensureSameData(a: CheckpointInfo, pathA: string, b: CheckpointInfo, pathB: string): void {
  if (a.dataset !== b.dataset || a.splitSeed !== b.splitSeed) {
    throw new InputError(`${pathA} and ${pathB} come from different data (${a.dataset}/seed ${a.splitSeed} vs ${b.dataset}/seed ${b.splitSeed})`);
  }
}

function dataInfoOf(info: CheckpointInfo): DataInfo {
  return { dataset: info.dataset, splitSeed: info.splitSeed, split: info.split };
}

async function trainCommand(options: Record<string, unknown>): Promise<void> {
  const recipe = parseRecipe({ name: 'train', ...recipeOverrides(options) }, 'command line');
  checkRecipe(recipe, 'command line', { merging: false });
  const modelSeed = (options.modelSeed as number | undefined) ?? recipe.seed;
  await selectBackend(recipe.backend, { threads: options.threads as number | undefined });
  const { splits, spec, dataInfo } = await loadRunData(recipe, 'command line');
  const [train, test] = [new TensorSet(splits.train, splits.inputShape), new TensorSet(splits.test, splits.inputShape)];
  const initial = initParams(spec, modelSeed);
  const bar = terminalObserver().bar('train', recipe.train.epochs * Math.ceil(train.count / recipe.train.batchSize));
  const { params, history } = await trainModel(spec, initial, train, { ...recipe.train, seed: modelSeed }, {
    onProgress: (p) => bar.update((p.epoch - 1) * p.stepsPerEpoch + p.step),
  });
  bar.stop();
  const info: CheckpointInfo = { kind: 'base', ...dataInfo, seed: modelSeed, details: { history } };
  await saveCheckpoint(options.out as string, spec, params, info);
  console.log(`${options.out}: test accuracy ${percent(evaluateModel(spec, params, test).accuracy)}`);
  [initial, params].forEach(disposeParams);
  [train, test].forEach((s) => s.dispose());
}

type StageBatchNorm = Exclude<Recipe['align']['batchNorm'], 'fold'>;

async function alignCommand(
  pathA: string,
  pathB: string,
  options: { method: AlignMethod; gamma: number; batchNorm: StageBatchNorm; out: string; backend: BackendName; threads?: number; cacheDir: string },
): Promise<void> {
  await selectBackend(options.backend, { threads: options.threads });
  const [a, b] = await loadPair(pathA, pathB);
  const splits = await splitsOf(a.info, options.cacheDir);
  const merge = new TensorSet(splits.merge, splits.inputShape);
  const moments = collectSpaceMoments(a.spec, a.params, b.params, merge);
  const { transforms, diagnostics, warnings } = aligners.get(options.method).align(moments, { gamma: options.gamma });
  warnings.forEach((line) => console.error(`warning: ${line}`));
  let aligned: ParamMap;
  const batchNorm = hasBatchNorm(a.spec) ? options.batchNorm : undefined;
  if (batchNorm === 'fold-scale') {
    const folded = foldBatchNormScale(a.spec, b.params);
    aligned = transformScaleFolded(a.spec, folded, transforms);
    disposeParams(folded);
  } else {
    aligned = applyTransforms(a.spec, b.params, transforms);
  }
  const details = { align: options.method, from: pathB, to: pathA, diagnostics, ...(batchNorm ? { batchNorm } : {}) };
  await saveCheckpoint(options.out, a.spec, aligned, { kind: 'aligned', ...dataInfoOf(a.info), details });
  console.log(`${options.out}: ${pathB} aligned to ${pathA} by ${options.method}`);
  [a.params, b.params, aligned].forEach(disposeParams);
  merge.dispose();
}

interface MergeOptions {
  alpha: AlphaKind;
  init: AlphaInit;
  fisher: FisherMode;
  steps: number;
  alphaLr: number;
  seed: number;
  out: string;
  masksOut?: string;
  resetExamples: number;
  backend: BackendName;
  threads?: number;
  cacheDir: string;
}

async function mergeCommand(pathA: string, pathB: string, options: MergeOptions): Promise<void> {
  await selectBackend(options.backend, { threads: options.threads });
  const [a, b] = await loadPair(pathA, pathB);
  if (b.info.details?.batchNorm === 'fold-scale') {
    // B' keeps its BatchNorm as a pure shift: bring A to the same (function-preserving) form.
    const folded = foldBatchNormScale(a.spec, a.params);
    disposeParams(a.params);
    a.params = folded;
  }
  const splits = await splitsOf(a.info, options.cacheDir);
  const merge = new TensorSet(splits.merge, splits.inputShape);
  const alphaData = alphaTrainingSets(splits.merge, splits.inputShape, defaults.merge.validationFraction);
  const fisher = fisherCache(merge, options.fisher);
  const bar = terminalObserver().bar('learn alpha', options.steps);
  const { masks } = await alphaMasksFor(options.alpha, {
    spec: a.spec,
    paramsA: a.params,
    paramsB: b.params,
    fisherOf: (params) => fisher.fisherOf(a.spec, params),
    init: options.init,
    ...alphaData,
    learn: { ...defaults.merge, steps: options.steps, learningRate: options.alphaLr, seed: options.seed },
    hooks: { onProgress: (p) => bar.update(p.step) },
  });
  bar.stop();
  let merged = mergeParams(a.params, b.params, masks);
  if (hasBatchNorm(a.spec)) {
    // Merging changes every layer's output statistics: recompute them on the training split.
    const train = new TensorSet(splits.train, splits.inputShape);
    const resetData = train.take(Math.min(train.count, options.resetExamples));
    const reset = resetBatchNormStats(a.spec, merged, resetData);
    disposeParams(merged);
    merged = reset;
    [train, resetData].forEach((set) => set.dispose());
  }
  const details = { alpha: options.alpha, init: options.alpha === 'learned' ? options.init : null, from: [pathA, pathB] };
  await saveCheckpoint(options.out, a.spec, merged, { kind: 'merged', ...dataInfoOf(a.info), details });
  if (options.masksOut) await saveCheckpoint(options.masksOut, a.spec, masks, { kind: 'alpha', ...dataInfoOf(a.info), details });
  console.log(`${options.out}: merged with ${options.alpha} alpha`);
  [a.params, b.params, masks, merged].forEach(disposeParams);
  fisher.dispose();
  [merge, alphaData.train, alphaData.validation].forEach((s) => s.dispose());
}

async function evalCommand(paths: string[], options: { backend: BackendName; threads?: number; cacheDir: string }): Promise<void> {
  await selectBackend(options.backend, { threads: options.threads });
  const checkpoints: LoadedCheckpoint[] = [];
  for (const path of paths) {
    const checkpoint = await loadCheckpoint(path);
    const first = checkpoints[0];
    if (first) {
      ensureSameArchitecture(first, paths[0]!, checkpoint, path);
      ensureSameData(first.info, paths[0]!, checkpoint.info, path);
    }
    checkpoints.push(checkpoint);
  }
  const first = checkpoints[0]!;
  const splits = await splitsOf(first.info, options.cacheDir);
  const test = new TensorSet(splits.test, splits.inputShape);
  checkpoints.forEach((c, i) => {
    const { accuracy, loss } = evaluateModel(c.spec, c.params, test);
    console.log(`${paths[i]}: test accuracy ${percent(accuracy)}, loss ${loss.toFixed(4)} (${splits.name}, ${test.count} held-out examples)`);
  });
  if (checkpoints.length > 1) {
    const ensemble = evaluateEnsemble(first.spec, checkpoints.map((c) => c.params), test);
    console.log(`logit ensemble: test accuracy ${percent(ensemble.accuracy)}, loss ${ensemble.loss.toFixed(4)}`);
  }
  checkpoints.forEach((c) => disposeParams(c.params));
  test.dispose();
}

const backendOption = ['--backend <name>', 'TensorFlow.js backend: auto, tensorflow-gpu, tensorflow, wasm, cpu', 'auto'] as const;
const cacheOption = ['--cache-dir <dir>', 'dataset cache directory', 'data'] as const;
export const threadsOption = ['--threads <n>', 'wasm compute threads (default: MERGE_TRAIN_THREADS, else one per core)', positiveInteger] as const;

export function registerStages(program: Command): void {
  const train = program
    .command('train')
    .description('train one base model and save it as .safetensors (split by --seed, initialised by --model-seed)')
    .requiredOption('--out <file>', 'checkpoint to write (.safetensors)')
    .option('--model-seed <n>', 'seed of the initialisation and batch order (default: --seed)', nonNegativeInteger)
    .option(...threadsOption);
  addRecipeOptions(train).action((options: Record<string, unknown>) => trainCommand(options));

  program
    .command('align')
    .description('align checkpoint B to checkpoint A on the merge split; writes B\' (same function for permutations)')
    .argument('<a>', 'model A (.safetensors), the reference')
    .argument('<b>', 'model B (.safetensors), the one transformed')
    .requiredOption('--out <file>', 'aligned B\' to write')
    .option('--method <method>', 'none, permutation or cca', choice(['none', 'permutation', 'cca'] as const), 'cca')
    .option('--gamma <g>', 'CCA ridge: S + gamma * I', number, defaults.align.gamma)
    .option(
      '--batch-norm <mode>',
      'BatchNorm under alignment: fold-scale (its scale folded into the convolution, exact) or transform (its vectors mapped like a bias)',
      choice(['fold-scale', 'transform'] as const),
      defaults.align.batchNorm,
    )
    .option(...backendOption)
    .option(...threadsOption)
    .option(...cacheOption)
    .action(alignCommand);

  program
    .command('merge')
    .description('merge A with an aligned B\' by W = alpha * W_A + (1 - alpha) * W_B\'')
    .argument('<a>', 'model A (.safetensors)')
    .argument('<b>', 'model B\', aligned to A (.safetensors)')
    .requiredOption('--out <file>', 'merged model to write')
    .option('--alpha <kind>', 'uniform, fisher or learned', choice(['uniform', 'fisher', 'learned'] as const), 'learned')
    .option('--init <init>', 'initial alpha of learned masks: uniform or fisher', choice(['uniform', 'fisher'] as const), defaults.merge.init)
    .option('--fisher <mode>', 'expected or empirical Fisher information', choice(['expected', 'empirical'] as const), defaults.merge.fisher)
    .option('--steps <n>', 'learned-alpha optimisation steps', positive, defaults.merge.steps)
    .option('--alpha-lr <rate>', 'learned-alpha Adam step size', positive, defaults.merge.learningRate)
    .option('--seed <n>', 'seed of the alpha batches', nonNegativeInteger, defaults.seed)
    .option('--masks-out <file>', 'also write the alpha masks (.safetensors)')
    .option('--reset-examples <n>', 'training examples that recompute BatchNorm statistics after merging', positiveInteger, defaults.merge.resetExamples)
    .option(...backendOption)
    .option(...threadsOption)
    .option(...cacheOption)
    .action(mergeCommand);

  program
    .command('eval')
    .description('test accuracy and loss of checkpoints on their held-out test split (and their logit ensemble)')
    .argument('<checkpoints...>', 'model checkpoints (.safetensors)')
    .option(...backendOption)
    .option(...threadsOption)
    .option(...cacheOption)
    .action(evalCommand);

  program
    .command('report')
    .description('re-render a run\'s summary.md and figures from its metrics.json and masks, without training')
    .argument('<run-dir>', 'run directory, e.g. reports/quickstart')
    .action(async (dir: string) => {
      const written = await writeReport(dir);
      console.log(`wrote ${written.length} files under ${dir}`);
    });
}
