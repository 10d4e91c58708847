/**
 * Tables for papers: a run's results as data ({@link PaperTable}), written as a booktabs LaTeX tabular
 * to \input{} and as CSV to re-analyse. Numbers are test accuracies in % and test losses; for a run of
 * several repeats, the mean with its sample standard deviation and each repeat's value.
 */

import { rm } from 'node:fs/promises';
import { join } from 'node:path';

import type { AcrossRepeats, ManyReference, RunMetrics } from '../artifacts/metrics.js';
import { writeFileAtomic } from '../io/atomicWrite.js';
import { orderedUnion } from './orderedUnion.js';
import {
  alignLabelOf,
  ENSEMBLE_LABEL,
  LABEL_SEPARATOR,
  manyMergeVariants,
  mergeLabel,
  modelCounts,
  resultRows,
  toPercent,
  type ResultRow,
} from './rows.js';

/** A number of a table, with its spread when the run has several repeats. */
export interface TableValue {
  /** The value in the column's unit (% for accuracies); for repeated runs the mean over the repeats. */
  mean: number;
  /** Sample standard deviation over the repeats (or what the row's label says it is over). */
  std?: number;
  /** Each repeat's value, in repeat order. */
  repeats?: readonly number[];
}

/** One cell: a value, marked when it is the best of its column (or row, as the table's notes say). */
export interface TableCell extends TableValue {
  best?: boolean;
}

/** A numeric column. */
export interface TableColumn {
  /** Header as plain text ("test accuracy (%)"); LaTeX output escapes it. */
  header: string;
  /** Decimals shown in LaTeX; CSV keeps every digit. */
  digits: number;
  /** Which way is better, for marking the best value. */
  better: 'higher' | 'lower';
  /** Names of the repeats whose values the column's cells list ("seed 3"), for the CSV header. */
  repeatLabels?: readonly string[];
}

/** One row: its label and one cell per column (undefined where it has no value). */
export interface TableRow {
  label: string;
  /** Consecutive rows of one group form a block; blocks are separated by a rule. */
  group: string;
  cells: (TableCell | undefined)[];
}

/** A table as data, before it is written as LaTeX or CSV. */
export interface PaperTable {
  /** File name without extension: tables/<name>.tex and .csv. */
  name: string;
  /** What the table shows, one line (a comment in the .tex; a caption is left to the paper). */
  title: string;
  /** Header of the label column. */
  labelHeader: string;
  /** A header spanning all numeric columns ("test accuracy (%)"), when the columns are its cases. */
  columnGroup?: string;
  columns: TableColumn[];
  rows: TableRow[];
  /** What bold and ± mean, one sentence each. */
  notes: string[];
}

/** A test accuracy and loss, with their spread over repeats (an entry of metrics.json). */
export interface Evaluation {
  testAccuracy: number;
  testLoss: number;
  acrossRepeats?: AcrossRepeats;
}

/** The tables {@link paperTables} can make, by name; writeTables removes those a run no longer has. */
const RUN_TABLES = ['results', 'merges', 'many'] as const;

/** Row group of base models and ensembles: references, never marked best in a run's tables. */
export const REFERENCE_GROUP = 'reference';
/** Row group of merges. */
export const MERGE_GROUP = 'merge';

const ACCURACY_HEADER = 'test accuracy (%)';
const ACCURACY_DIGITS = 2;
const LOSS_DIGITS = 4;

/** An entry's test accuracy in %, with its spread over repeats where it has one. */
export function accuracyValue(e: Evaluation): TableCell {
  const spread = e.acrossRepeats;
  return spread
    ? { mean: toPercent(e.testAccuracy), std: toPercent(spread.testAccuracyStd), repeats: spread.testAccuracies.map(toPercent) }
    : { mean: toPercent(e.testAccuracy) };
}

function lossValue(e: Evaluation): TableCell {
  const spread = e.acrossRepeats;
  return spread ? { mean: e.testLoss, std: spread.testLossStd, repeats: [...spread.testLosses] } : { mean: e.testLoss };
}

/** Names of a run's repeats for CSV headers: by seed where metrics.json lists them. */
function repeatLabels(metrics: RunMetrics): string[] | undefined {
  return metrics.repeats?.seeds.map((seed) => `seed ${seed}`);
}

/** The note on ± of a run's tables, or none for a run of one repeat. */
function repeatNote(metrics: RunMetrics): string[] {
  const seeds = metrics.repeats?.seeds;
  if (!seeds || seeds.length < 2) return [];
  return [`Mean ± sample standard deviation over ${seeds.length} repeats (seeds ${seeds.join(', ')}).`];
}

/**
 * Marks the best cell of each column among the rows `eligible` accepts: the highest or lowest finite
 * value by the column's {@link TableColumn.better}, every cell that ties with it. A column with fewer
 * than two such values, or all equal, has none: bold would say nothing.
 */
export function markBestInColumns(table: PaperTable, eligible: (row: TableRow) => boolean): void {
  table.columns.forEach((column, c) => {
    markBest(table.rows.filter(eligible).map((row) => row.cells[c]), column.better);
  });
}

/** Marks the best cell of each row (all its columns compared), as {@link markBestInColumns} does per column. */
export function markBestInRows(table: PaperTable, better: TableColumn['better']): void {
  for (const row of table.rows) markBest(row.cells, better);
}

function markBest(cells: readonly (TableCell | undefined)[], better: TableColumn['better']): void {
  const finite = cells.filter((cell): cell is TableCell => cell !== undefined && Number.isFinite(cell.mean));
  if (finite.length < 2) return;
  const means = finite.map((cell) => cell.mean);
  const best = better === 'higher' ? Math.max(...means) : Math.min(...means);
  if (means.every((mean) => mean === best)) return;
  for (const cell of finite) if (cell.mean === best) cell.best = true;
}

/** A result row with the metrics.json entry it came from, and that entry's figures before a BatchNorm reset. */
export interface RowEvaluation {
  row: ResultRow;
  evaluation: Evaluation;
  beforeReset?: Evaluation;
}

/**
 * Each result row (in report order) with the metrics.json entry it came from, for the spread over
 * repeats that rows leave out: base models by position, merges by label and accuracy.
 */
export function resultEvaluations(metrics: RunMetrics): RowEvaluation[] {
  let model = 0;
  return resultRows(metrics).map((row) => {
    if (row.kind === 'model') return { row, evaluation: metrics.models[model++] ?? row };
    if (row.kind === 'ensemble') return { row, evaluation: metrics.ensemble };
    const merge = metrics.merges.find((m) => mergeLabel(m) === row.label && m.testAccuracy === row.testAccuracy);
    if (merge) return { row, evaluation: merge, ...(merge.withoutBatchNormReset ? { beforeReset: merge.withoutBatchNormReset } : {}) };
    // Unmatched only if rows.ts names merges differently from mergeLabel: the row's own numbers, without spread.
    const before = row.accuracyBeforeReset;
    return { row, evaluation: row, ...(before === undefined ? {} : { beforeReset: { testAccuracy: before, testLoss: Number.NaN } }) };
  });
}

/**
 * Every row the report lists (base models, ensemble, then merges in report order) with test accuracy,
 * test loss and, where a merge has it, the accuracy before its BatchNorm statistics were recomputed.
 */
function resultsTable(metrics: RunMetrics): PaperTable {
  const entries = resultEvaluations(metrics);
  const withReset = entries.some((e) => e.beforeReset !== undefined);
  const labels = repeatLabels(metrics);
  const columns: TableColumn[] = [
    { header: ACCURACY_HEADER, digits: ACCURACY_DIGITS, better: 'higher', ...(labels ? { repeatLabels: labels } : {}) },
    { header: 'test loss', digits: LOSS_DIGITS, better: 'lower', ...(labels ? { repeatLabels: labels } : {}) },
  ];
  if (withReset) columns.push({ header: 'accuracy before BN reset (%)', digits: ACCURACY_DIGITS, better: 'higher', ...(labels ? { repeatLabels: labels } : {}) });
  const rows = entries.map(({ row, evaluation, beforeReset }) => ({
    label: row.label,
    group: row.kind === 'merge' ? MERGE_GROUP : REFERENCE_GROUP,
    cells: [accuracyValue(evaluation), lossValue(evaluation), ...(withReset ? [beforeReset ? accuracyValue(beforeReset) : undefined] : [])],
  }));
  const table: PaperTable = {
    name: 'results',
    title: `Test accuracy and loss on ${metrics.dataset}: base models, logit ensemble and merges.`,
    labelHeader: 'model / merge',
    columns,
    rows,
    notes: ['Bold: the best merge of each column (highest accuracy, lowest loss); base models and the ensemble are references.', ...repeatNote(metrics)],
  };
  markBestInColumns(table, (row) => row.group === MERGE_GROUP);
  return table;
}

/** A merge's label without its alignment: "learned (fisher init)" of "cca · learned (fisher init)". */
function mergePart(row: ResultRow): string {
  const prefix = `${row.alignLabel ?? ''}${LABEL_SEPARATOR}`;
  if (row.label.startsWith(prefix)) return row.label.slice(prefix.length);
  return row.init ? `${row.alpha ?? row.label} (${row.init} init)` : (row.alpha ?? row.label);
}

/** The compact table of papers: a row per alignment, a column per merge method, test accuracy in each cell. */
function mergesTable(metrics: RunMetrics): PaperTable | undefined {
  const merges = resultEvaluations(metrics).filter(({ row }) => row.kind === 'merge');
  if (merges.length === 0) return undefined;
  const alignmentOf = (row: ResultRow) => row.alignLabel ?? alignLabelOf({ align: row.align ?? row.label });
  const alignments = [...new Set(merges.map(({ row }) => alignmentOf(row)))];
  const byAlignment = (alignment: string) => merges.filter(({ row }) => alignmentOf(row) === alignment);
  const methods = orderedUnion(alignments.map((alignment) => byAlignment(alignment).map(({ row }) => mergePart(row))));
  const labels = repeatLabels(metrics);
  const table: PaperTable = {
    name: 'merges',
    title: `Test accuracy (%) on ${metrics.dataset} of each alignment (rows) merged by each merge method (columns).`,
    labelHeader: 'alignment',
    columnGroup: ACCURACY_HEADER,
    columns: methods.map((header) => ({ header, digits: ACCURACY_DIGITS, better: 'higher' as const, ...(labels ? { repeatLabels: labels } : {}) })),
    rows: alignments.map((alignment) => {
      const found = byAlignment(alignment);
      return {
        label: alignment,
        group: MERGE_GROUP,
        cells: methods.map((method) => {
          const entry = found.find(({ row }) => mergePart(row) === method);
          return entry ? accuracyValue(entry.evaluation) : undefined;
        }),
      };
    }),
    notes: ['Bold: the best alignment for each merge method.', ...repeatNote(metrics)],
  };
  markBestInColumns(table, () => true);
  return table;
}

/**
 * Merges of many models: a row per strategy variant, a column per number of models N, then the logit
 * ensemble of the same N models and their mean accuracy.
 */
function manyTable(metrics: RunMetrics): PaperTable | undefined {
  const many = metrics.many;
  if (!many || (many.merges.length === 0 && many.references.length === 0)) return undefined;
  const counts = modelCounts(many);
  const labels = repeatLabels(metrics);
  const reference = (n: number) => many.references.find((r) => r.models === n);
  // Without repeats there is no spread over repeats to show: the mean base model shows its spread over the N models instead, and says so.
  const overRepeats = many.references.some((r) => r.meanBase.acrossRepeats !== undefined);
  const meanBaseCell = (n: number): TableCell | undefined => {
    const meanBase = reference(n)?.meanBase;
    if (!meanBase) return undefined;
    return overRepeats ? accuracyValue(meanBase) : { mean: toPercent(meanBase.testAccuracy), std: toPercent(meanBase.testAccuracyStd) };
  };
  const ensembleCell = (r: ManyReference | undefined) => (r ? accuracyValue(r.ensemble) : undefined);
  const variantRows: TableRow[] = manyMergeVariants(many.merges).map(({ label }) => ({
    label,
    group: MERGE_GROUP,
    cells: counts.map((n) => {
      const merge = many.merges.find((m) => m.label === label && m.models === n);
      return merge ? accuracyValue(merge) : undefined;
    }),
  }));
  const table: PaperTable = {
    name: 'many',
    title: `Test accuracy (%) on ${metrics.dataset} of merging N base models into one, beside the logit ensemble of the same N and their mean.`,
    labelHeader: 'merge',
    columnGroup: ACCURACY_HEADER,
    columns: counts.map((n) => ({ header: `N = ${n}`, digits: ACCURACY_DIGITS, better: 'higher' as const, ...(labels ? { repeatLabels: labels } : {}) })),
    rows: [
      ...variantRows,
      { label: ENSEMBLE_LABEL, group: REFERENCE_GROUP, cells: counts.map((n) => ensembleCell(reference(n))) },
      { label: overRepeats ? 'mean base model' : 'mean base model (± std over models)', group: REFERENCE_GROUP, cells: counts.map(meanBaseCell) },
    ],
    notes: ['Bold: the best merge for each N; the ensemble and the mean base model are references.', ...repeatNote(metrics)],
  };
  markBestInColumns(table, (row) => row.group === MERGE_GROUP);
  return table;
}

/**
 * The paper tables of a run: `results` (every row of the report), `merges` (alignment × merge method,
 * when the run merged pairs) and `many` (variant × N, when it merged many models). The best merge of
 * each column is marked.
 */
export function paperTables(metrics: RunMetrics): PaperTable[] {
  return [resultsTable(metrics), mergesTable(metrics), manyTable(metrics)].filter((t): t is PaperTable => t !== undefined);
}

/** LaTeX for the characters that are special to it, and for the few non-ASCII ones labels use. */
const LATEX_REPLACEMENTS: Record<string, string> = {
  '\\': '\\textbackslash{}',
  '{': '\\{',
  '}': '\\}',
  $: '\\$',
  '&': '\\&',
  '#': '\\#',
  '%': '\\%',
  _: '\\_',
  '^': '\\textasciicircum{}',
  '~': '\\textasciitilde{}',
  '<': '\\textless{}',
  '>': '\\textgreater{}',
  '|': '\\textbar{}',
  '·': '$\\cdot$',
  '±': '$\\pm$',
  '×': '$\\times$',
  '→': '$\\to$',
  '—': '---',
  '–': '--',
};

/** `text` as LaTeX text: special characters escaped, so labels print as written. */
export function latexText(text: string): string {
  return text.replace(/[\\{}$&#%_^~<>|·±×→—–]/g, (char) => LATEX_REPLACEMENTS[char] ?? char);
}

/** What a cell without a value shows in LaTeX. */
const LATEX_MISSING = '--';

function latexNumber(value: number, digits: number): string {
  return Number.isFinite(value) ? value.toFixed(digits) : 'not finite';
}

function latexCell(cell: TableCell | undefined, digits: number): string {
  if (cell === undefined) return LATEX_MISSING;
  const mean = latexNumber(cell.mean, digits);
  if (cell.std === undefined) return cell.best ? `\\textbf{${mean}}` : mean;
  const math = `$${mean} \\pm ${latexNumber(cell.std, digits)}$`;
  // \textbf does not reach into math mode; \boldmath does, kept inside the \textbf group.
  return cell.best ? `\\textbf{\\boldmath${math}}` : math;
}

/**
 * The table as a booktabs tabular (no table environment, no caption: the paper \input{}s it into its
 * own): a left-aligned label column, right-aligned numbers with the column's decimals, mean ± std
 * where repeated, the best values bold, a rule between blocks of rows. Needs \usepackage{booktabs}.
 */
export function toLatex(table: PaperTable): string {
  const n = table.columns.length;
  const line = (cells: readonly string[]) => `${cells.join(' & ')} \\\\`;
  const lines = [
    `% ${table.title}`,
    ...table.notes.map((note) => `% ${note}`),
    '% Made by merge-train; \\input{} it inside a table environment. Needs \\usepackage{booktabs}.',
    `\\begin{tabular}{l${'r'.repeat(n)}}`,
    '\\toprule',
  ];
  if (table.columnGroup !== undefined && n > 0) {
    lines.push(` & \\multicolumn{${n}}{c}{${latexText(table.columnGroup)}} \\\\`, `\\cmidrule(lr){2-${n + 1}}`);
  }
  lines.push(line([latexText(table.labelHeader), ...table.columns.map((c) => latexText(c.header))]), '\\midrule');
  table.rows.forEach((row, i) => {
    if (i > 0 && row.group !== table.rows[i - 1]?.group) lines.push('\\midrule');
    lines.push(line([latexText(row.label), ...table.columns.map((column, c) => latexCell(row.cells[c], column.digits))]));
  });
  lines.push('\\bottomrule', '\\end{tabular}', '');
  return lines.join('\n');
}

/** A field quoted as RFC 4180 asks: in double quotes, doubled inside, when it holds a comma, quote or line break. */
export function csvField(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** A number with every digit JavaScript keeps (the shortest text that reads back to the same double). */
function csvNumber(value: number | undefined): string {
  return value === undefined ? '' : String(value);
}

/**
 * The table as CSV (RFC 4180: CRLF line ends, a header row, quoted fields): the label, then for each
 * column its value, and where the column has repeats its standard deviation and each repeat's value,
 * unrounded. Empty where a row has no value; "NaN" where a value is not finite.
 */
export function toCsv(table: PaperTable): string {
  const name = (column: TableColumn) => (table.columnGroup === undefined ? column.header : `${table.columnGroup}: ${column.header}`);
  const layout = table.columns.map((column, c) => {
    const cells = table.rows.map((row) => row.cells[c]);
    return {
      std: cells.some((cell) => cell?.std !== undefined),
      repeats: Math.max(0, ...cells.map((cell) => cell?.repeats?.length ?? 0)),
    };
  });
  const header = [table.labelHeader];
  table.columns.forEach((column, c) => {
    const { std, repeats } = layout[c]!;
    header.push(name(column));
    if (std) header.push(`${name(column)} std`);
    for (let k = 0; k < repeats; k++) header.push(`${name(column)} ${column.repeatLabels?.[k] ?? `repeat ${k + 1}`}`);
  });
  const rows = table.rows.map((row) => {
    const fields = [row.label];
    table.columns.forEach((_, c) => {
      const { std, repeats } = layout[c]!;
      const cell = row.cells[c];
      fields.push(csvNumber(cell?.mean));
      if (std) fields.push(csvNumber(cell?.std));
      for (let k = 0; k < repeats; k++) fields.push(csvNumber(cell?.repeats?.[k]));
    });
    return fields;
  });
  return [header, ...rows].map((fields) => `${fields.map(csvField).join(',')}\r\n`).join('');
}

/** Writes `table` as `<dir>/<name>.tex` and `<dir>/<name>.csv`, each atomically; returns the paths. */
export async function writeTable(dir: string, table: PaperTable): Promise<string[]> {
  const tex = join(dir, `${table.name}.tex`);
  const csv = join(dir, `${table.name}.csv`);
  await writeFileAtomic(tex, toLatex(table));
  await writeFileAtomic(csv, toCsv(table));
  return [tex, csv];
}

/** Where a run directory keeps its tables. */
export function tablesDir(runDir: string): string {
  return join(runDir, 'tables');
}

/**
 * Writes a run's {@link paperTables} to `<runDir>/tables/` as .tex and .csv, and removes the run tables
 * it no longer has (other files there, a comparison's, stay). Returns the paths written.
 */
export async function writeTables(runDir: string, metrics: RunMetrics): Promise<string[]> {
  const dir = tablesDir(runDir);
  const tables = paperTables(metrics);
  const written: string[] = [];
  for (const table of tables) written.push(...(await writeTable(dir, table)));
  for (const name of RUN_TABLES) {
    if (tables.some((t) => t.name === name)) continue;
    await Promise.all(['tex', 'csv'].map((ext) => rm(join(dir, `${name}.${ext}`), { force: true })));
  }
  return written;
}
