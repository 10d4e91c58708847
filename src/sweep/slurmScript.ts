import { InputError } from '../util/errors.js';

/** How the jobs of a sweep are submitted to Slurm. */
export interface SlurmOptions {
  /** `--partition`; the cluster's default partition when absent. */
  partition?: string;
  /** GPUs of each train and run job (`--gres=gpu:<n>`); the report job draws figures and gets none. */
  gpusPerJob?: number;
  /** `--cpus-per-task`; each job computes on that many threads. */
  cpusPerJob?: number;
  /** `--time`, in Slurm's formats: minutes, `h:mm:ss`, `d-hh:mm`, ... */
  time?: string;
  /** `--account` to charge. */
  account?: string;
  /** How a compute node starts merge-train, e.g. `[process.execPath, '/abs/dist/cli/main.js']`. */
  command: readonly string[];
}

/** What one level's batch script runs. */
export interface LevelScript {
  /** The sweep's name: jobs are named `<name>-level-<k>` in squeue. */
  name: string;
  level: number;
  /** What the level's jobs do, for the script's opening comment. */
  description: string;
  /** Array tasks (one per plan job). */
  count: number;
  /** Absolute paths: the sweep directory, the job list beside the script, and the logs folder. */
  sweepDir: string;
  jobList: string;
  logDir: string;
  /** Whether the level's jobs get the GPUs asked for. */
  gpus: boolean;
}

/**
 * Checks options before anything is written or submitted: each becomes an `#SBATCH` line, where a
 * space or a newline would split it or start another directive.
 */
export function checkSlurmOptions(options: SlurmOptions): void {
  const word = /^[\w.,:+-]+$/;
  if (options.partition !== undefined && !word.test(options.partition)) throw new InputError(`Slurm partition ${JSON.stringify(options.partition)}: expected a name (letters, digits, "_", "-", "."), or several joined by ","`);
  if (options.account !== undefined && !word.test(options.account)) throw new InputError(`Slurm account ${JSON.stringify(options.account)}: expected a name (letters, digits, "_", "-", ".")`);
  if (options.time !== undefined && !/^(\d+-)?\d+(:\d+){0,2}$/.test(options.time)) throw new InputError(`Slurm time limit ${JSON.stringify(options.time)}: expected minutes, h:mm:ss, d-hh or d-hh:mm:ss`);
  for (const [flag, value] of [['GPUs per job', options.gpusPerJob], ['CPUs per job', options.cpusPerJob]] as const) {
    if (value !== undefined && !(Number.isInteger(value) && value > 0)) throw new InputError(`Slurm ${flag}: expected a whole number of at least 1, got ${value}`);
  }
  if (options.command.length === 0 || options.command.some((part) => part.length === 0)) throw new InputError('Slurm: the command that starts merge-train on a node is empty');
}

/**
 * Refuses a path an `#SBATCH` line cannot hold: sbatch splits those lines at spaces, and `%` starts
 * one of its file-name patterns.
 */
export function checkScriptPath(path: string): void {
  if (/[\s"'\\%]/.test(path)) throw new InputError(`cannot submit a sweep in ${JSON.stringify(path)} to Slurm: #SBATCH lines cannot hold a path with spaces, quotes, "\\" or "%"; move the sweep`);
}

/** `text` as one bash word, whatever it holds. */
export function shellQuote(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

/**
 * The batch script of one level: a job array whose task i runs the plan job on line i + 1 of the job
 * list beside it, through `merge-train sweep run-job`. It is meant to be read and edited: submitting it
 * again by hand (`sbatch level-<k>.sbatch`) runs the same jobs, each skipped if done by then.
 */
export function renderLevelScript(level: LevelScript, options: SlurmOptions): string {
  const log = (stream: string) => `${level.logDir}/level-${level.level}-%A_%a.${stream}`;
  const directives = [
    `--job-name=${level.name}-level-${level.level}`,
    `--array=0-${level.count - 1}`,
    `--output=${log('out')}`,
    `--error=${log('err')}`,
    // A task of the level before that fails makes this one unable to start: Slurm then ends it rather than keep it pending.
    '--kill-on-invalid-dep=yes',
    ...(options.partition !== undefined ? [`--partition=${options.partition}`] : []),
    ...(options.account !== undefined ? [`--account=${options.account}`] : []),
    ...(options.time !== undefined ? [`--time=${options.time}`] : []),
    ...(options.cpusPerJob !== undefined ? [`--cpus-per-task=${options.cpusPerJob}`] : []),
    ...(options.gpusPerJob !== undefined && level.gpus ? [`--gres=gpu:${options.gpusPerJob}`] : []),
  ];
  const command = options.command.map(shellQuote).join(' ');
  return [
    '#!/bin/bash',
    `# merge-train sweep ${level.name}, level ${level.level}: ${level.description}.`,
    `# Array task i runs the job on line i + 1 of ${level.jobList}.`,
    '# Written by merge-train sweep submit; a job done already is skipped, so resubmitting this is safe.',
    ...directives.map((directive) => `#SBATCH ${directive}`),
    '',
    'set -euo pipefail',
    `list=${shellQuote(level.jobList)}`,
    'job=$(sed -n "$((SLURM_ARRAY_TASK_ID + 1))p" "$list")',
    'if [ -z "$job" ]; then',
    '  echo "array task $SLURM_ARRAY_TASK_ID: no job on line $((SLURM_ARRAY_TASK_ID + 1)) of $list" >&2',
    '  exit 2',
    'fi',
    'echo "merge-train sweep job $job (array task $SLURM_ARRAY_TASK_ID of job $SLURM_ARRAY_JOB_ID) on $(hostname)"',
    '# As many threads as Slurm gave CPUs: without --cpus-per-task that is one.',
    `exec ${command} sweep run-job ${shellQuote(level.sweepDir)} "$job" --threads "\${SLURM_CPUS_PER_TASK:-1}"`,
    '',
  ].join('\n');
}
