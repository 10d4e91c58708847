import type { TensorSet } from '../data/batches.js';
import type { AlphaInit } from '../eval/metrics.js';
import { disposeParams } from '../nn/init.js';
import type { ModelSpec, ParamMap } from '../nn/spec.js';
import { Registry, type RegistryEntry } from '../util/registry.js';
import { diagonalFisher, fisherAlpha, type FisherMode } from './fisher.js';
import { constantMasks, type AlphaMasks } from './mergeParams.js';

export interface AlphaInitContext {
  spec: ModelSpec;
  paramsA: ParamMap;
  /** Model B after alignment. */
  paramsB: ParamMap;
  /** The merge split: never the test split. */
  data: TensorSet;
  fisherMode: FisherMode;
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
    masks: ({ spec, paramsA, paramsB, data, fisherMode }) => {
      const fisherA = diagonalFisher(spec, paramsA, data, fisherMode);
      const fisherB = diagonalFisher(spec, paramsB, data, fisherMode);
      try {
        return fisherAlpha(fisherA, fisherB);
      } finally {
        disposeParams(fisherA);
        disposeParams(fisherB);
      }
    },
  },
]);
