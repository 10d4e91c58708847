import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LOCK_FILE } from '../../src/run/runLock.js';
import { runLocally } from '../../src/sweep/localExecutor.js';
import { mergeTrainCommand } from '../../src/sweep/mergeTrainCommand.js';
import { isJobDone, planSweep, writePlan, type SweepPlan } from '../../src/sweep/plan.js';
import { readPointResults } from '../../src/sweep/pointResults.js';
import { submitSlurm } from '../../src/sweep/slurmExecutor.js';
import { formatSweepStatus, sweepStatus, taskLogPath, type SweepStatus } from '../../src/sweep/slurmStatus.js';
import { loadSweepFile } from '../../src/sweep/sweepFile.js';
import { readSweepMetrics } from '../../src/sweep/sweepMetrics.js';
import { slurmClient, startSlurmCluster } from './slurmCluster.js';
import { writeTinyRecipe } from './tinyRecipe.js';

/**
 * A sweep of 2 widths × 2 seeds of a tiny MLP, run on a real single-node Slurm cluster (started as
 * root for this file, see slurmCluster.ts) and on this machine with the local executor: the same
 * accuracies, to the last digit. Then a run job killed mid-run with scancel, resubmitted: only it and
 * the report run again, to the same results. Skipped, saying why, where Slurm cannot start.
 */

const cluster = await startSlurmCluster();
const unavailable = 'unavailable' in cluster ? cluster.unavailable : undefined;
if (unavailable) console.warn(`test/sweep/slurm.test.ts skipped: ${unavailable}`);

const root = mkdtempSync(join(tmpdir(), 'merge-train-slurm-sweep-'));
writeTinyRecipe(root, 2);
writeFileSync(join(root, 'widths.yaml'), 'name: widths\nrecipe: tiny.yaml\ngrid:\n  model.config.hidden: [[8], [16]]\nrepeats: 2\n');

afterAll(async () => {
  if (!unavailable && 'stop' in cluster) await cluster.stop();
  rmSync(root, { recursive: true, force: true });
});

/** The sweep planned into a fresh directory `name` under the test's folder. */
async function planned(name: string): Promise<{ sweepDir: string; plan: SweepPlan }> {
  const { sweep, points } = await loadSweepFile(join(root, 'widths.yaml'));
  const plan = planSweep(sweep, points);
  const sweepDir = join(root, name);
  await writePlan(sweepDir, plan);
  return { sweepDir, plan };
}

/** Polls the sweep's status every half second until `until` holds; fails after `seconds`, with the status and the task logs. */
async function waitForStatus(sweepDir: string, until: (status: SweepStatus) => boolean, seconds: number): Promise<SweepStatus> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const status = await sweepStatus(sweepDir);
    if (until(status)) return status;
    if (Date.now() > deadline) {
      const logs = join(sweepDir, 'slurm', 'logs');
      const errors = existsSync(logs) ? readdirSync(logs).filter((f) => f.endsWith('.err')).map((f) => `${f}: ${readFileSync(join(logs, f), 'utf8').trim().split('\n').slice(-3).join(' | ')}`) : [];
      throw new Error(`timed out after ${seconds} s: ${formatSweepStatus(status).join('; ')}; ${errors.join('; ')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** What the comparison looks at: each point's accuracies and the sweep report's cells. */
async function results(sweepDir: string, plan: SweepPlan) {
  return { points: await readPointResults(sweepDir, plan), cells: (await readSweepMetrics(sweepDir)).cells };
}

/** Wall seconds since `start` (performance.now()), to one decimal. */
const since = (start: number) => Math.round((performance.now() - start) / 100) / 10;

describe.skipIf(unavailable !== undefined)('a sweep on a Slurm cluster', () => {
  let local: Awaited<ReturnType<typeof results>>;

  it('computes, as job arrays, exactly what the local executor computes', { timeout: 900_000 }, async () => {
    const here = await planned('local');
    const localStart = performance.now();
    const failed = await runLocally(here.sweepDir, here.plan, { jobs: 2, threads: 1, command: mergeTrainCommand() });
    const localSeconds = since(localStart);
    expect(failed).toEqual([]);
    local = await results(here.sweepDir, here.plan);

    const { sweepDir, plan } = await planned('slurm');
    const slurmStart = performance.now();
    const submission = await submitSlurm(sweepDir, plan, { partition: (cluster as { partition: string }).partition, command: mergeTrainCommand() });
    expect(submission.submitted.map((s) => [s.level, s.tasks.length])).toEqual([
      [0, 8],
      [1, 4],
      [2, 1],
    ]);
    const status = await waitForStatus(sweepDir, (s) => s.complete || !s.active, 600);
    const slurmSeconds = since(slurmStart);
    expect(formatSweepStatus(status)).toEqual([`sweep widths (${sweepDir}): 13 of 13 jobs done, complete`, 'level 0 (train): 8 done', 'level 1 (run): 4 done', 'level 2 (report): 1 done']);
    console.log(`sweep of 13 jobs (4 points): local executor ${localSeconds} s, Slurm ${slurmSeconds} s (wall, 2 at once)`);

    const onSlurm = await results(sweepDir, plan);
    expect(onSlurm.points.map((p) => p.merges.length)).toEqual([2, 2, 2, 2]);
    expect(onSlurm).toEqual(local);
    // Each task wrote its log where the script says.
    expect(readdirSync(join(sweepDir, 'slurm', 'logs')).filter((f) => f.endsWith('.out'))).toHaveLength(13);
  });

  it('reruns, after a task is cancelled mid-run, only that task and the levels after it, to the same results', { timeout: 900_000 }, async () => {
    expect(local, 'the first test computes the local results').toBeDefined();
    const { sweepDir, plan } = await planned('killed');
    const first = await submitSlurm(sweepDir, plan, { command: mergeTrainCommand() });
    const runs = first.submitted.find((s) => s.level === 1)!;
    const victim = runs.tasks[0]!;
    const victimDir = join(sweepDir, (plan.jobs.find((j) => j.id === victim) as { runDir: string }).runDir);

    // Mid-run: its task is running and has claimed its run directory.
    await waitForStatus(sweepDir, (s) => s.levels[1]!.jobs.running.includes(victim) && existsSync(join(victimDir, LOCK_FILE)), 600);
    expect(slurmClient('scancel', [`${runs.slurmJobId}_0`])).toBeDefined();
    const stopped = await waitForStatus(sweepDir, (s) => !s.active, 600);
    expect(isJobDone(sweepDir, victim)).toBe(false);
    expect(readFileSync(join(sweepDir, taskLogPath(1, `${runs.slurmJobId}_0`)), 'utf8')).toMatch(/CANCELLED/);
    expect(stopped.levels.map((l) => [l.jobs.done.length, l.jobs.failed, l.jobs.blocked])).toEqual([
      [8, [], []],
      [3, [victim], []],
      [0, [], plan.jobs.filter((j) => j.level === 2).map((j) => j.id)],
    ]);

    const again = await submitSlurm(sweepDir, plan, { command: mergeTrainCommand() });
    expect(again.submitted.map((s) => [s.level, s.tasks])).toEqual([
      [1, [victim]],
      [2, plan.jobs.filter((j) => j.level === 2).map((j) => j.id)],
    ]);
    const status = await waitForStatus(sweepDir, (s) => s.complete || !s.active, 600);
    expect(status.complete).toBe(true);
    expect(await results(sweepDir, plan)).toEqual(local);
  });
});
