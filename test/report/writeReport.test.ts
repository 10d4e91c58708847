import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { writeRunMetrics, type RunMetrics } from '../../src/artifacts/metrics.js';
import { summaryMarkdown } from '../../src/report/summary.js';
import { writeReport } from '../../src/report/writeReport.js';
import { sampleManyMetrics, sampleMetrics } from './fixtures.js';
import { looksLikeSvg } from './pixels.js';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

/** Writes `metrics` into a fresh run directory, renders its report, and lists what was written (relative, sorted). */
async function report(metrics: RunMetrics): Promise<{ dir: string; written: string[]; files: string[] }> {
  const dir = await mkdtemp(join(tmpdir(), 'report-'));
  dirs.push(dir);
  await writeRunMetrics(dir, metrics);
  const written = (await writeReport(dir)).map((p) => relative(dir, p)).sort();
  const files = (await readdir(dir, { recursive: true })).filter((f) => f.includes('.')).sort();
  return { dir, written, files };
}

/** What a run without many-model merges, correlations or masks writes: two figures, the tables and the summary. */
const BEFORE = [
  'figures/accuracy.png',
  'figures/accuracy.svg',
  'figures/alpha-training.png',
  'figures/alpha-training.svg',
  'summary.md',
  'tables/merges.csv',
  'tables/merges.tex',
  'tables/results.csv',
  'tables/results.tex',
];
/** The table of many-model merges. */
const MANY_TABLES = ['tables/many.csv', 'tables/many.tex'];

describe('writeReport', () => {
  it('writes the same files as before for a run without many-model merges or correlations', async () => {
    const { dir, written, files } = await report(sampleMetrics());
    expect(written).toEqual(BEFORE);
    expect(files).toEqual([...BEFORE, 'metrics.json'].sort());
    const summary = await readFile(join(dir, 'summary.md'), 'utf8');
    expect(summary.startsWith(summaryMarkdown(sampleMetrics()).split('### Timings')[0]!)).toBe(true);
    for (const table of BEFORE.filter((f) => f.startsWith('tables/'))) expect(summary).toContain(`\`${table}\``);
    expect(summary).not.toContain('Many models');
    // Every figure embedded, with its vector version linked.
    expect(summary).toContain('![accuracy](figures/accuracy.png) ([SVG](figures/accuracy.svg))');
    expect(summary).toContain('![alpha-training](figures/alpha-training.png)');
  });

  it('adds the accuracy against N, a tree per hierarchical variant and a correlation figure per alignment', async () => {
    const { dir, written } = await report(sampleManyMetrics());
    const added = [
      'many-accuracy',
      'merge-tree-hierarchical-cca-learned',
      'merge-tree-hierarchical-permutation-uniform',
      'correlations-cca',
      'correlations-permutation',
    ].flatMap((name) => [`figures/${name}.png`, `figures/${name}.svg`]);
    expect(written).toEqual([...BEFORE, ...added, ...MANY_TABLES].sort());
    expect(looksLikeSvg(await readFile(join(dir, 'figures/merge-tree-hierarchical-cca-learned.svg')))).toBe(true);
    expect(await readFile(join(dir, 'summary.md'), 'utf8')).toContain('### Many models');
  });

  it('draws correlations without many-model merges, and many-model merges without correlations', async () => {
    const { many: _many, ...correlationsOnly } = sampleManyMetrics();
    expect((await report(correlationsOnly)).written.filter((f) => !BEFORE.includes(f))).toEqual([
      'figures/correlations-cca.png',
      'figures/correlations-cca.svg',
      'figures/correlations-permutation.png',
      'figures/correlations-permutation.svg',
    ]);
    const { correlations: _correlations, ...manyOnly } = sampleManyMetrics();
    manyOnly.many!.merges = manyOnly.many!.merges.filter((m) => m.strategy === 'all-to-one');
    expect((await report(manyOnly)).written.filter((f) => !BEFORE.includes(f))).toEqual(['figures/many-accuracy.png', 'figures/many-accuracy.svg', ...MANY_TABLES]);
  });
});
