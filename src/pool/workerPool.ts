import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { InputError } from '../util/errors.js';
import type { RunObserver } from '../util/observer.js';
import { atExit } from '../util/processCleanup.js';
import { observerReplayer } from './observerRelay.js';
import { describeJob, type JobEnvironment, type StageJob, type WorkerMessage } from './stageJobs.js';

/** The worker's entry file: the .ts source under tsx or vitest, the compiled .js otherwise. */
function workerEntry(): { file: string; execArgv: string[] } {
  const here = fileURLToPath(import.meta.url);
  const fromSource = here.endsWith('.ts');
  const file = here.replace(/workerPool\.(ts|js)$/, `stageWorker.${fromSource ? 'ts' : 'js'}`);
  const loadsTypeScript = process.execArgv.some((arg) => arg.includes('tsx'));
  return { file, execArgv: fromSource && !loadsTypeScript ? [...process.execArgv, '--import', 'tsx'] : process.execArgv };
}

/** A worker process: `run` does one job and rejects with the worker's error; `stop` lets it exit. */
function startWorker(threads: number, observer: RunObserver): { run(job: StageJob, environment: JobEnvironment): Promise<void>; stop(): void; kill(): void } {
  const { file, execArgv } = workerEntry();
  const replay = observerReplayer(observer);
  const child = fork(file, [], { execArgv, env: { ...process.env, MERGE_TRAIN_THREADS: String(threads) }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  // If this process is ended (Ctrl-C), its workers end with it rather than write on after it.
  const cancelKill = atExit(() => child.kill());
  child.on('exit', cancelKill);
  let pending: { job: StageJob; resolve: () => void; reject: (error: Error) => void } | undefined;
  const fail = (error: Error) => {
    pending?.reject(error);
    pending = undefined;
  };
  child.on('message', (message: WorkerMessage) => {
    if (message.kind === 'observer') return replay(message.message);
    if (message.kind === 'done') pending?.resolve();
    else {
      const error = message.inputError ? new InputError(message.message) : new Error(message.message);
      if (message.stack) error.stack = message.stack;
      pending?.reject(error);
    }
    pending = undefined;
  });
  child.on('error', fail);
  child.on('exit', (code, signal) => {
    if (pending) fail(new Error(`worker for ${describeJob(pending.job)} exited (${signal ?? `code ${code}`}) before finishing`));
  });
  return {
    run: (job, environment) =>
      new Promise((resolve, reject) => {
        pending = { job, resolve, reject };
        child.send({ job, environment });
      }),
    stop: () => {
      if (child.connected) child.disconnect();
    },
    kill: () => {
      child.kill();
    },
  };
}

/**
 * Runs `jobs` in up to `workers` worker processes at once, each with its share of `environment.threads`,
 * in the order given; every worker's progress reaches `observer`. One worker per lane does job after
 * job, so it starts and loads its data once. The first failure stops the other lanes and is thrown.
 */
export async function runInWorkers(jobs: readonly StageJob[], workers: number, environment: JobEnvironment, observer: RunObserver): Promise<void> {
  const lanes = Math.min(workers, jobs.length);
  const threads = Math.max(1, Math.floor(environment.threads / Math.max(lanes, 1)));
  const queue = [...jobs];
  const started: ReturnType<typeof startWorker>[] = [];
  let failure: unknown; // the first error; the lanes stopped because of it fail after it
  const lane = async (): Promise<void> => {
    const worker = startWorker(threads, observer);
    started.push(worker);
    try {
      for (let job = queue.shift(); job !== undefined; job = queue.shift()) await worker.run(job, { ...environment, threads });
    } catch (error) {
      // One job failed: stop the others now rather than after their current job.
      failure ??= error;
      queue.length = 0;
      started.filter((w) => w !== worker).forEach((w) => w.kill());
    } finally {
      worker.stop();
    }
  };
  await Promise.all(Array.from({ length: lanes }, lane));
  if (failure !== undefined) throw failure;
}
