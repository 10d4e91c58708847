import { join } from 'node:path';
import type { AcrossRepeats, InterpolationMetrics, ManyMergeMetrics, MergeMetrics, ModelMetrics, RunMetrics } from '../artifacts/metrics.js';
import { mergeLabel } from '../report/rows.js';
import { meanAndStd } from '../util/statistics.js';

/** One repeat's metrics, and its run directory relative to the aggregate's. */
export interface RepeatRun {
  seed: number;
  dir: string;
  metrics: RunMetrics;
}

interface Evaluated {
  testAccuracy: number;
  testLoss: number;
}

/** The mean of each figure over `values` (one per repeat), with the spread and every repeat's value. */
function across(values: readonly Evaluated[]): Evaluated & { acrossRepeats: AcrossRepeats } {
  const accuracy = meanAndStd(values.map((v) => v.testAccuracy));
  const loss = meanAndStd(values.map((v) => v.testLoss));
  return {
    testAccuracy: accuracy.mean,
    testLoss: loss.mean,
    acrossRepeats: { testAccuracyStd: accuracy.std, testLossStd: loss.std, testAccuracies: values.map((v) => v.testAccuracy), testLosses: values.map((v) => v.testLoss) },
  };
}

/**
 * The entries every repeat has, matched by `idOf`, in the first repeat's order: entries of one repeat
 * alone (a variant added to one repeat's directory by hand) have no spread and are left out.
 */
function matched<T>(lists: readonly (readonly T[])[], idOf: (item: T) => string): T[][] {
  const byId = lists.map((list) => new Map(list.map((item) => [idOf(item), item])));
  return lists[0]!.flatMap((item) => {
    const id = idOf(item);
    const found = byId.map((map) => map.get(id));
    return found.every((x) => x !== undefined) ? [found as T[]] : [];
  });
}

/** A path in the first repeat's directory, as the aggregate's directory sees it. */
const inFirst = (runs: readonly RepeatRun[], path: string | undefined) => (path === undefined ? undefined : join(runs[0]!.dir, path));

function aggregateMerge(runs: readonly RepeatRun[], merges: MergeMetrics[]): MergeMetrics {
  const [first] = merges as [MergeMetrics];
  const unreset = merges.map((m) => m.withoutBatchNormReset);
  const alphas = merges.map((m) => m.meanAlpha);
  const warnings = merges.flatMap((m, r) => (m.warning ? [`repeat ${r + 1}: ${m.warning}`] : []));
  const masks = inFirst(runs, first.masks);
  return {
    ...first,
    ...across(merges),
    ...(alphas.every((a) => a !== undefined) ? { meanAlpha: meanAndStd(alphas as number[]).mean } : {}),
    ...(unreset.every((u) => u !== undefined) ? { withoutBatchNormReset: across(unreset as Evaluated[]) } : {}),
    ...(warnings.length ? { warning: warnings.join('; ') } : {}),
    ...(masks ? { masks } : {}),
  };
}

function aggregateMany(many: NonNullable<RunMetrics['many']>[]): NonNullable<RunMetrics['many']> {
  const merges = matched(
    many.map((m) => m.merges),
    (m) => `${m.label} @ ${m.models}`,
  ).map((repeats): ManyMergeMetrics => {
    const warnings = repeats.flatMap((m, r) => (m.warning ? [`repeat ${r + 1}: ${m.warning}`] : []));
    // The tree (with its nodes' accuracies) is the first repeat's: trees of other seeds may pair other models.
    return { ...repeats[0]!, ...across(repeats), ...(warnings.length ? { warning: warnings.join('; ') } : {}) };
  });
  const references = matched(
    many.map((m) => m.references),
    (r) => String(r.models),
  ).map((repeats) => ({
    models: repeats[0]!.models,
    ensemble: across(repeats.map((r) => r.ensemble)),
    // The spread of the N base models, averaged over the repeats; acrossRepeats holds the repeats' means.
    meanBase: { ...across(repeats.map((r) => r.meanBase)), testAccuracyStd: meanAndStd(repeats.map((r) => r.meanBase.testAccuracyStd)).mean },
  }));
  return { merges, references };
}

/** Curves matched by alignment: the mean loss and accuracy at each t, and the barriers' mean and std. */
function aggregateInterpolations(curves: InterpolationMetrics[][]): InterpolationMetrics[] {
  return matched(curves, (c) => c.alignLabel).map((repeats) => {
    const { key: _key, ...first } = repeats[0]!;
    const loss = meanAndStd(repeats.map((c) => c.barrier.loss));
    const accuracy = meanAndStd(repeats.map((c) => c.barrier.accuracy));
    return {
      ...first,
      points: first.points.map((point, i) => {
        const { testAccuracy, testLoss } = across(repeats.map((c) => c.points[i]!));
        return { t: point.t, testAccuracy, testLoss };
      }),
      barrier: { loss: loss.mean, accuracy: accuracy.mean },
      barrierStd: { loss: loss.std, accuracy: accuracy.std },
    };
  });
}

/** Seconds per stage over all repeats. */
function summedTimings(runs: readonly RepeatRun[]): Record<string, number> {
  const total: Record<string, number> = {};
  for (const { metrics } of runs) for (const [stage, seconds] of Object.entries(metrics.timings)) total[stage] = (total[stage] ?? 0) + seconds;
  return total;
}

/**
 * One run's metrics from its repeats (each a whole run with its own seed): every accuracy and loss is
 * the mean over the repeats, with `acrossRepeats` holding the sample standard deviation and every
 * repeat's value. Models are matched by name, merges by label, many-model merges by label and N,
 * interpolation curves by alignment (their points and barriers averaged); an
 * entry that some repeat lacks is left out. What cannot be averaged (masks, alpha curves, trees,
 * alignment diagnostics, correlations) is the first repeat's, its paths relative to the aggregate's
 * directory.
 */
export function aggregateRepeats(runs: readonly RepeatRun[]): RunMetrics {
  if (runs.length === 0) throw new Error('aggregateRepeats needs at least one repeat');
  const first = runs[0]!.metrics;
  const all = runs.map((run) => run.metrics);
  const models = matched(
    all.map((m) => m.models),
    (m) => m.name,
  ).map((repeats): ModelMetrics => {
    const { seed: _seed, key: _key, checkpoint, ...rest } = repeats[0]!;
    return { ...rest, ...across(repeats), ...(checkpoint ? { checkpoint: inFirst(runs, checkpoint)! } : {}) };
  });
  const merges = matched(all.map((m) => m.merges), mergeLabel).map((repeats) => aggregateMerge(runs, repeats));
  const manyRuns = all.map((m) => m.many);
  const many = manyRuns.every((m) => m !== undefined) ? aggregateMany(manyRuns as NonNullable<RunMetrics['many']>[]) : undefined;
  const curves = all.map((m) => m.interpolations);
  const interpolations = curves.every((c) => c !== undefined) ? aggregateInterpolations(curves as InterpolationMetrics[][]) : [];
  const { reproducibility: _r, resources: _s, many: _m, models: _models, merges: _merges, ensemble: _e, timings: _t, interpolations: _i, ...rest } = first;
  return {
    ...rest,
    models,
    ensemble: across(all.map((m) => m.ensemble)),
    merges,
    timings: summedTimings(runs),
    ...(many ? { many } : {}),
    ...(interpolations.length ? { interpolations } : {}),
    repeats: { seeds: runs.map((run) => run.seed), runs: runs.map((run) => run.dir) },
  };
}
