import { rm } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fisherInit } from '../merge/alphaInits.js';
import { learnedMerger } from '../merge/learnedMerger.js';
import { readRunMetrics, type InterpolationMetrics, type MergeMetrics, type RunMetrics } from '../artifacts/metrics.js';
import { writeFileAtomic } from '../io/atomicWrite.js';
import { renderAccuracyChart } from './accuracyChart.js';
import { renderAccuracyVsModels } from './accuracyVsModels.js';
import { renderAlphaHistograms } from './alphaHistogram.js';
import { renderAlphaLayers } from './alphaLayers.js';
import { renderAlphaMap } from './alphaMap.js';
import { renderCorrelationHistograms } from './correlationHistogram.js';
import { fisherLearnedSummary, renderFisherVsLearned } from './fisherVsLearned.js';
import { renderInterpolationCurves } from './interpolationCurve.js';
import { renderMergeTree } from './mergeTree.js';
import { readAlphaMasks } from './readMasks.js';
import { writeFigure, type Figure } from './render.js';
import { alignLabelOf, compareMerges, LABEL_SEPARATOR, largestTrees, manyMergeVariants, mergeLabel } from './rows.js';
import { summaryMarkdown } from './summary.js';
import { writeTables } from './tables.js';
import { variantColour } from './theme.js';
import { renderAlphaTrainingCurves } from './trainingCurve.js';
import type { AlphaMaskSet } from './types.js';

/** A merge's masks in model order, without BatchNorm's running statistics (recomputed after merging, never learned). */
function readMasks(path: string): Promise<AlphaMaskSet> {
  return readAlphaMasks(path, { trainableOnly: true });
}

/** True when every entry of every mask has one value (a plain average): nothing to draw. */
function isConstant(masks: AlphaMaskSet): boolean {
  const first = Object.values(masks)[0]?.values[0];
  return Object.values(masks).every(({ values }) => values.every((v) => v === first));
}

/** A label as a file name: "cca · learned (fisher init)" → "cca-learned-fisher-init". */
export function fileSlug(label: string): string {
  return label.toLowerCase().replace(/[^a-z0-9.]+/g, '-').replace(/^-+|-+$/g, '');
}

/** What the figures of merges' masks found that the summary states: Fisher-against-learned correlations. */
interface MaskFindings {
  written: string[];
  fisherVsLearned: string[];
}

/**
 * The figures of the merges' masks, one alignment at a time (so that only its masks are in memory):
 * per merge whose masks vary, a histogram of alpha per layer and a map per weight tensor; per
 * alignment, alpha's mean and spread per layer for all its merges; per learned merge with a Fisher
 * merge of the same alignment and granularity, the Fisher alpha against the learned alpha.
 */
async function maskFigures(dir: string, figures: string, metrics: RunMetrics): Promise<MaskFindings> {
  const found: MaskFindings = { written: [], fisherVsLearned: [] };
  const write = async (name: string, figure: Figure) => found.written.push(...(await writeFigure(figures, name, figure)));
  const withMasks = metrics.merges.filter((m) => m.masks !== undefined);
  for (const alignLabel of new Set(withMasks.map(alignLabelOf))) {
    const merges = withMasks.filter((m) => alignLabelOf(m) === alignLabel).sort(compareMerges);
    const masks = await Promise.all(merges.map((m) => readMasks(join(dir, m.masks!))));
    const varying: { label: string; masks: AlphaMaskSet }[] = [];
    for (const [i, merge] of merges.entries()) {
      if (isConstant(masks[i]!)) continue;
      const label = mergeLabel(merge);
      const slug = fileSlug(label);
      await write(`alpha-histogram-${slug}`, renderAlphaHistograms(masks[i]!, `alpha per layer (${label})`));
      for (const [name, mask] of Object.entries(masks[i]!)) {
        if (mask.shape.length < 2) continue; // biases are shown in the histograms
        await write(`alpha-map-${slug}-${name}`, renderAlphaMap(`${name} (${label})`, mask));
      }
      // The title names the alignment; the legend each merge by its merge part ("learned (fisher init)").
      varying.push({ label: label.startsWith(alignLabel + LABEL_SEPARATOR) ? label.slice(alignLabel.length + LABEL_SEPARATOR.length) : label, masks: masks[i]! });
    }
    if (varying.length > 0) await write(`alpha-layers-${fileSlug(alignLabel)}`, renderAlphaLayers(varying, { title: `alpha per layer (${alignLabel})` }));
    const granularity = (m: MergeMetrics): unknown => m.settings?.merge.options.granularity ?? 'entry';
    for (const [i, learned] of merges.entries()) {
      const fisher = merges.findIndex((m) => m.alpha === fisherInit.name && granularity(m) === granularity(learned));
      if (learned.alpha !== learnedMerger.name || fisher < 0) continue;
      const label = mergeLabel(learned);
      const figure = renderFisherVsLearned(alignLabel, masks[fisher]!, masks[i]!, { title: `Fisher vs learned alpha (${label})` });
      await write(`fisher-vs-learned-${fileSlug(label)}`, figure);
      // The panels hold each layer's correlations: no second pass over the masks.
      found.fisherVsLearned.push(fisherLearnedSummary(label, Object.fromEntries(figure.layout.panels.map((panel) => [panel.layer, panel]))));
    }
  }
  return found;
}

/** The interpolation curves with each merge marked where it lies on its alignment's line (at its mean alpha). */
function interpolationFigure(metrics: RunMetrics, interpolations: InterpolationMetrics[]): Figure {
  const curved = new Set(interpolations.map((c) => c.alignLabel));
  const markers = metrics.merges.flatMap((m) =>
    m.meanAlpha !== undefined && curved.has(alignLabelOf(m))
      ? [{ label: mergeLabel(m), alignLabel: alignLabelOf(m), t: m.meanAlpha, testAccuracy: m.testAccuracy, testLoss: m.testLoss }]
      : [],
  );
  return renderInterpolationCurves(interpolations, markers, { title: `Linear interpolation between B′ and A (${metrics.dataset})` });
}

/**
 * Renders a run's report from its saved files alone (metrics.json and the masks it names), so figures
 * and tables can be redrawn without training: the accuracy chart, the alpha training curves, the
 * interpolation curves (interpolation), the figures of the merges' masks (alpha-histogram-, alpha-map-,
 * alpha-layers-, fisher-vs-learned-; see maskFigures); runs that merged many models add the accuracy
 * against N (many-accuracy) and the tree of each hierarchical variant at its largest N
 * (merge-tree-<variant>); runs with correlation analyses add one figure per alignment
 * (correlations-<alignment>). Then the tables for papers (tables/*.tex, *.csv) and summary.md, which
 * shows them all. Returns the paths written.
 */
export async function writeReport(dir: string): Promise<string[]> {
  const metrics = await readRunMetrics(dir);
  const figures = join(dir, 'figures');
  // Drawn anew from the metrics: figures of variants the metrics no longer list (renamed labels) go.
  await rm(figures, { recursive: true, force: true });
  const written: string[] = [];
  written.push(...(await writeFigure(figures, 'accuracy', renderAccuracyChart(metrics))));
  if (metrics.alphaCurves?.length) {
    written.push(...(await writeFigure(figures, 'alpha-training', renderAlphaTrainingCurves(metrics.alphaCurves))));
  }
  if (metrics.interpolations?.length) written.push(...(await writeFigure(figures, 'interpolation', interpolationFigure(metrics, metrics.interpolations))));
  const masks = await maskFigures(dir, figures, metrics);
  written.push(...masks.written);
  if (metrics.many && (metrics.many.merges.length > 0 || metrics.many.references.length > 0)) {
    const { many } = metrics;
    const title = `Merging many models (${metrics.dataset})`;
    written.push(...(await writeFigure(figures, 'many-accuracy', renderAccuracyVsModels(many, { title }))));
    // A tree's merges take its line's colour in many-accuracy.
    const labels = manyMergeVariants(many.merges).map((v) => v.label);
    for (const merge of largestTrees(many.merges)) {
      const colour = variantColour(labels.indexOf(merge.label));
      const treeTitle = `${merge.label}: merge tree of ${merge.models} models (${metrics.dataset})`;
      written.push(...(await writeFigure(figures, `merge-tree-${fileSlug(merge.label)}`, renderMergeTree(merge, { colour, title: treeTitle }))));
    }
  }
  for (const [alignLabel, spaces] of Object.entries(metrics.correlations ?? {})) {
    if (Object.keys(spaces).length === 0) continue;
    const title = `Cross-model correlations: ${alignLabel} (${metrics.dataset})`;
    written.push(...(await writeFigure(figures, `correlations-${fileSlug(alignLabel)}`, renderCorrelationHistograms(alignLabel, spaces, { title }))));
  }
  const tables = await writeTables(dir, metrics);
  // The summary last, showing every figure drawn.
  const summary = join(dir, 'summary.md');
  const pngs = written.filter((path) => path.endsWith('.png')).map((path) => relative(dir, path));
  await writeFileAtomic(summary, summaryMarkdown(metrics, { figures: pngs, fisherVsLearned: masks.fisherVsLearned, tables: tables.map((path) => relative(dir, path)) }));
  return [summary, ...written, ...tables];
}
