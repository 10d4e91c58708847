import type { BackendName } from '../backend/selectBackend.js';
import type { AlignSettings, MergeSettings, TrainSettings } from '../recipe/methodSettings.js';
import type { GroupFolders } from '../stages/groupMergeStage.js';
import type { ObserverMessage } from './observerRelay.js';

/**
 * Work a worker process can do: one stage invocation on files, described by plain data so that it can
 * cross a process boundary (and, later, a cluster's scheduler).
 */
export interface TrainJob {
  stage: 'train';
  settings: TrainSettings;
  index: number;
  out: string;
}

/** A group of models merged in one step (see groupMergeStage). */
export interface GroupMergeJob {
  stage: 'groupMerge';
  models: string[];
  align: AlignSettings;
  merge: MergeSettings;
  folders: GroupFolders;
  /** All models aligned together (the aligner's joint form). */
  jointly: boolean;
}

export type StageJob = TrainJob | GroupMergeJob;

/** A job in words, for messages. */
export function describeJob(job: StageJob): string {
  return job.stage === 'train' ? `train job ${job.out}` : `merge job of ${job.models.join(', ')}`;
}

/** What every job also needs: where it computes, and where datasets are cached. */
export interface JobEnvironment {
  backend: BackendName;
  threads: number;
  cacheDir: string;
}

/** What a worker sends back: observer calls, then one outcome per job. */
export type WorkerMessage =
  | { kind: 'observer'; message: ObserverMessage }
  | { kind: 'done' }
  | { kind: 'failed'; message: string; stack?: string; inputError: boolean };
