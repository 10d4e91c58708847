/**
 * The rows of a results table: which models and merges a report lists, how each is named, and in what order.
 * Shared by the accuracy chart and the summaries so that all of them list the same rows the same way.
 */

import { aligners } from '../align/aligners.js';
import type { AcrossRepeats, ManyMergeMetrics, MergeMetrics, RunMetrics } from '../artifacts/metrics.js';
import { alphaInits } from '../merge/alphaInits.js';
import { mergers } from '../merge/mergers.js';
import { strategies } from '../merge/strategies.js';

/** One row of results. */
export interface ResultRow {
  kind: 'model' | 'ensemble' | 'merge';
  /** Display name, e.g. "model A", "logit ensemble", "cca · learned (fisher init)". */
  label: string;
  /** Set for merges only: the alignment's label (what figures group by), and the methods. */
  alignLabel?: string;
  align?: string;
  alpha?: string;
  init?: string | null;
  /** Test accuracy as a fraction in [0, 1], as stored in metrics.json. */
  testAccuracy: number;
  testLoss: number;
  /** For merged BatchNorm networks: test accuracy before the BatchNorm statistics were recomputed. */
  accuracyBeforeReset?: number;
  /** For a run of several repeats (the figures above are then means): the spread and each repeat's value. */
  acrossRepeats?: AcrossRepeats;
  /** For a run of several repeats: the standard deviation of accuracyBeforeReset. */
  accuracyBeforeResetStd?: number;
}

/** Name shown for the logit ensemble. */
export const ENSEMBLE_LABEL = 'logit ensemble';

/** Separates a merge's alignment from its merge method in labels. */
export const LABEL_SEPARATOR = ' · ';

/** A merge's display name: its stored label, or for older files "cca · learned (fisher init)". */
export function mergeLabel(m: Pick<MergeMetrics, 'align' | 'alpha' | 'init' | 'label'>): string {
  if (m.label) return m.label;
  const base = `${m.align}${LABEL_SEPARATOR}${m.alpha}`;
  return m.init === null ? base : `${base} (${m.init} init)`;
}

/** The alignment part of a merge's name. */
export function alignLabelOf(m: Pick<MergeMetrics, 'align' | 'alignLabel'>): string {
  return m.alignLabel ?? m.align;
}

/** Position of `value` in `order`; names no registry knows (a removed plug-in's) sort last. */
function rank(order: readonly (string | null)[], value: string | null): number {
  const i = order.indexOf(value);
  return i === -1 ? order.length : i;
}

/** Orders two variants of one method by their settings: absent first, numbers by value, anything else by its JSON. */
function compareSettings(a: Record<string, unknown> = {}, b: Record<string, unknown> = {}): number {
  for (const key of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
    const [x, y] = [a[key], b[key]];
    if (x === undefined || y === undefined) {
      if (x !== y) return x === undefined ? -1 : 1;
      continue;
    }
    const order = typeof x === 'number' && typeof y === 'number' ? x - y : JSON.stringify(x).localeCompare(JSON.stringify(y));
    if (order !== 0) return order;
  }
  return 0;
}

/**
 * Orders merges from the simplest to the most elaborate: by alignment method in registry order (its
 * variants by their settings), then merge method, then init (none first), then the merge's settings.
 */
export function compareMerges(a: MergeMetrics, b: MergeMetrics): number {
  const inits = [null, ...alphaInits.names()];
  const align = (m: MergeMetrics) => ({ batchNorm: m.settings?.align.batchNorm, ...m.settings?.align.options });
  return (
    rank(aligners.names(), a.align) - rank(aligners.names(), b.align) ||
    compareSettings(align(a), align(b)) ||
    rank(mergers.names(), a.alpha) - rank(mergers.names(), b.alpha) ||
    rank(inits, a.init) - rank(inits, b.init) ||
    compareSettings(a.settings?.merge.options, b.settings?.merge.options) ||
    mergeLabel(a).localeCompare(mergeLabel(b))
  );
}

/** All result rows of a run: base models in their stored order, then the ensemble, then merges sorted by {@link compareMerges}. */
export function resultRows(metrics: RunMetrics): ResultRow[] {
  const figures = (m: { testAccuracy: number; testLoss: number; acrossRepeats?: AcrossRepeats | undefined }) => ({
    testAccuracy: m.testAccuracy,
    testLoss: m.testLoss,
    ...(m.acrossRepeats ? { acrossRepeats: m.acrossRepeats } : {}),
  });
  const models: ResultRow[] = metrics.models.map((m) => ({ kind: 'model', label: m.name, ...figures(m) }));
  const ensemble: ResultRow = { kind: 'ensemble', label: ENSEMBLE_LABEL, ...figures(metrics.ensemble) };
  const merges: ResultRow[] = [...metrics.merges].sort(compareMerges).map((m) => ({
    kind: 'merge',
    label: mergeLabel(m),
    alignLabel: alignLabelOf(m),
    align: m.align,
    alpha: m.alpha,
    init: m.init,
    ...figures(m),
    ...(m.withoutBatchNormReset ? { accuracyBeforeReset: m.withoutBatchNormReset.testAccuracy } : {}),
    ...(m.withoutBatchNormReset?.acrossRepeats ? { accuracyBeforeResetStd: m.withoutBatchNormReset.acrossRepeats.testAccuracyStd } : {}),
  }));
  return [...models, ensemble, ...merges];
}

/** The method a variant label names: its first word ("cca (gamma 0.1)" → "cca"). */
function methodOf(label: string): string {
  return label.split(/[\s(]/, 1)[0] ?? label;
}

/** Orders strategy labels by registry order (the simplest first), unknown ones after them by name. */
export function compareStrategies(a: string, b: string): number {
  return rank(strategies.names(), methodOf(a)) - rank(strategies.names(), methodOf(b)) || a.localeCompare(b);
}

/**
 * Orders merges of many models like {@link compareMerges} orders merges of two: by strategy, then by
 * alignment method in registry order (its variants by label), then by merge method, then by label and N.
 */
export function compareManyMerges(a: ManyMergeMetrics, b: ManyMergeMetrics): number {
  return (
    compareStrategies(a.strategy, b.strategy) ||
    rank(aligners.names(), methodOf(a.alignLabel)) - rank(aligners.names(), methodOf(b.alignLabel)) ||
    a.alignLabel.localeCompare(b.alignLabel) ||
    rank(mergers.names(), methodOf(a.alphaLabel)) - rank(mergers.names(), methodOf(b.alphaLabel)) ||
    a.alphaLabel.localeCompare(b.alphaLabel) ||
    a.label.localeCompare(b.label) ||
    a.models - b.models
  );
}

/** The variants of many-model merges, one per label, in {@link compareManyMerges} order, with their strategy. */
export function manyMergeVariants(merges: readonly ManyMergeMetrics[]): { label: string; strategy: string }[] {
  const seen = new Map<string, string>();
  for (const m of [...merges].sort(compareManyMerges)) if (!seen.has(m.label)) seen.set(m.label, m.strategy);
  return [...seen].map(([label, strategy]) => ({ label, strategy }));
}

/** The numbers of models N that merges or references of many models were run with, ascending. */
export function modelCounts(many: { merges: readonly { models: number }[]; references: readonly { models: number }[] }): number[] {
  return [...new Set([...many.merges, ...many.references].map((m) => m.models))].sort((a, b) => a - b);
}

/**
 * The merges whose tree a report shows: for each variant that recorded trees (hierarchical ones), the
 * merge of the most models, in {@link manyMergeVariants} order.
 */
export function largestTrees(merges: readonly ManyMergeMetrics[]): ManyMergeMetrics[] {
  const largest = new Map<string, ManyMergeMetrics>();
  for (const m of [...merges].sort(compareManyMerges)) {
    if (!m.tree?.length) continue;
    const kept = largest.get(m.label);
    if (!kept || m.models > kept.models) largest.set(m.label, m);
  }
  return [...largest.values()];
}

/** Accuracy stored as a fraction in [0, 1], as a percentage. */
export function toPercent(accuracy: number): number {
  return accuracy * 100;
}
