import * as tf from '@tensorflow/tfjs-core';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { arraysToParams, paramsToArrays } from '../io/checkpoint.js';
import { readSafetensors, writeSafetensors, type NamedArrays } from '../io/safetensors.js';
import type { ParamMap } from '../nn/spec.js';
import { InputError } from '../util/errors.js';
import type { AlphaTrainState } from './learnAlpha.js';

/** The groups of tensors a saved state holds, each under its own name prefix. */
const groups = ['logits', 'm', 'v', 'best'] as const;

function tensorsOf(state: AlphaTrainState, group: (typeof groups)[number]): ParamMap {
  return group === 'logits' ? state.logits : group === 'best' ? state.best.masks : state.optimizer[group];
}

/** Saves learned-alpha training in progress as one safetensors file, atomically. */
export async function saveAlphaTrainState(path: string, state: AlphaTrainState): Promise<void> {
  const arrays: NamedArrays = {};
  for (const group of groups) {
    for (const [name, array] of Object.entries(paramsToArrays(tensorsOf(state, group)))) arrays[`${group}/${name}`] = array;
  }
  const metadata = {
    step: String(state.optimizer.step),
    best: JSON.stringify({ step: state.best.step, loss: state.best.loss }),
    curve: JSON.stringify(state.curve),
    validation: JSON.stringify(state.validation),
  };
  await writeSafetensors(path, arrays, metadata);
}

/** The state saved at `path`, if there is one; the caller disposes it with {@link disposeAlphaTrainState}. */
export async function loadAlphaTrainState(path: string): Promise<AlphaTrainState | undefined> {
  if (!existsSync(path)) return undefined;
  const { tensors, metadata } = await readSafetensors(path);
  const group = (prefix: string): ParamMap => {
    const arrays: NamedArrays = {};
    for (const [name, array] of Object.entries(tensors)) if (name.startsWith(`${prefix}/`)) arrays[name.slice(prefix.length + 1)] = array;
    return arraysToParams(arrays);
  };
  const step = Number(metadata.step);
  if (!Number.isSafeInteger(step) || step < 0) {
    throw new InputError(`${path} is not a learned-alpha training state (step ${metadata.step}); delete it to start that merge over`);
  }
  const best = JSON.parse(metadata.best ?? '{}') as { step: number; loss: number };
  return {
    logits: group('logits'),
    optimizer: { step, m: group('m'), v: group('v') },
    best: { ...best, masks: group('best') },
    curve: JSON.parse(metadata.curve ?? '[]') as AlphaTrainState['curve'],
    validation: JSON.parse(metadata.validation ?? '[]') as AlphaTrainState['validation'],
  };
}

export function disposeAlphaTrainState(state: AlphaTrainState): void {
  tf.dispose(groups.flatMap((g) => Object.values(tensorsOf(state, g))));
}

export async function removeAlphaTrainState(path: string): Promise<void> {
  await rm(path, { force: true });
}
