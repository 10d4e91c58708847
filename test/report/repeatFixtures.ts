/** Synthetic runs of several repeats for the table and comparison tests: means with a known spread. */

import type { AcrossRepeats, RunMetrics } from '../../src/artifacts/metrics.js';
import { sampleManyMetrics, sampleMetrics } from './fixtures.js';

/** Seeds of the repeats of {@link sampleRepeatMetrics}. */
export const REPEAT_SEEDS = [0, 1, 2];

/**
 * Three repeats around `accuracy` and `loss`: mean - d, mean, mean + d, whose sample standard
 * deviation is d. `k` varies d from entry to entry, so that no two spreads are alike.
 */
export function spreadAround(accuracy: number, loss: number, k: number): AcrossRepeats {
  const d = 0.001 * (1 + (k % 4));
  const dLoss = 0.01 * (1 + (k % 3));
  return {
    testAccuracyStd: d,
    testLossStd: dLoss,
    testAccuracies: [accuracy - d, accuracy, accuracy + d],
    testLosses: [loss - dLoss, loss, loss + dLoss],
  };
}

/** An entry of metrics.json with its spread over the repeats. */
function repeated<T extends { testAccuracy: number; testLoss: number }>(entry: T, k: number): T {
  return { ...entry, acrossRepeats: spreadAround(entry.testAccuracy, entry.testLoss, k) };
}

/**
 * sampleMetrics() as a run of three repeats (seeds 0, 1, 2) of a BatchNorm network: every figure a
 * mean with acrossRepeats, and every merge's accuracy before the BatchNorm reset 10 points lower.
 */
export function sampleRepeatMetrics(): RunMetrics {
  const metrics = sampleMetrics();
  let k = 0;
  return {
    ...metrics,
    models: metrics.models.map((m) => repeated(m, k++)),
    ensemble: repeated(metrics.ensemble, k++),
    merges: metrics.merges.map((m) => ({
      ...repeated(m, k++),
      withoutBatchNormReset: repeated({ testAccuracy: m.testAccuracy - 0.1, testLoss: m.testLoss + 0.5 }, k++),
    })),
    split: { train: 5000, merge: 3000, test: 2000 },
    repeats: { seeds: [...REPEAT_SEEDS], runs: REPEAT_SEEDS.map((seed) => `repeats/seed-${seed}`) },
  };
}

/** sampleManyMetrics() as a run of three repeats: merges of many models and their references with a spread too. */
export function sampleRepeatManyMetrics(): RunMetrics {
  const metrics = sampleManyMetrics();
  const many = metrics.many!;
  let k = 0;
  return {
    ...sampleRepeatMetrics(),
    many: {
      merges: many.merges.map((m) => repeated(m, k++)),
      references: many.references.map((r) => ({ ...r, ensemble: repeated(r.ensemble, k++), meanBase: repeated(r.meanBase, k++) })),
    },
  };
}
