import { z } from 'zod';
import type { ModelSpec, ParamMap } from '../nn/spec.js';
import type { MethodEntry } from '../util/methodEntry.js';
import { Registry } from '../util/registry.js';
import { ccaTransform, SingularCovarianceError } from './cca.js';
import type { SpaceMoments } from './moments.js';
import { activationMatching } from './permutation.js';
import type { Transforms } from './transform.js';
import { weightMatching, weightMatchingMany } from './weightMatching.js';

/** What an aligner sees: the spec and both models (in the BatchNorm mode's form), and statistics if it asked for them. */
export interface AlignInput {
  spec: ModelSpec;
  /** The reference model A. */
  paramsA: ParamMap;
  /** The model B to be mapped onto A. */
  paramsB: ParamMap;
  /** Activation moments of every feature space on the merge split; present when the aligner needs statistics. */
  moments?: SpaceMoments[];
  /** Seed of the aligner's random choices (the recipe's seed); given to aligners that declare `usesSeed`. */
  seed?: number;
}

/** Per-space numbers an aligner reports, e.g. mean canonical correlation. */
export type AlignDiagnostics = Record<string, Record<string, number>>;

/** What an aligner returns for a pair of models. */
export interface AlignResult {
  /** One transform per feature space it aligns; a space without one stays as it is. */
  transforms: Transforms;
  diagnostics: AlignDiagnostics;
  /** Problems handled on the way that the user should hear of, one line each, naming the space. */
  warnings: string[];
}

/** What an aligner's joint form sees: every model (the reference first), in one BatchNorm form. */
export interface AlignManyInput {
  spec: ModelSpec;
  models: readonly ParamMap[];
  seed?: number;
}

export interface AlignManyResult {
  /** For each model after the first, one transform per feature space into the first model's frame. */
  transforms: Transforms[];
  diagnostics: AlignDiagnostics;
  warnings: string[];
}

/** A registered alignment method (see {@link defineAligner}). */
export interface AlignerEntry extends MethodEntry {
  /** True when it needs activation moments of both models on the merge split (a data pass first). */
  readonly needsStatistics: boolean;
  /** True when its result depends on `AlignInput.seed`; the seed then counts in the aligned model's key. */
  readonly usesSeed?: boolean;
  /** Why it cannot align models of `spec`, if it cannot. */
  unsupported?(spec: ModelSpec): string | undefined;
  /** Maps B's feature spaces onto A's. `options` holds the values of the fields it declared. */
  align(input: AlignInput, options: Record<string, unknown>): AlignResult;
  /**
   * Its joint form for many models, where it has one: every model aligned to the others at once
   * (not each to the first alone), expressed in the first model's frame.
   */
  alignMany?(input: AlignManyInput, options: Record<string, unknown>): AlignManyResult;
}

/** An aligner entry whose `align` receives its options typed from its declared fields. */
export function defineAligner<S extends z.ZodRawShape>(
  entry: Omit<AlignerEntry, 'options' | 'align' | 'alignMany'> & {
    options: S;
    align(input: AlignInput, options: z.output<z.ZodObject<S>>): AlignResult;
    alignMany?(input: AlignManyInput, options: z.output<z.ZodObject<S>>): AlignManyResult;
  },
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

/**
 * Weight matching's pass cap. Kept as a schema so that a caller outside the recipe path, which may
 * pass options without the field, gets the same default.
 */
const maxIterationsOption = z.number().int().positive().default(100).describe('weight matching: the most passes of coordinate descent over all feature spaces');

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
    reference: 'https://arxiv.org/abs/2407.05385',
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
  defineAligner({
    name: 'weight-matching',
    description: "weight matching: permute B's units to bring its weights closest to A's (coordinate descent over spaces; no data)",
    reference: 'https://arxiv.org/abs/2209.04836',
    options: { maxIterations: maxIterationsOption },
    needsStatistics: false,
    usesSeed: true,
    align(input, options) {
      const result = weightMatching(input.spec, input.paramsA, input.paramsB, {
        seed: input.seed ?? 0,
        maxIterations: maxIterationsOption.parse(options.maxIterations),
      });
      const diagnostics: AlignDiagnostics = {};
      for (const [space, transform] of Object.entries(result.transforms)) {
        diagnostics[space] = { unitsMoved: transform.permutation!.filter((source, i) => source !== i).length };
      }
      // Totals under a key no feature space has; metrics.json carries diagnostics as they are.
      diagnostics['(all)'] = { iterations: result.iterations, distanceBefore: result.distanceBefore, distanceAfter: result.distanceAfter };
      return { transforms: result.transforms, diagnostics, warnings: [] };
    },
    // Git Re-Basin's MergeMany: each model matched to the mean of the others, round after round.
    alignMany(input, options) {
      const result = weightMatchingMany(input.spec, input.models, { seed: input.seed ?? 0, maxIterations: maxIterationsOption.parse(options.maxIterations) });
      const diagnostics: AlignDiagnostics = { '(all)': { rounds: result.rounds, spreadBefore: result.spreadBefore, spreadAfter: result.spreadAfter } };
      return { transforms: result.transforms.slice(1), diagnostics, warnings: [] };
    },
  }),
]);
