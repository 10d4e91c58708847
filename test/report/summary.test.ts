import { describe, expect, it } from 'vitest';

import { summaryMarkdown, summaryTable } from '../../src/report/summary.js';
import { sampleManyMetrics, sampleMetrics, sampleTree } from './fixtures.js';

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

describe('summaryMarkdown of a run that merged many models', () => {
  const md = summaryMarkdown(sampleManyMetrics());
  const lines = md.split('\n');

  it('has a row per variant in report order and a column per N, with — where a variant lacks an N', () => {
    const at = lines.indexOf('### Many models');
    expect(at).toBeGreaterThan(lines.findIndex((l) => l.startsWith('| cca · learned (fisher init) |')));
    expect(at).toBeLessThan(lines.indexOf('### Timings'));
    const table = lines.slice(at).filter((l) => l.startsWith('|'));
    expect(table.slice(0, 7)).toEqual([
      '| merge | N = 2 | N = 4 | N = 8 |',
      '| --- | ---: | ---: | ---: |',
      '| all-to-one · cca · learned | 96.88 | 94.88 | 91.23 |',
      '| hierarchical · permutation · uniform | 94.11 | 88.76 | — |',
      '| hierarchical · cca · learned | 97.02 | 95.55 | 93.01 |',
      '| logit ensemble | 98.45 | 98.62 | 98.71 |',
      '| mean base model (± std) | 98.06 ± 0.10 | 98.01 ± 0.15 | 97.98 ± 0.12 |',
    ]);
  });

  it('lists warnings and each hierarchical tree at its largest N as a nested list, root first', () => {
    expect(lines).toContain('- hierarchical · permutation · uniform, N = 4: learned weights diverged at level 2');
    const tree = lines.indexOf('#### Merge tree: hierarchical · cca · learned (N = 8)');
    expect(tree).toBeGreaterThan(0);
    expect(lines.slice(tree + 2, tree + 6)).toEqual([
      '- merge of 8 models (level 3): 93.01 %',
      '  - merge of 4 models (level 2): 95.60 %',
      '    - merge of 2 models (level 1): 96.80 %',
      '      - model 1: 98.00 %',
    ]);
    // 8 leaves and 7 merges.
    const items = lines.slice(tree + 2).filter((l) => /^\s*- /.test(l)).slice(0, 15);
    expect(items.filter((l) => l.includes('- model '))).toHaveLength(8);
    expect(items.filter((l) => l.includes('- merge of'))).toHaveLength(7);
    expect(md).toContain('#### Merge tree: hierarchical · permutation · uniform (N = 4)');
    expect(md).not.toContain('Merge tree: all-to-one');
  });

  it('shows an odd model carried up as a leaf directly under the merge that takes it', () => {
    const metrics = sampleManyMetrics();
    const merge = metrics.many!.merges.find((m) => m.label === 'hierarchical · cca · learned' && m.models === 8)!;
    Object.assign(merge, { models: 5, members: merge.members.slice(0, 5), tree: sampleTree(5, merge.testAccuracy) });
    const lines = summaryMarkdown(metrics).split('\n');
    const at = lines.indexOf('#### Merge tree: hierarchical · cca · learned (N = 5)');
    expect(at).toBeGreaterThan(0);
    const items = lines.slice(at + 2, lines.indexOf('', at + 2));
    expect(items[0]).toBe('- merge of 5 models (level 3): 93.01 %');
    expect(items[1]).toBe('  - merge of 4 models (level 2): 95.60 %');
    expect(items.at(-1)).toBe('  - model 5: 97.60 %');
    expect(items).toHaveLength(5 + 4);
  });
});

describe('summaryTable of a run that merged many models', () => {
  it('adds the many-models table, aligned, after a blank line', () => {
    const lines = summaryTable(sampleManyMetrics()).split('\n');
    expect(lines).toHaveLength(2 + 2 + 1 + 12 + 1 + 2 + 5);
    expect(lines[17]).toBe('');
    expect(lines[18]).toMatch(/^many models: test acc \(%\)\s+N = 2\s+N = 4\s+N = 8$/);
    expect(lines.find((l) => l.startsWith('hierarchical · permutation · uniform'))).toMatch(/94\.11\s+88\.76\s+—$/);
    expect(lines.at(-1)).toMatch(/^mean base model \(± std\)\s+98\.06 ± 0\.10\s+98\.01 ± 0\.15\s+97\.98 ± 0\.12$/);
  });
});
