import { batchNormModes } from '../align/batchNormModes.js';
import { allKinds, ensureKind, loadCheckpoint, modelKinds, type CheckpointKind, type DataInfo, type LoadedCheckpoint } from '../artifacts/checkpoint.js';
import { TensorSet } from '../data/batches.js';
import type { DatasetSplits } from '../data/dataset.js';
import { loadSplits, splitOff } from '../data/split.js';
import { fisherCache, type FisherCache, type FisherMode } from '../merge/fisher.js';
import { disposeParams } from '../nn/init.js';
import type { ModelSpec, ParamMap } from '../nn/spec.js';
import { settingsKey } from '../util/hash.js';
import { silentObserver, type RunObserver } from '../util/observer.js';

/** A data split loaded once: its examples, and tensor sets made from them on first use. */
export interface LoadedData {
  splits: DatasetSplits;
  /** The training split on the backend (base-model training). */
  train(): TensorSet;
  /** The merge split on the backend (alignment statistics, Fisher information). */
  merge(): TensorSet;
  /** The test split on the backend (evaluation only). */
  test(): TensorSet;
  /** The first `count` training examples on the backend (BatchNorm statistics of a merged model). */
  trainHead(count: number): TensorSet;
}

/** What a stage produced: its (main) output file and key, and whether it made it now. */
export interface StageOutcome {
  path: string;
  key: string;
  /** False when a file of the same key was there already, so the stage skipped itself. */
  made: boolean;
}

/** A model in the form a BatchNorm mode aligns and merges. */
export interface PreparedModel {
  spec: ModelSpec;
  params: ParamMap;
}

/**
 * What the stages of one invocation share: the observer, stage timings, and caches of what is
 * expensive to make twice (data splits, loaded checkpoints, prepared models, Fisher information).
 * The context owns every cached tensor until `release` or `dispose`.
 */
export class StageContext {
  /** Seconds of work per stage, added up over the invocation. */
  readonly timings: Record<string, number> = {};
  private readonly dataByKey = new Map<string, Promise<LoadedData>>();
  private readonly ownedSets: TensorSet[] = [];
  private readonly checkpoints = new Map<string, Promise<LoadedCheckpoint>>();
  private readonly preparedModels = new Map<string, Promise<PreparedModel>>();
  private readonly fisher = new Map<LoadedData, FisherCache>();

  constructor(
    readonly observer: RunObserver = silentObserver,
    /** Where datasets cache their decoded files. */
    readonly cacheDir = 'data',
  ) {}

  /** Runs synchronous `work`, adding the seconds it takes to `timings[stage]`. */
  time<T>(stage: string, work: () => T): T {
    const started = performance.now();
    try {
      return work();
    } finally {
      this.timings[stage] = (this.timings[stage] ?? 0) + (performance.now() - started) / 1000;
    }
  }

  /** Runs `work`, adding the seconds it takes to `timings[stage]`. */
  async timed<T>(stage: string, work: () => T | Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await work();
    } finally {
      this.timings[stage] = (this.timings[stage] ?? 0) + (performance.now() - started) / 1000;
    }
  }

  /** The splits of `data`, loaded once. */
  data(data: DataInfo): Promise<LoadedData> {
    const key = settingsKey(data);
    let loaded = this.dataByKey.get(key);
    if (!loaded) {
      loaded = this.timed('data', () => loadSplits(data.dataset, { sizes: data.split, seed: data.splitSeed, cacheDir: this.cacheDir })).then(
        (splits) => this.withSets(splits),
      );
      this.dataByKey.set(key, loaded);
    }
    return loaded;
  }

  private withSets(splits: DatasetSplits): LoadedData {
    const made = new Map<string, TensorSet>();
    const once = (name: string, make: () => TensorSet) => {
      let set = made.get(name);
      if (!set) {
        set = make();
        made.set(name, set);
        this.ownedSets.push(set);
      }
      return set;
    };
    return {
      splits,
      train: () => once('train', () => new TensorSet(splits.train, splits.inputShape)),
      merge: () => once('merge', () => new TensorSet(splits.merge, splits.inputShape)),
      test: () => once('test', () => new TensorSet(splits.test, splits.inputShape)),
      trainHead: (count) => once(`train/${count}`, () => new TensorSet(splitOff(splits.train, Math.min(count, splits.train.count))[0], splits.inputShape)),
    };
  }

  /** The checkpoint at `path`, loaded once (refused unless of one of `kinds`). */
  async checkpoint(path: string, kinds: readonly CheckpointKind[] = modelKinds): Promise<LoadedCheckpoint> {
    let loaded = this.checkpoints.get(path);
    if (!loaded) {
      loaded = loadCheckpoint(path, allKinds);
      this.checkpoints.set(path, loaded);
      // A failed load is not cached: the file may be fixed and read again.
      loaded.catch(() => this.checkpoints.delete(path));
    }
    const checkpoint = await loaded;
    ensureKind(checkpoint.info, path, kinds);
    return checkpoint;
  }

  /** The model at `path` in the form of BatchNorm mode `mode`, prepared once. */
  prepared(path: string, mode: string): Promise<PreparedModel> {
    const key = `${mode}\u0000${path}`;
    let prepared = this.preparedModels.get(key);
    if (!prepared) {
      prepared = this.checkpoint(path).then(({ spec, params }) => batchNormModes.get(mode).prepare(spec, params));
      this.preparedModels.set(key, prepared);
      prepared.catch(() => this.preparedModels.delete(key));
    }
    return prepared;
  }

  /**
   * Diagonal Fisher information of `params` on the first `examples` of the merge split of `data` (all
   * when undefined), computed once per model, mode and count (its time counts in the stage that first
   * asks for it).
   */
  fisherOf(data: LoadedData, spec: ModelSpec, params: ParamMap, mode: FisherMode, examples?: number): ParamMap {
    let cache = this.fisher.get(data);
    if (!cache) {
      cache = fisherCache(data.merge());
      this.fisher.set(data, cache);
    }
    return cache.fisherOf(spec, params, mode, examples);
  }

  /** Frees what was loaded or prepared from `path`, and the Fisher information of those (the run is done with it). */
  async release(path: string): Promise<void> {
    const freed: ParamMap[] = [];
    for (const [key, prepared] of this.preparedModels) {
      if (!key.endsWith(`\u0000${path}`)) continue;
      this.preparedModels.delete(key);
      freed.push((await prepared).params);
    }
    const loaded = this.checkpoints.get(path);
    this.checkpoints.delete(path);
    if (loaded) freed.push((await loaded).params);
    for (const params of freed) {
      this.fisher.forEach((cache) => cache.forget(params));
      disposeParams(params);
    }
  }

  /** Frees every loaded model and what was computed from them; the data stays. */
  async releaseModels(): Promise<void> {
    const paths = new Set([...this.checkpoints.keys(), ...[...this.preparedModels.keys()].map((key) => key.slice(key.indexOf('\u0000') + 1))]);
    for (const path of paths) await this.release(path);
  }

  /** Frees every cached tensor. */
  async dispose(): Promise<void> {
    const prepared = await Promise.allSettled(this.preparedModels.values());
    const checkpoints = await Promise.allSettled(this.checkpoints.values());
    for (const result of [...prepared, ...checkpoints]) if (result.status === 'fulfilled') disposeParams(result.value.params);
    this.preparedModels.clear();
    this.checkpoints.clear();
    this.fisher.forEach((cache) => cache.dispose());
    this.fisher.clear();
    this.ownedSets.forEach((set) => set.dispose());
    this.ownedSets.length = 0;
    this.dataByKey.clear();
  }
}
