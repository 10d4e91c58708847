import * as tf from '@tensorflow/tfjs-core';
import type { TensorSet } from '../data/batches.js';
import { evaluateLogits, type CurvePoint } from '../eval/evaluate.js';
import { cloneParams } from '../nn/init.js';
import { countCorrect, crossEntropy } from '../nn/loss.js';
import { hasBatchNorm } from '../nn/resetBatchNorm.js';
import { trainableParams, type ModelSpec, type ParamMap } from '../nn/spec.js';
import { Adam } from '../train/adam.js';
import { namesList, nonFiniteParams } from '../train/trainModel.js';
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

/**
 * Learned-alpha training in progress, as saved at each validation: enough to continue bit for bit.
 * Tensors are the trainer's own during a checkpoint call; a state passed to `resume` stays the caller's.
 */
export interface AlphaTrainState {
  logits: ParamMap;
  optimizer: { step: number; m: ParamMap; v: ParamMap };
  best: { step: number; loss: number; masks: AlphaMasks };
  /** Loss and accuracy of every training batch so far, and every validation. */
  curve: CurvePoint[];
  validation: CurvePoint[];
}

export interface LearnAlphaHooks {
  onProgress?: (progress: LearnAlphaProgress) => void;
  /** Called after each validation before the last, with the state to save. */
  onCheckpoint?: (state: AlphaTrainState) => void | Promise<void>;
  /** Continue from a saved state instead of the initial masks. */
  resume?: AlphaTrainState;
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
export async function learnAlphaMasks(
  spec: ModelSpec,
  paramsA: ParamMap,
  paramsB: ParamMap,
  initial: AlphaMasks,
  train: TensorSet,
  validation: TensorSet,
  options: LearnAlphaOptions,
  hooks: LearnAlphaHooks = {},
): Promise<LearnedAlpha> {
  const clip = options.clip ?? 1e-3;
  const evalEvery = options.evalEvery ?? 25;
  const names = trainableParams(spec);
  const training = hasBatchNorm(spec);
  const differences = tf.tidy(() => Object.fromEntries(names.map((n) => [n, tf.sub(paramsA[n]!, paramsB[n]!)]))) as ParamMap;
  const fixedNames = Object.keys(paramsA).filter((n) => !names.includes(n));
  const frozen = tf.tidy(() =>
    Object.fromEntries(fixedNames.map((n) => [n, tf.add(paramsB[n]!, tf.mul(initial[n]!, tf.sub(paramsA[n]!, paramsB[n]!)))])),
  ) as ParamMap;
  const resume = hooks.resume;
  const logits = Object.fromEntries(
    names.map((n) => {
      const start = resume
        ? resume.logits[n]!
        : tf.tidy(() => {
            const p = tf.clipByValue(initial[n]!, clip, 1 - clip);
            return tf.log(tf.div(p, tf.sub(1, p)));
          });
      const variable = tf.variable(start, true);
      if (!resume) start.dispose();
      return [n, variable];
    }),
  ) as Record<string, tf.Variable>;
  const optimizer = new Adam(options.learningRate, logits, resume?.optimizer);
  // Batch losses stay on the backend until they are read: at a checkpoint or at the end.
  const recorded: { loss: tf.Scalar; correct: tf.Scalar; count: number }[] = [];
  const curve: CurvePoint[] = [...(resume?.curve ?? [])];
  const validationCurve: CurvePoint[] = [...(resume?.validation ?? [])];
  let best = resume ? { ...resume.best, masks: cloneParams(resume.best.masks) } : undefined;
  let diverged: LearnedAlpha['diverged'];
  const readRecorded = () => {
    for (const r of recorded.splice(0)) {
      curve.push({ step: curve.length + 1, loss: r.loss.dataSync()[0]!, accuracy: r.correct.dataSync()[0]! / r.count });
      tf.dispose([r.loss, r.correct]);
    }
  };
  /** Validates the current masks; false (and `diverged` set) when the loss is no longer finite. */
  const validate = (step: number): boolean => {
    const { loss, accuracy } = evaluateLogits(
      (x) => tf.tidy(() => spec.forward(mergedFromLogits(paramsB, differences, logits, frozen), x, { training })),
      validation,
    );
    if (!Number.isFinite(loss)) {
      // Only now are the step losses read: which step went bad first, and which masks broke.
      readRecorded();
      const first = curve.findIndex((point) => !Number.isFinite(point.loss));
      const badStep = first >= 0 ? first + 1 : step;
      const broken = nonFiniteParams(logits);
      diverged = {
        step: badStep,
        message:
          `alpha training diverged at step ${badStep} (loss ${first >= 0 ? curve[first]!.loss : loss})` +
          `${broken.length ? `; non-finite alpha logits: ${namesList(broken)}` : ''}` +
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
    if (!resume && !validate(0)) {
      throw new InputError('alpha training: the merged model of the initial masks gives a non-finite validation loss; check both models for NaN or infinite weights');
    }
    let step = optimizer.step;
    const stepsPerPass = Math.ceil(train.count / options.batchSize);
    training: while (step < options.steps) {
      // Each pass over the training part has its own order, seeded by the step it starts at.
      const passStart = step - (step % stepsPerPass);
      for (const batch of train.batches(options.batchSize, subSeed(options.seed, `alpha-epoch/${passStart}`), step - passStart)) {
        const { value: loss, grads, correct } = tf.tidy(() => {
          let batchCorrect: tf.Scalar | undefined;
          const { value, grads } = tf.variableGrads(() => {
            const out = spec.forward(mergedFromLogits(paramsB, differences, logits, frozen), batch.x, { training });
            batchCorrect = tf.keep(countCorrect(out, batch.y));
            return crossEntropy(out, batch.y);
          }, Object.values(logits));
          return { value, grads, correct: batchCorrect! };
        });
        optimizer.apply(logits, Object.fromEntries(Object.entries(logits).map(([n, v]) => [n, grads[v.name]!])));
        tf.dispose([...Object.values(grads), batch.x, batch.y]);
        recorded.push({ loss, correct, count: batch.y.shape[0] });
        step++;
        if (step % evalEvery === 0 || step === options.steps) {
          if (!validate(step)) break training;
          if (hooks.onCheckpoint && step < options.steps) {
            readRecorded();
            await hooks.onCheckpoint({ logits, optimizer: { step, m: momentsOf(optimizer, 'm'), v: momentsOf(optimizer, 'v') }, best: best!, curve, validation: validationCurve });
          }
        }
        hooks.onProgress?.({ step, steps: options.steps });
        if (step >= options.steps) break; // the generator makes no further batches
      }
    }
    readRecorded();
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

function momentsOf(optimizer: Adam, which: 'm' | 'v'): ParamMap {
  return Object.fromEntries(Object.entries(optimizer.moments).map(([n, moments]) => [n, moments[which]]));
}

/** Frees a saved state's tensors (one passed as `resume` stays the caller's). */
export function disposeAlphaTrainState(state: AlphaTrainState): void {
  tf.dispose([state.logits, state.optimizer.m, state.optimizer.v, state.best.masks].flatMap((group) => Object.values(group)));
}
