import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { selectBackend } from '../backend/selectBackend.js';
import { writeJsonAtomic } from '../io/atomicWrite.js';
import { trainSettings } from '../recipe/methodSettings.js';
import type { Recipe } from '../recipe/schema.js';
import { runLayout } from '../run/runDirectory.js';
import { runRecipe } from '../run/runRecipe.js';
import { lockRunFolder } from '../run/runLock.js';
import { StageContext } from '../stages/context.js';
import { trainStage } from '../stages/trainStage.js';
import { silentObserver, type RunObserver } from '../util/observer.js';
import { isJobDone, jobOf, markJobDone, readPlan, type SweepJob, type SweepPlan } from './plan.js';
import { writeSweepReport } from './sweepReport.js';

/** How a job computes: its observer, and its wasm threads (default: one per core). */
export interface JobOptions {
  observer?: RunObserver;
  threads?: number;
}

/** Trains one base model into its run directory, whose recipe.json it writes first if none is there (no lock: other base models of it train at once). */
async function trainJob(sweepDir: string, job: Extract<SweepJob, { kind: 'train' }>, options: JobOptions): Promise<void> {
  const recipe: Recipe = job.recipe;
  const layout = runLayout(join(sweepDir, job.runDir));
  await mkdir(layout.models, { recursive: true });
  // The run job's claim of the directory checks its base models against this recipe.
  if (!existsSync(layout.recipe)) await writeJsonAtomic(layout.recipe, recipe);
  await selectBackend(recipe.backend, options.threads === undefined ? {} : { threads: options.threads });
  const ctx = new StageContext(options.observer ?? silentObserver, recipe.data.cacheDir);
  try {
    await trainStage(trainSettings(recipe), job.index, layout.model(job.index), ctx);
  } finally {
    await ctx.dispose();
  }
}

/** Runs every point of a run directory in it, one after another (they share its base models and its lock). */
async function runDirectoryJob(sweepDir: string, plan: SweepPlan, job: Extract<SweepJob, { kind: 'run' }>, options: JobOptions): Promise<void> {
  for (const id of job.points) {
    const point = plan.points.find((p) => p.id === id)!;
    await runRecipe(point.recipe, { outDir: join(sweepDir, job.runDir), jobs: 1, ...(options.threads === undefined ? {} : { threads: options.threads }), ...(options.observer ? { observer: options.observer } : {}) });
  }
}

/**
 * Runs the job `id` of the sweep in `sweepDir`, on this machine: skipped if its marker says it is
 * done. The job's lock (`jobs/<id>.lock/`) is an atomic claim: a second process that starts the same
 * job while the first lives is refused, and a lock left by a killed process is taken over. Its outputs
 * are written atomically, so a job killed mid-way leaves none half-written; its marker is written last.
 */
export async function runJob(sweepDir: string, id: string, options: JobOptions = {}): Promise<{ made: boolean; seconds: number }> {
  const plan = await readPlan(sweepDir);
  const job = jobOf(plan, id, sweepDir);
  if (isJobDone(sweepDir, id)) return { made: false, seconds: 0 };
  const lock = join(sweepDir, 'jobs', `${id}.lock`);
  await mkdir(lock, { recursive: true });
  const release = await lockRunFolder(lock);
  const started = performance.now();
  try {
    if (job.kind === 'train') await trainJob(sweepDir, job, options);
    else if (job.kind === 'run') await runDirectoryJob(sweepDir, plan, job, options);
    else await writeSweepReport(sweepDir);
    const seconds = (performance.now() - started) / 1000;
    await markJobDone(sweepDir, id, seconds, hostname());
    return { made: true, seconds };
  } finally {
    await release();
  }
}
