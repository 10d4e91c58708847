import type { LabelledSet } from '../data/dataset.js';
import type { ModelSpec } from '../nn/spec.js';
import type { MethodEntry, Refusal } from '../util/methodEntry.js';
import type { ResumeStore } from '../util/resumable.js';
import type { AlphaInitContext } from './alphaInits.js';
import type { LearnedAlpha } from './learnAlpha.js';
import type { AlphaMasks } from './mergeParams.js';

/** What a merger sees: the models (the others aligned to the first, in one form), the merge split, and shared services. */
export interface MergeInput extends AlphaInitContext {
  /** The merge split (never the test split), for mergers that learn from data. */
  merge: LabelledSet;
  inputShape: number[];
  /** Seed of any random choice the merger makes (batch order). */
  seed: number;
  /** Where a merger that runs long keeps its progress, so a killed run continues. */
  state?: ResumeStore;
  onProgress?(done: number, total: number): void;
}

/** What a merge is asked to work on, known before any data is loaded. */
export interface MergeTarget {
  spec: ModelSpec;
  /** How many models are merged (two: A and B'). */
  models: number;
  /** Examples in the merge split. */
  mergeExamples: number;
}

/** A merger's weights and, when it learned them, how the optimisation went. */
export interface MergeOutcome {
  /**
   * The weights of every model but the last, per parameter entry (the last model's weight is what
   * they leave; for two models this is alpha, 1 = model A); the caller owns them.
   */
  masks: AlphaMasks[];
  training?: Omit<LearnedAlpha, 'masks'>;
}

/** A registered merge method: it computes the merge weights of models aligned to a reference. */
export interface MergerEntry extends MethodEntry {
  /** True when it starts from the alpha init named by its `init` option, whose settings then count too. */
  readonly usesInit?: boolean;
  /** True when its masks depend on `MergeInput.seed` (the batch order of learned masks). */
  readonly usesSeed?: boolean;
  /** Why it cannot merge these models with these options and this many merge-split examples, if it cannot. */
  unsupported?(target: MergeTarget, options: Record<string, unknown>): Refusal | undefined;
  /** Steps of work for a progress bar, when it reports progress. */
  progressTotal?(options: Record<string, unknown>): number;
  /** The merge weights of the models. */
  masks(input: MergeInput, options: Record<string, unknown>): Promise<MergeOutcome>;
}
