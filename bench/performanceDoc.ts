import { existsSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '../src/io/atomicWrite.js';
import type { Figure } from './regressions.js';

/** What a bench run records besides its figures (see bench.json). */
export interface BenchRun {
  date: string;
  commit: string;
  backend: string;
  threads: number;
  machine: { cpus: number; model: string; memoryGB: number };
  figures: Figure[];
}

/** The markers around the part of docs/performance.md that the bench writes; the rest is kept. */
export const BENCH_START = '<!-- bench:start (written by npm run bench; edits inside are replaced) -->';
export const BENCH_END = '<!-- bench:end -->';

/** A value with as many digits as it deserves. */
export function formatValue(value: number, unit: string): string {
  const digits = value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return `${value.toFixed(digits)} ${unit}`;
}

/** The latest run as a markdown table, with the run it was compared with when there is one. */
export function benchTable(run: BenchRun, previous?: BenchRun): string {
  const before = new Map(previous?.figures.map((f) => [f.key, f]) ?? []);
  const header = previous ? `| figure | this run | previous run (${previous.commit}) |\n| --- | ---: | ---: |` : '| figure | this run |\n| --- | ---: |';
  const rows = run.figures.map((figure) => {
    const old = before.get(figure.key);
    const cells = [figure.label, formatValue(figure.value, figure.unit), ...(previous ? [old ? formatValue(old.value, old.unit) : '-'] : [])];
    return `| ${cells.join(' | ')} |`;
  });
  const machine = `${run.machine.cpus} cores (${run.machine.model}), ${run.machine.memoryGB} GiB`;
  return [
    `Latest \`npm run bench\`: ${run.date.slice(0, 10)}, commit ${run.commit}, ${run.backend} backend on ${run.threads} thread(s), ${machine}.`,
    '',
    header,
    ...rows,
  ].join('\n');
}

/**
 * Writes `table` into `path` between the bench markers, keeping everything outside them (the
 * hand-written history); a file without markers gets them appended, a missing file is created.
 */
export async function writeBenchSection(path: string, table: string): Promise<void> {
  const text = existsSync(path) ? readFileSync(path, 'utf8') : '# Performance\n';
  const section = `${BENCH_START}\n${table}\n${BENCH_END}`;
  const start = text.indexOf(BENCH_START);
  const end = text.indexOf(BENCH_END);
  const next = start >= 0 && end > start ? `${text.slice(0, start)}${section}${text.slice(end + BENCH_END.length)}` : `${text.trimEnd()}\n\n${section}\n`;
  await writeFileAtomic(path, next);
}
