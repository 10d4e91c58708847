import { z } from 'zod';
import type { ModelSpec, ParamMap } from '../nn/spec.js';
import type { MethodEntry } from '../util/methodEntry.js';
import { Registry } from '../util/registry.js';
import { fisherAlpha, fisherModes, fisherUnsupported, type FisherMode } from './fisher.js';
import { constantMasks, type AlphaMasks } from './mergeParams.js';

export interface AlphaInitContext {
  spec: ModelSpec;
  paramsA: ParamMap;
  /** Model B after alignment. */
  paramsB: ParamMap;
  /**
   * Diagonal Fisher information of a model on the merge split (see diagonalFisher). Passed in so that
   * callers can compute model A's once for every alignment of B.
   */
  fisherOf(params: ParamMap, mode: FisherMode): ParamMap;
}

/** Alpha masks computed from the two models alone: merges of their own, and starting points of learned alpha. */
export interface AlphaInitEntry extends MethodEntry {
  /** Why it cannot compute masks for models of `spec`, if it cannot. */
  unsupported?(spec: ModelSpec): string | undefined;
  /** Masks the caller owns; `options` holds the values of the fields it declared. */
  masks(context: AlphaInitContext, options: Record<string, unknown>): AlphaMasks;
}

/** alpha = 0.5 everywhere. */
export const uniformInit: AlphaInitEntry = {
  name: 'uniform',
  description: 'alpha = 0.5 everywhere: the plain average',
  options: {},
  masks: ({ paramsA }) => constantMasks(paramsA, 0.5),
};

const fisherOptions = {
  fisherMode: z
    .enum(fisherModes)
    .default(fisherModes[0])
    .describe("Fisher information: expected (over the model's own predictions) or empirical (at the true labels)"),
};

/** The registered alpha inits; `alphaInits.register` adds one. */
export const alphaInits = new Registry<AlphaInitEntry>('alpha init', [
  uniformInit,
  {
    name: 'fisher',
    description: "alpha = F_A / (F_A + F_B') from each model's diagonal Fisher information on the merge split",
    reference: 'https://arxiv.org/abs/2111.09832',
    options: fisherOptions,
    unsupported: fisherUnsupported,
    masks: ({ paramsA, paramsB, fisherOf }, options) => {
      const mode = options.fisherMode as FisherMode;
      return fisherAlpha(fisherOf(paramsA, mode), fisherOf(paramsB, mode));
    },
  },
]);
