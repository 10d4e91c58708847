import { saveCheckpoint, type CheckpointInfo } from '../artifacts/checkpoint.js';
import { families } from '../nn/families.js';
import { disposeParams, initParams } from '../nn/init.js';
import type { ParamMap } from '../nn/spec.js';
import type { TrainSettings } from '../recipe/methodSettings.js';
import { disposeTrainState, trainModel, type EpochRecord, type TrainState } from '../train/trainModel.js';
import { settingsKey } from '../util/hash.js';
import { subSeed } from '../util/random.js';
import type { ResumeState } from '../util/resumable.js';
import type { StageContext, StageOutcome } from './context.js';
import { holdsArtifact } from './outputs.js';
import { resumeFile } from './resumeFile.js';

/**
 * Base model `index` of a run: its initialisation and batch order come from a seed hashed from the
 * run's seed and the index, so the models of neighbouring run seeds share nothing.
 */
export function baseModelSeed(runSeed: number, index: number): number {
  return subSeed(runSeed, `base-model/${index}`);
}

/** How messages and reports name base model `index`: model A, model B, ..., model Z, then model 27, model 28, ... */
export function baseModelName(index: number): string {
  return index < 26 ? `model ${String.fromCharCode(65 + index)}` : `model ${index + 1}`;
}

/** The key of base model `index` trained with `settings`. */
export function baseModelKey(settings: TrainSettings, index: number): string {
  const { dataset, splitSeed, split } = settings.data;
  return settingsKey({ kind: 'base', data: { dataset, splitSeed, split }, model: settings.model, train: settings.train, seed: baseModelSeed(splitSeed, index) });
}

/** Training in progress as a resumable state, and back. */
function toResumeState(state: TrainState): ResumeState {
  const optimizer = Object.fromEntries(state.optimizerState.map(({ tensor }, i) => [String(i), tensor]));
  return { groups: { params: state.params, optimizer }, record: { epoch: state.epoch, history: state.history, slots: state.optimizerState.map((s) => s.name) } };
}

function fromResumeState({ groups, record }: ResumeState): TrainState {
  const saved = record as { epoch: number; history: EpochRecord[]; slots: string[] };
  const optimizer = groups.optimizer ?? {};
  return {
    epoch: saved.epoch,
    params: groups.params ?? {},
    optimizerState: saved.slots.map((name, i) => ({ name, tensor: optimizer[String(i)]! })),
    history: saved.history,
  };
}

/** An epoch's record without its wall-clock time: checkpoints hold nothing that differs between equal runs. */
const withoutTime = ({ seconds: _seconds, ...record }: EpochRecord) => record;

/**
 * The train stage: base model `index` for `settings`, written to `out`. Skipped (`made` false) when
 * `out` already holds that model (same key); otherwise trained, continuing from the state saved beside `out` after
 * the last finished epoch, if there is one. The merge split is held out and monitored every epoch.
 */
export async function trainStage(settings: TrainSettings, index: number, out: string, ctx: StageContext): Promise<StageOutcome> {
  const key = baseModelKey(settings, index);
  if (await holdsArtifact(out, key, ctx.observer)) return { path: out, key, made: false };
  const family = families.get(settings.model.family);
  const data = await ctx.data(settings.data);
  const spec = family.build(settings.model.config, data.splits.inputShape, data.splits.numClasses);
  const seed = baseModelSeed(settings.data.splitSeed, index);
  const initial = initParams(spec, seed);
  const state = resumeFile(out, key, baseModelName(index), ctx.observer);
  const saved = await state.load();
  const resume = saved && fromResumeState(saved);
  const { train, monitor } = await ctx.timed('data', () => ({ train: data.train(), monitor: data.merge() }));
  const bar = ctx.observer.bar(`train ${baseModelName(index)}`, settings.train.epochs * Math.ceil(train.count / settings.train.batchSize));
  let params: ParamMap | undefined;
  try {
    const trained = await ctx.timed('train', () =>
      trainModel(spec, initial, train, { ...settings.train, seed }, {
        ...(resume ? { resume } : {}),
        monitor,
        onProgress: (p) => {
          const detail = p.finished ? `epoch ${p.epoch}: loss ${p.finished.loss.toFixed(3)}, held-out ${(100 * (p.finished.monitorAccuracy ?? 0)).toFixed(1)}%` : undefined;
          bar.update((p.epoch - 1) * p.stepsPerEpoch + p.step, detail);
        },
        onEpochEnd: (epochState) => state.save(toResumeState(epochState)),
      }),
    );
    params = trained.params;
    const info: CheckpointInfo = { kind: 'base', ...settings.data, key, seed, history: trained.history.map(withoutTime) };
    await saveCheckpoint(out, spec, params, info);
    await state.remove();
    return { path: out, key, made: true };
  } finally {
    bar.stop();
    disposeParams(initial);
    if (params) disposeParams(params);
    if (resume) disposeTrainState(resume);
  }
}
