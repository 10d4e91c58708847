import { describe, expect, it } from 'vitest';

import { ENSEMBLE_LABEL, mergeLabel, resultRows } from '../../src/report/rows.js';
import { sampleMetrics } from './fixtures.js';

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
