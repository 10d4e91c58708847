import { TensorSet } from '../data/batches.js';
import type { LabelledSet } from '../data/dataset.js';
import { splitOff } from '../data/split.js';
import type { AlphaInit, AlphaKind } from '../eval/metrics.js';
import type { ModelSpec } from '../nn/spec.js';
import { alphaInits, type AlphaInitContext } from './alphaInits.js';
import { learnAlphaMasks, type LearnAlphaHooks, type LearnAlphaOptions, type LearnedAlpha } from './learnAlpha.js';
import type { AlphaMasks } from './mergeParams.js';

export interface AlphaMaskContext extends AlphaInitContext {
  spec: ModelSpec;
  /** Initialisation of learned masks. */
  init: AlphaInit;
  /** The merge split, divided into the part alpha trains on and the part that picks its best step. */
  train: TensorSet;
  validation: TensorSet;
  learn: LearnAlphaOptions;
  /** Progress, checkpoints and resuming of learned alpha. */
  hooks?: LearnAlphaHooks;
}

/**
 * The masks of one merge variant: `uniform` (0.5), `fisher` (F_A / (F_A + F_B')) or `learned`
 * (trained from the `init` masks). The caller owns the returned masks; `learned` also carries the
 * training curves.
 */
export async function alphaMasksFor(alpha: AlphaKind, context: AlphaMaskContext): Promise<{ masks: AlphaMasks; learned?: LearnedAlpha }> {
  if (alpha !== 'learned') return { masks: alphaInits.get(alpha).masks(context) };
  const start = alphaInits.get(context.init).masks(context);
  try {
    const { spec, paramsA, paramsB, train, validation, learn, hooks } = context;
    const learned = await learnAlphaMasks(spec, paramsA, paramsB, start, train, validation, learn, hooks);
    return { masks: learned.masks, learned };
  } finally {
    Object.values(start).forEach((t) => t.dispose());
  }
}

/**
 * The merge split as learned alpha uses it: the first part to train the masks on, the last
 * `validationFraction` (at least one example) to pick the best step. The caller disposes both.
 */
export function alphaTrainingSets(merge: LabelledSet, inputShape: number[], validationFraction: number): { train: TensorSet; validation: TensorSet } {
  const validationCount = Math.max(1, Math.round(merge.count * validationFraction));
  const [train, validation] = splitOff(merge, merge.count - validationCount);
  return { train: new TensorSet(train, inputShape), validation: new TensorSet(validation, inputShape) };
}
