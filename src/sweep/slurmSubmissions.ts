import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeJsonAtomic } from '../io/atomicWrite.js';
import { InputError } from '../util/errors.js';

/** One level of a sweep submitted to Slurm as one job array: array task i runs plan job `tasks[i]`. */
export interface LevelSubmission {
  level: number;
  slurmJobId: string;
  tasks: string[];
  /** The batch script, relative to the sweep directory. */
  script: string;
  submittedAt: string;
}

/** `slurm/submitted.json`: each level's latest submission, and every submission in order. */
export interface SubmittedRecord {
  levels: Record<string, LevelSubmission>;
  history: LevelSubmission[];
}

/** The folder of a sweep's Slurm scripts, job lists, logs and record. */
export function slurmDir(sweepDir: string): string {
  return join(sweepDir, 'slurm');
}

/** Where a sweep records what it submitted to Slurm. */
export function submittedPath(sweepDir: string): string {
  return join(slurmDir(sweepDir), 'submitted.json');
}

/** What the sweep in `sweepDir` submitted to Slurm so far (nothing for a sweep never submitted). */
export async function readSubmitted(sweepDir: string): Promise<SubmittedRecord> {
  const path = submittedPath(sweepDir);
  if (!existsSync(path)) return { levels: {}, history: [] };
  let record: SubmittedRecord;
  try {
    record = JSON.parse(await readFile(path, 'utf8')) as SubmittedRecord;
  } catch {
    throw new InputError(`${path} is not a record merge-train wrote (it is not JSON); remove it to forget what was submitted`);
  }
  if (typeof record?.levels !== 'object' || !Array.isArray(record.history)) {
    throw new InputError(`${path} is not a record merge-train wrote; remove it to forget what was submitted`);
  }
  return record;
}

/** `record` with `submission` added (it becomes its level's latest). */
export function withSubmission(record: SubmittedRecord, submission: LevelSubmission): SubmittedRecord {
  return { levels: { ...record.levels, [submission.level]: submission }, history: [...record.history, submission] };
}

/** Writes the record (atomically: a status query never reads half of one). */
export async function writeSubmitted(sweepDir: string, record: SubmittedRecord): Promise<void> {
  await writeJsonAtomic(submittedPath(sweepDir), record);
}

/**
 * Where each plan job was last submitted: its Slurm job id and array task. A job submitted again
 * (after a failure) is found in its latest submission.
 */
export function latestTasks(record: SubmittedRecord): Map<string, { slurmJobId: string; task: number; level: number }> {
  const where = new Map<string, { slurmJobId: string; task: number; level: number }>();
  for (const submission of record.history) {
    submission.tasks.forEach((id, task) => where.set(id, { slurmJobId: submission.slurmJobId, task, level: submission.level }));
  }
  return where;
}
