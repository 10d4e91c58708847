import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import type { ModelSpec, ParamMap } from '../nn/spec.js';
import type { MethodEntry } from '../util/methodEntry.js';
import { Registry } from '../util/registry.js';
import { fisherModes, fisherWeights, type FisherMode } from './fisher.js';
import { coarsen, granularityOption, type Granularity } from './granularity.js';
import { constantMasks, type AlphaMasks } from './mergeParams.js';

/** What an alpha init sees: the spec, the models, and their Fisher information on demand. */
export interface AlphaInitContext {
  spec: ModelSpec;
  /** The models to merge: the reference first, the others aligned to it (two models: A and B'). */
  models: readonly ParamMap[];
  /**
   * Diagonal Fisher information of a model on the first `examples` examples of the merge split (all
   * when undefined; see diagonalFisher). Passed in so that callers can compute a model's once for
   * every merge it takes part in.
   */
  fisherOf(params: ParamMap, mode: FisherMode, examples?: number): ParamMap;
}

/** Merge weights computed from the models alone: merges of their own, and starting points of learned weights. */
export interface AlphaInitEntry extends MethodEntry {
  /** Why it cannot compute weights for models of `spec`, if it cannot. */
  unsupported?(spec: ModelSpec): string | undefined;
  /**
   * The weights of every model but the last (whose weight is what they leave; for two models, alpha
   * of A), which the caller owns. `options` holds the values of the fields it declared.
   */
  masks(context: AlphaInitContext, options: Record<string, unknown>): AlphaMasks[];
}

/** Every model weighs 1/N everywhere (two models: alpha = 0.5). */
export const uniformInit: AlphaInitEntry = {
  name: 'uniform',
  description: 'every model weighs 1/N everywhere: the plain average (alpha = 0.5 for two models)',
  options: {},
  masks: ({ models }) => models.slice(0, -1).map((model) => constantMasks(model, 1 / models.length)),
};

const fisherOptions = {
  fisherMode: z
    .enum(fisherModes)
    .default(fisherModes[0])
    .describe("Fisher information: expected (over the model's own predictions) or empirical (at the true labels)"),
  fisherExamples: z
    .number()
    .int()
    .positive()
    .optional()
    .describe('merge-split examples the Fisher information is computed on (default: all of them)'),
  granularity: granularityOption,
};

/** Each model weighs by its diagonal Fisher information, entry by entry (two models: F_A / (F_A + F_B')). */
export const fisherInit: AlphaInitEntry = {
  name: 'fisher',
  description: "w_k = F_k / sum_j F_j from each model's diagonal Fisher information on the merge split (two models: alpha = F_A / (F_A + F_B'))",
  reference: 'https://arxiv.org/abs/2111.09832',
  options: fisherOptions,
  masks: ({ spec, models, fisherOf }, options) => {
    const mode = options.fisherMode as FisherMode;
    const examples = options.fisherExamples as number | undefined;
    // A coarser weight pools the information of all its entries: F_k summed over the group.
    const pooled = models.map((model) => coarsen(fisherOf(model, mode, examples), spec, options.granularity as Granularity | undefined, 'sum'));
    try {
      const weights = fisherWeights(pooled);
      tf.dispose(Object.values(weights.pop()!)); // the last model's weight is implied
      return weights;
    } finally {
      tf.dispose(pooled.flatMap((fisher) => Object.values(fisher)));
    }
  },
};

/** The registered alpha inits; `alphaInits.register` adds one. */
export const alphaInits = new Registry<AlphaInitEntry>('alpha init', [uniformInit, fisherInit]);
