/** Small synthetic inputs for the report tests. */

import type { AlphaCurve, MergeMetrics, RunMetrics } from '../../src/artifacts/metrics.js';
import type { AlphaMaskSet } from '../../src/report/types.js';

/** A run with two models, the ensemble, and every merge variant, listed out of order on purpose. */
export function sampleMetrics(): RunMetrics {
  const merges: MergeMetrics[] = [];
  const aligns = ['cca', 'none', 'permutation'];
  aligns.forEach((align, a) => {
    const base = [0.9512, 0.4321, 0.9034][a] ?? 0.5;
    merges.push({ align, alpha: 'learned', init: 'fisher', testAccuracy: base + 0.02, testLoss: 0.21 });
    merges.push({ align, alpha: 'uniform', init: null, testAccuracy: base, testLoss: 0.4 });
    merges.push({ align, alpha: 'learned', init: 'uniform', testAccuracy: base + 0.015, testLoss: 0.25 });
    merges.push({ align, alpha: 'fisher', init: null, testAccuracy: base + 0.01, testLoss: 0.3 });
  });
  return {
    dataset: 'mnist',
    models: [
      { name: 'model A', testAccuracy: 0.9813, testLoss: 0.0612 },
      { name: 'model B', testAccuracy: 0.9799, testLoss: 0.06543 },
    ],
    ensemble: { testAccuracy: 0.9845, testLoss: 0.0501 },
    merges,
    timings: { data: 1.234, train: 120.5, align: 3.25 },
    alphaCurves: sampleCurves(),
    backend: 'cpu',
    recipe: 'recipes/mnist-mlp.yaml',
  };
}

/** Learned-alpha curves for two (align, init) pairs. */
export function sampleCurves(): AlphaCurve[] {
  const pairs: [string, string][] = [
    ['cca', 'fisher'],
    ['permutation', 'uniform'],
  ];
  return pairs.map(([align, init], k) => ({
    align,
    init,
    points: Array.from({ length: 30 }, (_, s) => ({
      step: s * 5,
      loss: 0.3 + (1 + k) * Math.exp(-s / 8),
      accuracy: 0.95 - 0.4 * Math.exp(-s / (6 + k * 4)),
    })),
  }));
}

/** A deterministic pseudo-random sequence in [0, 1) (no seeds to manage in figure tests). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Masks for a small MLP: two weight matrices and their biases. */
export function sampleMasks(): AlphaMaskSet {
  const rand = lcg(7);
  const fill = (n: number, f: () => number): Float32Array => Float32Array.from({ length: n }, f);
  return {
    'dense_0/kernel': { shape: [20, 16], values: fill(320, () => rand()) },
    'dense_0/bias': { shape: [16], values: fill(16, () => 0.5 + 0.3 * (rand() - 0.5)) },
    'dense_1/kernel': { shape: [16, 10], values: fill(160, () => (rand() < 0.5 ? 0.1 * rand() : 1 - 0.1 * rand())) },
    'dense_1/bias': { shape: [10], values: fill(10, () => rand()) },
  };
}
