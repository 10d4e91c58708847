/**
 * The shape of reports/<run>/metrics.json. Later tooling reads it: fields may be added, never renamed.
 */

export type AlignMethod = 'none' | 'permutation' | 'cca';
export type AlphaKind = 'uniform' | 'fisher' | 'learned';
export type AlphaInit = 'uniform' | 'fisher';

export interface ModelMetrics {
  name: string;
  testAccuracy: number;
  testLoss: number;
  seed?: number;
  checkpoint?: string;
}

export interface MergeMetrics {
  align: AlignMethod;
  alpha: AlphaKind;
  /** Initialisation of learned alpha; null for the untrained variants. */
  init: AlphaInit | null;
  testAccuracy: number;
  testLoss: number;
  /** Mean alpha over all parameter entries (1 = all model A). */
  meanAlpha?: number;
  /**
   * For networks with BatchNorm, testAccuracy and testLoss are measured after recomputing the merged
   * model's BatchNorm statistics on the training split; these are the figures before that reset.
   */
  withoutBatchNormReset?: { testAccuracy: number; testLoss: number };
  /** Set when learned alpha diverged: where, and which masks were kept instead. */
  warning?: string;
}

/** One point of the learned-alpha optimisation, measured on the merge split. */
export interface CurvePoint {
  step: number;
  loss: number;
  accuracy: number;
}

export interface AlphaCurve {
  align: AlignMethod;
  init: AlphaInit;
  /** Loss and accuracy of each training batch. */
  points: CurvePoint[];
  /** Loss and accuracy on the held-out part of the merge split, every few steps (step 0 = the init). */
  validation?: CurvePoint[];
  /** The step whose masks were kept: the one with the lowest validation loss. */
  bestStep?: number;
}

export interface RunMetrics {
  dataset: string;
  models: ModelMetrics[];
  ensemble: { testAccuracy: number; testLoss: number };
  merges: MergeMetrics[];
  /** Wall-clock seconds per stage. */
  timings: Record<string, number>;
  /** Learned-alpha training curves, one per (align, init). */
  alphaCurves?: AlphaCurve[];
  backend?: string;
  recipe?: string;
  versions?: Record<string, string>;
  /** Examples in each data split. */
  split?: { train: number; merge: number; test: number };
  /** Per alignment method, per feature space: the aligner's diagnostics (canonical correlations...). */
  alignment?: Record<string, unknown>;
  /** What reproduces the numbers: the hash of the resolved recipe and every seed it implies. */
  reproducibility?: { recipeHash: string; seeds: { split: number; models: number[]; alpha: number } };
  /** How the run computed: wasm threads, training jobs, and this process's peak resident memory. */
  resources?: { threads: number; jobs: number; peakRssMB: number };
}
