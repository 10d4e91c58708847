/**
 * A sweep's report, from the files its runs wrote (no training): every point's results gathered
 * into the sweep's metrics.json, and summary.md, tables/sweep.tex and .csv, and the figures of
 * accuracy against each axis.
 */

import { existsSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';

import { writeFileAtomic } from '../io/atomicWrite.js';
import { writeFigure } from '../report/render.js';
import { renderSweepChart } from '../report/sweepChart.js';
import { writeTable } from '../report/tables.js';
import { readPlan } from './plan.js';
import { readPointResults } from './pointResults.js';
import { sweepMetrics } from './sweepCells.js';
import { SWEEP_FIGURE_PREFIX, sweepFigures } from './sweepFigures.js';
import { sweepMetricsPath, writeSweepMetrics, type SweepMetrics } from './sweepMetrics.js';
import { FIGURES_DIR, sweepMarkdown, TABLES_DIR } from './sweepSummary.js';
import { sweepTable } from './sweepTable.js';

/** Removes the figures an earlier report drew that this one does not (an axis or a value gone). */
async function removeOldFigures(dir: string, kept: ReadonlySet<string>): Promise<void> {
  if (!existsSync(dir)) return;
  const old = (await readdir(dir)).filter((file) => file.startsWith(SWEEP_FIGURE_PREFIX) && /\.(png|svg)$/.test(file) && !kept.has(file.replace(/\.(png|svg)$/, '')));
  await Promise.all(old.map((file) => rm(join(dir, file), { force: true })));
}

/**
 * Writes the report of `metrics` into `sweepDir`: tables/sweep.tex and .csv, a figure per ordered
 * axis and combination of the other axes' values (PNG and SVG), and summary.md. Returns the paths,
 * summary.md first.
 */
export async function writeSweepOutputs(sweepDir: string, metrics: SweepMetrics): Promise<string[]> {
  const table = sweepTable(metrics);
  const figures = sweepFigures(metrics);
  const figureDir = join(sweepDir, FIGURES_DIR);
  const written = await writeTable(join(sweepDir, TABLES_DIR), table);
  for (const figure of figures) written.push(...(await writeFigure(figureDir, figure.name, renderSweepChart(figure.data))));
  await removeOldFigures(figureDir, new Set(figures.map((f) => f.name)));
  const summary = join(sweepDir, 'summary.md');
  await writeFileAtomic(summary, sweepMarkdown(metrics, table, figures));
  return [summary, ...written];
}

/**
 * The report of the sweep planned in `sweepDir` (its plan.json): reads each point's results from its
 * run directory's metrics.json, writes `<sweepDir>/metrics.json` (a cell per combination of the
 * axes' values, mean ± sample std over seeds) and the report (see {@link writeSweepOutputs}).
 * Returns the paths written, summary.md first, metrics.json second.
 * @throws InputError naming the point whose run directory lacks its results.
 */
export async function writeSweepReport(sweepDir: string): Promise<string[]> {
  const plan = await readPlan(sweepDir);
  const metrics = sweepMetrics(plan.name, plan.axes, await readPointResults(sweepDir, plan));
  await writeSweepMetrics(sweepDir, metrics);
  const [summary, ...rest] = await writeSweepOutputs(sweepDir, metrics);
  return [summary!, sweepMetricsPath(sweepDir), ...rest];
}
