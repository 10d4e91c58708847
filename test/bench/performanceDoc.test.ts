import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BENCH_END, BENCH_START, benchTable, writeBenchSection, type BenchRun } from '../../bench/performanceDoc.js';

const run = (commit: string, value: number): BenchRun => ({
  date: '2026-11-29T22:00:00.000Z',
  commit,
  backend: 'wasm',
  threads: 2,
  machine: { cpus: 2, model: 'Test CPU', memoryGB: 24 },
  figures: [
    { key: 'mlp.ms', label: 'MLP epoch', value, unit: 'ms', better: 'lower' },
    { key: 'new', label: 'a new figure', value: 1234.5, unit: 'examples/s', better: 'higher' },
  ],
});

describe('the bench section of docs/performance.md', () => {
  it('is a table of the latest run beside the previous one', () => {
    const table = benchTable(run('b2', 434.2), { ...run('a1', 499), figures: [run('a1', 499).figures[0]!] });
    expect(table).toContain('commit b2, wasm backend on 2 thread(s), 2 cores (Test CPU), 24 GiB');
    expect(table).toContain('| figure | this run | previous run (a1) |');
    expect(table).toContain('| MLP epoch | 434 ms | 499 ms |');
    expect(table).toContain('| a new figure | 1235 examples/s | - |');
  });

  it('replaces only what lies between its markers, and adds them to a page without them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'merge-train-perfdoc-'));
    const page = join(dir, 'performance.md');
    writeFileSync(page, `# Performance\n\nHistory written by hand.\n\n${BENCH_START}\nold table\n${BENCH_END}\n\nMore history.\n`);
    await writeBenchSection(page, 'new table');
    expect(readFileSync(page, 'utf8')).toBe(`# Performance\n\nHistory written by hand.\n\n${BENCH_START}\nnew table\n${BENCH_END}\n\nMore history.\n`);
    const fresh = join(dir, 'fresh.md');
    writeFileSync(fresh, '# Performance\n\nNo markers yet.\n');
    await writeBenchSection(fresh, 'first table');
    expect(readFileSync(fresh, 'utf8')).toBe(`# Performance\n\nNo markers yet.\n\n${BENCH_START}\nfirst table\n${BENCH_END}\n`);
  });
});
