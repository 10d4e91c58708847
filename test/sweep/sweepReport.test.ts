import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { writeRunMetrics, type MergeMetrics, type RunMetrics } from '../../src/artifacts/metrics.js';
import { parseRecipe } from '../../src/recipe/loadRecipe.js';
import type { Recipe } from '../../src/recipe/schema.js';
import { BASE_MODEL_COLOUR, ENSEMBLE_COLOUR, variantColour } from '../../src/report/theme.js';
import { readPlan, writePlan, type PlannedPoint } from '../../src/sweep/plan.js';
import { readPointResults } from '../../src/sweep/pointResults.js';
import { readSweepMetrics } from '../../src/sweep/sweepMetrics.js';
import { writeSweepReport } from '../../src/sweep/sweepReport.js';
import { InputError } from '../../src/util/errors.js';
import { decodePng, hasColour, looksLikeSvg, shapesIn, subpaths } from '../report/pixels.js';

/**
 * A 2 × 2 grid (model.config.hidden × align.gamma) with 2 seeds, as hand-made run directories: the
 * points of one width and seed share a run directory (the same base models), whose metrics.json lists
 * both gammas' CCA merges, the shared unaligned merge, and two merges no point made.
 */

const WIDTHS = [[16], [32]];
const GAMMAS = [0.1, 1];
const SEEDS = [0, 1];
const AXES = ['model.config.hidden', 'align.gamma'];
const LABELS = ['none · uniform', 'cca · uniform'];

/** Each accuracy in closed form: a base for the width (index w) and gamma, plus a slope per seed. */
const accuracy = {
  modelA: (w: number, s: number) => 0.95 + 0.01 * w + 0.004 * s,
  modelB: (w: number, s: number) => 0.948 + 0.01 * w + 0.004 * s,
  ensemble: (w: number, s: number) => 0.97 + 0.01 * w + 0.002 * s,
  none: (w: number, s: number) => 0.5 + 0.1 * w + 0.02 * s,
  // The spread over seeds differs by width (0.01 at [16], 0.03 at [32]), so error bars differ in length.
  cca: (w: number, gamma: number, s: number) => 0.9 + 0.02 * w + (gamma === 1 ? 0.01 : 0) + (w === 0 ? 0.01 : 0.03) * s,
};

/** A merge as collectMetrics writes it, with the settings the align and merge stages record for an MLP. */
function merge(align: string, options: Record<string, unknown>, alpha: string, testAccuracy: number, extra: { batchSize?: number; mergeOptions?: Record<string, unknown> } = {}): MergeMetrics {
  const statistics = align === 'none' ? {} : { batchSize: extra.batchSize ?? 500 };
  return {
    key: `${align}-${JSON.stringify(options)}-${alpha}-${extra.batchSize ?? ''}`,
    label: `${align} (${JSON.stringify(options)}) · ${alpha}`,
    align,
    alpha,
    init: null,
    settings: { align: { method: align, options, ...statistics }, merge: { method: alpha, options: extra.mergeOptions ?? {} } },
    testAccuracy,
    testLoss: 1 - testAccuracy,
  };
}

/** The metrics.json of the run directory of width index `w` and seed `s`. */
function runMetrics(w: number, s: number): RunMetrics {
  return {
    dataset: 'mnist',
    split: { train: 500, merge: 300, test: 200 },
    models: [
      { name: 'model A', testAccuracy: accuracy.modelA(w, s), testLoss: 0.1, key: `a${w}${s}` },
      { name: 'model B', testAccuracy: accuracy.modelB(w, s), testLoss: 0.1, key: `b${w}${s}` },
    ],
    ensemble: { testAccuracy: accuracy.ensemble(w, s), testLoss: 0.08 },
    merges: [
      merge('cca', { gamma: 1 }, 'uniform', accuracy.cca(w, 1, s)),
      merge('none', {}, 'uniform', accuracy.none(w, s)),
      merge('cca', { gamma: 0.1 }, 'uniform', accuracy.cca(w, 0.1, s)),
      // Made by no point: another statistics batch size, and another merge method.
      merge('cca', { gamma: 1 }, 'uniform', 0.11, { batchSize: 250 }),
      merge('cca', { gamma: 1 }, 'fisher', 0.12, { mergeOptions: { fisherMode: 'expected' } }),
    ],
    timings: {},
  };
}

function recipeOf(hidden: number[], gamma: number, seed: number): Recipe {
  return parseRecipe(
    {
      name: 'grid',
      seed,
      data: { dataset: 'mnist', split: { train: 500, merge: 300, test: 200 } },
      model: { family: 'mlp', config: { hidden } },
      train: { models: 2, epochs: 1 },
      align: { methods: ['none', 'cca'], gamma },
      merge: { alphas: ['uniform'], interpolationPoints: 0 },
    },
    'test recipe',
  );
}

const runDirOf = (w: number, s: number) => join('runs', `w${w}-s${s}`);

/** Writes the run directories and plan.json of the grid into `dir`; returns the points. */
async function writeGrid(dir: string): Promise<PlannedPoint[]> {
  const points: PlannedPoint[] = [];
  for (const [w, hidden] of WIDTHS.entries()) {
    for (const gamma of GAMMAS) {
      for (const seed of SEEDS) {
        points.push({ id: `p${points.length}`, values: { 'model.config.hidden': hidden, 'align.gamma': gamma, seed }, seed, runDir: runDirOf(w, seed), recipe: recipeOf(hidden, gamma, seed) });
      }
    }
  }
  for (const w of WIDTHS.keys()) for (const s of SEEDS) await writeRunMetrics(join(dir, runDirOf(w, s)), runMetrics(w, s));
  await writePlan(dir, { name: 'grid', axes: [...AXES, 'seed'], points, jobs: [] });
  return points;
}

/** Mean and sample std of two values. */
const pair = (a: number, b: number) => ({ mean: (a + b) / 2, std: Math.abs(a - b) / Math.SQRT2 });

let dir: string;
let written: string[];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'merge-train-sweep-report-'));
  await writeGrid(dir);
  written = await writeSweepReport(dir);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the points of a shared run directory', () => {
  it('each get only their own merges', async () => {
    const results = await readPointResults(dir, await readPlan(dir));
    // p0 and p2: width [16], seed 0, gamma 0.1 and 1, in one run directory.
    const [low, high] = [results[0]!, results[2]!];
    expect(low.merges.map((m) => m.label)).toEqual(LABELS);
    expect(high.merges.map((m) => m.label)).toEqual(LABELS);
    expect(low.merges[1]!.testAccuracy).toBeCloseTo(accuracy.cca(0, 0.1, 0), 12);
    expect(high.merges[1]!.testAccuracy).toBeCloseTo(accuracy.cca(0, 1, 0), 12);
    // The unaligned merge has no gamma: one merge, shared.
    expect(low.merges[0]!.testAccuracy).toBe(high.merges[0]!.testAccuracy);
    expect(low.models).toBeCloseTo((accuracy.modelA(0, 0) + accuracy.modelB(0, 0)) / 2, 12);
    // Neither decoy (another batch size, another merge method) is anyone's.
    for (const result of results) for (const m of result.merges) expect([0.11, 0.12]).not.toContain(m.testAccuracy);
  });

  it('refuses a point whose merge is missing, naming it', async () => {
    const other = mkdtempSync(join(tmpdir(), 'merge-train-sweep-missing-'));
    try {
      await writeGrid(other);
      const metrics = runMetrics(1, 1);
      metrics.merges = metrics.merges.filter((m) => m.settings?.align.options.gamma !== 0.1);
      await writeRunMetrics(join(other, runDirOf(1, 1)), metrics);
      const error = await writeSweepReport(other).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InputError);
      expect((error as Error).message).toMatch(/^point p5 \(runs\/w1-s1\): .*no merge cca · uniform/);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });
});

describe('writeSweepReport', () => {
  it('writes summary.md, metrics.json, the tables and a figure per axis and value of the other', () => {
    const names = written.map((path) => path.slice(dir.length + 1));
    expect(names.slice(0, 4)).toEqual(['summary.md', 'metrics.json', 'tables/sweep.tex', 'tables/sweep.csv']);
    expect(names.slice(4).filter((n) => n.endsWith('.svg'))).toEqual([
      'figures/sweep-model.config.hidden-align.gamma-0.1.svg',
      'figures/sweep-model.config.hidden-align.gamma-1.svg',
      'figures/sweep-align.gamma-model.config.hidden-16.svg',
      'figures/sweep-align.gamma-model.config.hidden-32.svg',
    ]);
  });

  it('gathers a cell per width and gamma with the mean and sample std over the seeds', async () => {
    const metrics = await readSweepMetrics(dir);
    expect(metrics.axes).toEqual(AXES);
    expect([metrics.dataset, metrics.split?.test]).toEqual(['mnist', 200]);
    expect(metrics.cells.map((c) => c.values)).toEqual(WIDTHS.flatMap((hidden) => GAMMAS.map((gamma) => ({ 'model.config.hidden': hidden, 'align.gamma': gamma }))));
    for (const cell of metrics.cells) {
      const w = WIDTHS.findIndex((h) => h[0] === (cell.values['model.config.hidden'] as number[])[0]);
      const gamma = cell.values['align.gamma'] as number;
      expect(cell.seeds).toEqual(SEEDS);
      const check = (got: { testAccuracy: number; std: number; values: number[] }, at: (s: number) => number) => {
        const { mean, std } = pair(at(0), at(1));
        expect(got.testAccuracy).toBeCloseTo(mean, 12);
        expect(got.std).toBeCloseTo(std, 12);
        expect(got.values).toEqual(SEEDS.map((s) => expect.closeTo(at(s), 12)));
      };
      check(cell.models, (s) => (accuracy.modelA(w, s) + accuracy.modelB(w, s)) / 2);
      check(cell.ensemble, (s) => accuracy.ensemble(w, s));
      expect(cell.merges.map((m) => m.label)).toEqual(LABELS);
      check(cell.merges[0]!, (s) => accuracy.none(w, s));
      check(cell.merges[1]!, (s) => accuracy.cca(w, gamma, s));
    }
    // Closed form of one: cca at width [32], gamma 1: 0.93 and 0.96.
    expect(metrics.cells[3]!.merges[1]!.std).toBeCloseTo(0.03 / Math.SQRT2, 12);
  });

  it('writes a booktabs table of a row per cell, a column per reference and merge, mean ± std in each', () => {
    const tex = readFileSync(join(dir, 'tables', 'sweep.tex'), 'utf8');
    expect(tex).toContain('\\begin{tabular}{lrrrr}');
    expect(tex).toContain('model.config.hidden / align.gamma & logit ensemble & mean base model & none $\\cdot$ uniform & cca $\\cdot$ uniform \\\\');
    const rows = tex.split('\n').filter((line) => /^\[\d+\] \/ /.test(line));
    expect(rows.map((row) => row.split(' & ')[0])).toEqual(['[16] / 0.1', '[16] / 1', '[32] / 0.1', '[32] / 1']);
    for (const row of rows) {
      const cells = row.replace(/ \\\\$/, '').split(' & ').slice(1);
      expect(cells).toHaveLength(4);
      for (const cell of cells) expect(cell).toMatch(/\$\d+\.\d\d \\pm \d+\.\d\d\$/);
    }
    // cca at [32], gamma 1 (0.93 and 0.96): 94.50 ± 2.12, the best of its column.
    expect(rows[3]).toContain('\\textbf{\\boldmath$94.50 \\pm 2.12$}');
    // A rule between the widths.
    expect(tex.split('\n').slice(tex.split('\n').indexOf(rows[1]!) + 1)[0]).toBe('\\midrule');
    const csv = readFileSync(join(dir, 'tables', 'sweep.csv'), 'utf8').split('\r\n').filter(Boolean);
    expect(csv).toHaveLength(5);
    const header = csv[0]!.split(',');
    // The label, then per column: mean, std and each seed's value.
    expect(header).toHaveLength(1 + 4 * 4);
    expect(header.slice(1, 5)).toEqual(['test accuracy (%): logit ensemble', 'test accuracy (%): logit ensemble std', 'test accuracy (%): logit ensemble seed 0', 'test accuracy (%): logit ensemble seed 1']);
    expect(csv[1]!.split(',')[0]).toBe('[16] / 0.1');
  });

  it('writes summary.md with a column per axis, mean ± std cells, and every figure embedded', () => {
    const summary = readFileSync(join(dir, 'summary.md'), 'utf8');
    expect(summary).toContain('| model.config.hidden | align.gamma | logit ensemble | mean base model | none · uniform | cca · uniform |');
    expect(summary).toContain('| [16] | 1 | 97.10 ± 0.14 | 95.10 ± 0.28 | 51.00 ± 1.41 | 91.50 ± 0.71 |');
    expect(summary).toContain('| [32] | 1 | **98.10 ± 0.14** | **96.10 ± 0.28** | **61.00 ± 1.41** | **94.50 ± 2.12** |');
    const embedded = [...summary.matchAll(/!\[[^\n]*\]\((figures\/[^)]+\.png)\)/g)].map((m) => m[1]);
    expect(embedded).toEqual(written.filter((p) => p.endsWith('.png')).map((p) => p.slice(dir.length + 1)));
  });

  it('draws one line per merge label, dashed references, and error bars proportional to the std over seeds', async () => {
    const svg = readFileSync(join(dir, 'figures', 'sweep-model.config.hidden-align.gamma-0.1.svg'));
    expect(looksLikeSvg(svg)).toBe(true);
    const bars = (colour: string) =>
      shapesIn(svg, colour).stroked.filter((s) => subpaths(s.attrs.d) === 3).map((bar) => {
        const [x1, y1, x2, y2] = (/^M([\d.]+) ([\d.]+)L([\d.]+) ([\d.]+)/.exec(bar.attrs.d ?? '') ?? []).slice(1).map(Number);
        expect(x1).toBeCloseTo(x2!, 3);
        return Math.abs(y2! - y1!);
      });
    LABELS.forEach((label, i) => {
      const lines = shapesIn(svg, variantColour(i)).stroked.filter((s) => s.attrs['stroke-width'] === '2');
      expect(lines, label).toHaveLength(1);
    });
    // cca's spread over seeds is 0.01 at [16] and 0.03 at [32]; the unaligned merge's 0.02 at both.
    const cca = bars(variantColour(1));
    expect(cca).toHaveLength(2);
    expect(cca[1]! / cca[0]!).toBeCloseTo(3, 2);
    const none = bars(variantColour(0));
    expect(none).toHaveLength(2);
    expect(none[0]! / cca[0]!).toBeCloseTo(2, 2);
    // The ensemble and the mean base model: bars too, each dashed line an outline per dash.
    expect(bars(ENSEMBLE_COLOUR)).toHaveLength(2);
    expect(bars(BASE_MODEL_COLOUR)).toHaveLength(2);
    expect(shapesIn(svg, ENSEMBLE_COLOUR).filled.some((s) => subpaths(s.attrs.d) > 3)).toBe(true);
    const png = await decodePng(readFileSync(join(dir, 'figures', 'sweep-model.config.hidden-align.gamma-0.1.png')));
    let found = false;
    for (let o = 0; o < png.data.length && !found; o += 4) found = hasColour([png.data[o]!, png.data[o + 1]!, png.data[o + 2]!], variantColour(1), 2);
    expect(found).toBe(true);
  });

  it('redraws the same report from the same files', async () => {
    const before = readFileSync(join(dir, 'summary.md'), 'utf8');
    const tex = readFileSync(join(dir, 'tables', 'sweep.tex'), 'utf8');
    await writeSweepReport(dir);
    expect(readFileSync(join(dir, 'summary.md'), 'utf8')).toBe(before);
    expect(readFileSync(join(dir, 'tables', 'sweep.tex'), 'utf8')).toBe(tex);
  });
});
