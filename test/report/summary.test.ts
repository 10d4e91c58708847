import { describe, expect, it } from 'vitest';

import { summaryMarkdown, summaryTable } from '../../src/report/summary.js';
import { sampleMetrics } from './fixtures.js';

describe('summaryMarkdown', () => {
  const md = summaryMarkdown(sampleMetrics());
  const lines = md.split('\n');

  it('has a results table with the specified columns', () => {
    expect(lines).toContain('| model / merge | align | alpha | init | test acc (%) | test loss |');
    expect(lines).toContain('| --- | --- | --- | --- | ---: | ---: |');
  });

  it('has a row per model, the ensemble and every merge, accuracies in % with 2 decimals', () => {
    expect(lines).toContain('| model A | — | — | — | 98.13 | 0.0612 |');
    expect(lines).toContain('| model B | — | — | — | 97.99 | 0.0654 |');
    expect(lines).toContain('| logit ensemble | — | — | — | 98.45 | 0.0501 |');
    expect(lines).toContain('| none · uniform | none | uniform | — | 43.21 | 0.4000 |');
    expect(lines).toContain('| cca · learned (fisher init) | cca | learned | fisher | 97.12 | 0.2100 |');
    const rows = lines.filter((l) => l.startsWith('| ') && !l.startsWith('| ---') && !l.startsWith('| model / merge') && !l.startsWith('| stage'));
    expect(rows).toHaveLength(2 + 1 + 12 + 3); // results + timings rows
  });

  it('sorts merges from no alignment to CCA', () => {
    const at = (label: string): number => lines.findIndex((l) => l.startsWith(`| ${label} |`));
    expect(at('logit ensemble')).toBeLessThan(at('none · uniform'));
    expect(at('none · learned (fisher init)')).toBeLessThan(at('permutation · uniform'));
    expect(at('permutation · learned (fisher init)')).toBeLessThan(at('cca · uniform'));
    expect(at('cca · uniform')).toBeLessThan(at('cca · fisher'));
    expect(at('cca · learned (uniform init)')).toBeLessThan(at('cca · learned (fisher init)'));
  });

  it('has a timings table', () => {
    expect(lines).toContain('| stage | seconds |');
    expect(lines).toContain('| data | 1.23 |');
    expect(lines).toContain('| train | 120.50 |');
    expect(md).toContain('recipe `recipes/mnist-mlp.yaml`');
  });
});

describe('summaryTable', () => {
  it('aligns the same rows in columns', () => {
    const lines = summaryTable(sampleMetrics()).split('\n');
    expect(lines).toHaveLength(2 + 2 + 1 + 12);
    expect(lines[0]).toMatch(/^model \/ merge\s+align\s+alpha\s+init\s+test acc \(%\)\s+test loss$/);
    expect(lines[1]).toMatch(/^[- ]+$/);
    // Right-aligned numbers end at the same column.
    const accEnd = lines[0]!.indexOf('test acc (%)') + 'test acc (%)'.length;
    for (const line of lines.slice(2)) expect(line.slice(accEnd - 5, accEnd)).toMatch(/^\d\d\.\d\d$/);
    expect(lines.find((l) => l.startsWith('cca · learned (fisher init)'))).toMatch(/97\.12\s+0\.2100$/);
  });
});
