import { mkdir } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { writeFileAtomic } from '../io/atomicWrite.js';
import { InputError } from '../util/errors.js';
import { isJobDone, JOB_LEVELS, type SweepJob, type SweepPlan } from './plan.js';
import { commandError, runSlurmCommand, slurmCommand, type SlurmRunner } from './slurmCommands.js';
import { jobStates } from './slurmStatus.js';
import { checkScriptPath, checkSlurmOptions, renderLevelScript, type SlurmOptions } from './slurmScript.js';
import { readSubmitted, slurmDir, withSubmission, writeSubmitted, type LevelSubmission } from './slurmSubmissions.js';

/** What each kind of job does, for the scripts' opening comments. */
const KIND_DESCRIPTIONS: Record<SweepJob['kind'], string> = {
  train: 'train base models, one per task',
  run: 'align, merge, evaluate and report every point of one run directory per task',
  report: "write the sweep's report",
};

/** What a submission did. */
export interface SlurmSubmitResult {
  /** The levels submitted now, lowest first (none when every job is done). */
  submitted: LevelSubmission[];
  /** Array tasks of earlier submissions that could never start (a job they need failed), cancelled: `<slurm id>_<task>`. */
  cancelled: string[];
}

/** Where a level's batch script is written: `slurm/level-<k>.sbatch`. */
export function levelScriptPath(sweepDir: string, level: number): string {
  return join(slurmDir(sweepDir), `level-${level}.sbatch`);
}

/** The job list beside a level's script: line i + 1 is the job of array task i. */
export function levelJobListPath(sweepDir: string, level: number): string {
  return join(slurmDir(sweepDir), `level-${level}.jobs`);
}

/**
 * Looks at what earlier submissions left in Slurm's queue: a job still pending or running refuses the
 * submission (submitting it again would run it twice), and tasks that can never start (a job they
 * need failed) are cancelled, their ids returned.
 */
async function settleQueue(sweepDir: string, plan: SweepPlan, runner: SlurmRunner): Promise<string[]> {
  const { states, queued } = await jobStates(sweepDir, plan, runner);
  const live = [...queued].filter(([id]) => states.get(id) === 'running' || states.get(id) === 'pending').map(([, task]) => task);
  if (live.length > 0) {
    const shown = `${live.slice(0, 6).join(', ')}${live.length > 6 ? ', ...' : ''}`;
    throw new InputError(`${live.length} task(s) of this sweep are still in Slurm's queue (${shown}); wait for them to finish, or scancel them, then submit again`);
  }
  const blocked = [...queued].filter(([id]) => states.get(id) === 'blocked').map(([, task]) => task);
  if (blocked.length > 0) {
    const result = await runner('scancel', blocked);
    // Slurm may end them itself meanwhile (--kill-on-invalid-dep): a task gone is what was wanted.
    if (result.code !== 0 && !/already complet|invalid job id/i.test(result.stderr)) throw commandError(`cancelling tasks that can never start (${blocked.join(', ')})`, 'scancel', result);
  }
  return blocked;
}

/** Submits one level's script with sbatch and returns the Slurm job id it printed. */
async function sbatch(runner: SlurmRunner, script: string, after: string | undefined, level: number): Promise<string> {
  const args = ['--parsable', ...(after ? [`--dependency=afterok:${after}`] : []), script];
  const stdout = await slurmCommand(runner, 'sbatch', args, `submitting level ${level} (${script})`);
  // --parsable prints `<job id>` or `<job id>;<cluster>`.
  const id = stdout.trim().split('\n').pop()?.split(';')[0]?.trim() ?? '';
  if (!/^\d+$/.test(id)) throw new InputError(`submitting level ${level} (${script}): sbatch printed no job id (${JSON.stringify(stdout.trim().slice(0, 80))})`);
  return id;
}

/**
 * Submits the jobs of the sweep in `sweepDir` that are not done to Slurm: one job array per level
 * (`slurm/level-<k>.sbatch`, a script to read and edit, beside the list of its jobs), each level after
 * the one submitted before it (`--dependency=afterok`), and records each submission in
 * `slurm/submitted.json`. A job done already is not submitted, so submitting again after a failure
 * runs exactly the jobs that failed or never ran, and the levels after them. Refused while a job of
 * an earlier submission is still pending or running; tasks left that can never start are cancelled.
 * sbatch's complaints (a partition, an account, a time limit) are one-line InputErrors.
 */
export async function submitSlurm(sweepDir: string, plan: SweepPlan, options: SlurmOptions, runner: SlurmRunner = runSlurmCommand): Promise<SlurmSubmitResult> {
  checkSlurmOptions(options);
  // Absolute: the tasks start on other nodes, in whatever directory Slurm gives them.
  const dir = resolve(sweepDir);
  checkScriptPath(dir);
  const cancelled = await settleQueue(dir, plan, runner);
  const logDir = join(slurmDir(dir), 'logs');
  await mkdir(logDir, { recursive: true });
  let record = await readSubmitted(dir);
  const submitted: LevelSubmission[] = [];
  let previous: string | undefined;
  for (const level of JOB_LEVELS) {
    const jobs = plan.jobs.filter((job) => job.level === level && !isJobDone(dir, job.id));
    // A level done needs no waiting: the next waits on the last level submitted now, if any.
    if (jobs.length === 0) continue;
    const script = levelScriptPath(dir, level);
    const jobList = levelJobListPath(dir, level);
    await writeFileAtomic(jobList, `${jobs.map((job) => job.id).join('\n')}\n`);
    const kind = jobs[0]!.kind;
    const text = renderLevelScript(
      { name: plan.name, level, description: KIND_DESCRIPTIONS[kind], count: jobs.length, sweepDir: dir, jobList, logDir, gpus: kind !== 'report' },
      options,
    );
    await writeFileAtomic(script, text);
    const slurmJobId = await sbatch(runner, script, previous, level);
    const submission: LevelSubmission = { level, slurmJobId, tasks: jobs.map((job) => job.id), script: relative(dir, script), submittedAt: new Date().toISOString() };
    // Recorded at once: if a later level's sbatch fails, this one still runs and is still tracked.
    record = withSubmission(record, submission);
    await writeSubmitted(dir, record);
    submitted.push(submission);
    previous = slurmJobId;
  }
  return { submitted, cancelled };
}

/** A submission as lines for the terminal: each level's Slurm job and tasks, or that nothing was left to do. */
export function describeSubmission(sweepDir: string, result: SlurmSubmitResult): string[] {
  const lines = result.cancelled.length > 0 ? [`cancelled ${result.cancelled.length} task(s) that could never start: ${result.cancelled.join(', ')}`] : [];
  if (result.submitted.length === 0) return [...lines, `${sweepDir}: every job is done; nothing submitted`];
  for (const s of result.submitted) lines.push(`level ${s.level}: Slurm job ${s.slurmJobId}, ${s.tasks.length} task(s) (${join(sweepDir, s.script)})`);
  lines.push(`logs in ${join(sweepDir, 'slurm', 'logs')}; merge-train sweep status ${sweepDir} shows progress`);
  return lines;
}
