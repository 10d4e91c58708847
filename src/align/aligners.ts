import type { AlignMethod } from '../eval/metrics.js';
import { Registry, type RegistryEntry } from '../util/registry.js';
import { ccaTransform } from './cca.js';
import type { SpaceMoments } from './moments.js';
import { activationMatching } from './permutation.js';
import type { Transforms } from './transform.js';

export interface AlignOptions {
  /** CCA's ridge: S + gamma * I. */
  gamma: number;
}

/** Per-space numbers an aligner reports, e.g. mean canonical correlation. */
export type AlignDiagnostics = Record<string, Record<string, number>>;

export interface AlignerEntry extends RegistryEntry {
  name: AlignMethod;
  /** Maps B's feature spaces onto A's from activation moments collected on the merge split. */
  align(moments: SpaceMoments[], options: AlignOptions): { transforms: Transforms; diagnostics: AlignDiagnostics };
}

const mean = (values: ArrayLike<number>) => Array.from(values).reduce((a, b) => a + b, 0) / Math.max(values.length, 1);

export const aligners = new Registry<AlignerEntry>('alignment method', [
  {
    name: 'none',
    description: 'no alignment: merge units index by index (direct averaging baseline)',
    align: () => ({ transforms: {}, diagnostics: {} }),
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
      return { transforms, diagnostics };
    },
  },
  {
    name: 'cca',
    description: 'CCA Merge: map B\'s units onto A\'s by the invertible transform from canonical correlation analysis',
    reference: 'https://arxiv.org/abs/2407.15845',
    align: (moments, options) => {
      const transforms: Transforms = {};
      const diagnostics: AlignDiagnostics = {};
      for (const m of moments) {
        const { transform, correlations } = ccaTransform(m, { gamma: options.gamma });
        transforms[m.space] = transform;
        diagnostics[m.space] = { meanCanonicalCorrelation: mean(correlations), topCanonicalCorrelation: correlations[0] ?? 0 };
      }
      return { transforms, diagnostics };
    },
  },
]);
