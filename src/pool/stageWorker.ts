/**
 * A child process that runs stage jobs for the parent (see workerPool): for each job it receives, it
 * runs the stage on its own backend, keeping loaded data between jobs, and relays progress to the
 * parent's display. It exits when the parent disconnects.
 */
import { selectBackend } from '../backend/selectBackend.js';
import { StageContext } from '../stages/context.js';
import { groupMergeStage } from '../stages/groupMergeStage.js';
import { trainStage } from '../stages/trainStage.js';
import { InputError } from '../util/errors.js';
import { relayingObserver } from './observerRelay.js';
import type { JobEnvironment, StageJob, WorkerMessage } from './stageJobs.js';

function send(message: WorkerMessage): Promise<void> {
  return new Promise((resolve) => process.send!(message, undefined, {}, () => resolve()));
}

const observer = relayingObserver((message) => void send({ kind: 'observer', message }));
/** One context per dataset cache: the data a worker loaded serves its next jobs. */
const contexts = new Map<string, StageContext>();

async function runJob(job: StageJob, environment: JobEnvironment): Promise<void> {
  await selectBackend(environment.backend, { threads: environment.threads });
  let context = contexts.get(environment.cacheDir);
  if (!context) {
    context = new StageContext(observer, environment.cacheDir);
    contexts.set(environment.cacheDir, context);
  }
  if (job.stage === 'train') await trainStage(job.settings, job.index, job.out, context);
  else await groupMergeStage(job.models, job.align, job.merge, job.folders, context, { jointly: job.jointly });
  // What this job loaded serves no later job of another group: only the data stays.
  if (job.stage === 'groupMerge') await context.releaseModels();
}

// One job at a time, as the parent sends them; the parent disconnects when it has no more.
process.on('message', ({ job, environment }: { job: StageJob; environment: JobEnvironment }) => {
  runJob(job, environment)
    .then(() => send({ kind: 'done' }))
    .catch((error: unknown) => {
      const failure = error instanceof Error ? error : new Error(String(error));
      return send({ kind: 'failed', message: failure.message, stack: failure.stack, inputError: failure instanceof InputError });
    });
});
process.on('disconnect', () => process.exit(0));
