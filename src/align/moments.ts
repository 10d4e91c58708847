import * as tf from '@tensorflow/tfjs-core';
import type { TensorSet } from '../data/batches.js';
import { featureSpaces, type ModelSpec, type ParamMap } from '../nn/spec.js';

/** First and second moments of one feature space's activations in models A and B, over the same inputs. */
export interface SpaceMoments {
  space: string;
  /**
   * Samples the moments average over: examples x spatial positions for convolutional spaces, and
   * x probes for a space probed more than once (a residual stream).
   */
  count: number;
  size: number;
  meanA: Float64Array;
  meanB: Float64Array;
  /** Covariances, row-major [size, size]: A with A, B with B, A (rows) with B (columns). */
  covAA: Float64Array;
  covBB: Float64Array;
  covAB: Float64Array;
}

/** Running sums of one space, kept in float64 on the host. */
interface Accumulator {
  /** Activation rows summed so far (not examples: a conv space gives one row per position). */
  rows: number;
  /** The first batch's means, subtracted before summing. */
  shiftA: tf.Tensor2D;
  shiftB: tf.Tensor2D;
  sums: Record<SumName, Float64Array>;
}

type SumName = 'sumA' | 'sumB' | 'sumAA' | 'sumBB' | 'sumAB';

/**
 * Each space's activations on one batch. A space probed more than once (a residual stream, read
 * after every block that writes to it) contributes every probe's rows, in forward order.
 */
function activationsByProbe(spec: ModelSpec, params: ParamMap, x: tf.Tensor): Map<string, tf.Tensor2D> {
  const probed = new Map<string, tf.Tensor2D[]>();
  spec.forward(params, x, { probe: (space, value) => probed.set(space, [...(probed.get(space) ?? []), value]) });
  return new Map([...probed].map(([space, values]) => [space, values.length === 1 ? values[0]! : tf.concat(values, 0)]));
}

/**
 * Streams both models over `data` and accumulates, per feature space, the sums needed for means and
 * (cross-)covariances. Memory is independent of the number of examples: only [size, size] sums are
 * kept. Sums are taken of activations minus the first batch's mean (accurate when means are large
 * against spreads); each batch's sums are computed on the backend and added up in float64 on the
 * host, since a convolutional space sums millions of rows.
 */
export function collectSpaceMoments(
  spec: ModelSpec,
  paramsA: ParamMap,
  paramsB: ParamMap,
  data: TensorSet,
  batchSize = 500,
): SpaceMoments[] {
  const spaces = featureSpaces(spec);
  const accumulators = new Map<string, Accumulator>();
  try {
    for (const batch of data.batches(batchSize)) {
      tf.tidy(() => {
        const actsA = activationsByProbe(spec, paramsA, batch.x);
        const actsB = activationsByProbe(spec, paramsB, batch.x);
        for (const { name } of spaces) {
          const rawA = actsA.get(name);
          const rawB = actsB.get(name);
          if (!rawA || !rawB) throw new Error(`forward pass of ${spec.family} never probed space ${name}`);
          let acc = accumulators.get(name);
          if (!acc) {
            const n = rawA.shape[1];
            acc = {
              rows: 0,
              shiftA: tf.keep(tf.mean(rawA, 0, true)),
              shiftB: tf.keep(tf.mean(rawB, 0, true)),
              sums: {
                sumA: new Float64Array(n),
                sumB: new Float64Array(n),
                sumAA: new Float64Array(n * n),
                sumBB: new Float64Array(n * n),
                sumAB: new Float64Array(n * n),
              },
            };
            accumulators.set(name, acc);
          }
          acc.rows += rawA.shape[0];
          const a = tf.sub(rawA, acc.shiftA);
          const b = tf.sub(rawB, acc.shiftB);
          const batchSums: Record<SumName, tf.Tensor> = {
            sumA: tf.sum(a, 0),
            sumB: tf.sum(b, 0),
            sumAA: tf.matMul(a, a, true, false), // [n, batch] x [batch, n]
            sumBB: tf.matMul(b, b, true, false),
            sumAB: tf.matMul(a, b, true, false),
          };
          for (const key of Object.keys(batchSums) as SumName[]) {
            const values = batchSums[key].dataSync();
            const total = acc.sums[key];
            for (let i = 0; i < total.length; i++) total[i] = total[i]! + values[i]!;
          }
        }
      });
      tf.dispose([batch.x, batch.y]);
    }
    return spaces.map(({ name, size }) => {
      const acc = accumulators.get(name);
      if (!acc) throw new Error('no data to collect moments from');
      return finishMoments(name, size, acc);
    });
  } finally {
    for (const acc of accumulators.values()) tf.dispose([acc.shiftA, acc.shiftB]);
  }
}

function finishMoments(space: string, size: number, acc: Accumulator): SpaceMoments {
  const count = acc.rows;
  const read = (t: tf.Tensor) => Float64Array.from(t.dataSync());
  const shiftA = read(acc.shiftA);
  const shiftB = read(acc.shiftB);
  const centeredMeanA = acc.sums.sumA.map((s) => s / count);
  const centeredMeanB = acc.sums.sumB.map((s) => s / count);
  const covariance = (sum: Float64Array, meanRows: Float64Array, meanCols: Float64Array) =>
    sum.map((s, k) => (s - count * meanRows[Math.floor(k / size)]! * meanCols[k % size]!) / (count - 1));
  return {
    space,
    count,
    size,
    meanA: centeredMeanA.map((m, i) => m + shiftA[i]!),
    meanB: centeredMeanB.map((m, i) => m + shiftB[i]!),
    covAA: covariance(acc.sums.sumAA, centeredMeanA, centeredMeanA),
    covBB: covariance(acc.sums.sumBB, centeredMeanB, centeredMeanB),
    covAB: covariance(acc.sums.sumAB, centeredMeanA, centeredMeanB),
  };
}
