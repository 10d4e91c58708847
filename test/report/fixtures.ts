/** Small synthetic inputs for the report tests. */

import type { AlphaCurve, ManyMergeMetrics, MergeMetrics, RunMetrics, SpaceCorrelations, TreeNode } from '../../src/artifacts/metrics.js';
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

/**
 * The tree of a hierarchical merge of `n` models "model 1" ... "model n": neighbours merged pairwise,
 * level by level, an odd one out carried up to the next level; the root (last) has `rootAccuracy`.
 */
export function sampleTree(n: number, rootAccuracy: number): TreeNode[] {
  const leaf = (i: number): TreeNode => ({
    id: `model ${i + 1}`,
    level: 0,
    inputs: [],
    members: [`model ${i + 1}`],
    testAccuracy: 0.98 - 0.001 * i,
    testLoss: 0.07,
  });
  const nodes: TreeNode[] = Array.from({ length: n }, (_, i) => leaf(i));
  let current = [...nodes];
  for (let level = 1; current.length > 1; level++) {
    const next: TreeNode[] = [];
    for (let i = 0; i + 1 < current.length; i += 2) {
      const [a, b] = [current[i]!, current[i + 1]!];
      const node: TreeNode = {
        id: `merge L${level}.${i / 2 + 1}`,
        level: Math.max(a.level, b.level) + 1,
        inputs: [a.id, b.id],
        members: [...a.members, ...b.members],
        testAccuracy: 0.98 - 0.012 * level,
        testLoss: 0.1 * level,
      };
      nodes.push(node);
      next.push(node);
    }
    if (current.length % 2 === 1) next.push(current[current.length - 1]!);
    current = next;
  }
  nodes[nodes.length - 1]!.testAccuracy = rootAccuracy;
  return nodes;
}

/** Test accuracy of each many-model variant at N = 2, 4, 8 (the permutation variant lacks N = 8). */
export const MANY_ACCURACY: Record<string, Record<number, number>> = {
  'hierarchical · cca · learned': { 2: 0.9702, 4: 0.9555, 8: 0.9301 },
  'all-to-one · cca · learned': { 2: 0.9688, 4: 0.9488, 8: 0.9123 },
  'hierarchical · permutation · uniform': { 2: 0.9411, 4: 0.8876 },
};

/** A run of sampleMetrics() with merges of many models (listed out of order on purpose) and correlations. */
export function sampleManyMetrics(): RunMetrics {
  const merges: ManyMergeMetrics[] = Object.entries(MANY_ACCURACY).flatMap(([label, byN]) => {
    const [strategy = '', alignLabel = '', alphaLabel = ''] = label.split(' · ');
    return Object.entries(byN).map(([n, testAccuracy]) => {
      const models = Number(n);
      const members = Array.from({ length: models }, (_, i) => `model ${i + 1}`);
      return {
        key: `${label}/${models}`,
        label,
        strategy,
        alignLabel,
        alphaLabel,
        models,
        members,
        testAccuracy,
        testLoss: 1 - testAccuracy,
        ...(strategy === 'hierarchical' ? { tree: sampleTree(models, testAccuracy) } : {}),
        ...(label.includes('permutation') && models === 4 ? { warning: 'learned weights diverged at level 2' } : {}),
      };
    });
  });
  const references = [
    { models: 2, ensemble: { testAccuracy: 0.9845, testLoss: 0.05 }, meanBase: { testAccuracy: 0.9806, testLoss: 0.06, testAccuracyStd: 0.001 } },
    { models: 8, ensemble: { testAccuracy: 0.9871, testLoss: 0.045 }, meanBase: { testAccuracy: 0.9798, testLoss: 0.062, testAccuracyStd: 0.0012 } },
    { models: 4, ensemble: { testAccuracy: 0.9862, testLoss: 0.047 }, meanBase: { testAccuracy: 0.9801, testLoss: 0.061, testAccuracyStd: 0.0015 } },
  ];
  return { ...sampleMetrics(), many: { merges: [merges[3]!, ...merges.filter((_, i) => i !== 3)], references }, correlations: sampleCorrelations() };
}

/**
 * Correlations of three MLP spaces: CCA with coefficients, permutation without. Every top-1 lies in
 * [0.9, 0.95) and every top-2 in [0.2, 0.25), the coefficients' in [0.7, 0.75) and [0.4, 0.45), so each
 * histogram of 20 bins is one bar of 100 % at a known place.
 */
export function sampleCorrelations(): Record<string, Record<string, SpaceCorrelations>> {
  const rand = lcg(11);
  const values = (n: number, low: number): number[] => Array.from({ length: n }, () => low + 0.05 * rand() * 0.99);
  const space = (n: number, coefficients: boolean): SpaceCorrelations => ({
    top1Correlation: values(n, 0.9),
    top2Correlation: values(n, 0.2),
    ...(coefficients ? { top1Coefficient: values(n, 0.7), top2Coefficient: values(n, 0.4) } : {}),
  });
  return {
    cca: { fc1: space(64, true), fc2: space(32, true), fc3: space(16, true) },
    permutation: { fc1: space(64, false), fc2: space(32, false), fc3: space(16, false) },
  };
}
