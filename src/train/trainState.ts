import * as tf from '@tensorflow/tfjs-core';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { arraysToParams, paramsToArrays } from '../io/checkpoint.js';
import { readSafetensors, writeSafetensors, type NamedArrays } from '../io/safetensors.js';
import type { EpochRecord, TrainState } from './trainModel.js';

/** Optimizer slots are stored beside the parameters under this prefix. */
const OPTIMIZER_PREFIX = 'optimizer/';

/**
 * Saves training in progress (parameters, optimizer slots, epoch, history) as one safetensors file,
 * atomically, so a killed run resumes from its last finished epoch. `configHash` ties it to the
 * settings that made it.
 */
export async function saveTrainState(path: string, state: TrainState, configHash: string): Promise<void> {
  const arrays: NamedArrays = paramsToArrays(state.params);
  const slots = state.optimizerState.map(({ name, tensor }, i) => {
    const key = `${OPTIMIZER_PREFIX}${i}`;
    arrays[key] = { shape: tensor.shape, data: tensor.dataSync() as Float32Array | Int32Array };
    return { key, name, dtype: tensor.dtype };
  });
  const metadata = { epoch: String(state.epoch), history: JSON.stringify(state.history), slots: JSON.stringify(slots), configHash };
  await writeSafetensors(path, arrays, metadata);
}

/** The saved state at `path` if it exists and was made with `configHash`; the caller disposes it. */
export async function loadTrainState(path: string, configHash: string): Promise<TrainState | undefined> {
  if (!existsSync(path)) return undefined;
  const { tensors, metadata } = await readSafetensors(path);
  if (metadata.configHash !== configHash) return undefined;
  const slots = JSON.parse(metadata.slots ?? '[]') as { key: string; name: string; dtype: tf.DataType }[];
  const params: NamedArrays = {};
  for (const [name, value] of Object.entries(tensors)) if (!name.startsWith(OPTIMIZER_PREFIX)) params[name] = value;
  return {
    epoch: Number(metadata.epoch),
    params: arraysToParams(params),
    optimizerState: slots.map(({ key, name, dtype }) => {
      const { shape, data } = tensors[key]!;
      return { name, tensor: tf.tensor(data, shape, dtype) };
    }),
    history: JSON.parse(metadata.history ?? '[]') as EpochRecord[],
  };
}

/** Frees a loaded state's tensors. */
export function disposeTrainState(state: TrainState): void {
  tf.dispose([...Object.values(state.params), ...state.optimizerState.map((s) => s.tensor)]);
}

/** Removes a finished run's state file. */
export async function removeTrainState(path: string): Promise<void> {
  await rm(path, { force: true });
}
