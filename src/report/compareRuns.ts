/**
 * Several runs side by side: which runs can be compared (the same dataset and test split), one table
 * of their test accuracies (a row per model or merge, a column per run), and what `merge-train
 * compare` writes from it: compare.md, tables/compare.tex and .csv, figures/compare.png and .svg.
 */

import { join, relative, resolve, sep } from 'node:path';

import { readRunMetrics, type RunMetrics } from '../artifacts/metrics.js';
import { writeFileAtomic } from '../io/atomicWrite.js';
import { settingsKey } from '../util/hash.js';
import { ensure, InputError } from '../util/errors.js';
import { markdownTable } from './markdownTable.js';
import { renderCompareChart } from './compareChart.js';
import { orderedUnion } from './orderedUnion.js';
import { writeFigure } from './render.js';
import type { ResultRow } from './rows.js';
import {
  accuracyValue,
  markBestInRows,
  MERGE_GROUP,
  REFERENCE_GROUP,
  resultEvaluations,
  tablesDir,
  writeTable,
  type PaperTable,
  type TableCell,
} from './tables.js';
import { fileSlug } from './writeReport.js';

/** A run being compared: its name in tables and legends, its directory as given, and its metrics. */
export interface ComparedRun {
  name: string;
  dir: string;
  metrics: RunMetrics;
}

/** Base name of the files a comparison writes. */
export const COMPARE_NAME = 'compare';

/** Longest default output folder name; longer lists of runs are cut and told apart by a hash. */
const MAX_DEFAULT_NAME = 80;

/**
 * A short name for each run directory: its folder name, with parent folders added where two runs
 * would share one (a/quickstart, b/quickstart).
 */
export function runNames(dirs: readonly string[]): string[] {
  const parts = dirs.map((dir) => resolve(dir).split(sep).filter((part) => part.length > 0));
  const depth = dirs.map(() => 1);
  const name = (i: number) => parts[i]!.slice(-depth[i]!).join('/') || resolve(dirs[i]!);
  for (let changed = true; changed; ) {
    changed = false;
    const names = dirs.map((_, i) => name(i));
    names.forEach((n, i) => {
      if (names.indexOf(n) !== names.lastIndexOf(n) && depth[i]! < parts[i]!.length) {
        depth[i]! += 1;
        changed = true;
      }
    });
  }
  return dirs.map((_, i) => name(i));
}

/** The seeds a run split its data with: one per repeat, else the run's split seed; undefined if not recorded. */
export function dataSeeds(metrics: RunMetrics): number[] | undefined {
  if (metrics.repeats) return [...metrics.repeats.seeds];
  const split = metrics.reproducibility?.seeds.split;
  return typeof split === 'number' ? [split] : undefined;
}

/** "seed 0" or "seeds 0, 1, 2". */
function seedText(seeds: readonly number[]): string {
  return `${seeds.length === 1 ? 'seed' : 'seeds'} ${seeds.join(', ')}`;
}

/** Refuses a first run whose `fact` differs from another's, naming both. */
function sameFact<T>(runs: readonly ComparedRun[], fact: (run: ComparedRun) => T | undefined, describe: (value: T) => string, what: string): void {
  const known = runs.filter((run) => fact(run) !== undefined);
  const first = known[0];
  if (!first) return;
  const key = (run: ComparedRun) => JSON.stringify(fact(run));
  const other = known.find((run) => key(run) !== key(first));
  if (other) {
    throw new InputError(`cannot compare runs ${what}: ${first.name} ${describe(fact(first)!)}, ${other.name} ${describe(fact(other)!)}`);
  }
}

/**
 * Refuses runs whose accuracies do not measure the same thing: another dataset, or another test split
 * (the test set depends only on the dataset, its size and the split seed, so runs may differ in their
 * train and merge splits). A fact a run's metrics.json does not record is not checked.
 */
export function checkComparable(runs: readonly ComparedRun[]): void {
  sameFact(runs, (run) => run.metrics.dataset, (dataset) => `is on ${dataset}`, 'on different datasets');
  sameFact(runs, (run) => run.metrics.split?.test, (test) => `tests on ${test} examples`, 'tested on different test splits');
  sameFact(runs, (run) => dataSeeds(run.metrics), (seeds) => `splits the data with ${seedText(seeds)}`, 'tested on different test splits');
}

/**
 * Reads and checks the runs to compare: two or more distinct directories, each with a metrics.json,
 * of the same dataset and test split (see {@link checkComparable}).
 * @throws InputError naming the run and the reason otherwise.
 */
export async function readComparedRuns(dirs: readonly string[]): Promise<ComparedRun[]> {
  ensure(dirs.length >= 2, `compare needs two or more run directories; got ${dirs.length}${dirs.length ? ` (${dirs.join(', ')})` : ''}`);
  dirs.forEach((dir, i) => {
    const earlier = dirs.findIndex((other) => resolve(other) === resolve(dir));
    ensure(earlier === i, () => `run directory ${dir} is given twice (as ${dirs[earlier]} too); compare distinct runs`);
  });
  const names = runNames(dirs);
  const runs: ComparedRun[] = [];
  for (const [i, dir] of dirs.entries()) runs.push({ name: names[i]!, dir, metrics: await readRunMetrics(dir) });
  checkComparable(runs);
  return runs;
}

/** Each result row of a run by label, with its test accuracy in %. */
function rowsByLabel(metrics: RunMetrics): Map<string, { row: ResultRow; cell: TableCell }> {
  return new Map(resultEvaluations(metrics).map(({ row, evaluation }) => [row.label, { row, cell: accuracyValue(evaluation) }]));
}

/**
 * The comparison table: a row per model or merge any run lists (in the runs' report order), a column
 * per run, test accuracy in % (mean ± std over repeats where a run has them); the best run of each row
 * is marked.
 */
export function comparisonTable(runs: readonly ComparedRun[]): PaperTable {
  const byRun = runs.map((run) => rowsByLabel(run.metrics));
  const labels = orderedUnion(byRun.map((rows) => [...rows.keys()]));
  const table: PaperTable = {
    name: COMPARE_NAME,
    title: `Test accuracy (%) on ${runs[0]?.metrics.dataset ?? 'the test split'} of each model and merge (rows) in each run (columns).`,
    labelHeader: 'model / merge',
    columnGroup: 'test accuracy (%)',
    columns: runs.map((run) => ({
      header: run.name,
      digits: 2,
      better: 'higher' as const,
      ...(run.metrics.repeats ? { repeatLabels: run.metrics.repeats.seeds.map((seed) => `seed ${seed}`) } : {}),
    })),
    rows: labels.map((label) => {
      const found = byRun.map((rows) => rows.get(label));
      const kind = found.find((f) => f !== undefined)?.row.kind;
      return { label, group: kind === 'merge' ? MERGE_GROUP : REFERENCE_GROUP, cells: found.map((f) => f?.cell) };
    }),
    notes: [
      'Bold: the best run of each row.',
      ...(runs.some((run) => run.metrics.repeats) ? ['Mean ± sample standard deviation over the repeats of a run that has several.'] : []),
    ],
  };
  markBestInRows(table, 'higher');
  return table;
}

function percentText(cell: TableCell | undefined): string {
  if (cell === undefined) return '—';
  const number = (value: number) => (Number.isFinite(value) ? value.toFixed(2) : 'not finite');
  const text = cell.std === undefined ? number(cell.mean) : `${number(cell.mean)} ± ${number(cell.std)}`;
  return cell.best ? `**${text}**` : text;
}

/** Paths of the figure and tables inside the output folder, as compare.md links them. */
const FIGURE_DIR = 'figures';

/**
 * compare.md: the runs (directory, recipe, test split, seeds), the comparison table, the figure and
 * links to the LaTeX and CSV tables.
 */
export function comparisonMarkdown(runs: readonly ComparedRun[], table: PaperTable): string {
  const notRecorded = 'not recorded';
  const runRows = runs.map((run) => {
    const seeds = dataSeeds(run.metrics);
    return [
      run.name,
      run.dir,
      run.metrics.recipe ?? notRecorded,
      run.metrics.split ? String(run.metrics.split.test) : notRecorded,
      seeds ? seeds.join(', ') : notRecorded,
      run.metrics.repeats ? String(run.metrics.repeats.seeds.length) : '1',
    ];
  });
  const tableRows = table.rows.map((row) => [row.label, ...row.cells.map(percentText)]);
  return [
    `## Comparison: ${runs.map((run) => run.name).join(', ')} (${runs[0]?.metrics.dataset ?? ''})`,
    '',
    `${table.title} ${table.notes.join(' ')}`,
    '',
    ...markdownTable(['run', 'directory', 'recipe', 'test examples', 'data seeds', 'repeats'], runRows, [false, false, false, true, false, true]),
    '',
    ...markdownTable([table.labelHeader, ...table.columns.map((c) => c.header)], tableRows, [false, ...table.columns.map(() => true)]),
    '',
    `![Test accuracy by run](${FIGURE_DIR}/${COMPARE_NAME}.png)`,
    '',
    `For papers: [tables/${COMPARE_NAME}.tex](tables/${COMPARE_NAME}.tex) (booktabs, to \\input{}) and [tables/${COMPARE_NAME}.csv](tables/${COMPARE_NAME}.csv).`,
    '',
  ].join('\n');
}

/** Where `merge-train compare` writes by default: reports/compare-<run>-vs-<run>..., cut to a length with a hash. */
export function defaultCompareOut(runs: readonly ComparedRun[]): string {
  const joined = runs.map((run) => fileSlug(run.name) || 'run').join('-vs-');
  const name = joined.length <= MAX_DEFAULT_NAME ? joined : `${joined.slice(0, MAX_DEFAULT_NAME).replace(/-+$/, '')}-${settingsKey(runs.map((r) => resolve(r.dir))).slice(0, 8)}`;
  return join('reports', `${COMPARE_NAME}-${name}`);
}

/**
 * Writes the comparison of `runs` into `out`: compare.md, tables/compare.tex and .csv, and
 * figures/compare.png and .svg. `out` may not be one of the runs (a report redrawn there would
 * remove the figure). Returns the paths written.
 */
export async function writeComparison(runs: readonly ComparedRun[], out: string): Promise<string[]> {
  const run = runs.find((r) => relative(resolve(r.dir), resolve(out)) === '');
  ensure(run === undefined, () => `--out ${out} is the run directory ${run!.dir}; write the comparison to another folder`);
  const table = comparisonTable(runs);
  const title = `Test accuracy by run (${runs[0]?.metrics.dataset ?? ''})`;
  const written = [
    ...(await writeTable(tablesDir(out), table)),
    ...(await writeFigure(join(out, FIGURE_DIR), COMPARE_NAME, renderCompareChart(table, { title }))),
  ];
  const markdown = join(out, `${COMPARE_NAME}.md`);
  await writeFileAtomic(markdown, comparisonMarkdown(runs, table));
  return [markdown, ...written];
}
