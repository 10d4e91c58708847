import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { RunMetrics } from '../eval/metrics.js';
import { writeFileAtomic } from '../io/atomicWrite.js';
import { readSafetensors } from '../io/safetensors.js';
import { InputError } from '../util/errors.js';
import { renderAccuracyChart } from './accuracyChart.js';
import { renderAlphaHistograms } from './alphaHistogram.js';
import { renderAlphaMap } from './alphaMap.js';
import { writeFigure } from './render.js';
import { summaryMarkdown } from './summary.js';
import { renderAlphaTrainingCurves } from './trainingCurve.js';
import type { AlphaMaskSet } from './types.js';

/** Reads a run's metrics.json, naming the run directory in errors. */
export async function readRunMetrics(dir: string): Promise<RunMetrics> {
  const path = join(dir, 'metrics.json');
  if (!existsSync(path)) throw new InputError(`${dir} holds no metrics.json: run the recipe first (merge-train run <recipe>)`);
  try {
    return JSON.parse(await readFile(path, 'utf8')) as RunMetrics;
  } catch (error) {
    throw new InputError(`${path} is not valid JSON: ${(error as Error).message}`);
  }
}

async function readMasks(path: string): Promise<AlphaMaskSet> {
  const { tensors } = await readSafetensors(path);
  const masks: AlphaMaskSet = {};
  for (const [name, { shape, data }] of Object.entries(tensors)) masks[name] = { shape, values: Float32Array.from(data) };
  return masks;
}

/**
 * Renders a run's report from its saved files alone (metrics.json and masks/*.safetensors), so figures
 * can be redrawn without training: summary.md, the accuracy chart, the alpha training curves, and for
 * every learned mask set a histogram per layer and an alpha map per weight matrix. Returns the paths.
 */
export async function writeReport(dir: string): Promise<string[]> {
  const metrics = await readRunMetrics(dir);
  const figures = join(dir, 'figures');
  const written: string[] = [];
  await writeFileAtomic(join(dir, 'summary.md'), summaryMarkdown(metrics));
  written.push(join(dir, 'summary.md'));
  written.push(...(await writeFigure(figures, 'accuracy', renderAccuracyChart(metrics))));
  if (metrics.alphaCurves?.length) {
    written.push(...(await writeFigure(figures, 'alpha-training', renderAlphaTrainingCurves(metrics.alphaCurves))));
  }
  const maskDir = join(dir, 'masks');
  const maskFiles = existsSync(maskDir) ? (await readdir(maskDir)).filter((f) => f.endsWith('-learned.safetensors')).sort() : [];
  for (const file of maskFiles) {
    const variant = basename(file, '.safetensors'); // e.g. cca-learned
    const masks = await readMasks(join(maskDir, file));
    written.push(...(await writeFigure(figures, `alpha-histogram-${variant}`, renderAlphaHistograms(masks, `learned alpha per layer (${variant})`))));
    for (const [name, mask] of Object.entries(masks)) {
      if (mask.shape.length < 2) continue; // biases are shown in the histograms
      written.push(...(await writeFigure(figures, `alpha-map-${variant}-${name}`, renderAlphaMap(`${name} (${variant})`, mask))));
    }
  }
  return written;
}
