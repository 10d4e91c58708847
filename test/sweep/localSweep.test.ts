import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { LOCK_FILE } from '../../src/run/runLock.js';
import { isJobDone, readPlan } from '../../src/sweep/plan.js';
import { runInProcess } from '../cli/inProcess.js';
import { writeTinyRecipe } from './tinyRecipe.js';


const sweepFile = `
name: widths
recipe: tiny.yaml
grid:
  model.config.hidden: [[8], [12]]
repeats: 2
`;

describe('a sweep run by the local executor', () => {
  const dir = mkdtempSync(join(tmpdir(), 'merge-train-sweep-local-'));
  const out = join(dir, 'out');
  let first: { code: number; stdout: string; stderr: string };

  beforeAll(async () => {
    writeTinyRecipe(dir);
    writeFileSync(join(dir, 'sweep.yaml'), sweepFile);
    first = await runInProcess(['sweep', 'submit', join(dir, 'sweep.yaml'), '--dir', out, '--jobs', '2', '--threads', '1']);
  }, 300_000);

  it('runs every job in its own process, dependencies first, and reports every grid cell over its seeds', async () => {
    expect(first.code, first.stderr).toBe(0);
    const plan = await readPlan(out);
    expect(plan.jobs.every((job) => isJobDone(out, job.id))).toBe(true);
    // Each job's line comes after those of the jobs it needs.
    const order = first.stdout.split('\n').flatMap((line) => /^job (\S+): done/.exec(line)?.[1] ?? []);
    for (const job of plan.jobs) for (const needed of job.after) expect(order.indexOf(needed)).toBeLessThan(order.indexOf(job.id));
    const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')) as { cells: { values: Record<string, unknown>; seeds: number[]; merges: { label: string; values: number[] }[] }[] };
    expect(metrics.cells.map((cell) => [cell.values['model.config.hidden'], cell.seeds])).toEqual([
      [[8], [0, 1]],
      [[12], [0, 1]],
    ]);
    // Each seed's value is that point's run directory's own result.
    const point = plan.points.find((p) => p.seed === 1 && JSON.stringify(p.values['model.config.hidden']) === '[12]')!;
    const run = JSON.parse(readFileSync(join(out, point.runDir, 'metrics.json'), 'utf8')) as { merges: { label: string; testAccuracy: number }[] };
    const permutation = metrics.cells[1]!.merges.find((m) => m.label === 'permutation · uniform')!;
    expect(permutation.values[1]).toBe(run.merges.find((m) => m.label === 'permutation · uniform')!.testAccuracy);
    expect(existsSync(join(out, 'summary.md'))).toBe(true);
  });

  it('submitted again, runs nothing; run-job of a done job and a job held by a live process make nothing', async () => {
    const again = await runInProcess(['sweep', 'submit', join(dir, 'sweep.yaml'), '--dir', out]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).not.toMatch(/^job /m);
    const plan = await readPlan(out);
    const done = await runInProcess(['sweep', 'run-job', out, plan.jobs[0]!.id]);
    expect(done.stdout).toMatch(/done already/);
    // A job claimed by a live process (this one) is refused, not run twice.
    const report = plan.jobs.at(-1)!;
    const marker = join(out, 'jobs', `${report.id}.done.json`);
    const saved = readFileSync(marker);
    rmSync(marker);
    mkdirSync(join(out, 'jobs', `${report.id}.lock`), { recursive: true });
    writeFileSync(join(out, 'jobs', `${report.id}.lock`, LOCK_FILE), JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString() }));
    const claimed = await runInProcess(['sweep', 'run-job', out, report.id]);
    expect(claimed.code).toBe(2);
    expect(claimed.stderr).toMatch(/in use by another merge-train run/);
    writeFileSync(marker, saved);
  });

  it('refuses an unknown job and a folder without a plan with one line', async () => {
    const unknown = await runInProcess(['sweep', 'run-job', out, 'train-nope-0']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr.trim()).toMatch(/no job train-nope-0 in its plan/);
    const none = await runInProcess(['sweep', 'report', dir]);
    expect(none.code).toBe(2);
    expect(none.stderr.trim()).toMatch(/holds no sweep/);
  });
});
