import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeJsonAtomic } from '../io/atomicWrite.js';
import type { Recipe } from '../recipe/schema.js';
import { identityOf } from '../run/runDirectory.js';
import { InputError } from '../util/errors.js';
import { settingsKey } from '../util/hash.js';
import type { SweepFile, SweepPoint } from './sweepFile.js';

/** A point of the plan: its values, seed and recipe, and the run directory that holds its results. */
export interface PlannedPoint {
  id: string;
  values: Record<string, unknown>;
  seed: number;
  /** Relative to the sweep directory. Points with the same base models share one (it grows with their variants). */
  runDir: string;
  recipe: Recipe;
}

/**
 * A job: a stage invocation on files, runnable on any machine that sees the sweep directory.
 * Level 0 trains one base model; level 1 aligns, merges, evaluates and reports every point of one run
 * directory (they share its models and its lock); level 2 writes the sweep's report.
 */
export type SweepJob =
  | { id: string; kind: 'train'; level: 0; after: string[]; runDir: string; index: number; recipe: Recipe }
  | { id: string; kind: 'run'; level: 1; after: string[]; runDir: string; points: string[] }
  | { id: string; kind: 'report'; level: 2; after: string[] };

/** A sweep planned: its points and the jobs that compute them, in dependency order. */
export interface SweepPlan {
  name: string;
  /** The dot paths the points differ in (`seed` where repeats or the grid vary it). */
  axes: string[];
  points: PlannedPoint[];
  jobs: SweepJob[];
}

/** The levels of a plan's jobs, lowest first. */
export const JOB_LEVELS = [0, 1, 2] as const;

/**
 * The jobs of `points`: each run directory's base models trained once (the most any of its points
 * asks for), then each run directory's points run in it, then the report. Identical work in two
 * points (the same base models) is one job.
 */
export function planSweep(sweep: SweepFile, points: readonly SweepPoint[]): SweepPlan {
  const planned: PlannedPoint[] = points.map((point, i) => ({
    id: `p${i}`,
    values: point.values,
    seed: point.recipe.seed,
    runDir: join('runs', settingsKey(identityOf(point.recipe)).slice(0, 12)),
    recipe: point.recipe,
  }));
  const runDirs = [...new Set(planned.map((p) => p.runDir))];
  const jobs: SweepJob[] = [];
  const runJobs: SweepJob[] = [];
  for (const runDir of runDirs) {
    const members = planned.filter((p) => p.runDir === runDir);
    const widest = members.reduce((a, b) => (b.recipe.train.models > a.recipe.train.models ? b : a));
    const key = runDir.split('/').pop()!;
    const trains = Array.from({ length: widest.recipe.train.models }, (_, index) => ({
      id: `train-${key}-${index}`,
      kind: 'train' as const,
      level: 0 as const,
      after: [],
      runDir,
      index,
      recipe: widest.recipe,
    }));
    jobs.push(...trains);
    // Named by what it runs, so a plan whose points changed reruns it.
    const runKey = settingsKey(members.map((p) => p.recipe)).slice(0, 12);
    runJobs.push({ id: `run-${key}-${runKey}`, kind: 'run', level: 1, after: trains.map((t) => t.id), runDir, points: members.map((p) => p.id) });
  }
  jobs.push(...runJobs);
  jobs.push({ id: `report-${settingsKey(runJobs.map((j) => j.id)).slice(0, 12)}`, kind: 'report', level: 2, after: runJobs.map((j) => j.id) });
  const axes = [...new Set(planned.flatMap((p) => Object.keys(p.values)))];
  return { name: sweep.name, axes, points: planned, jobs };
}

/** Where a sweep directory keeps its plan. */
export function planPath(sweepDir: string): string {
  return join(sweepDir, 'plan.json');
}

/** Writes the plan (atomically: a worker never reads half of one). */
export async function writePlan(sweepDir: string, plan: SweepPlan): Promise<void> {
  await writeJsonAtomic(planPath(sweepDir), plan);
}

/** The plan of a sweep directory, refused with one line where there is none. */
export async function readPlan(sweepDir: string): Promise<SweepPlan> {
  const path = planPath(sweepDir);
  if (!existsSync(path)) throw new InputError(`${sweepDir} holds no sweep (no plan.json); plan one with merge-train sweep plan <file>`);
  const plan = JSON.parse(await readFile(path, 'utf8')) as SweepPlan;
  if (!Array.isArray(plan.jobs) || !Array.isArray(plan.points)) throw new InputError(`${path} is not a plan merge-train wrote`);
  return plan;
}

/** The job of `id` in `plan`, refused naming the sweep where there is none. */
export function jobOf(plan: SweepPlan, id: string, sweepDir: string): SweepJob {
  const job = plan.jobs.find((j) => j.id === id);
  if (!job) throw new InputError(`${sweepDir}: no job ${id} in its plan (merge-train sweep plan lists them)`);
  return job;
}

/** The marker a job leaves when it has finished: `jobs/<id>.done.json`. */
export function jobMarkerPath(sweepDir: string, id: string): string {
  return join(sweepDir, 'jobs', `${id}.done.json`);
}

/** Whether the job of `id` has finished (its marker is there). */
export function isJobDone(sweepDir: string, id: string): boolean {
  return existsSync(jobMarkerPath(sweepDir, id));
}

/** Records that a job finished, with where and how long it took (written atomically, last). */
export async function markJobDone(sweepDir: string, id: string, seconds: number, host: string): Promise<void> {
  await writeJsonAtomic(jobMarkerPath(sweepDir, id), { id, seconds, host, finished: new Date().toISOString() });
}
