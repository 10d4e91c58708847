import { describe, expect, it } from 'vitest';

import { ENSEMBLE_LABEL, largestTrees, manyMergeVariants, mergeLabel, modelCounts, resultRows } from '../../src/report/rows.js';
import type { MergeMetrics } from '../../src/artifacts/metrics.js';
import { sampleManyMetrics, sampleMetrics } from './fixtures.js';

describe('mergeLabel', () => {
  it('names untrained and learned variants', () => {
    expect(mergeLabel({ align: 'none', alpha: 'uniform', init: null })).toBe('none · uniform');
    expect(mergeLabel({ align: 'cca', alpha: 'learned', init: 'fisher' })).toBe('cca · learned (fisher init)');
  });
});

describe('resultRows', () => {
  it('lists models, then the ensemble, then merges by align, alpha and init', () => {
    const labels = resultRows(sampleMetrics()).map((r) => r.label);
    const merges = (align: string): string[] => [
      `${align} · uniform`,
      `${align} · fisher`,
      `${align} · learned (uniform init)`,
      `${align} · learned (fisher init)`,
    ];
    expect(labels).toEqual(['model A', 'model B', ENSEMBLE_LABEL, ...merges('none'), ...merges('permutation'), ...merges('cca')]);
  });
});

describe('variants of one method', () => {
  it('are ordered by their settings, numbers by value, and keep their labels', () => {
    const metrics = sampleMetrics();
    const cca = (gamma: number, batchNorm?: string): MergeMetrics => ({
      align: 'cca',
      alpha: 'uniform',
      init: null,
      label: `cca (gamma ${gamma}${batchNorm ? `, ${batchNorm}` : ''}) · uniform`,
      settings: { align: { method: 'cca', options: { gamma }, ...(batchNorm ? { batchNorm } : {}) }, merge: { method: 'uniform', options: {} } },
      testAccuracy: 0.9,
      testLoss: 0.3,
    });
    metrics.merges = [cca(10), cca(2), cca(0.1), cca(2, 'transform'), cca(2, 'fold')];
    expect(resultRows(metrics).slice(3).map((r) => r.label)).toEqual([
      'cca (gamma 0.1) · uniform',
      'cca (gamma 2) · uniform',
      'cca (gamma 10) · uniform',
      'cca (gamma 2, fold) · uniform',
      'cca (gamma 2, transform) · uniform',
    ]);
  });
});

describe('merges of many models', () => {
  const many = sampleManyMetrics().many!;

  it('are listed by strategy, then alignment in registry order, then merge method, whatever their stored order', () => {
    const variant = (strategy: string, alignLabel: string, alphaLabel: string) => ({
      ...many.merges[0]!,
      label: `${strategy} · ${alignLabel} · ${alphaLabel}`,
      strategy,
      alignLabel,
      alphaLabel,
    });
    const merges = [
      variant('hierarchical', 'cca', 'uniform'),
      variant('zip', 'cca', 'uniform'),
      variant('all-to-one', 'cca (gamma 0.1)', 'uniform'),
      variant('all-to-one', 'cca', 'learned (fisher init)'),
      variant('all-to-one', 'cca', 'uniform'),
      variant('all-to-one', 'permutation', 'learned (fisher init)'),
    ];
    expect(manyMergeVariants(merges).map((v) => v.label)).toEqual([
      'all-to-one · permutation · learned (fisher init)',
      'all-to-one · cca · uniform',
      'all-to-one · cca · learned (fisher init)',
      'all-to-one · cca (gamma 0.1) · uniform',
      'hierarchical · cca · uniform',
      'zip · cca · uniform',
    ]);
    expect(manyMergeVariants([...merges].reverse())).toEqual(manyMergeVariants(merges));
  });

  it('have their N values listed once, ascending, from merges and references', () => {
    expect(modelCounts(many)).toEqual([2, 4, 8]);
    expect(modelCounts({ merges: [], references: many.references.slice(0, 1) })).toEqual([2]);
  });

  it('show the tree of each hierarchical variant at its largest N', () => {
    expect(largestTrees(many.merges).map((m) => [m.label, m.models])).toEqual([
      ['hierarchical · permutation · uniform', 4],
      ['hierarchical · cca · learned', 8],
    ]);
  });
});
