import { z } from 'zod';
import type { ModelSpec, ParamMap } from '../nn/spec.js';
import type { MethodEntry } from '../util/methodEntry.js';
import { Registry } from '../util/registry.js';
import { ccaTransform, SingularCovarianceError } from './cca.js';
import type { SpaceMoments } from './moments.js';
import { activationMatching } from './permutation.js';
import type { Transforms } from './transform.js';

/** What an aligner sees: the spec and both models (in the BatchNorm mode's form), and statistics if it asked for them. */
export interface AlignInput {
  spec: ModelSpec;
  /** The reference model A. */
  paramsA: ParamMap;
  /** The model B to be mapped onto A. */
  paramsB: ParamMap;
  /** Activation moments of every feature space on the merge split; present when the aligner needs statistics. */
  moments?: SpaceMoments[];
}

/** Per-space numbers an aligner reports, e.g. mean canonical correlation. */
export type AlignDiagnostics = Record<string, Record<string, number>>;

export interface AlignResult {
  /** One transform per feature space it aligns; a space without one stays as it is. */
  transforms: Transforms;
  diagnostics: AlignDiagnostics;
  /** Problems handled on the way that the user should hear of, one line each, naming the space. */
  warnings: string[];
}

export interface AlignerEntry extends MethodEntry {
  /** True when it needs activation moments of both models on the merge split (a data pass first). */
  readonly needsStatistics: boolean;
  /** Why it cannot align models of `spec`, if it cannot. */
  unsupported?(spec: ModelSpec): string | undefined;
  /** Maps B's feature spaces onto A's. `options` holds the values of the fields it declared. */
  align(input: AlignInput, options: Record<string, unknown>): AlignResult;
}

/** An aligner entry whose `align` receives its options typed from its declared fields. */
export function defineAligner<S extends z.ZodRawShape>(
  entry: Omit<AlignerEntry, 'options' | 'align'> & { options: S; align(input: AlignInput, options: z.output<z.ZodObject<S>>): AlignResult },
): AlignerEntry {
  return entry as unknown as AlignerEntry;
}

/** The moments an aligner declared it needs, or an error naming it (a bug in the caller). */
function momentsOf(input: AlignInput, aligner: string): SpaceMoments[] {
  if (!input.moments) throw new Error(`aligner ${aligner} needs activation statistics and was given none`);
  return input.moments;
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

/** The registered aligners; `aligners.register` adds one (see defineAligner). */
export const aligners = new Registry<AlignerEntry>('alignment method', [
  defineAligner({
    name: 'none',
    description: 'no alignment: merge units index by index (direct averaging baseline)',
    options: {},
    needsStatistics: false,
    align: () => ({ transforms: {}, diagnostics: {}, warnings: [] }),
  }),
  defineAligner({
    name: 'permutation',
    description: 'activation matching: permute B\'s units to maximise correlation with A\'s (linear assignment)',
    reference: 'https://arxiv.org/abs/2209.04836',
    options: {},
    needsStatistics: true,
    align(input) {
      const transforms: Transforms = {};
      const diagnostics: AlignDiagnostics = {};
      for (const m of momentsOf(input, this.name)) {
        const transform = activationMatching(m);
        transforms[m.space] = transform;
        diagnostics[m.space] = { unitsMoved: transform.permutation!.filter((source, i) => source !== i).length };
      }
      return { transforms, diagnostics, warnings: [] };
    },
  }),
  defineAligner({
    name: 'cca',
    description: 'CCA Merge: map B\'s units onto A\'s by the invertible transform from canonical correlation analysis',
    reference: 'https://arxiv.org/abs/2407.15845',
    options: { gamma: z.number().nonnegative().default(1).describe('CCA ridge: S + gamma * I') },
    needsStatistics: true,
    align(input, options) {
      const transforms: Transforms = {};
      const diagnostics: AlignDiagnostics = {};
      const warnings: string[] = [];
      for (const m of momentsOf(input, this.name)) {
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
  }),
]);
