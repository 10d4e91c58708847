import { fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { TensorSet } from '../data/batches.js';
import type { DatasetSplits } from '../data/dataset.js';
import { loadSplits, splitSizesOf } from '../data/split.js';
import { loadCheckpoint, saveCheckpoint, type CheckpointInfo } from '../io/checkpoint.js';
import { families, parseFamilyConfig } from '../nn/families.js';
import { disposeParams, initParams } from '../nn/init.js';
import type { ModelSpec, ParamMap } from '../nn/spec.js';
import { trainModel } from '../train/trainModel.js';
import { disposeTrainState, loadTrainState, removeTrainState, saveTrainState } from '../train/trainState.js';
import { InputError } from '../util/errors.js';
import type { RunObserver } from './observer.js';
import { observerReplayer, type ObserverMessage } from './observerRelay.js';
import { configHash, type RunPaths } from './runDirectory.js';
import type { Recipe } from './schema.js';

/** The data fields every checkpoint of a run records. */
export type DataInfo = Pick<CheckpointInfo, 'dataset' | 'splitSeed' | 'split'>;

/** A recipe's data splits and (BatchNorm-unfolded) model spec. */
export interface RunData {
  splits: DatasetSplits;
  spec: ModelSpec;
  dataInfo: DataInfo;
}

/** Loads the recipe's splits and builds its model spec; `source` names the recipe in errors. */
export async function loadRunData(recipe: Recipe, source: string): Promise<RunData> {
  const family = families.get(recipe.model.family);
  const modelConfig = parseFamilyConfig(family, recipe.model.config, `${source}: model.config`);
  const splits = await loadSplits(recipe.data.dataset, { sizes: recipe.data.split, seed: recipe.seed, cacheDir: recipe.data.cacheDir });
  const spec = family.build(modelConfig, splits.inputShape, splits.numClasses);
  return { splits, spec, dataInfo: { dataset: splits.name, splitSeed: recipe.seed, split: splitSizesOf(splits) } };
}

/** The hash of every setting base model `index` depends on: a checkpoint with another hash is stale. */
function baseModelHash(recipe: Recipe, index: number): string {
  return configHash({ data: recipe.data, model: recipe.model, train: recipe.train, seed: recipe.seed + index, splitSeed: recipe.seed });
}

/** Base model `index` from its checkpoint, when one made from the same settings exists. */
async function reuseBaseModel(recipe: Recipe, index: number, paths: RunPaths, observer: RunObserver): Promise<ParamMap | undefined> {
  const path = paths.model(index);
  if (!existsSync(path)) return undefined;
  const cached = await loadCheckpoint(path);
  if (cached.info.configHash === baseModelHash(recipe, index)) {
    observer.log(`model ${index}: reusing ${path}`);
    return cached.params;
  }
  disposeParams(cached.params);
  return undefined;
}

/**
 * Trains base model `index` in this process, resuming from its last saved epoch when there is one,
 * and saves its checkpoint. `monitor` is held out from training; its accuracy is logged each epoch.
 */
export async function trainBaseModel(
  recipe: Recipe,
  spec: ModelSpec,
  index: number,
  data: { train: TensorSet; monitor: TensorSet; dataInfo: DataInfo },
  paths: RunPaths,
  observer: RunObserver,
): Promise<ParamMap> {
  const seed = recipe.seed + index;
  const hash = baseModelHash(recipe, index);
  const initial = initParams(spec, seed);
  const statePath = paths.trainState(index);
  const resume = await loadTrainState(statePath, hash);
  if (resume) observer.log(`model ${index}: resuming after epoch ${resume.epoch} from ${statePath}`);
  const bar = observer.bar(`train model ${index}`, recipe.train.epochs * Math.ceil(data.train.count / recipe.train.batchSize));
  try {
    const { params, history } = await trainModel(spec, initial, data.train, { ...recipe.train, seed }, {
      resume,
      monitor: data.monitor,
      onProgress: (p) => {
        const detail = p.finished ? `epoch ${p.epoch}: loss ${p.finished.loss.toFixed(3)}, held-out ${(100 * (p.finished.monitorAccuracy ?? 0)).toFixed(1)}%` : undefined;
        bar.update((p.epoch - 1) * p.stepsPerEpoch + p.step, detail);
      },
      onEpochEnd: (state) => saveTrainState(statePath, state, hash),
    });
    const info: CheckpointInfo = { kind: 'base', ...data.dataInfo, seed, configHash: hash, details: { history } };
    await saveCheckpoint(paths.model(index), spec, params, info);
    await removeTrainState(statePath);
    return params;
  } finally {
    bar.stop();
    disposeParams(initial);
    if (resume) disposeTrainState(resume);
  }
}

export interface BaseModelOptions {
  /** Worker processes that train models at the same time; 1 trains them here, one after another. */
  jobs: number;
  /** Compute threads for the whole run; each worker gets its share. */
  threads: number;
  /** Where the recipe came from, for error messages. */
  source: string;
}

/**
 * The recipe's base models (and the indices of those trained now): reused from checkpoints made from
 * the same settings, the rest trained, in up to `jobs` worker processes at once (each with its own
 * backend and `threads / jobs` threads). Training in a worker gives the same weights as training
 * here: same code, same seeds.
 */
export async function baseModels(
  recipe: Recipe,
  spec: ModelSpec,
  data: { train: TensorSet; monitor: TensorSet; dataInfo: DataInfo },
  paths: RunPaths,
  observer: RunObserver,
  options: BaseModelOptions,
): Promise<{ models: ParamMap[]; trained: number[] }> {
  const models: (ParamMap | undefined)[] = [];
  try {
    for (let i = 0; i < recipe.train.models; i++) models.push(await reuseBaseModel(recipe, i, paths, observer));
    const missing = models.flatMap((m, i) => (m ? [] : [i]));
    const jobs = Math.min(options.jobs, missing.length);
    if (jobs <= 1) {
      for (const i of missing) models[i] = await trainBaseModel(recipe, spec, i, data, paths, observer);
    } else {
      const threads = Math.max(1, Math.floor(options.threads / jobs));
      const queue = [...missing];
      const workers: ReturnType<typeof startTrainWorker>[] = [];
      let failure: unknown; // the first error; the lanes stopped because of it fail after it
      // One worker process per lane, trained model after model: it starts and loads the data once.
      const lane = async (): Promise<void> => {
        const worker = startTrainWorker(threads, observer);
        workers.push(worker);
        try {
          for (let i = queue.shift(); i !== undefined; i = queue.shift()) {
            await worker.train({ recipe, index: i, dir: paths.dir, threads, source: options.source });
          }
        } catch (error) {
          // One model failed: stop the others now rather than after their current model.
          failure ??= error;
          queue.length = 0;
          workers.filter((w) => w !== worker).forEach((w) => w.kill());
        } finally {
          worker.stop();
        }
      };
      await Promise.all(Array.from({ length: jobs }, lane));
      if (failure !== undefined) throw failure;
      for (const i of missing) models[i] = (await loadCheckpoint(paths.model(i))).params;
    }
    return { models: models as ParamMap[], trained: missing };
  } catch (error) {
    models.forEach((m) => m && disposeParams(m));
    throw error;
  }
}

/** What the parent sends a training worker. */
export interface TrainJob {
  recipe: Recipe;
  index: number;
  /** The run directory. */
  dir: string;
  threads: number;
  source: string;
}

/** What a training worker sends back: observer calls, then one outcome. */
export type WorkerMessage =
  | { kind: 'observer'; message: ObserverMessage }
  | { kind: 'done' }
  | { kind: 'failed'; message: string; stack?: string; inputError: boolean };

/** The worker's entry file: the .ts source under tsx or vitest, the compiled .js otherwise. */
function workerEntry(): { file: string; execArgv: string[] } {
  const here = fileURLToPath(import.meta.url);
  const fromSource = here.endsWith('.ts');
  const file = here.replace(/baseModels\.(ts|js)$/, `trainWorker.${fromSource ? 'ts' : 'js'}`);
  const loadsTypeScript = process.execArgv.some((arg) => arg.includes('tsx'));
  return { file, execArgv: fromSource && !loadsTypeScript ? [...process.execArgv, '--import', 'tsx'] : process.execArgv };
}

/** A training worker process: `train` runs one job and rejects with the worker's error; `stop` lets it exit. */
function startTrainWorker(threads: number, observer: RunObserver): { train(job: TrainJob): Promise<void>; stop(): void; kill(): void } {
  const { file, execArgv } = workerEntry();
  const replay = observerReplayer(observer);
  const child = fork(file, [], { execArgv, env: { ...process.env, MERGE_TRAIN_THREADS: String(threads) }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let pending: { index: number; resolve: () => void; reject: (error: Error) => void } | undefined;
  const fail = (error: Error) => {
    pending?.reject(error);
    pending = undefined;
  };
  child.on('message', (message: WorkerMessage) => {
    if (message.kind === 'observer') return replay(message.message);
    if (message.kind === 'done') pending?.resolve();
    else {
      const error = message.inputError ? new InputError(message.message) : new Error(message.message);
      if (message.stack) error.stack = message.stack;
      pending?.reject(error);
    }
    pending = undefined;
  });
  child.on('error', fail);
  child.on('exit', (code, signal) => {
    if (pending) fail(new Error(`training worker for model ${pending.index} exited (${signal ?? `code ${code}`}) before finishing`));
  });
  return {
    train: (job) =>
      new Promise((resolve, reject) => {
        pending = { index: job.index, resolve, reject };
        child.send(job);
      }),
    stop: () => {
      if (child.connected) child.disconnect();
    },
    kill: () => {
      child.kill();
    },
  };
}
