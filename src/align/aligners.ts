import type { AlignMethod } from '../eval/metrics.js';
import { Registry, type RegistryEntry } from '../util/registry.js';
import { ccaTransform, SingularCovarianceError } from './cca.js';
import type { SpaceMoments } from './moments.js';
import { activationMatching } from './permutation.js';
import type { Transforms } from './transform.js';

export interface AlignOptions {
  /** CCA's ridge: S + gamma * I. */
  gamma: number;
}

/** Per-space numbers an aligner reports, e.g. mean canonical correlation. */
export type AlignDiagnostics = Record<string, Record<string, number>>;

export interface AlignResult {
  transforms: Transforms;
  diagnostics: AlignDiagnostics;
  /** Problems handled on the way that the user should hear of, one line each, naming the space. */
  warnings: string[];
}

export interface AlignerEntry extends RegistryEntry {
  name: AlignMethod;
  /** Maps B's feature spaces onto A's from activation moments collected on the merge split. */
  align(moments: SpaceMoments[], options: AlignOptions): AlignResult;
}

/** Units whose variance on the merge split is zero (to round-off): dead ReLUs, constant channels. */
function deadUnits(covariance: Float64Array, size: number): number {
  let largest = 0;
  for (let i = 0; i < size; i++) largest = Math.max(largest, covariance[i * size + i]!);
  let dead = 0;
  for (let i = 0; i < size; i++) if (!(covariance[i * size + i]! > 1e-12 * largest)) dead++;
  return dead;
}

/**
 * CCA of one space with `gamma`, and, when the covariances are singular at that ridge (dead or
 * collinear units), with the smallest larger ridge that works (x10 steps from 1e-6 of the mean
 * variance), reported in a warning.
 */
function ccaWithFallbackRidge(m: SpaceMoments, gamma: number, warnings: string[]): ReturnType<typeof ccaTransform> & { gamma: number } {
  let meanVariance = 0;
  for (let i = 0; i < m.size; i++) meanVariance += (m.covAA[i * m.size + i]! + m.covBB[i * m.size + i]!) / (2 * m.size);
  let ridge = gamma;
  for (let attempt = 0; ; attempt++) {
    try {
      const result = ccaTransform(m, { gamma: ridge });
      if (ridge !== gamma) {
        const dead = [deadUnits(m.covAA, m.size), deadUnits(m.covBB, m.size)];
        warnings.push(
          `CCA on space ${m.space}: the covariances are singular with gamma ${gamma} (${dead[0]} dead units in model A, ${dead[1]} in model B of ${m.size}); used gamma ${ridge.toExponential(1)} for this space`,
        );
      }
      return { ...result, gamma: ridge };
    } catch (error) {
      if (!(error instanceof SingularCovarianceError) || attempt >= 12) throw error;
      ridge = Math.max(ridge * 10, 1e-6 * (meanVariance > 0 ? meanVariance : 1));
    }
  }
}

const mean = (values: ArrayLike<number>) => Array.from(values).reduce((a, b) => a + b, 0) / Math.max(values.length, 1);

export const aligners = new Registry<AlignerEntry>('alignment method', [
  {
    name: 'none',
    description: 'no alignment: merge units index by index (direct averaging baseline)',
    align: () => ({ transforms: {}, diagnostics: {}, warnings: [] }),
  },
  {
    name: 'permutation',
    description: 'activation matching: permute B\'s units to maximise correlation with A\'s (linear assignment)',
    reference: 'https://arxiv.org/abs/2209.04836',
    align: (moments) => {
      const transforms: Transforms = {};
      const diagnostics: AlignDiagnostics = {};
      for (const m of moments) {
        const transform = activationMatching(m);
        transforms[m.space] = transform;
        const moved = transform.permutation!.filter((source, i) => source !== i).length;
        diagnostics[m.space] = { unitsMoved: moved };
      }
      return { transforms, diagnostics, warnings: [] };
    },
  },
  {
    name: 'cca',
    description: 'CCA Merge: map B\'s units onto A\'s by the invertible transform from canonical correlation analysis',
    reference: 'https://arxiv.org/abs/2407.15845',
    align: (moments, options) => {
      const transforms: Transforms = {};
      const diagnostics: AlignDiagnostics = {};
      const warnings: string[] = [];
      for (const m of moments) {
        const { transform, correlations, gamma } = ccaWithFallbackRidge(m, options.gamma, warnings);
        transforms[m.space] = transform;
        diagnostics[m.space] = {
          meanCanonicalCorrelation: mean(correlations),
          topCanonicalCorrelation: correlations[0] ?? 0,
          deadUnitsA: deadUnits(m.covAA, m.size),
          deadUnitsB: deadUnits(m.covBB, m.size),
          gamma,
        };
      }
      return { transforms, diagnostics, warnings };
    },
  },
]);
