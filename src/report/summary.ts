/**
 * Text summaries of a run: a markdown report section and an aligned plain-text table for the terminal.
 */

import type { AcrossRepeats, InterpolationMetrics, RunMetrics, TreeNode } from '../artifacts/metrics.js';
import { markdownCell, markdownTable as markdownLines } from './markdownTable.js';
import { ENSEMBLE_LABEL, largestTrees, manyMergeVariants, modelCounts, resultRows, toPercent, type ResultRow } from './rows.js';

type ManyModels = NonNullable<RunMetrics['many']>;

/** Placeholder for a column that does not apply to a row. */
const NOT_APPLICABLE = '—';

const RESULT_HEADER = ['model / merge', 'align', 'alpha', 'init', 'test acc (%)', 'test loss'];
/** Numeric columns are right-aligned so that decimal points line up. */
const RESULT_RIGHT_ALIGNED = [false, false, false, false, true, true];
/** The extra column of runs whose merged networks had their BatchNorm statistics recomputed. */
const BEFORE_RESET_HEADER = 'before BN reset (%)';

function formatNumber(value: number, digits: number): string {
  return Number.isFinite(value) ? value.toFixed(digits) : 'not finite';
}

/** The cells of one results row, in {@link RESULT_HEADER} order, plus the before-reset column if asked. */
function resultCells(row: ResultRow, withReset: boolean): string[] {
  const merge = row.kind === 'merge';
  const cells = [
    row.label,
    merge ? (row.align ?? NOT_APPLICABLE) : NOT_APPLICABLE,
    merge ? (row.alpha ?? NOT_APPLICABLE) : NOT_APPLICABLE,
    merge ? (row.init ?? NOT_APPLICABLE) : NOT_APPLICABLE,
    withSpread(formatNumber(toPercent(row.testAccuracy), 2), row.acrossRepeats && toPercent(row.acrossRepeats.testAccuracyStd), 2),
    withSpread(formatNumber(row.testLoss, 4), row.acrossRepeats?.testLossStd, 4),
  ];
  if (withReset) {
    const std = row.accuracyBeforeResetStd === undefined ? undefined : toPercent(row.accuracyBeforeResetStd);
    cells.push(row.accuracyBeforeReset === undefined ? NOT_APPLICABLE : withSpread(formatNumber(toPercent(row.accuracyBeforeReset), 2), std, 2));
  }
  return cells;
}

/** A mean as "mean ± std" where a run of several repeats gives a standard deviation. */
function withSpread(mean: string, std: number | undefined, digits: number): string {
  return std === undefined ? mean : `${mean} ± ${formatNumber(std, digits)}`;
}

/** Header, cells and alignment of the results table; the before-reset column only where it applies. */
function resultTable(metrics: RunMetrics): [string[], string[][], boolean[]] {
  const rows = resultRows(metrics);
  const withReset = rows.some((row) => row.accuracyBeforeReset !== undefined);
  return [
    withReset ? [...RESULT_HEADER, BEFORE_RESET_HEADER] : RESULT_HEADER,
    rows.map((row) => resultCells(row, withReset)),
    withReset ? [...RESULT_RIGHT_ALIGNED, true] : RESULT_RIGHT_ALIGNED,
  ];
}

/** A markdown table as one string. */
function markdownTable(header: readonly string[], rows: readonly (readonly string[])[], rightAligned: readonly boolean[]): string {
  return markdownLines(header, rows, rightAligned).join('\n');
}

function timingRows(metrics: RunMetrics): string[][] {
  return Object.entries(metrics.timings).map(([stage, seconds]) => [stage, formatNumber(seconds, 2)]);
}

/** Row name of the mean base model in the many-models table. */
const MEAN_BASE_ROW = 'mean base model (± std)';

/**
 * Header, cells and alignment of the many-models table: a row per variant and a column per N (test
 * accuracy in %), then the ensemble of the same N models and their mean accuracy ± standard deviation.
 */
function manyTable(many: ManyModels): [string[], string[][], boolean[]] {
  const counts = modelCounts(many);
  const percent = (m: { testAccuracy: number; acrossRepeats?: AcrossRepeats | undefined } | undefined): string =>
    m === undefined ? NOT_APPLICABLE : withSpread(formatNumber(toPercent(m.testAccuracy), 2), m.acrossRepeats && toPercent(m.acrossRepeats.testAccuracyStd), 2);
  const variantRows = manyMergeVariants(many.merges).map(({ label }) => [label, ...counts.map((n) => percent(many.merges.find((m) => m.label === label && m.models === n)))]);
  const reference = (n: number) => many.references.find((r) => r.models === n);
  const ensembleRow = [ENSEMBLE_LABEL, ...counts.map((n) => percent(reference(n)?.ensemble))];
  const meanRow = [
    MEAN_BASE_ROW,
    ...counts.map((n) => {
      const mean = reference(n)?.meanBase;
      return mean ? `${formatNumber(toPercent(mean.testAccuracy), 2)} ± ${formatNumber(toPercent(mean.testAccuracyStd), 2)}` : NOT_APPLICABLE;
    }),
  ];
  return [['merge', ...counts.map((n) => `N = ${n}`)], [...variantRows, ensembleRow, meanRow], [false, ...counts.map(() => true)]];
}

/** A merge tree as a nested markdown list, the root first: each node's accuracy, then its inputs below it. */
function treeList(tree: readonly TreeNode[]): string[] {
  const byId = new Map(tree.map((node) => [node.id, node]));
  const lines: string[] = [];
  const visit = (node: TreeNode, depth: number): void => {
    const accuracy = `${formatNumber(toPercent(node.testAccuracy), 2)} %`;
    const what = node.inputs.length === 0 ? node.id : `merge of ${node.members.length} models (level ${node.level})`;
    lines.push(`${'  '.repeat(depth)}- ${markdownCell(what)}: ${accuracy}`);
    for (const input of node.inputs) {
      const child = byId.get(input);
      // A tree naming an unknown input is drawn as far as it goes; the figure reports the error.
      if (child) visit(child, depth + 1);
      else lines.push(`${'  '.repeat(depth + 1)}- ${markdownCell(input)}: not in the tree`);
    }
  };
  const root = tree[tree.length - 1];
  if (root) visit(root, 0);
  return lines;
}

/** The "Many models" section: the accuracy table, warnings, and the tree of each hierarchical variant at its largest N. */
function manySection(many: ManyModels): string[] {
  const parts = [
    '### Many models',
    '',
    'Test accuracy (%) of merging N base models into one, beside the logit ensemble of the same N models and their mean accuracy (± sample std).',
    '',
    markdownTable(...manyTable(many)),
    '',
  ];
  const warnings = many.merges.filter((m) => m.warning !== undefined);
  if (warnings.length > 0) {
    parts.push('Warnings:', '', ...warnings.map((m) => `- ${m.label}, N = ${m.models}: ${markdownCell(m.warning ?? '')}`), '');
  }
  for (const merge of largestTrees(many.merges)) {
    parts.push(`#### Merge tree: ${merge.label} (N = ${merge.models})`, '', ...treeList(merge.tree ?? []), '');
  }
  return parts;
}

/** The "Figures" section: each PNG embedded under its name, with a link to its vector version beside it. */
function figureSection(pngs: readonly string[]): string[] {
  const parts = ['### Figures', ''];
  for (const png of pngs) {
    const name = png.replace(/^.*\//, '').replace(/\.png$/, '');
    parts.push(`#### ${name}`, '', `![${name}](${png}) ([SVG](${png.replace(/\.png$/, '.svg')}))`, '');
  }
  return parts;
}

/** What the report drew beside metrics.json, for the summary to show. */
export interface SummaryOptions {
  /** The figures' PNGs, relative to the summary. */
  figures?: readonly string[];
  /** Per learned merge with a Fisher merge beside it: its per-layer correlations (fisherLearnedSummary). */
  fisherVsLearned?: readonly string[];
  /** The tables for papers, relative to the summary. */
  tables?: readonly string[];
}

/** The interpolation section: each alignment's barriers (mean ± std over repeats where there are several). */
function interpolationSection(curves: readonly InterpolationMetrics[]): string[] {
  const middle = (curve: InterpolationMetrics) => curve.points.reduce((best, p) => (Math.abs(p.t - 0.5) < Math.abs(best.t - 0.5) ? p : best));
  const rows = curves.map((curve) => [
    curve.alignLabel,
    withSpread(formatNumber(curve.barrier.loss, 4), curve.barrierStd?.loss, 4),
    withSpread(formatNumber(toPercent(curve.barrier.accuracy), 2), curve.barrierStd && toPercent(curve.barrierStd.accuracy), 2),
    formatNumber(toPercent(middle(curve).testAccuracy), 2),
  ]);
  return [
    '### Interpolation',
    '',
    "Test loss and accuracy along W(t) = t W_A + (1 - t) W_B' (figure `interpolation`); a barrier is the largest rise of the loss (nats), or fall of the accuracy (points), above or below the straight line between the ends.",
    '',
    markdownTable(['alignment', 'loss barrier', 'accuracy barrier (points)', 'test acc at t = 0.5 (%)'], rows, [false, true, true, true]),
    '',
  ];
}

/**
 * Markdown summary of a run: a results table (base models, logit ensemble, then merges from the simplest to the
 * most elaborate; accuracies in % with 2 decimals, losses with 4), for runs that merged many models a
 * "Many models" section (accuracy per variant and N, the references, each hierarchical tree as a nested
 * list), the interpolation barriers, what the report drew (`options`: Fisher-against-learned
 * correlations, the tables, every figure embedded), and a table of wall-clock seconds per stage.
 */
export function summaryMarkdown(metrics: RunMetrics, options: SummaryOptions = {}): string {
  const parts: string[] = [`## Results: ${metrics.dataset}`, ''];
  const context = [
    metrics.recipe !== undefined ? `recipe \`${metrics.recipe}\`` : undefined,
    metrics.backend !== undefined ? `backend \`${metrics.backend}\`` : undefined,
  ].filter((s): s is string => s !== undefined);
  if (context.length > 0) parts.push(`${context.join(', ')}.`, '');
  if (metrics.repeats) {
    const { seeds, runs } = metrics.repeats;
    parts.push(`Mean ± sample standard deviation over ${seeds.length} repeats (seeds ${seeds.join(', ')}; each in its folder ${runs.map((r) => `\`${r}\``).join(', ')}); every repeat's value is in metrics.json. Alpha maps, curves and trees are the first repeat's.`, '');
  }
  parts.push(markdownTable(...resultTable(metrics)), '');
  if (metrics.many) parts.push(...manySection(metrics.many));
  if (metrics.interpolations?.length) parts.push(...interpolationSection(metrics.interpolations));
  if (options.fisherVsLearned?.length) {
    parts.push(
      '### Fisher vs learned alpha',
      '',
      "Per layer (bias pooled with its weight), Spearman's ρ and in brackets Pearson's r between each entry's Fisher alpha F_A / (F_A + F_B') and its learned alpha in the same alignment: near 1, learning ended where the Fisher weights put it; near 0, it did not follow them.",
      '',
      ...options.fisherVsLearned.map((line) => `- ${markdownCell(line)}`),
      '',
    );
  }
  if (options.tables?.length) {
    parts.push('### Tables', '', `For papers: ${options.tables.map((t) => `\`${t}\``).join(', ')} (booktabs tabulars to \\input, and CSV with every digit).`, '');
  }
  if (options.figures?.length) parts.push(...figureSection(options.figures));
  const timings = timingRows(metrics);
  if (timings.length > 0) {
    parts.push('### Timings', '', markdownTable(['stage', 'seconds'], timings, [false, true]), '');
  }
  return parts.join('\n');
}

/** Pads each column to its widest cell, numeric columns on the left so that they right-align. */
function alignedTable(header: readonly string[], rows: string[][], rightAligned: readonly boolean[]): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, c) => (rightAligned[c] ? cell.padStart(widths[c] ?? 0) : cell.padEnd(widths[c] ?? 0)))
      .join('  ')
      .trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(header), rule, ...rows.map(line)].join('\n');
}

/**
 * The results rows of {@link summaryMarkdown} as a plain-text table with aligned columns, for the
 * terminal; for runs that merged many models, their accuracy table below it, after a blank line.
 */
export function summaryTable(metrics: RunMetrics): string {
  const results = alignedTable(...resultTable(metrics));
  if (!metrics.many) return results;
  const [header, rows, right] = manyTable(metrics.many);
  return `${results}\n\n${alignedTable(['many models: test acc (%)', ...header.slice(1)], rows, right)}`;
}
