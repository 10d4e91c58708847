/**
 * Text summaries of a run: a markdown report section and an aligned plain-text table for the terminal.
 */

import type { RunMetrics } from '../artifacts/metrics.js';
import { resultRows, toPercent, type ResultRow } from './rows.js';

/** Placeholder for a column that does not apply to a row. */
const NOT_APPLICABLE = '—';

const RESULT_HEADER = ['model / merge', 'align', 'alpha', 'init', 'test acc (%)', 'test loss'];
/** Numeric columns are right-aligned so that decimal points line up. */
const RESULT_RIGHT_ALIGNED = [false, false, false, false, true, true];
/** The extra column of runs whose merged networks had their BatchNorm statistics recomputed. */
const BEFORE_RESET_HEADER = 'before BN reset (%)';

function formatNumber(value: number, digits: number): string {
  return Number.isFinite(value) ? value.toFixed(digits) : String(value);
}

/** The cells of one results row, in {@link RESULT_HEADER} order, plus the before-reset column if asked. */
function resultCells(row: ResultRow, withReset: boolean): string[] {
  const merge = row.kind === 'merge';
  const cells = [
    row.label,
    merge ? (row.align ?? NOT_APPLICABLE) : NOT_APPLICABLE,
    merge ? (row.alpha ?? NOT_APPLICABLE) : NOT_APPLICABLE,
    merge ? (row.init ?? NOT_APPLICABLE) : NOT_APPLICABLE,
    formatNumber(toPercent(row.testAccuracy), 2),
    formatNumber(row.testLoss, 4),
  ];
  if (withReset) cells.push(row.accuracyBeforeReset === undefined ? NOT_APPLICABLE : formatNumber(toPercent(row.accuracyBeforeReset), 2));
  return cells;
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

/** Escapes characters that would break a markdown table cell. */
function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

function markdownTable(header: readonly string[], rows: string[][], rightAligned: readonly boolean[]): string {
  const line = (cells: readonly string[]): string => `| ${cells.map(escapeCell).join(' | ')} |`;
  const rule = `|${rightAligned.map((right) => (right ? ' ---: ' : ' --- ')).join('|')}|`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

function timingRows(metrics: RunMetrics): string[][] {
  return Object.entries(metrics.timings).map(([stage, seconds]) => [stage, formatNumber(seconds, 2)]);
}

/**
 * Markdown summary of a run: a results table (base models, logit ensemble, then merges from the simplest to the
 * most elaborate; accuracies in % with 2 decimals, losses with 4) and a table of wall-clock seconds per stage.
 */
export function summaryMarkdown(metrics: RunMetrics): string {
  const parts: string[] = [`## Results: ${metrics.dataset}`, ''];
  const context = [
    metrics.recipe !== undefined ? `recipe \`${metrics.recipe}\`` : undefined,
    metrics.backend !== undefined ? `backend \`${metrics.backend}\`` : undefined,
  ].filter((s): s is string => s !== undefined);
  if (context.length > 0) parts.push(`${context.join(', ')}.`, '');
  parts.push(markdownTable(...resultTable(metrics)), '');
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

/** The results rows of {@link summaryMarkdown} as a plain-text table with aligned columns, for the terminal. */
export function summaryTable(metrics: RunMetrics): string {
  return alignedTable(...resultTable(metrics));
}
