import { join } from 'node:path';
import { writeRunMetrics } from '../artifacts/metrics.js';
import type { Recipe } from '../recipe/schema.js';
import { writeReport } from '../report/writeReport.js';
import { settingsKey } from '../util/hash.js';
import { silentObserver } from '../util/observer.js';
import { aggregateRepeats, type RepeatRun } from './aggregateRepeats.js';
import { claimRunDirectory, runLayout } from './runDirectory.js';
import type { RunOptions, RunResult } from './runOptions.js';

/** The folder of repeat `index` (0-based) inside a run directory of several repeats. */
export function repeatFolder(index: number): string {
  return `repeat-${index + 1}`;
}

/**
 * Runs a recipe `recipe.repeats` times, repeat r with seed `recipe.seed + r` (its own split, base
 * models and alpha), each in its own run directory inside this one (repeat-1, repeat-2, ...; each
 * resumes and grows like any run directory), then writes the mean ± std of every figure as this
 * directory's metrics.json and report. `runOne` runs a single repeat.
 */
export async function runRepeats(recipe: Recipe, options: RunOptions, runOne: (recipe: Recipe, options: RunOptions) => Promise<RunResult>): Promise<RunResult> {
  const observer = options.observer ?? silentObserver;
  const layout = runLayout(options.outDir ?? join('reports', recipe.name));
  const release = await claimRunDirectory(layout, recipe, options.restart ?? false);
  try {
    const runs: RepeatRun[] = [];
    for (let r = 0; r < recipe.repeats; r++) {
      const seed = recipe.seed + r;
      const dir = repeatFolder(r);
      observer.log(`repeat ${r + 1} of ${recipe.repeats} (seed ${seed}) → ${join(layout.dir, dir)}`);
      // Each repeat writes its metrics; its figures are drawn on demand (merge-train report <repeat>).
      const { metrics } = await runOne({ ...recipe, seed, repeats: 1 }, { ...options, outDir: join(layout.dir, dir), report: false });
      runs.push({ seed, dir, metrics });
    }
    const metrics = { ...aggregateRepeats(runs), recipe: options.recipePath ?? recipe.name, reproducibility: { recipeHash: settingsKey(recipe), seeds: { repeats: runs.map((run) => run.seed) } } };
    await writeRunMetrics(layout.dir, metrics);
    const started = performance.now();
    await writeReport(layout.dir);
    metrics.timings.report = (performance.now() - started) / 1000;
    await writeRunMetrics(layout.dir, metrics);
    return { metrics, dir: layout.dir };
  } finally {
    await release();
  }
}
