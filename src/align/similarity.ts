import { ccaTransform } from './cca.js';
import type { SpaceMoments } from './moments.js';

/** The ridge, relative to a space's mean unit variance, that keeps dead or collinear units invertible. */
const RELATIVE_RIDGE = 1e-3;

/**
 * How alike two models' features are: the canonical correlations of every feature space (CCA, Horoi
 * et al. 2024, https://arxiv.org/abs/2407.05385), averaged over each space's units, then over the
 * spaces. 1 when every feature of one model is a linear function of the other's, near 0 for
 * unrelated features. The ridge is a small fraction of each space's variance, so the measure does
 * not depend on the scale of the activations.
 */
export function meanCanonicalCorrelation(moments: readonly SpaceMoments[]): number {
  if (moments.length === 0) throw new Error('meanCanonicalCorrelation: no feature spaces');
  let total = 0;
  for (const m of moments) {
    let meanVariance = 0;
    for (let i = 0; i < m.size; i++) meanVariance += (m.covAA[i * m.size + i]! + m.covBB[i * m.size + i]!) / (2 * m.size);
    const { correlations } = ccaTransform(m, { gamma: RELATIVE_RIDGE * Math.max(meanVariance, 1e-12) });
    total += correlations.reduce((sum, c) => sum + c, 0) / correlations.length;
  }
  return total / moments.length;
}
