import { describe, expect, it } from 'vitest';

import { toLatex } from '../../src/report/tables.js';
import { orderedValues, UNSET_TEXT, valueText } from '../../src/sweep/axisValues.js';
import { sweepFigures } from '../../src/sweep/sweepFigures.js';
import type { SweepCell, SweepMetrics } from '../../src/sweep/sweepMetrics.js';
import { sweepTable } from '../../src/sweep/sweepTable.js';

/** A cell of one seed whose every accuracy is `accuracy`. */
function cell(values: Record<string, unknown>, accuracy: number): SweepCell {
  const one = { testAccuracy: accuracy, std: 0, values: [accuracy] };
  return { values, seeds: [0], points: ['p'], dataset: 'mnist', models: one, ensemble: one, merges: [{ label: 'cca · uniform', ...one }] };
}

describe('axis values', () => {
  it('are ordered when numbers or lists of numbers, and not when text', () => {
    expect(orderedValues([1, 0.1, 10, 1])).toEqual([0.1, 1, 10]);
    expect(orderedValues([[32], [16, 16], [16]])).toEqual([[16], [16, 16], [32]]);
    expect(orderedValues(['fold', 'transform'])).toBeUndefined();
    expect(orderedValues([1, [2]])).toBeUndefined();
    expect([valueText([16, 16]), valueText(0.1), valueText('fold'), valueText(undefined)]).toEqual(['[16, 16]', '0.1', 'fold', UNSET_TEXT]);
  });
});

describe('a sweep of one seed with a text axis and an explicit point', () => {
  const metrics: SweepMetrics = {
    name: 'modes',
    dataset: 'mnist',
    axes: ['align.batchNorm', 'train.epochs'],
    cells: [
      cell({ 'align.batchNorm': 'fold', 'train.epochs': 1 }, 0.8),
      cell({ 'align.batchNorm': 'fold', 'train.epochs': 4 }, 0.9),
      cell({ 'align.batchNorm': 'transform', 'train.epochs': 1 }, 0.7),
      cell({ 'align.batchNorm': 'transform', 'train.epochs': 4 }, 0.85),
      // An explicit point that sets only the epochs: alone in its slice, so in no figure.
      cell({ 'train.epochs': 2 }, 0.5),
    ],
  };

  it('has figures against the numeric axis only, one per value of the text axis', () => {
    const figures = sweepFigures(metrics);
    expect(figures.map((f) => [f.name, f.data.ticks, f.data.fixed])).toEqual([
      ['sweep-train.epochs-align.batchnorm-fold', ['1', '4'], 'align.batchNorm = fold'],
      ['sweep-train.epochs-align.batchnorm-transform', ['1', '4'], 'align.batchNorm = transform'],
    ]);
    expect(figures[1]!.data.merges).toEqual([{ label: 'cca · uniform', variant: 0, means: [expect.closeTo(70, 9), expect.closeTo(85, 9)], stds: [0, 0] }]);
  });

  it('has a table without ±, the unset axis shown as the base recipe', () => {
    const table = sweepTable(metrics);
    expect(table.rows.map((r) => r.label)).toEqual(['fold / 1', 'fold / 4', 'transform / 1', 'transform / 4', `${UNSET_TEXT} / 2`]);
    expect(table.rows.every((r) => r.cells.every((c) => c?.std === undefined))).toBe(true);
    expect(toLatex(table)).not.toContain('\\pm');
  });
});
