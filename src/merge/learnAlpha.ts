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
import { reduceToGroups, weightGroups, type Granularity, type WeightGroups } from './granularity.js';
import { mergeEntries, mergeModels, type AlphaMasks } from './mergeParams.js';

/** How {@link learnAlphaMasks} optimises the merge weights. */
export interface LearnAlphaOptions {
  steps: number;
  batchSize: number;
  learningRate: number;
  seed: number;
  /** Validation loss is measured every this many steps (and at the start and the end). */
  evalEvery?: number;
  /** Initial masks are clipped into [clip, 1 - clip] so their logits are finite. */
  clip?: number;
  /** How finely the weights vary (default: per parameter entry); initial masks are averaged over each group. */
  granularity?: Granularity;
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
  /** The logits of every model but the last, by {@link weightName}. */
  logits: ParamMap;
  optimizer: { step: number; m: ParamMap; v: ParamMap };
  /** The best weights so far, by {@link weightName}. */
  best: { step: number; loss: number; masks: AlphaMasks };
  /** Loss and accuracy of every training batch so far, and every validation. */
  curve: CurvePoint[];
  validation: CurvePoint[];
}

/** Progress, checkpoints and resumption of {@link learnAlphaMasks}. */
export interface LearnAlphaHooks {
  onProgress?: (progress: LearnAlphaProgress) => void;
  /** Called after each validation before the last, with the state to save. */
  onCheckpoint?: (state: AlphaTrainState) => void | Promise<void>;
  /** Continue from a saved state instead of the initial masks. */
  resume?: AlphaTrainState;
}

/** What {@link learnAlphaMasks} returns: the weights kept and how the optimisation went. */
export interface LearnedAlpha {
  /** The weights of every model but the last at the step with the lowest validation loss (the caller owns them). */
  masks: AlphaMasks[];
  /** Loss and accuracy of each training batch. */
  curve: CurvePoint[];
  /** Validation loss and accuracy at step 0 (the init), every `evalEvery` steps and at the end. */
  validation: CurvePoint[];
  bestStep: number;
  /** Set when the loss became NaN or infinite: training stopped there and kept the best masks so far. */
  diverged?: { step: number; message: string };
}

/**
 * The name model k's weight of parameter `param` goes by among the learned variables: the parameter's
 * own for the first model (so a two-model state reads as masks of A), suffixed for the others.
 */
export function weightName(param: string, k: number): string {
  return k === 0 ? param : `${param}@model${k}`;
}

/**
 * The weights of every model but the last from their logits, the last model's logit fixed at 0:
 * w = softmax(l_0, ..., l_{N-2}, 0) over the model axis, so the N weights are positive and sum to 1.
 * For two models that is the logistic sigmoid of l_0, computed as such.
 */
function weightsFromLogits(logits: readonly tf.Tensor[]): tf.Tensor[] {
  if (logits.length === 1) return [tf.sigmoid(logits[0]!)];
  // Shifted by the largest logit (at least the last model's 0) so no exponential overflows.
  const shift = logits.reduce((largest, l) => tf.maximum(largest, l), tf.zerosLike(logits[0]!));
  const exponentials = logits.map((l) => tf.exp(tf.sub(l, shift)));
  const total = exponentials.reduce((sum, e) => tf.add(sum, e), tf.exp(tf.neg(shift)));
  return exponentials.map((e) => tf.div(e, total));
}

/**
 * The logits of initial weights (every model but the last), clipped into [clip, 1 - clip] so they
 * are finite: l_k = log(w_k / w_last). For two models, log(alpha / (1 - alpha)).
 */
function logitsFromWeights(weights: readonly tf.Tensor[], clip: number): tf.Tensor[] {
  const bounded = (w: tf.Tensor) => tf.clipByValue(w, clip, 1 - clip);
  if (weights.length === 1) {
    const p = bounded(weights[0]!);
    return [tf.log(tf.div(p, tf.sub(1, p)))];
  }
  const last = bounded(weights.reduce((rest, w) => tf.sub(rest, w), tf.onesLike(weights[0]!)));
  return weights.map((w) => tf.log(tf.div(bounded(w), last)));
}

/** Every group's weights of every model but the last, from their logits: `[group][k]`. */
function groupWeights(logits: Record<string, tf.Tensor>, groups: WeightGroups, models: number): Record<string, tf.Tensor[]> {
  const groupNames = Object.keys(groups.shapeOf);
  return Object.fromEntries(groupNames.map((g) => [g, weightsFromLogits(Array.from({ length: models }, (_, k) => logits[weightName(g, k)]!))]));
}

/**
 * The merged parameters W_last + sum_k w_k (W_k - W_last) for the weights of `logits` (a group's
 * weight broadcast over its entries); parameters without logits (BatchNorm statistics) keep the
 * fixed merge in `frozen`.
 */
function mergedFromLogits(last: ParamMap, differences: ParamMap[], logits: Record<string, tf.Tensor>, groups: WeightGroups, frozen: ParamMap): ParamMap {
  const merged: ParamMap = { ...frozen };
  let weights: Record<string, tf.Tensor[]> | undefined;
  for (const [n, group] of Object.entries(groups.groupOf)) {
    const groupLogits = differences.map((_, k) => logits[weightName(group, k)]!);
    if (tf.util.arraysEqual(groupLogits[0]!.shape, last[n]!.shape)) {
      // A weight per entry: the merge and its gradient as fused passes (the same values).
      merged[n] = mergeEntries(last[n]!, differences.map((d) => d[n]!), groupLogits, weightsFromLogits);
      continue;
    }
    weights ??= groupWeights(logits, groups, differences.length);
    merged[n] = weights[group]!.reduce((sum, w, k) => tf.add(sum, tf.mul(w, differences[k]![n]!)), last[n]!);
  }
  return merged;
}

/**
 * Learns one merge weight per model and parameter entry, normalised across the models (softmax over
 * the model axis; for two models alpha = sigmoid(logit)), by Adam on the merged model's
 * cross-entropy over `train` (part of the merge split). `models` are the models to merge (the
 * others aligned to the first), `initial` the starting weights of every model but the last. A mask
 * per entry has as many free values as the network, so it can overfit a small merge split: the
 * masks kept are those of the step with the lowest loss on `validation` (the rest of the merge
 * split), the initial masks included, i.e. early stopping. The test split is never seen.
 *
 * Only trained parameters get a learned mask. In a network with BatchNorm the merged model runs in
 * training mode (batch statistics), since its running statistics are recomputed after merging anyway
 * (resetBatchNormStats); the statistics' masks stay at their initial values.
 */
export async function learnAlphaMasks(
  spec: ModelSpec,
  models: readonly ParamMap[],
  initial: readonly AlphaMasks[],
  train: TensorSet,
  validation: TensorSet,
  options: LearnAlphaOptions,
  hooks: LearnAlphaHooks = {},
): Promise<LearnedAlpha> {
  if (models.length < 2 || initial.length !== models.length - 1) {
    throw new Error(`learnAlphaMasks: expected initial weights for all but the last of ${models.length} models, got ${initial.length}`);
  }
  const clip = options.clip ?? 1e-3;
  const evalEvery = options.evalEvery ?? 25;
  const names = trainableParams(spec);
  const groups = weightGroups(spec, names, options.granularity);
  const training = hasBatchNorm(spec);
  const last = models[models.length - 1]!;
  const others = models.slice(0, -1);
  const differences = others.map((model) => tf.tidy(() => Object.fromEntries(names.map((n) => [n, tf.sub(model[n]!, last[n]!)]))) as ParamMap);
  const fixedNames = Object.keys(last).filter((n) => !names.includes(n));
  const only = (params: ParamMap) => Object.fromEntries(fixedNames.map((n) => [n, params[n]!]));
  const frozen = mergeModels(models.map(only), initial.map(only));
  const resume = hooks.resume;
  // A group's initial weight: the mean of its entries' (per entry, the masks themselves).
  const initialGroups = options.granularity && options.granularity !== 'entry' ? initial.map((masks) => reduceToGroups(masks, groups, 'mean')) : initial;
  const logits: Record<string, tf.Variable> = {};
  for (const g of Object.keys(groups.shapeOf)) {
    const starts = resume ? others.map((_, k) => resume.logits[weightName(g, k)]!) : tf.tidy(() => logitsFromWeights(initialGroups.map((w) => w[g]!), clip));
    starts.forEach((start, k) => {
      logits[weightName(g, k)] = tf.variable(start, true);
      if (!resume) start.dispose();
    });
  }
  if (initialGroups !== initial) initialGroups.forEach((masks) => tf.dispose(Object.values(masks)));
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
      (x) => tf.tidy(() => spec.forward(mergedFromLogits(last, differences, logits, groups, frozen), x, { training })),
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
        masks: tf.tidy(() => {
          const masks: AlphaMasks = {};
          const weights = groupWeights(logits, groups, others.length);
          for (const [n, g] of Object.entries(groups.groupOf)) {
            const shape = spec.params[n]!.shape;
            weights[g]!.forEach((w, k) => (masks[weightName(n, k)] = w.shape.join() === shape.join() ? w : tf.broadcastTo(w, shape)));
          }
          for (const n of fixedNames) others.forEach((_, k) => (masks[weightName(n, k)] = tf.clone(initial[k]![n]!)));
          return masks;
        }),
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
            const out = spec.forward(mergedFromLogits(last, differences, logits, groups, frozen), batch.x, { training });
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
    return { masks: splitWeights(kept.masks, Object.keys(last), others.length), curve, validation: validationCurve, bestStep: kept.step, ...(diverged ? { diverged } : {}) };
  } finally {
    if (best) tf.dispose(Object.values(best.masks));
    for (const r of recorded) tf.dispose([r.loss, r.correct]);
    optimizer.dispose();
    tf.dispose([...differences.flatMap((d) => Object.values(d)), ...Object.values(logits), ...Object.values(frozen)]);
  }
}

/** Weights by {@link weightName} as one mask set per model (the same tensors). */
function splitWeights(weights: AlphaMasks, params: string[], count: number): AlphaMasks[] {
  return Array.from({ length: count }, (_, k) => Object.fromEntries(params.map((n) => [n, weights[weightName(n, k)]!])));
}

function momentsOf(optimizer: Adam, which: 'm' | 'v'): ParamMap {
  return Object.fromEntries(Object.entries(optimizer.moments).map(([n, moments]) => [n, moments[which]]));
}

/** Frees a saved state's tensors (one passed as `resume` stays the caller's). */
export function disposeAlphaTrainState(state: AlphaTrainState): void {
  tf.dispose([state.logits, state.optimizer.m, state.optimizer.v, state.best.masks].flatMap((group) => Object.values(group)));
}
