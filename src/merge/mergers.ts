import type { Refusal } from '../util/methodEntry.js';
import { Registry } from '../util/registry.js';
import { alphaInits, type AlphaInitEntry } from './alphaInits.js';
import { learnedMerger } from './learnedMerger.js';
import type { MergerEntry, MergeTarget } from './mergerEntry.js';

export type { MergeInput, MergeOutcome, MergerEntry, MergeTarget } from './mergerEntry.js';

/** A reason as a refusal of the field that chose the method. */
const refusal = (reason: string | undefined): Refusal | undefined => (reason === undefined ? undefined : { reason });

/** An alpha init used as it stands: the masks it computes are the merge's. */
export function fixedMerger(init: AlphaInitEntry): MergerEntry {
  return {
    name: init.name,
    description: init.description,
    ...(init.reference ? { reference: init.reference } : {}),
    options: init.options,
    ...(init.unsupported ? { unsupported: ({ spec }: MergeTarget) => refusal(init.unsupported!(spec)) } : {}),
    masks: async (input, options) => ({ masks: init.masks(input, options) }),
  };
}

/**
 * The registered mergers: every alpha init the library registers, used as it stands, and learned
 * alpha; `mergers.register` adds one. An alpha init registered later is a merger of its own only
 * once registered here too: `mergers.register(fixedMerger(init))`.
 */
export const mergers = new Registry<MergerEntry>('merge method', [...alphaInits.list().map(fixedMerger), learnedMerger]);

/** The alpha init a merger starts from, when it has one. */
export function initOf(merger: MergerEntry, options: Record<string, unknown>): AlphaInitEntry | undefined {
  return merger.usesInit ? alphaInits.get(String(options.init)) : undefined;
}
