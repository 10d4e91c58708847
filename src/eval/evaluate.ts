import * as tf from '@tensorflow/tfjs-core';
import type { TensorSet } from '../data/batches.js';
import { countCorrect, crossEntropy } from '../nn/loss.js';
import type { ModelSpec, ParamMap } from '../nn/spec.js';
import { ensure } from '../util/errors.js';
import { contiguousBatch, EVALUATION_MEMORY_MIB, evaluationBatchSize, MEASURED_BATCH } from './evaluationBatches.js';
import { inferenceForm } from './inferenceForm.js';

/** A model's accuracy (a fraction) and mean cross-entropy on a set. */
export interface Evaluation {
  accuracy: number;
  loss: number;
}

/** Loss and accuracy at one step of an optimisation (training batches, or a held-out check). */
export interface CurvePoint {
  step: number;
  loss: number;
  accuracy: number;
}

/**
 * Scores the `outputs` logits [batch, classes] that `outputsOf` returns for each batch, over one
 * pass of `data`: each batch is cut once and handed to `outputsOf`. `nextBatch(start)` sizes the
 * batch that begins at example `start`. The sums stay on the backend and are read back once, so a
 * GPU backend is not stalled after every batch. An empty set scores NaN.
 */
function scorePass(outputs: number, outputsOf: (x: tf.Tensor) => tf.Tensor2D[], data: TensorSet, nextBatch: (start: number) => number): Evaluation[] {
  let sums: tf.Tensor2D | undefined; // [outputs, 2]: loss sum, correct count
  try {
    for (let start = 0; start < data.count; ) {
      const size = nextBatch(start);
      const batch = contiguousBatch(data, start, size);
      try {
        const next = tf.tidy(() => {
          const logits = outputsOf(batch.x);
          if (logits.length !== outputs) throw new Error(`evaluation: ${logits.length} outputs for a batch; expected ${outputs}`);
          const rows = logits.map((logits) => tf.stack([tf.mul(crossEntropy(logits, batch.y), size), countCorrect(logits, batch.y)]));
          const scores = tf.stack(rows) as tf.Tensor2D;
          return sums ? (tf.add(sums, scores) as tf.Tensor2D) : scores;
        });
        sums?.dispose();
        sums = next;
      } finally {
        tf.dispose([batch.x, batch.y]);
      }
      start += size;
    }
    const values = sums ? sums.dataSync() : new Float32Array(2 * outputs);
    return Array.from({ length: outputs }, (_, i) => ({ accuracy: values[2 * i + 1]! / data.count, loss: values[2 * i]! / data.count }));
  } finally {
    sums?.dispose();
  }
}

/** Accuracy and mean cross-entropy of a logits function over a whole set, in batches of `batchSize`. */
export function evaluateLogits(logitsOf: (x: tf.Tensor) => tf.Tensor2D, data: TensorSet, batchSize = 1000): Evaluation {
  ensure(Number.isSafeInteger(batchSize) && batchSize > 0, `batch size must be a positive integer; got ${batchSize}`);
  return scorePass(1, (x) => [logitsOf(x)], data, (start) => Math.min(batchSize, data.count - start))[0]!;
}

/** What {@link evaluateModels} scores. */
export interface ModelsEvaluationOptions {
  /** Score each model on its own (default true). */
  models?: boolean;
  /** Also score the logit ensemble, the mean of the models' logits (default false). */
  ensemble?: boolean;
  /** The activations of one model's batch may take this many MiB (default {@link EVALUATION_MEMORY_MIB}). */
  memoryMiB?: number;
}

/** Per-model evaluations (in the order given; empty with `models: false`) and the ensemble's, if asked for. */
export interface ModelsEvaluation {
  models: Evaluation[];
  ensemble?: Evaluation;
}

/**
 * Accuracy and mean cross-entropy of several models of one spec on `data` in ONE pass over it:
 * every batch is cut once and run through each model before the next batch. Inference only (no
 * caller runs it under a gradient tape): each model runs with BatchNorm folded into its
 * convolutions (inferenceForm), on batches as large as the memory budget allows. The first batch ({@link MEASURED_BATCH}
 * examples) measures what an example takes (every intermediate tensor of one model's forward pass,
 * and the input); the rest are sized from that by evaluationBatchSize. A model's scores do not
 * depend on the others in the pass. Predictions equal the unfolded forward pass's up to float
 * rounding.
 */
export function evaluateModels(spec: ModelSpec, members: ParamMap[], data: TensorSet, options: ModelsEvaluationOptions = {}): ModelsEvaluation {
  const scoreModels = options.models ?? true;
  const ensemble = (options.ensemble ?? false) && members.length > 0;
  if (members.length === 0 || (!scoreModels && !ensemble)) return { models: [] };
  const budget = (options.memoryMiB ?? EVALUATION_MEMORY_MIB) * 2 ** 20;
  const form = inferenceForm(spec, members);
  try {
    // Bytes an example takes beyond one model's activations: its input and label. The batch size
    // depends on the spec alone (not on how many models share the pass), so a model scores the same,
    // bit for bit, alone or with others; the others' logits, a few floats an example, are left out.
    const heldBytes = 4 * (data.inputShape.reduce((a, b) => a * b, 1) + 1);
    let activationBytes = 0;
    let measuring = true;
    const logitsOf = (params: ParamMap, x: tf.Tensor) =>
      tf.tidy(() => {
        if (!measuring) return form.spec.forward(params, x);
        const before = tf.memory().numBytes;
        const logits = form.spec.forward(params, x);
        activationBytes = Math.max(activationBytes, (tf.memory().numBytes - before) / x.shape[0]!);
        return logits;
      });
    const outputsOf = (x: tf.Tensor): tf.Tensor2D[] => {
      const logits = form.members.map((params) => logitsOf(params, x));
      measuring = false;
      const outputs = scoreModels ? [...logits] : [];
      if (ensemble) outputs.push(tf.mean(tf.stack(logits), 0) as tf.Tensor2D);
      return outputs;
    };
    const nextBatch = (start: number) =>
      start === 0 ? Math.min(MEASURED_BATCH, data.count) : evaluationBatchSize(activationBytes + heldBytes, budget, data.count - start);
    const scores = scorePass((scoreModels ? members.length : 0) + (ensemble ? 1 : 0), outputsOf, data, nextBatch);
    return scoreModels ? { models: scores.slice(0, members.length), ...(ensemble ? { ensemble: scores[members.length]! } : {}) } : { models: [], ensemble: scores[0]! };
  } finally {
    form.dispose();
  }
}

/** Accuracy and mean cross-entropy of a model on `data` (see {@link evaluateModels}). */
export function evaluateModel(spec: ModelSpec, params: ParamMap, data: TensorSet): Evaluation {
  return evaluateModels(spec, [params], data).models[0]!;
}

/** The logit ensemble: the mean of the models' logits (see {@link evaluateModels}). */
export function evaluateEnsemble(spec: ModelSpec, members: ParamMap[], data: TensorSet): Evaluation {
  const { ensemble } = evaluateModels(spec, members, data, { models: false, ensemble: true });
  if (!ensemble) throw new Error('evaluateEnsemble: an ensemble needs at least one model');
  return ensemble;
}
