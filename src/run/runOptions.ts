import type { RunMetrics } from '../artifacts/metrics.js';
import type { RunObserver } from '../util/observer.js';

/** How runRecipe runs a recipe. */
export interface RunOptions {
  /** The run directory; default reports/<recipe name>. */
  outDir?: string;
  observer?: RunObserver;
  /** Where the recipe came from, recorded in metrics.json. */
  recipePath?: string;
  /** Base models trained (and independent merges of many models made) at once, in worker processes; default MERGE_TRAIN_JOBS, else one per core. */
  jobs?: number;
  /** wasm compute threads for the run; default MERGE_TRAIN_THREADS, else one per core. */
  threads?: number;
  /**
   * Start the run directory over even if its base-model settings changed (base models made from the
   * same settings are still reused). Without it, a directory of other base-model settings is refused.
   */
  restart?: boolean;
  /** Draw the report (figures and summary) after metrics.json; default true. */
  report?: boolean;
}

/** What a run made: its metrics and its run directory. */
export interface RunResult {
  metrics: RunMetrics;
  dir: string;
}

