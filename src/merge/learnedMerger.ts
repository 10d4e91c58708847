import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { TensorSet } from '../data/batches.js';
import type { LabelledSet } from '../data/dataset.js';
import { splitOff } from '../data/split.js';
import type { ParamMap } from '../nn/spec.js';
import type { ResumeState } from '../util/resumable.js';
import { alphaInits, uniformInit } from './alphaInits.js';
import { granularityOption, type Granularity } from './granularity.js';
import { disposeAlphaTrainState, learnAlphaMasks, type AlphaTrainState } from './learnAlpha.js';
import type { MergerEntry } from './mergerEntry.js';
import type { AlphaMasks } from './mergeParams.js';

/**
 * The merge split as learned alpha uses it: the first part to train the masks on, the last
 * `validationFraction` (at least one example) to pick the best step. The caller disposes both.
 */
export function alphaTrainingSets(merge: LabelledSet, inputShape: number[], validationFraction: number): { train: TensorSet; validation: TensorSet } {
  const validationCount = Math.max(1, Math.round(merge.count * validationFraction));
  const [train, validation] = splitOff(merge, merge.count - validationCount);
  return { train: new TensorSet(train, inputShape), validation: new TensorSet(validation, inputShape) };
}

/** Learned-alpha training in progress as a resumable state, and back. */
function toResumeState(state: AlphaTrainState): ResumeState {
  return {
    groups: { logits: state.logits, m: state.optimizer.m, v: state.optimizer.v, best: state.best.masks },
    record: { step: state.optimizer.step, best: { step: state.best.step, loss: state.best.loss }, curve: state.curve, validation: state.validation },
  };
}

function fromResumeState({ groups, record }: ResumeState): AlphaTrainState {
  const saved = record as { step: number; best: { step: number; loss: number }; curve: AlphaTrainState['curve']; validation: AlphaTrainState['validation'] };
  const group = (name: string): ParamMap => groups[name] ?? {};
  return {
    logits: group('logits'),
    optimizer: { step: saved.step, m: group('m'), v: group('v') },
    best: { ...saved.best, masks: group('best') },
    curve: saved.curve,
    validation: saved.validation,
  };
}

/**
 * Learned alpha (NP Merge, https://arxiv.org/abs/2412.15467): one weight per model and parameter
 * entry (two models: alpha = sigmoid(logit); N models: a softmax over the model axis), trained by Adam
 * on the merged model's loss over part of the merge split from the weights of an alpha init, keeping
 * those of the step with the lowest loss on the rest (see learnAlphaMasks).
 */
export const learnedMerger: MergerEntry = {
  name: 'learned',
  description: 'one weight per model and parameter entry, learned by gradient descent on the merge split from an alpha init',
  reference: 'https://arxiv.org/abs/2412.15467',
  usesInit: true,
  usesSeed: true,
  // A getter: the init's choices are the alpha inits registered when the recipe schema is built.
  get options() {
    return {
      init: z.enum(alphaInits.names() as [string, ...string[]]).default(uniformInit.name).describe('initial alpha of learned masks'),
      steps: z.number().int().positive().default(300).describe('learned-alpha optimisation steps'),
      batchSize: z.number().int().positive().default(128).describe('learned-alpha batch size'),
      learningRate: z.number().positive().default(0.01).describe('Adam step size on the alpha logits'),
      validationFraction: z
        .number()
        .gt(0)
        .lt(1)
        .default(0.2)
        .describe('part of the merge split held out to pick the best alpha step (early stopping)'),
      evalEvery: z.number().int().positive().default(10).describe('steps between validation checks'),
      granularity: granularityOption,
    };
  },
  unsupported: ({ spec, mergeExamples }, options) => {
    const fraction = options.validationFraction as number;
    // As alphaTrainingSets splits the merge split: at least one example on each side.
    if (mergeExamples - Math.max(1, Math.round(mergeExamples * fraction)) < 1) {
      return {
        field: 'data.split.merge',
        reason: `learned alpha trains on part of the merge split and validates on the rest (merge.validationFraction ${fraction}), so it needs at least 2 examples; got ${mergeExamples}`,
      };
    }
    const reason = alphaInits.get(String(options.init)).unsupported?.(spec);
    return reason === undefined ? undefined : { field: 'merge.init', reason: `${reason}; got init "${String(options.init)}"` };
  },
  progressTotal: (options) => options.steps as number,
  async masks(input, options) {
    const init = alphaInits.get(String(options.init));
    let start: AlphaMasks[] | undefined;
    let sets: ReturnType<typeof alphaTrainingSets> | undefined;
    let resume: AlphaTrainState | undefined;
    try {
      start = init.masks(input, options);
      sets = alphaTrainingSets(input.merge, input.inputShape, options.validationFraction as number);
      const saved = await input.state?.load();
      resume = saved && fromResumeState(saved);
      const learned = await learnAlphaMasks(
        input.spec,
        input.models,
        start,
        sets.train,
        sets.validation,
        {
          steps: options.steps as number,
          batchSize: options.batchSize as number,
          learningRate: options.learningRate as number,
          evalEvery: options.evalEvery as number,
          seed: input.seed,
          ...(options.granularity ? { granularity: options.granularity as Granularity } : {}),
        },
        {
          ...(resume ? { resume } : {}),
          onProgress: (p) => input.onProgress?.(p.step, p.steps),
          ...(input.state ? { onCheckpoint: (state: AlphaTrainState) => input.state!.save(toResumeState(state)) } : {}),
        },
      );
      const { masks, ...training } = learned;
      return { masks, training };
    } finally {
      if (start) tf.dispose(start.flatMap((masks) => Object.values(masks)));
      if (resume) disposeAlphaTrainState(resume);
      sets?.train.dispose();
      sets?.validation.dispose();
    }
  },
};
