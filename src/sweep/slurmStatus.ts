import { join } from 'node:path';
import { isJobDone, JOB_LEVELS, readPlan, type SweepJob, type SweepPlan } from './plan.js';
import { runSlurmCommand, type SlurmRunner } from './slurmCommands.js';
import { queuedTasks, type QueueState } from './slurmQueue.js';
import { latestTasks, readSubmitted } from './slurmSubmissions.js';

/**
 * Where a job of a sweep stands. `done`: its marker is written. `running`, `pending`: its Slurm task
 * is in the queue. `blocked`: it cannot start, because a job it needs is not done and will not be
 * (Slurm keeps or ended its task). `failed`: its task left the queue with the job not done (it
 * failed, was cancelled or ran out of time). `unsubmitted`: never submitted to Slurm.
 */
export type JobState = 'done' | 'running' | 'pending' | 'blocked' | 'failed' | 'unsubmitted';

/** The states in the order the status lists them. */
export const JOB_STATES: readonly JobState[] = ['done', 'running', 'pending', 'blocked', 'failed', 'unsubmitted'];

/** One level of a sweep: the ids of its jobs in each state, and the Slurm task of each job submitted. */
export interface LevelStatus {
  level: number;
  kind: SweepJob['kind'];
  jobs: Record<JobState, string[]>;
  /** `<slurm job id>_<array task>` of each job's latest submission. */
  tasks: Record<string, string>;
}

/** A sweep's progress, level by level. */
export interface SweepStatus {
  name: string;
  sweepDir: string;
  levels: LevelStatus[];
  /** Every job is done. */
  complete: boolean;
  /** Some job is still running or pending in Slurm's queue. */
  active: boolean;
}

/** A level's Slurm log of a job's task (stderr), relative to the sweep directory. */
export function taskLogPath(level: number, slurmTask: string): string {
  return join('slurm', 'logs', `level-${level}-${slurmTask}.err`);
}

/** Every job's state, and the Slurm task of each job submitted that is still in Slurm's queue. */
export interface JobStates {
  states: Map<string, JobState>;
  /** Plan job id → `<slurm job id>_<array task>`, for the jobs whose task is in the queue. */
  queued: Map<string, string>;
  /** Plan job id → `<slurm job id>_<array task>` of its latest submission. */
  tasks: Map<string, string>;
}

/**
 * The state of every job of `plan` in `sweepDir`, from its done markers, what it submitted to Slurm
 * (`slurm/submitted.json`) and Slurm's queue (squeue, asked only about the jobs not done: a sweep
 * complete, or never submitted, needs no cluster).
 */
export async function jobStates(sweepDir: string, plan: SweepPlan, runner: SlurmRunner = runSlurmCommand): Promise<JobStates> {
  const where = latestTasks(await readSubmitted(sweepDir));
  const tasks = new Map([...where].map(([id, t]) => [id, `${t.slurmJobId}_${t.task}`]));
  const done = new Set(plan.jobs.filter((job) => isJobDone(sweepDir, job.id)).map((job) => job.id));
  const asked = [...new Set(plan.jobs.filter((job) => !done.has(job.id) && where.has(job.id)).map((job) => where.get(job.id)!.slurmJobId))];
  const queue = new Map<string, QueueState>();
  for (const task of await queuedTasks(runner, asked)) queue.set(`${task.slurmJobId}_${task.task}`, task.state);
  const states = new Map<string, JobState>();
  const queued = new Map<string, string>();
  const stateOf = (job: SweepJob): JobState => {
    const known = states.get(job.id);
    if (known) return known;
    const task = tasks.get(job.id);
    const inQueue = task === undefined ? undefined : queue.get(task);
    if (task !== undefined && inQueue !== undefined && !done.has(job.id)) queued.set(job.id, task);
    let state: JobState;
    if (done.has(job.id)) state = 'done';
    else if (task === undefined) state = 'unsubmitted';
    else if (inQueue === 'running') state = 'running';
    else {
      // A job whose inputs will not be made never starts, whether Slurm still holds its task or ended it.
      const needs = plan.jobs.filter((other) => job.after.includes(other.id));
      const inputsLost = needs.some((need) => ['blocked', 'failed', 'unsubmitted'].includes(stateOf(need)));
      if (inQueue === 'blocked' || inputsLost) state = 'blocked';
      else if (inQueue === 'pending') state = 'pending';
      else state = 'failed';
    }
    states.set(job.id, state);
    return state;
  };
  for (const job of plan.jobs) stateOf(job);
  return { states, queued, tasks };
}

/** The progress of the sweep in `sweepDir`, level by level (see {@link jobStates}). */
export async function sweepStatus(sweepDir: string, runner: SlurmRunner = runSlurmCommand): Promise<SweepStatus> {
  const plan = await readPlan(sweepDir);
  const { states, tasks } = await jobStates(sweepDir, plan, runner);
  const levels: LevelStatus[] = [];
  for (const level of JOB_LEVELS) {
    const jobs = plan.jobs.filter((job) => job.level === level);
    if (jobs.length === 0) continue;
    const byState = Object.fromEntries(JOB_STATES.map((state) => [state, [] as string[]])) as Record<JobState, string[]>;
    const levelTasks: Record<string, string> = {};
    for (const job of jobs) {
      byState[states.get(job.id)!].push(job.id);
      const task = tasks.get(job.id);
      if (task) levelTasks[job.id] = task;
    }
    levels.push({ level, kind: jobs[0]!.kind, jobs: byState, tasks: levelTasks });
  }
  const count = (state: JobState) => [...states.values()].filter((s) => s === state).length;
  return { name: plan.name, sweepDir, levels, complete: count('done') === plan.jobs.length, active: count('running') + count('pending') > 0 };
}

/**
 * The status as text lines: a summary, then per level its counts and the jobs not done by state, a
 * failed job with the log that says why.
 */
export function formatSweepStatus(status: SweepStatus): string[] {
  const count = (state: JobState) => status.levels.reduce((sum, level) => sum + level.jobs[state].length, 0);
  const total = JOB_STATES.reduce((sum, state) => sum + count(state), 0);
  const summary = status.complete
    ? 'complete'
    : status.active
      ? 'in progress'
      : count('failed') + count('blocked') > 0
        ? 'stopped: submit again to run the jobs not done'
        : 'not submitted';
  const lines = [`sweep ${status.name} (${status.sweepDir}): ${count('done')} of ${total} jobs done, ${summary}`];
  for (const level of status.levels) {
    const counts = JOB_STATES.filter((state) => level.jobs[state].length > 0).map((state) => `${level.jobs[state].length} ${state}`);
    lines.push(`level ${level.level} (${level.kind}): ${counts.join(', ')}`);
    for (const state of JOB_STATES.filter((s) => s !== 'done')) {
      for (const id of level.jobs[state]) {
        const task = level.tasks[id];
        const detail =
          state === 'failed' && task
            ? `: its log is ${join(status.sweepDir, taskLogPath(level.level, task))}`
            : state === 'blocked'
              ? ': a job it needs did not finish'
              : task && state !== 'unsubmitted'
                ? ` (Slurm task ${task})`
                : '';
        lines.push(`  ${state} ${id}${detail}`);
      }
    }
  }
  return lines;
}
