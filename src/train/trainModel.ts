import * as tf from '@tensorflow/tfjs-core';
import type { TensorSet } from '../data/batches.js';
import { evaluateModel } from '../eval/evaluate.js';
import { cloneParams } from '../nn/init.js';
import { countCorrect, crossEntropy } from '../nn/loss.js';
import { trainableParams, type BatchNormLayer, type ModelSpec, type ParamMap } from '../nn/spec.js';
import { InputError } from '../util/errors.js';
import { subSeed } from '../util/random.js';
import { augmentBatch, type AugmentOptions } from './augment.js';
import { MomentumOptimizer } from './momentumOptimizer.js';
import { learningRateAt, type ScheduleKind } from './schedule.js';

/** The optimizers base models train with, by name: SGD with momentum, or Adam. */
const optimizers = {
  sgd: (options: TrainOptions): tf.Optimizer => new MomentumOptimizer(options.learningRate, options.momentum),
  adam: (options: TrainOptions): tf.Optimizer => tf.train.adam(options.learningRate),
} as const;

export type OptimizerKind = keyof typeof optimizers;
export const optimizerKinds = Object.keys(optimizers) as [OptimizerKind, ...OptimizerKind[]];

/** How {@link trainModel} trains: the recipe's `train` section, with the model's seed. */
export interface TrainOptions {
  epochs: number;
  batchSize: number;
  optimizer: OptimizerKind;
  /** Peak learning rate (after warm-up). */
  learningRate: number;
  /** Momentum for SGD; ignored by Adam. */
  momentum: number;
  /** L2 penalty (weight_decay / 2) * ||theta||^2 on every trained parameter, as PyTorch's SGD applies it. */
  weightDecay?: number;
  schedule?: ScheduleKind;
  warmupEpochs?: number;
  /** Data augmentation of image batches; none when absent. */
  augment?: AugmentOptions | null;
  /** Seed for the batch order and augmentation of each epoch. */
  seed: number;
}

/** One finished epoch of training, as a checkpoint's history keeps it. */
export interface EpochRecord {
  epoch: number;
  /** Mean training loss and accuracy over the epoch's batches. */
  loss: number;
  accuracy: number;
  /** Accuracy on the monitoring set (held out from training), when one is given. */
  monitorAccuracy?: number;
  learningRate: number;
  seconds: number;
}

/** Where training is, reported after every step. */
export interface TrainProgress {
  epoch: number;
  step: number;
  stepsPerEpoch: number;
  /** Set once per epoch, when its loss has been read back. */
  finished?: EpochRecord;
}

/** Everything needed to continue training where it stopped: saved after every epoch. */
export interface TrainState {
  /** Epochs finished. */
  epoch: number;
  params: ParamMap;
  /** The optimizer's slots (momentum, Adam moments), by the optimizer's own names. */
  optimizerState: { name: string; tensor: tf.Tensor }[];
  history: EpochRecord[];
}

export interface TrainHooks {
  onProgress?: (progress: TrainProgress) => void;
  /** Called after each epoch with the state to save; the tensors are valid during the call only. */
  onEpochEnd?: (state: TrainState) => void | Promise<void>;
  /** Accuracy on this set is recorded each epoch (monitoring only: it selects nothing). */
  monitor?: TensorSet;
  /** Continue from a saved state instead of `initial`. */
  resume?: TrainState;
}

/** Reads scalar losses back in one transfer. */
function readLosses(losses: tf.Scalar[]): number[] {
  if (losses.length === 0) return [];
  const stacked = tf.stack(losses);
  const values = Array.from(stacked.dataSync());
  stacked.dispose();
  return values;
}

/** Names of parameters holding NaN or infinite values (one read for all of them). */
export function nonFiniteParams(params: ParamMap): string[] {
  const names = Object.keys(params);
  const finite = tf.tidy(() => tf.stack(names.map((n) => tf.cast(tf.all(tf.isFinite(params[n]!)), 'int32'))));
  const flags = finite.dataSync();
  finite.dispose();
  return names.filter((_, i) => !flags[i]);
}

/** Up to five names, comma-separated, and "..." when there are more: for one-line error messages. */
export function namesList(names: string[]): string {
  return `${names.slice(0, 5).join(', ')}${names.length > 5 ? ', ...' : ''}`;
}

/** Steps between yields to the event loop inside an epoch. */
const YIELD_EVERY = 8;

/** PyTorch's BatchNorm momentum: running = 0.9 running + 0.1 batch. */
const BATCH_NORM_MOMENTUM = 0.1;

/**
 * Sets the step size of either optimizer (tfjs's Adam reads its protected learningRate field at every
 * step). Not by instanceof: tfjs's Optimizer answers it for any object with an optimizer's methods.
 */
function setLearningRate(optimizer: tf.Optimizer, rate: number): void {
  if (optimizer.getClassName() === MomentumOptimizer.className) (optimizer as MomentumOptimizer).setLearningRate(rate);
  else (optimizer as unknown as { learningRate: number }).learningRate = rate;
}

/**
 * Trains a model from `initial` parameters (not consumed) by minibatch cross-entropy, with optional
 * weight decay, warm-up and decay of the learning rate, and augmentation. BatchNorm layers train on
 * batch statistics and keep running statistics as PyTorch does. Returns new parameter tensors the
 * caller owns. Loss values are read back once per epoch, so the inner loop never waits for the device.
 */
export async function trainModel(
  spec: ModelSpec,
  initial: ParamMap,
  data: TensorSet,
  options: TrainOptions,
  hooks: TrainHooks = {},
): Promise<{ params: ParamMap; history: EpochRecord[] }> {
  const start = hooks.resume?.params ?? initial;
  const trainable = new Set(trainableParams(spec));
  const variables = Object.fromEntries(
    Object.keys(spec.params).map((name) => [name, tf.variable(start[name]!, trainable.has(name))]),
  ) as Record<string, tf.Variable>;
  const trainedVariables = Object.entries(variables).filter(([name]) => trainable.has(name)).map(([, v]) => v);
  const optimizer = optimizers[options.optimizer](options);
  if (hooks.resume) {
    // setWeights makes its own variables from these and keeps no reference to them.
    const copies = hooks.resume.optimizerState.map(({ name, tensor }) => ({ name, tensor: tf.clone(tensor) }));
    await optimizer.setWeights(copies);
    tf.dispose(copies.map((c) => c.tensor));
  }
  const stepsPerEpoch = Math.ceil(data.count / options.batchSize);
  const totalSteps = stepsPerEpoch * options.epochs;
  const history: EpochRecord[] = [...(hooks.resume?.history ?? [])];
  const schedule = { learningRate: options.learningRate, schedule: options.schedule ?? 'constant', warmupEpochs: options.warmupEpochs ?? 0 };
  try {
    for (let epoch = (hooks.resume?.epoch ?? 0) + 1; epoch <= options.epochs; epoch++) {
      const started = performance.now();
      // Each step's mean loss stays on the backend until the epoch ends: one read then, none per step.
      const stepLosses: { loss: tf.Scalar; count: number }[] = [];
      let correct = tf.scalar(0);
      let step = 0;
      let rate = options.learningRate;
      try {
        for (const batch of data.batches(options.batchSize, subSeed(options.seed, `epoch/${epoch}`))) {
          rate = learningRateAt((epoch - 1) * stepsPerEpoch + step, totalSteps, stepsPerEpoch, schedule);
          setLearningRate(optimizer, rate);
          const x = options.augment ? augmentBatch(batch.x as tf.Tensor4D, options.augment, subSeed(options.seed, `augment/${epoch}/${step}`)) : batch.x;
          const count = batch.y.shape[0];
          let batchCorrect: tf.Scalar | undefined;
          const batchStats: { layer: BatchNormLayer; mean: tf.Tensor; variance: tf.Tensor }[] = [];
          const [loss, nextCorrect] = tf.tidy(() => {
            const loss = optimizer.minimize(
              () => {
                const logits = spec.forward(variables, x, {
                  training: true,
                  batchStats: (layer, mean, variance) => batchStats.push({ layer, mean: tf.keep(mean), variance: tf.keep(variance) }),
                });
                // The forward pass runs in a tidy of its own: keep the count past it.
                batchCorrect = tf.keep(countCorrect(logits, batch.y));
                const dataLoss = crossEntropy(logits, batch.y);
                if (!options.weightDecay) return dataLoss;
                const squares = tf.addN(trainedVariables.map((v) => tf.sum(tf.square(v))));
                return tf.add(dataLoss, tf.mul(squares, options.weightDecay / 2)) as tf.Scalar;
              },
              true,
              trainedVariables,
            )!;
            for (const { layer, mean, variance } of batchStats) {
              for (const [name, value] of [[layer.runningMean, mean], [layer.runningVar, variance]] as const) {
                const running = variables[name]!;
                running.assign(tf.add(tf.mul(running, 1 - BATCH_NORM_MOMENTUM), tf.mul(value, BATCH_NORM_MOMENTUM)));
              }
            }
            return [loss, tf.add(correct, batchCorrect!)];
          });
          tf.dispose([batchCorrect!, ...batchStats.flatMap((s) => [s.mean, s.variance])]);
          correct.dispose();
          correct = nextCorrect;
          stepLosses.push({ loss, count });
          if (x !== batch.x) x.dispose();
          tf.dispose([batch.x, batch.y]);
          hooks.onProgress?.({ epoch, step: ++step, stepsPerEpoch });
          // Let the event loop run now and then: progress messages leave a worker process, and a
          // worker whose parent has gone notices it (the backend itself never waits).
          if (step % YIELD_EVERY === 0) await new Promise((resolve) => setImmediate(resolve));
        }
      } catch (error) {
        // Interrupted mid-epoch: the losses held for the epoch's one read are freed here.
        tf.dispose([...stepLosses.map((s) => s.loss), correct]);
        throw error;
      }
      const losses = readLosses(stepLosses.map((s) => s.loss));
      const firstBad = losses.findIndex((l) => !Number.isFinite(l));
      const record: EpochRecord = {
        epoch,
        loss: losses.reduce((sum, l, i) => sum + l * stepLosses[i]!.count, 0) / data.count,
        accuracy: correct.dataSync()[0]! / data.count,
        learningRate: rate,
        seconds: (performance.now() - started) / 1000,
      };
      tf.dispose([...stepLosses.map((s) => s.loss), correct]);
      if (firstBad >= 0) {
        const broken = nonFiniteParams(variables);
        throw new InputError(
          `training diverged in epoch ${epoch} at step ${firstBad + 1} of ${stepsPerEpoch} (loss ${losses[firstBad]}); ` +
            `${broken.length ? `non-finite parameters after the epoch: ${namesList(broken)}` : 'parameters still finite'}; ` +
            `the state after epoch ${epoch - 1} is the last good one; lower the learning rate`,
        );
      }
      if (hooks.monitor) record.monitorAccuracy = evaluateModel(spec, variables, hooks.monitor).accuracy;
      history.push(record);
      hooks.onProgress?.({ epoch, step, stepsPerEpoch, finished: record });
      if (hooks.onEpochEnd) {
        const optimizerState = await optimizer.getWeights();
        await hooks.onEpochEnd({ epoch, params: variables, optimizerState, history });
        // getWeights returns the slot variables themselves plus a fresh iteration-count scalar.
        tf.dispose(optimizerState.map((s) => s.tensor).filter((t) => !(t instanceof tf.Variable)));
      }
    }
    return { params: cloneParams(variables), history };
  } finally {
    optimizer.dispose();
    tf.dispose(Object.values(variables));
  }
}

/** Frees a training state's tensors (one passed as `resume` stays the caller's). */
export function disposeTrainState(state: TrainState): void {
  tf.dispose([...Object.values(state.params), ...state.optimizerState.map((slot) => slot.tensor)]);
}
