import * as tf from '@tensorflow/tfjs-core';
import type { TensorSet } from '../data/batches.js';
import { countCorrect, crossEntropy } from '../nn/loss.js';
import type { ModelSpec, ParamMap } from '../nn/spec.js';
import { subSeed } from '../util/random.js';

export interface TrainOptions {
  epochs: number;
  batchSize: number;
  optimizer: 'sgd' | 'adam';
  learningRate: number;
  /** Momentum for SGD; ignored by Adam. */
  momentum: number;
  /** Seed for the batch order of each epoch. */
  seed: number;
}

export interface EpochRecord {
  epoch: number;
  /** Mean training loss and accuracy over the epoch's batches. */
  loss: number;
  accuracy: number;
  seconds: number;
}

export interface TrainProgress {
  epoch: number;
  step: number;
  stepsPerEpoch: number;
  /** Set once per epoch, when its loss has been read back. */
  finished?: EpochRecord;
}

function makeOptimizer(options: TrainOptions): tf.Optimizer {
  return options.optimizer === 'adam'
    ? tf.train.adam(options.learningRate)
    : tf.train.momentum(options.learningRate, options.momentum);
}

/**
 * Trains a model from `initial` parameters (not consumed) by minibatch cross-entropy.
 * Returns new parameter tensors the caller owns. Loss values are read back once per epoch, so the
 * inner loop never waits for the device.
 */
export function trainModel(
  spec: ModelSpec,
  initial: ParamMap,
  data: TensorSet,
  options: TrainOptions,
  onProgress?: (progress: TrainProgress) => void,
): { params: ParamMap; history: EpochRecord[] } {
  const variables = Object.fromEntries(
    Object.entries(initial).map(([name, value]) => [name, tf.variable(value, true, undefined)]),
  ) as Record<string, tf.Variable>;
  const optimizer = makeOptimizer(options);
  const stepsPerEpoch = Math.ceil(data.count / options.batchSize);
  const history: EpochRecord[] = [];
  try {
    for (let epoch = 1; epoch <= options.epochs; epoch++) {
      const started = performance.now();
      let lossSum = tf.scalar(0);
      let correct = tf.scalar(0);
      let step = 0;
      for (const batch of data.batches(options.batchSize, subSeed(options.seed, `epoch/${epoch}`))) {
        const count = batch.y.shape[0];
        let batchCorrect: tf.Scalar | undefined;
        const [nextLoss, nextCorrect] = tf.tidy(() => {
          const loss = optimizer.minimize(() => {
            const logits = spec.forward(variables, batch.x);
            // The forward pass runs in a tidy of its own: keep the count past it.
            batchCorrect = tf.keep(countCorrect(logits, batch.y));
            return crossEntropy(logits, batch.y);
          }, true)!;
          return [tf.add(lossSum, tf.mul(loss, count)), tf.add(correct, batchCorrect!)];
        });
        batchCorrect?.dispose();
        lossSum.dispose();
        correct.dispose();
        [lossSum, correct] = [nextLoss, nextCorrect];
        tf.dispose([batch.x, batch.y]);
        onProgress?.({ epoch, step: ++step, stepsPerEpoch });
      }
      const record: EpochRecord = {
        epoch,
        loss: lossSum.dataSync()[0]! / data.count,
        accuracy: correct.dataSync()[0]! / data.count,
        seconds: (performance.now() - started) / 1000,
      };
      tf.dispose([lossSum, correct]);
      if (!Number.isFinite(record.loss)) {
        throw new Error(`training diverged in epoch ${epoch} (loss ${record.loss}); lower the learning rate`);
      }
      history.push(record);
      onProgress?.({ epoch, step, stepsPerEpoch, finished: record });
    }
    const params: ParamMap = {};
    for (const [name, variable] of Object.entries(variables)) params[name] = tf.clone(variable);
    return { params, history };
  } finally {
    optimizer.dispose();
    // tfjs 4.22's MomentumOptimizer.dispose() skips its parent's, leaking the learning-rate scalar.
    if (options.optimizer === 'sgd') tf.SGDOptimizer.prototype.dispose.call(optimizer);
    tf.dispose(Object.values(variables));
  }
}
