import { z } from 'zod';
import type { AlignerEntry } from '../align/aligners.js';
import type { MethodEntry } from '../util/methodEntry.js';
import { Registry } from '../util/registry.js';

/**
 * Strategies that merge N models into one out of two operations (see {@link StrategyServices}): merge
 * a group in one step (every model aligned to the group's first, then merged with N-way weights),
 * and compare models. A strategy only decides which groups to merge and in what order; the run
 * supplies the operations with the recipe's alignment and merge methods, saving every intermediate
 * model, so strategies stay free of files and tensors.
 */

/** A model a strategy works with: a base model or a merge of several. */
export interface ModelNode {
  /** What the run knows the model by (the strategy only passes it back). */
  id: string;
  /** The base models under it, by name, in order. */
  members: string[];
}

/** One merge a strategy made: the node it produced, from which nodes. */
export interface MergeStep {
  node: ModelNode;
  /** The merged nodes, the one the others were aligned to first. */
  inputs: ModelNode[];
}

/** What a strategy may ask of the run: merges of groups of models, a model's merge-split accuracy, and how alike two models are. */
export interface StrategyServices {
  /**
   * Merges each group in one step: every model after the first aligned to the first (`jointly`: all
   * aligned together, by the aligner's joint form), then all merged. Groups are independent, so they
   * may run at once (in worker processes).
   */
  mergeGroups(groups: readonly (readonly ModelNode[])[], options?: { jointly?: boolean }): Promise<ModelNode[]>;
  /** A model's accuracy on the merge split (never the test split). */
  mergeAccuracy(model: ModelNode): Promise<number>;
  /** How alike two models' features are on the merge split: their mean canonical correlation, in [0, 1]. */
  similarity(a: ModelNode, b: ModelNode): Promise<number>;
}

/** A strategy's merged model and every merge that led to it. */
export interface StrategyResult {
  root: ModelNode;
  /** Every merge, in the order made (the root's last). */
  steps: MergeStep[];
}

/** A registered way to merge many models (see {@link defineStrategy}). */
export interface StrategyEntry extends MethodEntry {
  /** Why it cannot merge with `aligner`, if it cannot. */
  unsupported?(aligner: AlignerEntry): string | undefined;
  /** Merges `models` (at least two, in the run's order) into one. `options` holds its declared fields of the recipe's `many` section. */
  merge(models: readonly ModelNode[], services: StrategyServices, options: Record<string, unknown>): Promise<StrategyResult>;
}

/** A strategy entry whose `merge` receives its options typed from its declared fields. */
export function defineStrategy<S extends z.ZodRawShape>(
  entry: Omit<StrategyEntry, 'options' | 'merge'> & {
    options: S;
    merge(models: readonly ModelNode[], services: StrategyServices, options: z.output<z.ZodObject<S>>): Promise<StrategyResult>;
  },
): StrategyEntry {
  return entry as unknown as StrategyEntry;
}

/** How all-to-one picks the model the others are aligned to. */
export const referenceRules = ['first', 'best', 'worst'] as const;
/** How hierarchical merging pairs the models of a level. */
export const pairingRules = ['ordered', 'similar'] as const;

/** The reference `rule` picks: the first model, or the one of highest or lowest merge-split accuracy (the first among equals). */
async function pickReference(models: readonly ModelNode[], rule: (typeof referenceRules)[number], services: StrategyServices): Promise<ModelNode> {
  if (rule === 'first') return models[0]!;
  const accuracies = [];
  for (const model of models) accuracies.push(await services.mergeAccuracy(model));
  const target = rule === 'best' ? Math.max(...accuracies) : Math.min(...accuracies);
  return models[accuracies.indexOf(target)]!;
}

/**
 * The pairs of one level: in order (1+2, 3+4, ...), or the most similar pair first, then the most
 * similar of the rest, and so on (greedy). An odd model out is returned apart, to be carried up.
 */
async function pairUp(models: readonly ModelNode[], rule: (typeof pairingRules)[number], services: StrategyServices): Promise<{ pairs: [ModelNode, ModelNode][]; carried?: ModelNode }> {
  if (rule === 'ordered') {
    const pairs: [ModelNode, ModelNode][] = [];
    for (let i = 0; i + 1 < models.length; i += 2) pairs.push([models[i]!, models[i + 1]!]);
    return { pairs, ...(models.length % 2 ? { carried: models[models.length - 1]! } : {}) };
  }
  const scored: { i: number; j: number; score: number }[] = [];
  for (let i = 0; i < models.length; i++) {
    for (let j = i + 1; j < models.length; j++) scored.push({ i, j, score: await services.similarity(models[i]!, models[j]!) });
  }
  // Stable: among equal scores, the earlier pair first.
  scored.sort((x, y) => y.score - x.score);
  const used = new Set<number>();
  const pairs: [ModelNode, ModelNode][] = [];
  for (const { i, j } of scored) {
    if (used.has(i) || used.has(j)) continue;
    used.add(i);
    used.add(j);
    pairs.push([models[i]!, models[j]!]);
  }
  const rest = models.filter((_, i) => !used.has(i));
  return { pairs, ...(rest.length ? { carried: rest[0]! } : {}) };
}

/** The registered many-model strategies; `strategies.register` adds one (see defineStrategy). */
export const strategies = new Registry<StrategyEntry>('merge strategy', [
  defineStrategy({
    name: 'all-to-one',
    description: 'align every model to one reference, then merge all N at once (uniform 1/N, Fisher-weighted, or learned N-way weights)',
    reference: 'https://arxiv.org/abs/2407.05385',
    options: {
      reference: z.enum(referenceRules).default(referenceRules[0]).describe('all-to-one reference: the first model, or the best or worst on the merge split'),
    },
    async merge(models, services, options) {
      const reference = await pickReference(models, options.reference, services);
      const inputs = [reference, ...models.filter((model) => model !== reference)];
      const [root] = await services.mergeGroups([inputs]);
      return { root: root!, steps: [{ node: root!, inputs }] };
    },
  }),
  defineStrategy({
    name: 'hierarchical',
    description: 'merge the models in pairs, then the merged models in pairs, up a tree until one remains (an odd model out is carried up a level)',
    reference: 'https://arxiv.org/abs/2412.15467',
    options: {
      pairing: z.enum(pairingRules).default(pairingRules[0]).describe('hierarchical pairing: in order, or the most similar pairs first (mean canonical correlation)'),
    },
    async merge(models, services, options) {
      const steps: MergeStep[] = [];
      let level = [...models];
      while (level.length > 1) {
        const { pairs, carried } = await pairUp(level, options.pairing, services);
        const merged = await services.mergeGroups(pairs);
        pairs.forEach((inputs, i) => steps.push({ node: merged[i]!, inputs }));
        level = carried ? [...merged, carried] : merged;
      }
      return { root: level[0]!, steps };
    },
  }),
  defineStrategy({
    name: 'merge-many',
    description: "align all N models together by the aligner's joint form (weight matching: Git Re-Basin's MergeMany, each model matched to the mean of the others until none moves), then merge them at once",
    reference: 'https://arxiv.org/abs/2209.04836',
    options: {},
    unsupported: (aligner) => (aligner.alignMany ? undefined : `${aligner.name} has no joint form for many models`),
    async merge(models, services) {
      const [root] = await services.mergeGroups([models], { jointly: true });
      return { root: root!, steps: [{ node: root!, inputs: [...models] }] };
    },
  }),
]);
