import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { markJobDone, planSweep, writePlan, type SweepPlan } from '../../src/sweep/plan.js';
import type { CommandResult, SlurmRunner } from '../../src/sweep/slurmCommands.js';
import { describeSubmission, submitSlurm } from '../../src/sweep/slurmExecutor.js';
import { formatSweepStatus, sweepStatus } from '../../src/sweep/slurmStatus.js';
import { readSubmitted } from '../../src/sweep/slurmSubmissions.js';
import { loadSweepFile } from '../../src/sweep/sweepFile.js';
import { InputError } from '../../src/util/errors.js';
import { writeTinyRecipe } from './tinyRecipe.js';

const root = mkdtempSync(join(tmpdir(), 'merge-train-slurm-executor-'));
writeTinyRecipe(root);
afterAll(() => rmSync(root, { recursive: true, force: true }));
writeFileSync(join(root, 'widths.yaml'), 'name: widths\nrecipe: tiny.yaml\ngrid:\n  model.config.hidden: [[8], [16]]\n');

/** A planned sweep (2 widths: 4 train jobs, 2 run jobs, 1 report) in a fresh directory. */
async function plannedSweep(): Promise<{ sweepDir: string; plan: SweepPlan }> {
  const { sweep, points } = await loadSweepFile(join(root, 'widths.yaml'));
  const plan = planSweep(sweep, points);
  const sweepDir = mkdtempSync(join(root, 'sweep-'));
  await writePlan(sweepDir, plan);
  return { sweepDir, plan };
}

/**
 * A Slurm that records every command: sbatch hands out job ids from 100 on, squeue prints `queue`
 * (lines `<job>|<task>|<state>|<reason>`), and `fail` makes a program fail with its message.
 */
function fakeSlurm(options: { queue?: string[]; fail?: Record<string, string> } = {}) {
  const calls: { program: string; args: readonly string[] }[] = [];
  let next = 100;
  const runner: SlurmRunner = async (program, args): Promise<CommandResult> => {
    calls.push({ program, args });
    const failure = options.fail?.[program];
    if (failure) return { code: 1, stdout: '', stderr: `${failure}\nmore detail\n` };
    if (program === 'sbatch') return { code: 0, stdout: `${next++}\n`, stderr: '' };
    if (program === 'squeue') return { code: 0, stdout: (options.queue ?? []).map((line) => `${line}\n`).join(''), stderr: '' };
    return { code: 0, stdout: '', stderr: '' };
  };
  return { runner, calls, sbatch: () => calls.filter((c) => c.program === 'sbatch').map((c) => c.args) };
}

const command = ['/usr/bin/node', '/opt/merge train/dist/cli/main.js'];
const idsAt = (plan: SweepPlan, level: number) => plan.jobs.filter((job) => job.level === level).map((job) => job.id);

describe('submitting a sweep to Slurm', () => {
  it('writes one job-array script per level, each task mapped to a plan job, and chains the levels with afterok', async () => {
    const { sweepDir, plan } = await plannedSweep();
    const slurm = fakeSlurm();
    const result = await submitSlurm(sweepDir, plan, { partition: 'gpu', gpusPerJob: 1, cpusPerJob: 4, time: '1:30:00', account: 'lab-1', command }, slurm.runner);

    expect(result.submitted.map((s) => [s.level, s.slurmJobId, s.tasks])).toEqual([
      [0, '100', idsAt(plan, 0)],
      [1, '101', idsAt(plan, 1)],
      [2, '102', idsAt(plan, 2)],
    ]);
    const scripts = [0, 1, 2].map((level) => join(sweepDir, 'slurm', `level-${level}.sbatch`));
    expect(slurm.sbatch()).toEqual([
      ['--parsable', scripts[0]],
      ['--parsable', '--dependency=afterok:100', scripts[1]],
      ['--parsable', '--dependency=afterok:101', scripts[2]],
    ]);

    const train = readFileSync(scripts[0]!, 'utf8');
    const directives = train.split('\n').filter((line) => line.startsWith('#SBATCH'));
    expect(directives).toEqual([
      '#SBATCH --job-name=widths-level-0',
      '#SBATCH --array=0-3',
      `#SBATCH --output=${sweepDir}/slurm/logs/level-0-%A_%a.out`,
      `#SBATCH --error=${sweepDir}/slurm/logs/level-0-%A_%a.err`,
      '#SBATCH --kill-on-invalid-dep=yes',
      '#SBATCH --partition=gpu',
      '#SBATCH --account=lab-1',
      '#SBATCH --time=1:30:00',
      '#SBATCH --cpus-per-task=4',
      '#SBATCH --gres=gpu:1',
    ]);
    expect(train.startsWith('#!/bin/bash\n')).toBe(true);
    expect(train).toContain(`exec /usr/bin/node '/opt/merge train/dist/cli/main.js' sweep run-job ${sweepDir} "$job" --threads "\${SLURM_CPUS_PER_TASK:-1}"`);
    // The report draws figures: no GPU for it.
    const report = readFileSync(scripts[2]!, 'utf8');
    expect(report).toContain('#SBATCH --array=0-0');
    expect(report).not.toContain('--gres');
    expect(readFileSync(join(sweepDir, 'slurm', 'level-0.jobs'), 'utf8')).toBe(`${idsAt(plan, 0).join('\n')}\n`);
    expect(existsSync(join(sweepDir, 'slurm', 'logs'))).toBe(true);

    expect(describeSubmission(sweepDir, result)).toEqual([
      `level 0: Slurm job 100, 4 task(s) (${scripts[0]})`,
      `level 1: Slurm job 101, 2 task(s) (${scripts[1]})`,
      `level 2: Slurm job 102, 1 task(s) (${scripts[2]})`,
      `logs in ${sweepDir}/slurm/logs; merge-train sweep status ${sweepDir} shows progress`,
    ]);
    const record = await readSubmitted(sweepDir);
    expect(Object.keys(record.levels)).toEqual(['0', '1', '2']);
    expect(record.levels['1']).toMatchObject({ slurmJobId: '101', tasks: idsAt(plan, 1), script: 'slurm/level-1.sbatch' });
  });

  it("runs, in each array task, `<command> sweep run-job <dir> <job>` for the task's line of the list", async () => {
    const { sweepDir, plan } = await plannedSweep();
    // echo stands in for merge-train: the task prints what it would run.
    await submitSlurm(sweepDir, plan, { cpusPerJob: 3, command: ['/bin/echo', 'merge train'] }, fakeSlurm().runner);
    const script = join(sweepDir, 'slurm', 'level-0.sbatch');
    for (const task of [0, 3]) {
      const run = spawnSync('bash', [script], { encoding: 'utf8', env: { PATH: process.env.PATH, SLURM_ARRAY_TASK_ID: String(task), SLURM_ARRAY_JOB_ID: '7', SLURM_CPUS_PER_TASK: '3' } });
      expect(run.status).toBe(0);
      expect(run.stdout.trim().split('\n').pop()).toBe(`merge train sweep run-job ${sweepDir} ${idsAt(plan, 0)[task]} --threads 3`);
    }
    // A task past the list fails with one line rather than running nothing quietly.
    const past = spawnSync('bash', [script], { encoding: 'utf8', env: { PATH: process.env.PATH, SLURM_ARRAY_TASK_ID: '4' } });
    expect(past.status).toBe(2);
    expect(past.stderr).toContain('array task 4: no job on line 5');
  });

  it('submits only the jobs not done: after a failure, the failed tasks and the levels after them', async () => {
    const { sweepDir, plan } = await plannedSweep();
    const slurm = fakeSlurm();
    await submitSlurm(sweepDir, plan, { command }, slurm.runner);
    // Every base model trained, one run directory done: its sibling failed.
    for (const id of [...idsAt(plan, 0), idsAt(plan, 1)[0]!]) await markJobDone(sweepDir, id, 1, 'node1');
    const again = await submitSlurm(sweepDir, plan, { command }, slurm.runner);
    expect(again.submitted.map((s) => [s.level, s.tasks])).toEqual([
      [1, [idsAt(plan, 1)[1]]],
      [2, idsAt(plan, 2)],
    ]);
    // Level 0 is done: level 1 waits on nothing, the report on level 1.
    expect(slurm.sbatch().slice(3)).toEqual([
      ['--parsable', join(sweepDir, 'slurm', 'level-1.sbatch')],
      ['--parsable', '--dependency=afterok:103', join(sweepDir, 'slurm', 'level-2.sbatch')],
    ]);
    expect(readFileSync(join(sweepDir, 'slurm', 'level-1.sbatch'), 'utf8')).toContain('#SBATCH --array=0-0');
    expect(readFileSync(join(sweepDir, 'slurm', 'level-1.jobs'), 'utf8')).toBe(`${idsAt(plan, 1)[1]}\n`);
    const record = await readSubmitted(sweepDir);
    expect(record.history.map((s) => s.slurmJobId)).toEqual(['100', '101', '102', '103', '104']);
    expect(record.levels['0']!.slurmJobId).toBe('100');

    for (const id of plan.jobs.map((job) => job.id)) await markJobDone(sweepDir, id, 1, 'node1');
    const calls = slurm.calls.length;
    const nothing = await submitSlurm(sweepDir, plan, { command }, slurm.runner);
    expect(nothing.submitted).toEqual([]);
    expect(describeSubmission(sweepDir, nothing)).toEqual([`${sweepDir}: every job is done; nothing submitted`]);
    expect(slurm.calls.length).toBe(calls); // nothing to ask Slurm either
  });

  it('is refused while a task of an earlier submission is still queued, and cancels tasks that can never start', async () => {
    const { sweepDir, plan } = await plannedSweep();
    await submitSlurm(sweepDir, plan, { command }, fakeSlurm().runner);
    const running = fakeSlurm({ queue: ['100|0|R|None', '100|1|R|None', '100|2|PD|Resources', '100|3|PD|Resources', '101|0|PD|Dependency', '101|1|PD|Dependency', '102|0|PD|Dependency'] });
    await expect(submitSlurm(sweepDir, plan, { command }, running.runner)).rejects.toThrow(
      "7 task(s) of this sweep are still in Slurm's queue (100_0, 100_1, 100_2, 100_3, 101_0, 101_1, ...); wait for them to finish, or scancel them, then submit again",
    );
    expect(running.sbatch()).toEqual([]);

    // Base model 1 failed: the run directory that needs it, and the report, can never start.
    for (const id of idsAt(plan, 0).filter((_, i) => i !== 1)) await markJobDone(sweepDir, id, 1, 'node1');
    const blocked = fakeSlurm({ queue: ['101|0|PD|DependencyNeverSatisfied', '101|1|PD|DependencyNeverSatisfied', '102|0|PD|DependencyNeverSatisfied'] });
    const result = await submitSlurm(sweepDir, plan, { command }, blocked.runner);
    expect(result.cancelled).toEqual(['101_0', '101_1', '102_0']);
    expect(describeSubmission(sweepDir, result)[0]).toBe('cancelled 3 task(s) that could never start: 101_0, 101_1, 102_0');
    expect(blocked.calls.find((c) => c.program === 'scancel')?.args).toEqual(['101_0', '101_1', '102_0']);
    expect(result.submitted.map((s) => [s.level, s.tasks])).toEqual([
      [0, [idsAt(plan, 0)[1]]],
      [1, idsAt(plan, 1)],
      [2, idsAt(plan, 2)],
    ]);
  });

  it("turns sbatch's refusal into one line, and refuses bad options before submitting anything", async () => {
    const { sweepDir, plan } = await plannedSweep();
    const refusing = fakeSlurm({ fail: { sbatch: 'sbatch: error: invalid partition specified: gpu' } });
    const error = await submitSlurm(sweepDir, plan, { partition: 'gpu', command }, refusing.runner).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toMatch(/^submitting level 0 \(.*level-0\.sbatch\): sbatch failed \(exit code 1\): sbatch: error: invalid partition specified: gpu$/);
    // The script stays, to be edited and submitted by hand.
    expect(existsSync(join(sweepDir, 'slurm', 'level-0.sbatch'))).toBe(true);

    const slurm = fakeSlurm();
    await expect(submitSlurm(sweepDir, plan, { time: 'soon', command }, slurm.runner)).rejects.toThrow('Slurm time limit "soon": expected minutes, h:mm:ss, d-hh or d-hh:mm:ss');
    await expect(submitSlurm(sweepDir, plan, { partition: 'a b', command }, slurm.runner)).rejects.toThrow(InputError);
    await expect(submitSlurm(sweepDir, plan, { gpusPerJob: 0.5, command }, slurm.runner)).rejects.toThrow('Slurm GPUs per job: expected a whole number of at least 1, got 0.5');
    await expect(submitSlurm(sweepDir, plan, { command: [] }, slurm.runner)).rejects.toThrow(InputError);
    const spaced = join(root, 'a sweep');
    await expect(submitSlurm(spaced, plan, { command }, slurm.runner)).rejects.toThrow(/#SBATCH lines cannot hold a path with spaces/);
    expect(slurm.calls).toEqual([]);
  });
});

describe("a sweep's status", () => {
  it('counts each level done, running, pending, blocked and failed from the markers and the queue', async () => {
    const { sweepDir, plan } = await plannedSweep();
    const [t0, t1, t2, t3] = idsAt(plan, 0);
    const [r0, r1] = idsAt(plan, 1);
    // Before any submission, Slurm is not asked.
    const none = fakeSlurm();
    const fresh = await sweepStatus(sweepDir, none.runner);
    expect(fresh.levels.map((l) => l.jobs.unsubmitted.length)).toEqual([4, 2, 1]);
    expect(formatSweepStatus(fresh)[0]).toBe(`sweep widths (${sweepDir}): 0 of 7 jobs done, not submitted`);
    expect(none.calls).toEqual([]);

    await submitSlurm(sweepDir, plan, { command }, fakeSlurm().runner);
    await markJobDone(sweepDir, t0!, 1, 'node1');
    // t1 left the queue without its marker: it failed; t2 runs, t3 waits for a CPU; r0 needs t1.
    const queue = fakeSlurm({ queue: ['100|0|CG|None', '100|2|R|None', '100|3|PD|Resources', '101|0|PD|Dependency', '101|1|PD|Dependency', '102|0|PD|Dependency'] });
    const status = await sweepStatus(sweepDir, queue.runner);
    expect(queue.calls).toEqual([{ program: 'squeue', args: ['--noheader', '-r', '--jobs=100,101,102', '--format=%F|%K|%t|%r'] }]);
    expect(status.levels[0]!.jobs).toMatchObject({ done: [t0], running: [t2], pending: [t3], failed: [t1], blocked: [] });
    // Each width is a run directory of its own: r0 needs t0 and t1, r1 needs t2 and t3.
    expect(status.levels[1]!.jobs).toMatchObject({ blocked: [r0], pending: [r1] });
    expect(status.levels[2]!.jobs.blocked).toEqual(idsAt(plan, 2));
    expect(status).toMatchObject({ complete: false, active: true });

    const lines = formatSweepStatus(status);
    expect(lines[0]).toBe(`sweep widths (${sweepDir}): 1 of 7 jobs done, in progress`);
    expect(lines[1]).toBe('level 0 (train): 1 done, 1 running, 1 pending, 1 failed');
    expect(lines).toContain(`  failed ${t1}: its log is ${sweepDir}/slurm/logs/level-0-100_1.err`);
    expect(lines).toContain(`  blocked ${r0}: a job it needs did not finish`);
    expect(lines).toContain(`  running ${t2} (Slurm task 100_2)`);

    // Everything done: the queue is not asked, even if Slurm has forgotten the jobs.
    for (const id of plan.jobs.map((job) => job.id)) await markJobDone(sweepDir, id, 1, 'node1');
    const after = fakeSlurm({ fail: { squeue: 'slurm_load_jobs error: Unable to contact slurm controller' } });
    const complete = await sweepStatus(sweepDir, after.runner);
    expect(complete).toMatchObject({ complete: true, active: false });
    expect(formatSweepStatus(complete)[0]).toBe(`sweep widths (${sweepDir}): 7 of 7 jobs done, complete`);
  });

  it("takes a queue that has forgotten every job as empty, and reports Slurm's other failures in one line", async () => {
    const { sweepDir, plan } = await plannedSweep();
    await submitSlurm(sweepDir, plan, { command }, fakeSlurm().runner);
    const forgotten = fakeSlurm({ fail: { squeue: 'slurm_load_jobs error: Invalid job id specified' } });
    const status = await sweepStatus(sweepDir, forgotten.runner);
    expect(status.levels[0]!.jobs.failed).toEqual(idsAt(plan, 0));
    expect(status.levels[1]!.jobs.blocked).toEqual(idsAt(plan, 1));
    expect(formatSweepStatus(status)[0]).toMatch(/0 of 7 jobs done, stopped: submit again to run the jobs not done$/);
    const down = fakeSlurm({ fail: { squeue: 'slurm_load_jobs error: Unable to contact slurm controller (connect failure)' } });
    await expect(sweepStatus(sweepDir, down.runner)).rejects.toThrow("cannot read Slurm's queue: squeue failed: slurm_load_jobs error: Unable to contact slurm controller (connect failure)");
  });
});
