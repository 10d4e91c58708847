import * as tf from '@tensorflow/tfjs-core';
import type { TensorSet } from '../data/batches.js';
import type { CurvePoint } from '../eval/metrics.js';
import { countCorrect, crossEntropy } from '../nn/loss.js';
import type { ModelSpec, ParamMap } from '../nn/spec.js';
import { subSeed } from '../util/random.js';
import type { AlphaMasks } from './mergeParams.js';

export interface LearnAlphaOptions {
  steps: number;
  batchSize: number;
  learningRate: number;
  seed: number;
  /** Initial masks are clipped into [clip, 1 - clip] so their logits are finite. */
  clip?: number;
}

export interface LearnAlphaProgress {
  step: number;
  steps: number;
}

/**
 * Learns one merge weight per parameter entry, alpha = sigmoid(logit), by Adam on the merged model's
 * cross-entropy over `data` (the merge split). The merged model is W = W_B' + alpha * (W_A - W_B').
 * Returns the learned masks and the per-step loss and accuracy of each training batch.
 */
export function learnAlphaMasks(
  spec: ModelSpec,
  paramsA: ParamMap,
  paramsB: ParamMap,
  initial: AlphaMasks,
  data: TensorSet,
  options: LearnAlphaOptions,
  onProgress?: (progress: LearnAlphaProgress) => void,
): { masks: AlphaMasks; curve: CurvePoint[] } {
  const clip = options.clip ?? 1e-3;
  const names = Object.keys(paramsA);
  const differences = tf.tidy(() => Object.fromEntries(names.map((n) => [n, tf.sub(paramsA[n]!, paramsB[n]!)]))) as ParamMap;
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
  try {
    let step = 0;
    while (step < options.steps) {
      for (const batch of data.batches(options.batchSize, subSeed(options.seed, `alpha-epoch/${step}`))) {
        let correct: tf.Scalar | undefined;
        const loss = optimizer.minimize(() => {
          const merged: ParamMap = {};
          for (const n of names) merged[n] = tf.add(paramsB[n]!, tf.mul(tf.sigmoid(logits[n]!), differences[n]!));
          const out = spec.forward(merged, batch.x);
          correct = tf.keep(countCorrect(out, batch.y));
          return crossEntropy(out, batch.y);
        }, true)!;
        recorded.push({ loss, correct: correct!, count: batch.y.shape[0] });
        tf.dispose([batch.x, batch.y]);
        onProgress?.({ step: ++step, steps: options.steps });
        if (step >= options.steps) break; // the generator makes no further batches
      }
    }
    const curve = recorded.map((r, i) => {
      const point = { step: i + 1, loss: r.loss.dataSync()[0]!, accuracy: r.correct.dataSync()[0]! / r.count };
      if (!Number.isFinite(point.loss)) throw new Error(`alpha training diverged at step ${point.step}; lower its learning rate`);
      return point;
    });
    const masks = tf.tidy(() => Object.fromEntries(names.map((n) => [n, tf.sigmoid(logits[n]!)]))) as AlphaMasks;
    return { masks, curve };
  } finally {
    for (const r of recorded) tf.dispose([r.loss, r.correct]);
    optimizer.dispose();
    tf.dispose([...Object.values(differences), ...Object.values(logits)]);
  }
}
