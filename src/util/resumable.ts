import type * as tf from '@tensorflow/tfjs-core';

/**
 * Long work (training, learned alpha) that can stop and continue: it hands its state to `save` now and
 * then, and asks `load` for a saved one when it starts. The work defines what its state holds; the
 * store (a file, in a run) only keeps it.
 */
export interface ResumeState {
  /** Named tensors in named groups (parameters, optimizer slots, ...). */
  groups: Record<string, tf.NamedTensorMap>;
  /** Everything else, as JSON (step counts, curves). */
  record: unknown;
}

export interface ResumeStore {
  /** The saved state, if there is one for the same settings; the caller disposes its tensors. */
  load(): Promise<ResumeState | undefined>;
  /** Saves `state`; its tensors stay the caller's. */
  save(state: ResumeState): Promise<void>;
}
