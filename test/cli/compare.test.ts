import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

import { writeRunMetrics, type AcrossRepeats, type RunMetrics } from '../../src/artifacts/metrics.js';
import { ERROR_BAR_COLOUR, runColour } from '../../src/report/compareChart.js';
import { comparisonTable, defaultCompareOut, runNames } from '../../src/report/compareRuns.js';
import { mergeLabel, toPercent } from '../../src/report/rows.js';
import { sampleMetrics } from '../report/fixtures.js';
import { decodePng, hasColour, looksLikeSvg, shapesIn, subpaths } from '../report/pixels.js';
import { sampleRepeatMetrics } from '../report/repeatFixtures.js';
import { runInProcess } from './inProcess.js';
import { expectRefusal } from './expectRefusal.js';

/** Merges dropped from the "wide" run, so that each run has rows the other lacks. */
const ONLY_NARROW = ['cca · uniform', 'cca · learned (fisher init)'];

/** "narrow": three repeats of sampleMetrics(). */
function narrowRun(): RunMetrics {
  return { ...sampleRepeatMetrics(), recipe: 'recipes/narrow.yaml' };
}

/** "wide": the same repeats, 0.5 points better everywhere, without two merges and with a third model. */
function wideRun(): RunMetrics {
  const metrics = sampleRepeatMetrics();
  const better = <T extends { testAccuracy: number; acrossRepeats?: AcrossRepeats }>(entry: T): T => ({
    ...entry,
    testAccuracy: entry.testAccuracy + 0.005,
    ...(entry.acrossRepeats ? { acrossRepeats: { ...entry.acrossRepeats, testAccuracies: entry.acrossRepeats.testAccuracies.map((a) => a + 0.005) } } : {}),
  });
  return {
    ...metrics,
    recipe: 'recipes/wide.yaml',
    models: [...metrics.models.map(better), { name: 'model C', testAccuracy: 0.97, testLoss: 0.07 }],
    ensemble: better(metrics.ensemble),
    merges: metrics.merges.filter((m) => !ONLY_NARROW.includes(mergeLabel(m))).map(better),
  };
}

/** Parses RFC 4180 CSV without quoted line breaks (enough for these tables). */
function parseCsv(text: string): string[][] {
  return text
    .split('\r\n')
    .filter((line) => line.length > 0)
    .map((line) => [...line.matchAll(/(?:^|,)("(?:[^"]|"")*"|[^,]*)/g)].map(([, field]) => (field!.startsWith('"') ? field!.slice(1, -1).replace(/""/g, '"') : field!)));
}

describe('merge-train compare', () => {
  let root: string;
  let narrow: string;
  let wide: string;
  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'merge-train-compare-'));
    narrow = join(root, 'runs', 'narrow');
    wide = join(root, 'runs', 'wide');
    await writeRunMetrics(narrow, narrowRun());
    await writeRunMetrics(wide, wideRun());
  });

  /** A run directory under the test's root holding `metrics`. */
  const saved = async (name: string, metrics: RunMetrics): Promise<string> => {
    const dir = join(root, 'runs', name);
    await writeRunMetrics(dir, metrics);
    return dir;
  };

  it('writes the table as markdown, LaTeX and CSV, and the figure', async () => {
    const out = join(root, 'out');
    const result = await runInProcess(['compare', narrow, wide, '--out', out]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/compared narrow, wide: wrote 5 files under /);
    for (const file of ['compare.md', 'tables/compare.tex', 'tables/compare.csv', 'figures/compare.png', 'figures/compare.svg']) {
      expect(existsSync(join(out, file)), file).toBe(true);
    }

    const markdown = readFileSync(join(out, 'compare.md'), 'utf8');
    expect(markdown).toContain('| model / merge | narrow | wide |');
    // model A: 98.13 ± 0.10 in narrow, 0.5 better (and so bold: the best of its row) in wide.
    expect(markdown).toContain('| model A | 98.13 ± 0.10 | **98.63 ± 0.10** |');
    expect(markdown).toContain('| model C | — | 97.00 |');
    expect(markdown).toContain('| cca · uniform | 95.12 ± 0.20 | — |');
    expect(markdown).toContain('![Test accuracy by run](figures/compare.png)');

    // Rows: the union of both runs' rows in report order (model C after model B, before the ensemble).
    const csv = parseCsv(readFileSync(join(out, 'tables', 'compare.csv'), 'utf8'));
    expect(csv.slice(1, 5).map((r) => r[0])).toEqual(['model A', 'model B', 'model C', 'logit ensemble']);
    expect(csv).toHaveLength(1 + 16);
    const header = csv[0]!;
    expect(header.slice(0, 3)).toEqual(['model / merge', 'test accuracy (%): narrow', 'test accuracy (%): narrow std']);
    const modelA = narrowRun().models[0]!;
    const narrowSeeds = header.flatMap((h, i) => (/^test accuracy \(%\): narrow seed \d$/.test(h) ? [i] : []));
    expect(narrowSeeds.map((i) => Number(csv[1]![i]))).toEqual(modelA.acrossRepeats!.testAccuracies.map(toPercent));
    expect(Number(csv[1]![header.indexOf('test accuracy (%): wide')])).toBe(toPercent(modelA.testAccuracy + 0.005));

    const tex = readFileSync(join(out, 'tables', 'compare.tex'), 'utf8');
    expect(tex).toContain('\\begin{tabular}{lrr}');
    expect(tex).toContain('model A & $98.13 \\pm 0.10$ & \\textbf{\\boldmath$98.63 \\pm 0.10$} \\\\');
    expect(tex).toMatch(/\\toprule[\s\S]*\\midrule[\s\S]*\\bottomrule/);
  });

  it('draws a bar in each run colour for every row the run has, with an error bar where it is repeated', async () => {
    const out = join(root, 'figure');
    expect((await runInProcess(['compare', narrow, wide, '--out', out])).code).toBe(0);
    const svg = readFileSync(join(out, 'figures', 'compare.svg'));
    expect(looksLikeSvg(svg)).toBe(true);
    const narrowRows = 2 + 1 + 12;
    const wideRows = 3 + 1 + 12 - ONLY_NARROW.length;
    // One filled shape per bar, and one for the legend's box.
    expect(shapesIn(svg, runColour(0)).filled).toHaveLength(narrowRows + 1);
    expect(shapesIn(svg, runColour(1)).filled).toHaveLength(wideRows + 1);
    // An error bar is a stroke and two caps; model C, of one evaluation, has none.
    const errorBars = shapesIn(svg, ERROR_BAR_COLOUR).stroked.filter((s) => subpaths(s.attrs.d) === 3);
    expect(errorBars).toHaveLength(narrowRows + wideRows - 1);

    const png = await decodePng(readFileSync(join(out, 'figures', 'compare.png')));
    for (const colour of [runColour(0), runColour(1), ERROR_BAR_COLOUR]) {
      let found = false;
      for (let o = 0; o < png.data.length && !found; o += 4) found = hasColour([png.data[o]!, png.data[o + 1]!, png.data[o + 2]!], colour, 2);
      expect(found, colour).toBe(true);
    }
  });

  it('names runs by folder, adding the parent folder where two share a name, and writes to reports/compare-... by default', () => {
    expect(runNames(['a/quickstart', 'b/quickstart', 'c/other'])).toEqual(['a/quickstart', 'b/quickstart', 'other']);
    const runs = [
      { name: 'narrow', dir: narrow, metrics: narrowRun() },
      { name: 'a/quick start', dir: wide, metrics: wideRun() },
    ];
    expect(defaultCompareOut(runs)).toBe(join('reports', 'compare-narrow-vs-a-quick-start'));
    const many = Array.from({ length: 12 }, (_, i) => ({ name: `run-number-${i}`, dir: `runs/${i}`, metrics: narrowRun() }));
    expect(defaultCompareOut(many).length).toBeLessThan(110);
    // Without repeats: plain values, the best of each row marked.
    const table = comparisonTable([
      { name: 'x', dir: 'x', metrics: sampleMetrics() },
      { name: 'y', dir: 'y', metrics: { ...sampleMetrics(), ensemble: { testAccuracy: 0.99, testLoss: 0.04 } } },
    ]);
    const ensemble = table.rows.find((r) => r.label === 'logit ensemble')!;
    expect(ensemble.cells).toEqual([{ mean: toPercent(0.9845) }, { mean: toPercent(0.99), best: true }]);
    // Rows where the runs agree have nothing bold.
    expect(table.rows.find((r) => r.label === 'model A')!.cells.some((c) => c?.best)).toBe(false);
  });

  describe('refuses runs that cannot be compared, with one line and exit code 2', () => {
    it('fewer than two runs', async () => {
      expectRefusal(await runInProcess(['compare', narrow]), /compare needs two or more run directories; got 1/);
    });

    it('no run at all', async () => {
      expectRefusal(await runInProcess(['compare']), /missing required argument/);
    });

    it('a folder without metrics.json', async () => {
      const empty = join(root, 'empty');
      mkdirSync(empty, { recursive: true });
      expectRefusal(await runInProcess(['compare', narrow, empty, '--out', join(root, 'x')]), /empty holds no metrics\.json/);
    });

    it('runs on different datasets', async () => {
      const fashion = await saved('fashion', { ...narrowRun(), dataset: 'fashion-mnist' });
      expectRefusal(await runInProcess(['compare', narrow, fashion]), /cannot compare runs on different datasets: narrow is on mnist, fashion is on fashion-mnist/);
    });

    it('runs tested on test splits of other sizes', async () => {
      const small = await saved('small-test', { ...narrowRun(), split: { train: 5000, merge: 3000, test: 1000 } });
      expectRefusal(await runInProcess(['compare', narrow, small]), /different test splits: narrow tests on 2000 examples, small-test tests on 1000 examples/);
    });

    it('runs whose data was split with other seeds', async () => {
      const single = await saved('seed-7', { ...sampleMetrics(), reproducibility: { recipeHash: 'x', seeds: { split: 7 } } });
      expectRefusal(await runInProcess(['compare', narrow, single]), /different test splits: narrow splits the data with seeds 0, 1, 2, seed-7 splits the data with seed 7/);
    });

    it('one run twice, and an output folder that is one of the runs', async () => {
      expectRefusal(await runInProcess(['compare', narrow, `${narrow}/`]), /is given twice/);
      expectRefusal(await runInProcess(['compare', narrow, wide, '--out', wide]), /--out .* is the run directory/);
    });
  });

  it('has --help', async () => {
    const result = await runInProcess(['compare', '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/Usage: merge-train compare \[options\] <run-dir\.\.\.>/);
    expect(result.stdout).toMatch(/--out <dir>/);
  });
});
