/**
 * A child process that trains one base model of a recipe (see `baseModels`): it receives a
 * {@link TrainJob}, loads the recipe's data on its own backend, trains and saves the checkpoint,
 * relaying progress to the parent's display, then exits.
 */
import { selectBackend } from '../backend/selectBackend.js';
import { TensorSet } from '../data/batches.js';
import { InputError } from '../util/errors.js';
import { loadRunData, trainBaseModel, type TrainJob, type WorkerMessage } from './baseModels.js';
import { disposeParams } from '../nn/init.js';
import { relayingObserver } from './observerRelay.js';
import { runPaths } from './runDirectory.js';

function send(message: WorkerMessage): Promise<void> {
  return new Promise((resolve) => process.send!(message, undefined, {}, () => resolve()));
}

async function runJob(job: TrainJob): Promise<void> {
  await selectBackend(job.recipe.backend, { threads: job.threads });
  const { splits, spec, dataInfo } = await loadRunData(job.recipe, job.source);
  const train = new TensorSet(splits.train, splits.inputShape);
  const monitor = new TensorSet(splits.merge, splits.inputShape);
  const observer = relayingObserver((message) => void send({ kind: 'observer', message }));
  try {
    const params = await trainBaseModel(job.recipe, spec, job.index, { train, monitor, dataInfo }, runPaths(job.dir), observer);
    disposeParams(params);
  } finally {
    train.dispose();
    monitor.dispose();
  }
}

process.once('message', (job: TrainJob) => {
  runJob(job)
    .then(() => send({ kind: 'done' }))
    .catch((error: unknown) => {
      const failure = error instanceof Error ? error : new Error(String(error));
      return send({ kind: 'failed', message: failure.message, stack: failure.stack, inputError: failure instanceof InputError });
    })
    .finally(() => process.disconnect());
});
