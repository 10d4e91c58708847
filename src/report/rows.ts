/**
 * The rows of a results table: which models and merges a report lists, how each is named, and in what order.
 * Shared by the accuracy chart and the summaries so that all of them list the same rows the same way.
 */

import type { AlignMethod, AlphaInit, AlphaKind, MergeMetrics, RunMetrics } from '../eval/metrics.js';

/** One row of results. */
export interface ResultRow {
  kind: 'model' | 'ensemble' | 'merge';
  /** Display name, e.g. "model-a", "logit ensemble", "cca · learned (fisher init)". */
  label: string;
  /** Set for merges only. */
  align?: AlignMethod;
  alpha?: AlphaKind;
  init?: AlphaInit | null;
  /** Test accuracy as a fraction in [0, 1], as stored in metrics.json. */
  testAccuracy: number;
  testLoss: number;
  /** For merged BatchNorm networks: test accuracy before the BatchNorm statistics were recomputed. */
  accuracyBeforeReset?: number;
}

/** Name shown for the logit ensemble. */
export const ENSEMBLE_LABEL = 'logit ensemble';

/** Separator between alignment and alpha in merge names. */
const SEP = ' · ';

const ALIGN_ORDER: readonly AlignMethod[] = ['none', 'permutation', 'cca'];
const ALPHA_ORDER: readonly AlphaKind[] = ['uniform', 'fisher', 'learned'];
const INIT_ORDER: readonly (AlphaInit | null)[] = [null, 'uniform', 'fisher'];

/** Display name of a merge variant, e.g. "none · uniform" or "cca · learned (fisher init)". */
export function mergeLabel(m: Pick<MergeMetrics, 'align' | 'alpha' | 'init'>): string {
  const base = `${m.align}${SEP}${m.alpha}`;
  return m.init === null ? base : `${base} (${m.init} init)`;
}

/** Position of `value` in `order`; unknown values (from newer metrics files) sort last. */
function rank<T>(order: readonly T[], value: T): number {
  const i = order.indexOf(value);
  return i === -1 ? order.length : i;
}

/** Orders merges from the simplest to the most elaborate: by alignment, then alpha kind, then init. */
export function compareMerges(a: MergeMetrics, b: MergeMetrics): number {
  return (
    rank(ALIGN_ORDER, a.align) - rank(ALIGN_ORDER, b.align) ||
    rank(ALPHA_ORDER, a.alpha) - rank(ALPHA_ORDER, b.alpha) ||
    rank(INIT_ORDER, a.init) - rank(INIT_ORDER, b.init)
  );
}

/** All result rows of a run: base models in their stored order, then the ensemble, then merges sorted by {@link compareMerges}. */
export function resultRows(metrics: RunMetrics): ResultRow[] {
  const models: ResultRow[] = metrics.models.map((m) => ({
    kind: 'model',
    label: m.name,
    testAccuracy: m.testAccuracy,
    testLoss: m.testLoss,
  }));
  const ensemble: ResultRow = {
    kind: 'ensemble',
    label: ENSEMBLE_LABEL,
    testAccuracy: metrics.ensemble.testAccuracy,
    testLoss: metrics.ensemble.testLoss,
  };
  const merges: ResultRow[] = [...metrics.merges].sort(compareMerges).map((m) => ({
    kind: 'merge',
    label: mergeLabel(m),
    align: m.align,
    alpha: m.alpha,
    init: m.init,
    testAccuracy: m.testAccuracy,
    testLoss: m.testLoss,
    accuracyBeforeReset: m.withoutBatchNormReset?.testAccuracy,
  }));
  return [...models, ensemble, ...merges];
}

/** Accuracy stored as a fraction in [0, 1], as a percentage. */
export function toPercent(accuracy: number): number {
  return accuracy * 100;
}
