import { InputError } from '../util/errors.js';
import { type SlurmRunner } from './slurmCommands.js';

/**
 * Where an array task stands in Slurm's queue: `pending` waits for resources or for the level before
 * it, `blocked` waits for a dependency that can never be met (a task of the level before failed), so
 * it will never run; `running` covers starting, running and completing.
 */
export type QueueState = 'pending' | 'blocked' | 'running';

/** One array task in the queue. */
export interface QueuedTask {
  slurmJobId: string;
  task: number;
  state: QueueState;
}

/** squeue's reason for a pending job whose dependency failed. */
const NEVER_SATISFIED = 'DependencyNeverSatisfied';

/** One squeue line, `<array job id>|<task id>|<compact state>|<reason>`, as a task (undefined for a job that is not an array task). */
function parseLine(line: string): QueuedTask | undefined {
  const [slurmJobId, task, state, reason] = line.trim().split('|');
  if (!slurmJobId || !task || !state || !/^\d+$/.test(task)) return undefined;
  const queueState: QueueState = state !== 'PD' ? 'running' : reason?.trim() === NEVER_SATISFIED ? 'blocked' : 'pending';
  return { slurmJobId, task: Number(task), state: queueState };
}

/**
 * The array tasks of Slurm jobs `slurmJobIds` still in the queue (squeue shows pending, running and
 * completing jobs; finished ones have left it). A job that has left the queue altogether lists no task.
 */
export async function queuedTasks(runner: SlurmRunner, slurmJobIds: readonly string[]): Promise<QueuedTask[]> {
  const ids = [...new Set(slurmJobIds)];
  if (ids.length === 0) return [];
  // -r: one line per array task, pending ones too (squeue folds them into `12_[3-7]` otherwise).
  const result = await runner('squeue', ['--noheader', '-r', `--jobs=${ids.join(',')}`, '--format=%F|%K|%t|%r']);
  if (result.code !== 0) {
    // squeue refuses a list whose every job has left the queue (and is forgotten): none is queued.
    if (/invalid job id/i.test(result.stderr)) return [];
    const line = result.stderr.split('\n').find((l) => l.trim()) ?? `exit code ${result.code}`;
    throw new InputError(`cannot read Slurm's queue: squeue failed: ${line.trim()}`);
  }
  return result.stdout
    .split('\n')
    .map(parseLine)
    .filter((task): task is QueuedTask => task !== undefined && ids.includes(task.slurmJobId));
}
