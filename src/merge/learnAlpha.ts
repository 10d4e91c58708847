import * as tf from '@tensorflow/tfjs-core';
import type { TensorSet } from '../data/batches.js';
import { evaluateLogits } from '../eval/evaluate.js';
import type { CurvePoint } from '../eval/metrics.js';
import { countCorrect, crossEntropy } from '../nn/loss.js';
import { hasBatchNorm } from '../nn/resetBatchNorm.js';
import { trainableParams, type ModelSpec, type ParamMap } from '../nn/spec.js';
import { nonFiniteParams } from '../train/trainModel.js';
import { InputError } from '../util/errors.js';
import { subSeed } from '../util/random.js';
import type { AlphaMasks } from './mergeParams.js';

export interface LearnAlphaOptions {
  steps: number;
  batchSize: number;
  learningRate: number;
  seed: number;
  /** Validation loss is measured every this many steps (and at the start and the end). */
  evalEvery?: number;
  /** Initial masks are clipped into [clip, 1 - clip] so their logits are finite. */
  clip?: number;
}

export interface LearnAlphaProgress {
  step: number;
  steps: number;
}

export interface LearnedAlpha {
  /** The masks of the step with the lowest validation loss (the caller owns them). */
  masks: AlphaMasks;
  /** Loss and accuracy of each training batch. */
  curve: CurvePoint[];
  /** Validation loss and accuracy at step 0 (the init), every `evalEvery` steps and at the end. */
  validation: CurvePoint[];
  bestStep: number;
  /** Set when the loss became NaN or infinite: training stopped there and kept the best masks so far. */
  diverged?: { step: number; message: string };
}

/**
 * The merged parameters W_B' + alpha * (W_A - W_B') for alpha = sigmoid(logits); parameters without
 * a logit (BatchNorm statistics) keep the fixed merge in `frozen`.
 */
function mergedFromLogits(paramsB: ParamMap, differences: ParamMap, logits: Record<string, tf.Tensor>, frozen: ParamMap): ParamMap {
  const merged: ParamMap = { ...frozen };
  for (const [n, logit] of Object.entries(logits)) merged[n] = tf.add(paramsB[n]!, tf.mul(tf.sigmoid(logit), differences[n]!));
  return merged;
}

/**
 * Learns one merge weight per parameter entry, alpha = sigmoid(logit), by Adam on the merged model's
 * cross-entropy over `train` (part of the merge split). A mask per entry has as many free values as
 * the network, so it can overfit a small merge split: the masks kept are those of the step with the
 * lowest loss on `validation` (the rest of the merge split), the initial masks included, i.e. early
 * stopping. The test split is never seen.
 *
 * Only trained parameters get a learned mask. In a network with BatchNorm the merged model runs in
 * training mode (batch statistics), since its running statistics are recomputed after merging anyway
 * (resetBatchNormStats); the statistics' masks stay at their initial values.
 */
export function learnAlphaMasks(
  spec: ModelSpec,
  paramsA: ParamMap,
  paramsB: ParamMap,
  initial: AlphaMasks,
  train: TensorSet,
  validation: TensorSet,
  options: LearnAlphaOptions,
  onProgress?: (progress: LearnAlphaProgress) => void,
): LearnedAlpha {
  const clip = options.clip ?? 1e-3;
  const evalEvery = options.evalEvery ?? 25;
  const names = trainableParams(spec);
  const training = hasBatchNorm(spec);
  const differences = tf.tidy(() => Object.fromEntries(names.map((n) => [n, tf.sub(paramsA[n]!, paramsB[n]!)]))) as ParamMap;
  const fixedNames = Object.keys(paramsA).filter((n) => !names.includes(n));
  const frozen = tf.tidy(() =>
    Object.fromEntries(fixedNames.map((n) => [n, tf.add(paramsB[n]!, tf.mul(initial[n]!, tf.sub(paramsA[n]!, paramsB[n]!)))])),
  ) as ParamMap;
  const logits = Object.fromEntries(
    names.map((n) => {
      const start = tf.tidy(() => {
        const p = tf.clipByValue(initial[n]!, clip, 1 - clip);
        return tf.log(tf.div(p, tf.sub(1, p)));
      });
      const variable = tf.variable(start, true);
      start.dispose();
      return [n, variable];
    }),
  ) as Record<string, tf.Variable>;
  const optimizer = tf.train.adam(options.learningRate);
  const recorded: { loss: tf.Scalar; correct: tf.Scalar; count: number }[] = [];
  const validationCurve: CurvePoint[] = [];
  let best: { step: number; loss: number; masks: AlphaMasks } | undefined;
  let diverged: LearnedAlpha['diverged'];
  /** Validates the current masks; false (and `diverged` set) when the loss is no longer finite. */
  const validate = (step: number): boolean => {
    const { loss, accuracy } = evaluateLogits(
      (x) => tf.tidy(() => spec.forward(mergedFromLogits(paramsB, differences, logits, frozen), x, { training })),
      validation,
    );
    if (!Number.isFinite(loss)) {
      // Only now are the step losses read: which step went bad first, and which masks broke.
      const losses = recorded.map((r) => r.loss.dataSync()[0]!);
      const first = losses.findIndex((l) => !Number.isFinite(l));
      const badStep = first >= 0 ? first + 1 : step;
      const broken = nonFiniteParams(logits);
      diverged = {
        step: badStep,
        message:
          `alpha training diverged at step ${badStep} (loss ${first >= 0 ? losses[first] : loss})` +
          `${broken.length ? `; non-finite alpha logits: ${broken.slice(0, 5).join(', ')}${broken.length > 5 ? ', ...' : ''}` : ''}` +
          `; kept the masks of step ${best?.step ?? 0}; lower merge.learningRate`,
      };
      return false;
    }
    validationCurve.push({ step, loss, accuracy });
    if (!best || loss < best.loss) {
      if (best) tf.dispose(Object.values(best.masks));
      best = {
        step,
        loss,
        masks: tf.tidy(() => ({
          ...Object.fromEntries(names.map((n) => [n, tf.sigmoid(logits[n]!)])),
          ...Object.fromEntries(fixedNames.map((n) => [n, tf.clone(initial[n]!)])),
        })) as AlphaMasks,
      };
    }
    return true;
  };
  try {
    if (!validate(0)) throw new InputError('alpha training: the merged model of the initial masks gives a non-finite validation loss; check both models for NaN or infinite weights');
    let step = 0;
    training: while (step < options.steps) {
      for (const batch of train.batches(options.batchSize, subSeed(options.seed, `alpha-epoch/${step}`))) {
        let correct: tf.Scalar | undefined;
        const loss = optimizer.minimize(() => {
          const out = spec.forward(mergedFromLogits(paramsB, differences, logits, frozen), batch.x, { training });
          correct = tf.keep(countCorrect(out, batch.y));
          return crossEntropy(out, batch.y);
        }, true)!;
        recorded.push({ loss, correct: correct!, count: batch.y.shape[0] });
        tf.dispose([batch.x, batch.y]);
        step++;
        if ((step % evalEvery === 0 || step === options.steps) && !validate(step)) break training;
        onProgress?.({ step, steps: options.steps });
        if (step >= options.steps) break; // the generator makes no further batches
      }
    }
    const curve = recorded.map((r, i) => ({ step: i + 1, loss: r.loss.dataSync()[0]!, accuracy: r.correct.dataSync()[0]! / r.count }));
    const kept = best!;
    best = undefined; // ownership passes to the caller
    return { masks: kept.masks, curve, validation: validationCurve, bestStep: kept.step, ...(diverged ? { diverged } : {}) };
  } finally {
    if (best) tf.dispose(Object.values(best.masks));
    for (const r of recorded) tf.dispose([r.loss, r.correct]);
    optimizer.dispose();
    tf.dispose([...Object.values(differences), ...Object.values(logits), ...Object.values(frozen)]);
  }
}
