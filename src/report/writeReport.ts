import { rm } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { readRunMetrics } from '../artifacts/metrics.js';
import { writeFileAtomic } from '../io/atomicWrite.js';
import { readSafetensors } from '../io/safetensors.js';
import { renderAccuracyChart } from './accuracyChart.js';
import { renderAccuracyVsModels } from './accuracyVsModels.js';
import { renderAlphaHistograms } from './alphaHistogram.js';
import { renderAlphaMap } from './alphaMap.js';
import { renderCorrelationHistograms } from './correlationHistogram.js';
import { renderMergeTree } from './mergeTree.js';
import { writeFigure } from './render.js';
import { largestTrees, manyMergeVariants, mergeLabel } from './rows.js';
import { summaryMarkdown } from './summary.js';
import { variantColour } from './theme.js';
import { renderAlphaTrainingCurves } from './trainingCurve.js';
import type { AlphaMaskSet } from './types.js';

async function readMasks(path: string): Promise<AlphaMaskSet> {
  const { tensors } = await readSafetensors(path);
  const masks: AlphaMaskSet = {};
  for (const [name, { shape, data }] of Object.entries(tensors)) masks[name] = { shape, values: Float32Array.from(data) };
  return masks;
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

/**
 * Renders a run's report from its saved files alone (metrics.json and the masks it names), so figures
 * can be redrawn without training: summary.md, the accuracy chart, the alpha training curves, and for
 * every merge whose masks vary a histogram of alpha per layer and an alpha map per weight tensor. Runs
 * that merged many models add the accuracy against N (many-accuracy) and the tree of each hierarchical
 * variant at its largest N (merge-tree-<variant>); runs with correlation analyses add one figure per
 * alignment (correlations-<alignment>). Returns the paths written.
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
  for (const merge of metrics.merges) {
    if (!merge.masks) continue;
    const masks = await readMasks(join(dir, merge.masks));
    if (isConstant(masks)) continue;
    const label = mergeLabel(merge);
    const slug = fileSlug(label);
    written.push(...(await writeFigure(figures, `alpha-histogram-${slug}`, renderAlphaHistograms(masks, `alpha per layer (${label})`))));
    for (const [name, mask] of Object.entries(masks)) {
      if (mask.shape.length < 2) continue; // biases are shown in the histograms
      written.push(...(await writeFigure(figures, `alpha-map-${slug}-${name}`, renderAlphaMap(`${name} (${label})`, mask))));
    }
  }
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
  // The summary last, showing every figure drawn.
  const summary = join(dir, 'summary.md');
  await writeFileAtomic(summary, summaryMarkdown(metrics, { figures: written.filter((path) => path.endsWith('.png')).map((path) => relative(dir, path)) }));
  return [summary, ...written];
}
