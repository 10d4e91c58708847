import { describe, expect, it } from 'vitest';
import { variantLabels } from '../../src/report/variantLabels.js';

describe('variantLabels', () => {
  it('names a method alone when it has one variant, and learned alpha always with its init', () => {
    expect(variantLabels([{ method: 'cca', options: { gamma: 1 } }, { method: 'none', options: {} }])).toEqual(['cca', 'none']);
    expect(variantLabels([{ method: 'learned', options: { init: 'uniform', steps: 300 } }])).toEqual(['learned (uniform init)']);
  });

  it('adds what tells the variants of one method apart, and only that', () => {
    expect(
      variantLabels([
        { method: 'cca', options: { gamma: 1 }, batchNorm: 'fold-scale', batchSize: 500 },
        { method: 'cca', options: { gamma: 0.1 }, batchNorm: 'fold-scale', batchSize: 500 },
        { method: 'cca', options: { gamma: 1 }, batchNorm: 'transform', batchSize: 500 },
        { method: 'cca', options: { gamma: 1 }, batchNorm: 'fold-scale', batchSize: 250 },
        { method: 'permutation', options: {}, batchNorm: 'transform', batchSize: 500 },
      ]),
    ).toEqual([
      'cca (fold-scale, batchSize 500, gamma 1)',
      'cca (fold-scale, batchSize 500, gamma 0.1)',
      'cca (transform, batchSize 500, gamma 1)',
      'cca (fold-scale, batchSize 250, gamma 1)',
      'permutation',
    ]);
  });

  it("compares an init's settings only among the variants that have them", () => {
    expect(
      variantLabels([
        { method: 'learned', options: { init: 'uniform', steps: 300 } },
        { method: 'learned', options: { init: 'fisher', steps: 300, fisherMode: 'expected' } },
        { method: 'learned', options: { init: 'fisher', steps: 100, fisherMode: 'empirical' } },
        { method: 'uniform', options: {}, resetExamples: 5000 },
        { method: 'uniform', options: {}, resetExamples: 1000 },
      ]),
    ).toEqual([
      'learned (uniform init, steps 300)',
      'learned (fisher init, steps 300, fisherMode expected)',
      'learned (fisher init, steps 100, fisherMode empirical)',
      'uniform (resetExamples 5000)',
      'uniform (resetExamples 1000)',
    ]);
  });

  it('shows an optional setting where variants of the same init differ by having it (granularity)', () => {
    expect(
      variantLabels([
        { method: 'learned', options: { init: 'uniform' } },
        { method: 'learned', options: { init: 'uniform', granularity: 'unit' } },
        { method: 'learned', options: { init: 'fisher', fisherMode: 'expected' } },
        { method: 'fisher', options: { fisherMode: 'expected' } },
        { method: 'fisher', options: { fisherMode: 'expected', granularity: 'layer' } },
      ]),
    ).toEqual(['learned (uniform init)', 'learned (uniform init, granularity unit)', 'learned (fisher init)', 'fisher', 'fisher (granularity layer)']);
  });
});
