import type * as tf from '@tensorflow/tfjs-core';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { InputError } from '../util/errors.js';
import type { ResumeState } from '../util/resumable.js';
import { readSafetensors, writeSafetensors, type NamedArrays } from './safetensors.js';
import { arraysToTensors, tensorsToArrays } from './tensorArrays.js';

/**
 * Work in progress (training epochs, learned-alpha steps) saved so that a killed run continues where it
 * stopped: groups of named tensors and a JSON record, in one safetensors file written atomically,
 * tagged with the key of the settings that made it. A state made by other settings is not resumed.
 */

/** Separates a group's name from a tensor's name inside the file. */
const GROUP_SEPARATOR = '/';

/** Saves `state` at `path`, tagged with `settingsKey`. */
export async function saveResumeState(path: string, state: ResumeState, settingsKey: string): Promise<void> {
  const arrays: NamedArrays = {};
  for (const [group, tensors] of Object.entries(state.groups)) {
    for (const [name, array] of Object.entries(tensorsToArrays(tensors))) arrays[`${group}${GROUP_SEPARATOR}${name}`] = array;
  }
  await writeSafetensors(path, arrays, { settingsKey, record: JSON.stringify(state.record) });
}

/**
 * The state saved at `path` when there is one made with `settingsKey`, else undefined. The caller owns
 * (and disposes) its tensors.
 */
export async function loadResumeState(path: string, settingsKey: string): Promise<ResumeState | undefined> {
  if (!existsSync(path)) return undefined;
  const { tensors, metadata } = await readSafetensors(path);
  if (metadata.settingsKey !== settingsKey) return undefined;
  let record: unknown;
  try {
    record = JSON.parse(metadata.record ?? '');
  } catch {
    throw new InputError(`${path} is not a resumable state (its record is not JSON); delete it to start that work over`);
  }
  const grouped: Record<string, NamedArrays> = {};
  for (const [key, array] of Object.entries(tensors)) {
    const cut = key.indexOf(GROUP_SEPARATOR);
    const [group, name] = cut < 0 ? ['', key] : [key.slice(0, cut), key.slice(cut + 1)];
    (grouped[group] ??= {})[name] = array;
  }
  const groups: Record<string, tf.NamedTensorMap> = {};
  for (const [group, arrays] of Object.entries(grouped)) groups[group] = arraysToTensors(arrays);
  return { groups, record };
}

/** Removes the state at `path`, if any. */
export async function removeResumeState(path: string): Promise<void> {
  await rm(path, { force: true });
}
