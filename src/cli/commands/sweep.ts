import type { Command } from 'commander';
import { join } from 'node:path';
import { wasmThreadCount } from '../../backend/selectBackend.js';
import { runLocally } from '../../sweep/localExecutor.js';
import { mergeTrainCommand } from '../../sweep/mergeTrainCommand.js';
import { isJobDone, JOB_LEVELS, planSweep, readPlan, writePlan, type SweepPlan } from '../../sweep/plan.js';
import { runJob } from '../../sweep/runJob.js';
import { describeSubmission, submitSlurm } from '../../sweep/slurmExecutor.js';
import { formatSweepStatus, sweepStatus } from '../../sweep/slurmStatus.js';
import { describePoint, loadSweepFile } from '../../sweep/sweepFile.js';
import { writeSweepReport } from '../../sweep/sweepReport.js';
import { InputError } from '../../util/errors.js';
import { parallelism } from '../../util/parallelism.js';
import { positiveInteger } from '../argumentParsers.js';
import { terminalObserver } from '../progressDisplay.js';
import { threadsOption } from './shared.js';

/** What each job level does, for the plan's listing. */
const LEVEL_NAMES: Record<(typeof JOB_LEVELS)[number], string> = { 0: 'train base models', 1: 'align, merge, evaluate (one job per run directory)', 2: 'sweep report' };

/** Where a sweep's jobs run. */
const EXECUTORS = ['local', 'slurm'];

/** `sweep submit`'s flags. */
interface SubmitOptions {
  dir?: string;
  executor: string;
  jobs?: number;
  threads?: number;
  partition?: string;
  gpusPerJob?: number;
  cpusPerJob?: number;
  time?: string;
  account?: string;
}

/** The entries of `options` that are set. */
function definedOnly<T extends Record<string, unknown>>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as Partial<T>;
}

/** The sweep directory of `name` unless --dir names one. */
function sweepDirOf(name: string, dir: string | undefined): string {
  return dir ?? join('reports', 'sweeps', name);
}

/** Plans the sweep file into its directory (plan.json), returning the plan and the directory. */
async function planned(file: string, dir: string | undefined): Promise<{ plan: SweepPlan; sweepDir: string }> {
  const { sweep, points } = await loadSweepFile(file);
  const plan = planSweep(sweep, points);
  const sweepDir = sweepDirOf(sweep.name, dir);
  await writePlan(sweepDir, plan);
  return { plan, sweepDir };
}

/** The plan as text: its points, then its jobs per level with how many are done. */
function planLines(plan: SweepPlan, sweepDir: string): string[] {
  const lines = [`sweep ${plan.name} in ${sweepDir}: ${plan.points.length} points over ${plan.axes.join(', ') || 'no axis'}`];
  for (const point of plan.points) lines.push(`  ${point.id}: ${describePoint(point.values)} → ${point.runDir}`);
  for (const level of JOB_LEVELS) {
    const jobs = plan.jobs.filter((job) => job.level === level);
    const done = jobs.filter((job) => isJobDone(sweepDir, job.id)).length;
    lines.push(`level ${level} (${LEVEL_NAMES[level]}): ${jobs.length} jobs, ${done} done`);
    for (const job of jobs) lines.push(`  ${job.id}${isJobDone(sweepDir, job.id) ? ' (done)' : ''}`);
  }
  return lines;
}

/** Registers `merge-train sweep plan | submit | run-job | status | report`. */
export function registerSweep(program: Command): void {
  const sweep = program.command('sweep').description('run a grid of recipes as jobs on files: on this machine, or as Slurm job arrays on a cluster');

  sweep
    .command('plan')
    .description('plan a sweep file into its directory (plan.json) and list its points and jobs, with how many are done')
    .argument('<file>', 'sweep file (YAML): a base recipe, a grid of fields by dot path, explicit points, repeats')
    .option('--dir <dir>', 'sweep directory (default reports/sweeps/<name>)')
    .action(async (file: string, options: { dir?: string }) => {
      const { plan, sweepDir } = await planned(file, options.dir);
      for (const line of planLines(plan, sweepDir)) console.log(line);
    });

  sweep
    .command('submit')
    .description('plan a sweep and run the jobs not done: here (--executor local, the default) or on a Slurm cluster')
    .argument('<file>', 'sweep file (YAML)')
    .option('--dir <dir>', 'sweep directory (default reports/sweeps/<name>)')
    .option('--executor <name>', 'local: worker processes on this machine; slurm: a job array per level, submitted with sbatch', 'local')
    .option('--jobs <n>', 'local: jobs at once (default: MERGE_TRAIN_JOBS, else one per core)', positiveInteger)
    .option(...threadsOption)
    .option('--partition <name>', 'slurm: the partition (default: the cluster\'s)')
    .option('--gpus-per-job <n>', 'slurm: GPUs of each train and run job', positiveInteger)
    .option('--cpus-per-job <n>', 'slurm: CPUs of each job (its compute threads)', positiveInteger)
    .option('--time <limit>', "slurm: each job's time limit, in Slurm's formats (e.g. 2:00:00)")
    .option('--account <name>', 'slurm: the account to charge')
    .action(async (file: string, options: SubmitOptions) => {
      if (!EXECUTORS.includes(options.executor)) throw new InputError(`--executor: expected one of ${EXECUTORS.join(', ')}, got ${JSON.stringify(options.executor)}`);
      const { plan, sweepDir } = await planned(file, options.dir);
      if (options.executor === 'slurm') {
        const { partition, gpusPerJob, cpusPerJob, time, account } = options;
        const slurm = { command: mergeTrainCommand(), ...definedOnly({ partition, gpusPerJob, cpusPerJob, time, account }) };
        for (const line of describeSubmission(sweepDir, await submitSlurm(sweepDir, plan, slurm))) console.log(line);
        return;
      }
      const jobs = parallelism('jobs', options.jobs, 'MERGE_TRAIN_JOBS');
      const threads = options.threads ?? Math.max(1, Math.floor(wasmThreadCount() / jobs));
      const failed = await runLocally(sweepDir, plan, { jobs, threads, command: mergeTrainCommand(), observer: terminalObserver() });
      if (failed.length > 0) throw new InputError(`${failed.length} job(s) failed (${failed.join(', ')}); their logs are in ${join(sweepDir, 'jobs')}; submit again to rerun them`);
      console.log(`sweep ${plan.name}: every job done; report in ${sweepDir}/summary.md`);
    });

  sweep
    .command('run-job')
    .description('run one job of a planned sweep here (what each worker and each cluster task runs); skipped if done')
    .argument('<sweep-dir>', 'sweep directory (holds plan.json)')
    .argument('<job-id>', 'a job of its plan')
    .option(...threadsOption)
    .action(async (sweepDir: string, id: string, options: { threads?: number }) => {
      const { made, seconds } = await runJob(sweepDir, id, { observer: terminalObserver(), ...(options.threads ? { threads: options.threads } : {}) });
      console.log(made ? `job ${id}: done in ${seconds.toFixed(1)} s` : `job ${id}: done already`);
    });

  sweep
    .command('status')
    .description("a sweep's jobs per level: done, running, pending, blocked or failed (from its markers and, for Slurm, squeue)")
    .argument('<sweep-dir>', 'sweep directory')
    .action(async (sweepDir: string) => {
      for (const line of formatSweepStatus(await sweepStatus(sweepDir))) console.log(line);
    });

  sweep
    .command('report')
    .description("redraw a sweep's report from its run directories: metrics.json, summary.md, tables and figures over the grid's axes")
    .argument('<sweep-dir>', 'sweep directory')
    .action(async (sweepDir: string) => {
      await readPlan(sweepDir);
      const written = await writeSweepReport(sweepDir);
      console.log(`wrote ${written.length} files under ${sweepDir}`);
    });
}
