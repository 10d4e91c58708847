import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { silentObserver, type RunObserver } from '../util/observer.js';
import { isJobDone, type SweepJob, type SweepPlan } from './plan.js';

/** How the local executor runs a sweep's jobs. */
export interface LocalOptions {
  /** Jobs at once, each in its own process. */
  jobs: number;
  /** wasm threads of each job. */
  threads: number;
  /** How to start merge-train (see mergeTrainCommand). */
  command: readonly string[];
  observer?: RunObserver;
}

/** Where a job run by the local executor writes its output. */
export function jobLogPath(sweepDir: string, id: string): string {
  return join(sweepDir, 'jobs', `${id}.log`);
}

/** Runs `merge-train sweep run-job` for one job in a child process, its output to the job's log; resolves to its exit code. */
function runInChild(sweepDir: string, job: SweepJob, options: LocalOptions): Promise<number> {
  const [program, ...args] = options.command;
  const log = createWriteStream(jobLogPath(sweepDir, job.id));
  return new Promise((resolve) => {
    const child = spawn(program!, [...args, 'sweep', 'run-job', sweepDir, job.id, '--threads', String(options.threads)], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.pipe(log, { end: false });
    child.stderr.pipe(log, { end: false });
    child.on('error', () => resolve(127));
    child.on('close', (code) => {
      log.end();
      resolve(code ?? 1);
    });
  });
}

/**
 * Runs the sweep's jobs that are not done on this machine, `jobs` at once, each when the jobs it
 * needs are done, each in its own process (`merge-train sweep run-job`, as a cluster runs them).
 * A failed job's dependents are not started; the others go on. Returns the failed jobs' ids.
 */
export async function runLocally(sweepDir: string, plan: SweepPlan, options: LocalOptions): Promise<string[]> {
  const observer = options.observer ?? silentObserver;
  await mkdir(join(sweepDir, 'jobs'), { recursive: true });
  const pending = plan.jobs.filter((job) => !isJobDone(sweepDir, job.id));
  const failed = new Set<string>();
  const running = new Map<string, Promise<void>>();
  const blocked = (job: SweepJob): boolean => job.after.some((id) => failed.has(id) || blocked(plan.jobs.find((j) => j.id === id)!));
  while (pending.length > 0 || running.size > 0) {
    // Jobs whose inputs are ready, up to the limit; jobs that can never run are dropped.
    for (let i = 0; i < pending.length && running.size < options.jobs; ) {
      const job = pending[i]!;
      if (blocked(job)) {
        pending.splice(i, 1);
        observer.log(`job ${job.id}: not run (a job it needs failed)`);
        continue;
      }
      if (!job.after.every((id) => isJobDone(sweepDir, id))) {
        i++;
        continue;
      }
      pending.splice(i, 1);
      const started = performance.now();
      running.set(
        job.id,
        runInChild(sweepDir, job, options).then((code) => {
          running.delete(job.id);
          const seconds = ((performance.now() - started) / 1000).toFixed(1);
          if (code === 0 && isJobDone(sweepDir, job.id)) observer.log(`job ${job.id}: done (${seconds} s)`);
          else {
            failed.add(job.id);
            observer.log(`job ${job.id}: failed (exit code ${code}); its output: ${jobLogPath(sweepDir, job.id)}`);
          }
        }),
      );
    }
    if (running.size === 0) break; // nothing runnable: what is left waits on failed jobs
    await Promise.race(running.values());
  }
  return [...failed];
}
