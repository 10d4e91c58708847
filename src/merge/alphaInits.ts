import type { AlphaInit } from '../eval/metrics.js';
import type { ParamMap } from '../nn/spec.js';
import { Registry, type RegistryEntry } from '../util/registry.js';
import { fisherAlpha } from './fisher.js';
import { constantMasks, type AlphaMasks } from './mergeParams.js';

export interface AlphaInitContext {
  paramsA: ParamMap;
  /** Model B after alignment. */
  paramsB: ParamMap;
  /**
   * Diagonal Fisher information of a model on the merge split (see diagonalFisher). Passed in so that
   * callers can compute model A's once for every alignment of B.
   */
  fisherOf(params: ParamMap): ParamMap;
}

export interface AlphaInitEntry extends RegistryEntry {
  name: AlphaInit;
  /** Masks the caller owns. */
  masks(context: AlphaInitContext): AlphaMasks;
}

export const alphaInits = new Registry<AlphaInitEntry>('alpha init', [
  {
    name: 'uniform',
    description: 'alpha = 0.5 everywhere: the plain average',
    masks: ({ paramsA }) => constantMasks(paramsA, 0.5),
  },
  {
    name: 'fisher',
    description: 'alpha = F_A / (F_A + F_B\') from each model\'s diagonal Fisher information on the merge split',
    reference: 'https://arxiv.org/abs/2111.09832',
    masks: ({ paramsA, paramsB, fisherOf }) => fisherAlpha(fisherOf(paramsA), fisherOf(paramsB)),
  },
]);
