import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import type { RunMetrics } from '../../src/artifacts/metrics.js';
import { resultRows, toPercent } from '../../src/report/rows.js';
import { csvField, latexText, paperTables, toCsv, toLatex, writeTables, type PaperTable } from '../../src/report/tables.js';
import { MANY_ACCURACY, sampleManyMetrics, sampleMetrics } from './fixtures.js';
import { REPEAT_SEEDS, sampleRepeatManyMetrics, sampleRepeatMetrics } from './repeatFixtures.js';

/** The table of `metrics` named `name`. */
function table(metrics: RunMetrics, name: string): PaperTable {
  const found = paperTables(metrics).find((t) => t.name === name);
  if (!found) throw new Error(`no table ${name}`);
  return found;
}

/** The parts of a LaTeX tabular: its column spec, header row and body rows, each split into cells. */
interface Tabular {
  spec: string;
  lines: string[];
  header: string[];
  body: string[][];
}

/** Cells of one row `a & b & c \\`: split at the ampersands that are not escaped. */
function cellsOf(line: string): string[] {
  return line
    .replace(/\s*\\\\$/, '')
    .split(/(?<!\\)&/)
    .map((cell) => cell.trim());
}

function parseTabular(tex: string): Tabular {
  const lines = tex.split('\n');
  const begin = lines.findIndex((line) => line.startsWith('\\begin{tabular}'));
  const end = lines.indexOf('\\end{tabular}');
  expect(begin).toBeGreaterThanOrEqual(0);
  expect(end).toBeGreaterThan(begin);
  const spec = /^\\begin\{tabular\}\{([^}]*)\}$/.exec(lines[begin]!)?.[1] ?? '';
  const inside = lines.slice(begin + 1, end);
  const rows = inside.filter((line) => line.endsWith('\\\\') && !line.includes('\\multicolumn'));
  return { spec, lines: inside, header: cellsOf(rows[0]!), body: rows.slice(1).map(cellsOf) };
}

/** Parses RFC 4180 CSV: CRLF records, double-quoted fields with doubled quotes inside. */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let field = '';
  let record: string[] = [];
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if (quoted) {
      if (char === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (char === '"') quoted = false;
      else field += char;
    } else if (char === '"') quoted = true;
    else if (char === ',') {
      record.push(field);
      field = '';
    } else if (char === '\r' && text[i + 1] === '\n') {
      record.push(field);
      records.push(record);
      [field, record] = ['', []];
      i++;
    } else field += char;
  }
  expect(field, 'the last record ends with CRLF').toBe('');
  return records;
}

/** A cell's number as LaTeX shows it, without bold or math. */
function plain(cell: string): string {
  return cell.replace(/^\\textbf\{(?:\\boldmath)?(.*)\}$/, '$1');
}

describe('paperTables', () => {
  it('makes the results and merges tables of a run, and the many-models table where it merged many', () => {
    expect(paperTables(sampleMetrics()).map((t) => t.name)).toEqual(['results', 'merges']);
    expect(paperTables(sampleManyMetrics()).map((t) => t.name)).toEqual(['results', 'merges', 'many']);
  });

  it('lists every row of the report in its order, in % and unrounded', () => {
    const metrics = sampleMetrics();
    const results = table(metrics, 'results');
    expect(results.rows.map((r) => r.label)).toEqual(resultRows(metrics).map((r) => r.label));
    expect(results.columns.map((c) => c.header)).toEqual(['test accuracy (%)', 'test loss']);
    expect(results.rows[0]!.cells[0]!.mean).toBe(toPercent(0.9813));
    expect(results.rows[0]!.cells[1]!.mean).toBe(0.0612);
  });

  it('puts alignments in rows and merge methods in columns, in report order', () => {
    const merges = table(sampleMetrics(), 'merges');
    expect(merges.rows.map((r) => r.label)).toEqual(['none', 'permutation', 'cca']);
    expect(merges.columns.map((c) => c.header)).toEqual(['uniform', 'fisher', 'learned (uniform init)', 'learned (fisher init)']);
    // cca is 0.9512 + 0.01 merged by fisher.
    expect(merges.rows[2]!.cells[1]!.mean).toBe(toPercent(0.9512 + 0.01));
  });

  it('leaves a cell empty where an alignment was not merged by a method', () => {
    const metrics = sampleMetrics();
    metrics.merges = metrics.merges.filter((m) => !(m.align === 'none' && m.alpha === 'fisher'));
    const merges = table(metrics, 'merges');
    expect(merges.rows[0]!.cells[1]).toBeUndefined();
    expect(parseTabular(toLatex(merges)).body[0]![2]).toBe('--');
  });

  it('gives many models a row per variant and a column per N, then the references', () => {
    const many = table(sampleManyMetrics(), 'many');
    expect(many.columns.map((c) => c.header)).toEqual(['N = 2', 'N = 4', 'N = 8']);
    expect(many.rows.map((r) => r.label)).toEqual([
      'all-to-one · cca · learned',
      'hierarchical · permutation · uniform',
      'hierarchical · cca · learned',
      'logit ensemble',
      'mean base model (± std over models)',
    ]);
    expect(many.rows[1]!.cells[2]).toBeUndefined(); // permutation has no N = 8
    expect(many.rows[2]!.cells[0]!.mean).toBe(toPercent(MANY_ACCURACY['hierarchical · cca · learned']![2]!));
    // Without repeats, the mean base model's ± is its spread over the N models, as its label says.
    expect(many.rows[4]!.cells[1]).toEqual({ mean: toPercent(0.9801), std: toPercent(0.0015) });
  });
});

describe('toLatex', () => {
  const cases: [string, () => RunMetrics][] = [
    ['one repeat', sampleManyMetrics],
    ['three repeats', sampleRepeatManyMetrics],
  ];
  for (const [name, metrics] of cases) {
    it(`writes a booktabs tabular with as many columns as every row has cells (${name})`, () => {
      for (const t of paperTables(metrics())) {
        const tex = toLatex(t);
        const { spec, lines, header, body } = parseTabular(tex);
        expect(spec, t.name).toMatch(/^lr+$/);
        expect(spec.length, t.name).toBe(t.columns.length + 1);
        expect(header).toHaveLength(spec.length);
        expect(body).toHaveLength(t.rows.length);
        for (const row of body) expect(row, `${t.name}: ${row.join(' & ')}`).toHaveLength(spec.length);
        // booktabs rules in order: top, mid (after the header), bottom last.
        const rules = lines.filter((line) => /^\\(top|mid|bottom)rule$/.test(line));
        expect(rules[0]).toBe('\\toprule');
        expect(rules[1]).toBe('\\midrule');
        expect(rules.at(-1)).toBe('\\bottomrule');
        expect(rules.filter((r) => r === '\\toprule' || r === '\\bottomrule')).toHaveLength(2);
        expect(lines.at(-1)).toBe('\\bottomrule');
        expect(tex).not.toMatch(/\\begin\{table\}|\\caption/);
        // A multicolumn group header spans exactly the numeric columns.
        if (t.columnGroup) expect(tex).toContain(`\\multicolumn{${t.columns.length}}{c}`);
      }
    });
  }

  it('writes mean ± std in every cell of a repeated run, with the column decimals', () => {
    const results = parseTabular(toLatex(table(sampleRepeatMetrics(), 'results')));
    expect(results.header).toEqual(['model / merge', 'test accuracy (\\%)', 'test loss', 'accuracy before BN reset (\\%)']);
    for (const row of results.body) {
      expect(plain(row[1]!)).toMatch(/^\$\d+\.\d{2} \\pm \d+\.\d{2}\$$/);
      expect(plain(row[2]!)).toMatch(/^\$\d+\.\d{4} \\pm \d+\.\d{4}\$$/);
    }
    // model A: 98.13 with a spread of 0.1 points; merges before their BatchNorm reset, the base models have no such figure.
    expect(results.body[0]!.slice(0, 2)).toEqual(['model A', '$98.13 \\pm 0.10$']);
    expect(results.body[0]![3]).toBe('--');
    expect(plain(results.body.at(-1)![3]!)).toMatch(/^\$\d+\.\d{2} \\pm \d+\.\d{2}\$$/);
  });

  it('writes plain numbers for a run of one repeat', () => {
    const { body } = parseTabular(toLatex(table(sampleMetrics(), 'results')));
    expect(body[0]).toEqual(['model A', '98.13', '0.0612']);
    expect(body.flat().join(' ')).not.toMatch(/\\pm/);
  });

  it('bolds the best merge of each column: highest accuracy, lowest loss, ties all bold; references never', () => {
    for (const metrics of [sampleMetrics(), sampleRepeatMetrics()]) {
      const t = table(metrics, 'results');
      const { body } = parseTabular(toLatex(t));
      t.columns.forEach((column, c) => {
        const merges = t.rows.map((row, r) => ({ row, r })).filter(({ row }) => row.group === 'merge');
        const means = merges.map(({ row }) => row.cells[c]!.mean);
        const best = column.better === 'higher' ? Math.max(...means) : Math.min(...means);
        const expected = merges.filter(({ row }) => row.cells[c]!.mean === best).map(({ r }) => r);
        const bold = body.flatMap((cells, r) => (cells[c + 1]!.startsWith('\\textbf{') ? [r] : []));
        expect(bold, column.header).toEqual(expected);
      });
    }
    const { body } = parseTabular(toLatex(table(sampleMetrics(), 'results')));
    // cca · learned (fisher init): the best accuracy (97.12); the three learned (fisher init) merges share the lowest loss.
    expect(body.find((row) => row[0] === 'cca $\\cdot$ learned (fisher init)')).toEqual(['cca $\\cdot$ learned (fisher init)', '\\textbf{97.12}', '\\textbf{0.2100}']);
    expect(body.filter((row) => row[2] === '\\textbf{0.2100}')).toHaveLength(3);
    // Bold mean ± std: \boldmath inside \textbf, so the math is bold too.
    const repeated = parseTabular(toLatex(table(sampleRepeatMetrics(), 'results'))).body;
    expect(repeated.find((row) => row[0] === 'cca $\\cdot$ learned (fisher init)')![1]).toMatch(/^\\textbf\{\\boldmath\$97\.12 \\pm \d\.\d{2}\$\}$/);
  });

  it('bolds the best alignment of each merge method, and the best merge of each N', () => {
    const merges = parseTabular(toLatex(table(sampleMetrics(), 'merges'))).body;
    // cca beats none and permutation under every merge method.
    expect(merges[2]!.slice(1).every((cell) => cell.startsWith('\\textbf{'))).toBe(true);
    expect(merges.slice(0, 2).flat().some((cell) => cell.startsWith('\\textbf{'))).toBe(false);
    const many = parseTabular(toLatex(table(sampleManyMetrics(), 'many'))).body;
    // hierarchical · cca · learned is best at every N; the ensemble is higher but a reference.
    expect(many.map((row) => row.slice(1).filter((cell) => cell.startsWith('\\textbf{')).length)).toEqual([0, 0, 3, 0, 0]);
  });

  it('escapes the characters special to LaTeX in labels and headers', () => {
    expect(latexText('cca_v2 & co · 50% #1 ± {x}')).toBe('cca\\_v2 \\& co $\\cdot$ 50\\% \\#1 $\\pm$ \\{x\\}');
    expect(latexText('a\\b ~ ^ $')).toBe('a\\textbackslash{}b \\textasciitilde{} \\textasciicircum{} \\$');
    const metrics = sampleMetrics();
    metrics.merges[0] = { ...metrics.merges[0]!, label: 'cca_v2 & co · 50% #1', alignLabel: 'cca_v2 & co' };
    const tex = toLatex(table(metrics, 'results'));
    const { body } = parseTabular(tex);
    expect(body.map((row) => row[0])).toContain('cca\\_v2 \\& co $\\cdot$ 50\\% \\#1');
    // Nothing special is left unescaped in the tabular (comments above it are free text).
    const tabular = tex.slice(tex.indexOf('\\begin{tabular}'));
    const stripped = tabular.replace(/\\[&%#_${}]/g, '').replace(/ & /g, ' ').replace(/\$\\(cdot|pm)\$/g, '').replace(/\$[^$]*\$/g, '');
    expect(stripped).not.toMatch(/[&%#_·±]/);
  });
});

describe('toCsv', () => {
  it('reads back to the same numbers, unrounded, under a header row', () => {
    const metrics = sampleMetrics();
    const t = table(metrics, 'results');
    const records = parseCsv(toCsv(t));
    expect(records[0]).toEqual(['model / merge', 'test accuracy (%)', 'test loss']);
    expect(records.slice(1).map((r) => r[0])).toEqual(t.rows.map((r) => r.label));
    records.slice(1).forEach((record, r) => {
      expect(record).toHaveLength(3);
      expect(Number(record[1])).toBe(t.rows[r]!.cells[0]!.mean);
      expect(Number(record[2])).toBe(t.rows[r]!.cells[1]!.mean);
    });
    expect(Number(records[1]![1])).toBe(toPercent(metrics.models[0]!.testAccuracy));
  });

  it('gives a repeated run a std column and a column per repeat, named by seed', () => {
    const metrics = sampleRepeatMetrics();
    const t = table(metrics, 'results');
    const records = parseCsv(toCsv(t));
    const seeds = REPEAT_SEEDS.map((s) => `seed ${s}`);
    expect(records[0]).toEqual([
      'model / merge',
      'test accuracy (%)',
      'test accuracy (%) std',
      ...seeds.map((s) => `test accuracy (%) ${s}`),
      'test loss',
      'test loss std',
      ...seeds.map((s) => `test loss ${s}`),
      'accuracy before BN reset (%)',
      'accuracy before BN reset (%) std',
      ...seeds.map((s) => `accuracy before BN reset (%) ${s}`),
    ]);
    const modelA = metrics.models[0]!;
    expect(records[1]!.slice(0, 5).map((f, i) => (i === 0 ? f : Number(f)))).toEqual([
      'model A',
      toPercent(modelA.testAccuracy),
      toPercent(modelA.acrossRepeats!.testAccuracyStd),
      ...modelA.acrossRepeats!.testAccuracies.slice(0, 2).map(toPercent),
    ]);
    expect(Number(records[1]![5])).toBe(toPercent(modelA.acrossRepeats!.testAccuracies[2]!));
    expect(records[1]!.slice(11)).toEqual(['', '', '', '', '']); // no accuracy before a BatchNorm reset for a base model
    for (const record of records) expect(record).toHaveLength(records[0]!.length);
  });

  it('names a grouped column by its group, and quotes fields as RFC 4180 asks', () => {
    const metrics = sampleMetrics();
    metrics.merges[0] = { ...metrics.merges[0]!, label: 'cca "v2", new', alignLabel: 'cca "v2"' };
    const csv = toCsv(table(metrics, 'results'));
    expect(csv).toContain('\r\n"cca ""v2"", new",');
    expect(parseCsv(csv).some((r) => r[0] === 'cca "v2", new')).toBe(true);
    expect(parseCsv(toCsv(table(sampleMetrics(), 'merges')))[0]).toEqual([
      'alignment',
      'test accuracy (%): uniform',
      'test accuracy (%): fisher',
      'test accuracy (%): learned (uniform init)',
      'test accuracy (%): learned (fisher init)',
    ]);
    expect(csvField('plain')).toBe('plain');
    expect(csvField('line\nbreak')).toBe('"line\nbreak"');
  });

  it('writes a loss that is not finite as NaN, and leaves missing cells empty', () => {
    const metrics = sampleManyMetrics();
    metrics.models[0]!.testLoss = Number.NaN;
    expect(parseCsv(toCsv(table(metrics, 'results')))[1]![2]).toBe('NaN');
    expect(parseTabular(toLatex(table(metrics, 'results'))).body[0]![2]).toBe('not finite');
    const [header, ...rows] = parseCsv(toCsv(table(metrics, 'many')));
    const permutation = Object.fromEntries(header!.map((name, i) => [name, rows[1]![i]]));
    expect(permutation).toMatchObject({
      merge: 'hierarchical · permutation · uniform',
      'test accuracy (%): N = 2': String(toPercent(0.9411)),
      'test accuracy (%): N = 4': String(toPercent(0.8876)),
      'test accuracy (%): N = 8': '',
      // The mean base model's spread gives every N a std column, empty for merges of one repeat.
      'test accuracy (%): N = 8 std': '',
    });
    expect(Number(rows[4]![header!.indexOf('test accuracy (%): N = 8 std')])).toBe(toPercent(0.0012));
  });
});

describe('writeTables', () => {
  it('writes each table as .tex and .csv under tables/, and removes the run tables a run no longer has', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'merge-train-tables-'));
    const written = await writeTables(dir, sampleManyMetrics());
    expect(written.map((p) => p.slice(dir.length + 1)).sort()).toEqual(
      ['many', 'merges', 'results'].flatMap((n) => [`tables/${n}.csv`, `tables/${n}.tex`]).sort(),
    );
    expect(readFileSync(join(dir, 'tables', 'results.tex'), 'utf8')).toBe(toLatex(table(sampleManyMetrics(), 'results')));
    writeFileSync(join(dir, 'tables', 'compare.tex'), 'kept');
    await writeTables(dir, sampleMetrics());
    expect(existsSync(join(dir, 'tables', 'many.tex'))).toBe(false);
    expect(existsSync(join(dir, 'tables', 'many.csv'))).toBe(false);
    expect(readFileSync(join(dir, 'tables', 'compare.tex'), 'utf8')).toBe('kept');
  });
});
