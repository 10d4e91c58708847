/**
 * A child process that trains base models of a recipe (see `baseModels`): for each {@link TrainJob}
 * it receives, it trains on its own backend (loading the recipe's data once), saves the checkpoint
 * and relays progress to the parent's display. It exits when the parent disconnects.
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

/** The data and spec of the recipe this worker last trained for: the next model of a run reuses them. */
let loaded: { key: string; data: Awaited<ReturnType<typeof loadRunData>>; train: TensorSet; monitor: TensorSet } | undefined;

async function runJob(job: TrainJob): Promise<void> {
  await selectBackend(job.recipe.backend, { threads: job.threads });
  const key = JSON.stringify({ data: job.recipe.data, model: job.recipe.model, seed: job.recipe.seed });
  if (loaded?.key !== key) {
    loaded?.train.dispose();
    loaded?.monitor.dispose();
    const data = await loadRunData(job.recipe, job.source);
    loaded = { key, data, train: new TensorSet(data.splits.train, data.splits.inputShape), monitor: new TensorSet(data.splits.merge, data.splits.inputShape) };
  }
  const { data, train, monitor } = loaded;
  const observer = relayingObserver((message) => void send({ kind: 'observer', message }));
  const params = await trainBaseModel(job.recipe, data.spec, job.index, { train, monitor, dataInfo: data.dataInfo }, runPaths(job.dir), observer);
  disposeParams(params);
}

// One job at a time, as the parent sends them; the parent disconnects when it has no more.
process.on('message', (job: TrainJob) => {
  runJob(job)
    .then(() => send({ kind: 'done' }))
    .catch((error: unknown) => {
      const failure = error instanceof Error ? error : new Error(String(error));
      return send({ kind: 'failed', message: failure.message, stack: failure.stack, inputError: failure instanceof InputError });
    });
});
process.on('disconnect', () => process.exit(0));
