import { join, relative } from 'node:path';
import { readManyResult, writeManyResult, type ManyResult, type TreeNodeRecord } from '../artifacts/manyResult.js';
import { meanCanonicalCorrelation } from '../align/similarity.js';
import { dataInfoOf } from '../artifacts/checkpoint.js';
import type { BackendName } from '../backend/selectBackend.js';
import { strategies, type ModelNode, type StrategyServices } from '../merge/strategies.js';
import { runInWorkers } from '../pool/workerPool.js';
import { manyVariants, type ManyVariant } from '../recipe/methodSettings.js';
import type { Recipe } from '../recipe/schema.js';
import { alignmentOf } from '../stages/alignStage.js';
import type { StageContext, StageOutcome } from '../stages/context.js';
import { evaluateStage } from '../stages/evaluateStage.js';
import { groupMergeStage, groupStatisticsPath } from '../stages/groupMergeStage.js';
import { holdsArtifact } from '../stages/outputs.js';
import { statisticsKey, statisticsStage } from '../stages/statisticsStage.js';
import { baseModelName } from '../stages/trainStage.js';
import { settingsKey } from '../util/hash.js';
import type { RunLayout } from './runDirectory.js';

/** How the run computes: worker processes for independent merges, and their share of the threads. */
export interface ManyEnvironment {
  jobs: number;
  threads: number;
  backend: BackendName;
}

/** The variant as a short name for the log: strategy, alignment, merge. */
function variantName(variant: ManyVariant): string {
  return [variant.strategy.method, variant.align.method, variant.merge.method].join(' · ');
}

/** The key of a many-model merge: the strategy, both step settings and the base models. */
function manyKey(variant: ManyVariant, alignment: ManyResult['align'], modelKeys: string[]): string {
  return settingsKey({ kind: 'many', strategy: variant.strategy, align: alignment, merge: variant.merge, models: modelKeys });
}

/**
 * The operations a strategy merges with, for one variant: group merges by the variant's alignment and
 * merge (in worker processes when several groups are independent and jobs allow), merge-split
 * accuracy, and feature similarity, each on files in the run directory.
 */
function services(variant: ManyVariant, layout: RunLayout, ctx: StageContext, environment: ManyEnvironment): StrategyServices {
  const { folders } = layout.many;
  const nodeOf = (outcome: StageOutcome, group: readonly ModelNode[]): ModelNode => ({ id: outcome.path, members: group.flatMap((node) => node.members) });
  return {
    async mergeGroups(groups, options = {}) {
      const jointly = options.jointly ?? false;
      const workers = Math.min(environment.jobs, groups.length);
      if (workers > 1) {
        const jobs = groups.map((group) => ({ stage: 'groupMerge' as const, models: group.map((node) => node.id), align: variant.align, merge: variant.merge, folders, jointly }));
        const threads = Math.max(1, Math.floor(environment.threads / workers));
        await ctx.timed('many merges', () => runInWorkers(jobs, workers, { backend: environment.backend, threads, cacheDir: ctx.cacheDir }, ctx.observer));
      }
      // Made by the workers, these find their files and only report them.
      const nodes: ModelNode[] = [];
      for (const group of groups) nodes.push(nodeOf(await groupMergeStage(group.map((node) => node.id), variant.align, variant.merge, folders, ctx, { jointly }), group));
      return nodes;
    },
    async mergeAccuracy(model) {
      const [evaluation] = (await evaluateStage([model.id], ctx, { store: layout.evaluations, split: 'merge' })).models;
      return evaluation!.accuracy;
    },
    async similarity(a, b) {
      const [checkpointA, checkpointB] = [await ctx.checkpoint(a.id), await ctx.checkpoint(b.id)];
      const form = alignmentOf(variant.align, checkpointA.spec).batchNorm;
      const [preparedA, preparedB] = form ? [await ctx.prepared(a.id, form), await ctx.prepared(b.id, form)] : [checkpointA, checkpointB];
      const key = statisticsKey(checkpointA.info.key, checkpointB.info.key, form, variant.align.batchSize);
      const path = groupStatisticsPath(folders, key);
      const pair = { spec: preparedA.spec, paramsA: preparedA.params, paramsB: preparedB.params };
      const moments = await statisticsStage(pair, dataInfoOf(checkpointA.info), key, variant.align.batchSize, path, ctx);
      return meanCanonicalCorrelation(moments);
    },
  };
}

/** The tree a strategy made, as the record keeps it: leaves (base models) first, each merge a level above its highest input. */
async function treeOf(leaves: readonly ModelNode[], steps: { node: ModelNode; inputs: ModelNode[] }[], layout: RunLayout, ctx: StageContext): Promise<TreeNodeRecord[]> {
  const byPath = new Map<string, TreeNodeRecord>();
  for (const leaf of leaves) byPath.set(leaf.id, { id: leaf.members[0]!, path: relative(layout.dir, leaf.id), level: 0, inputs: [], members: leaf.members });
  for (const { node, inputs } of steps) {
    const children = inputs.map((input) => byPath.get(input.id)!);
    const key = (await ctx.checkpoint(node.id)).info.key;
    byPath.set(node.id, { id: key, path: relative(layout.dir, node.id), level: 1 + Math.max(...children.map((c) => c.level)), inputs: children.map((c) => c.id), members: node.members });
  }
  return [...byPath.values()];
}

/**
 * Merges many models as the recipe's `many` section asks: for each N, the first N base models with
 * every strategy variant, each skipped when its record (and so its merged model) is there. Records go
 * to the run directory; the report gathers them with every earlier variant (collectMetrics).
 */
export async function runManyModels(recipe: Recipe, models: readonly StageOutcome[], layout: RunLayout, ctx: StageContext, environment: ManyEnvironment): Promise<void> {
  if (!recipe.many) return;
  const spec = (await ctx.checkpoint(models[0]!.path)).spec;
  for (const count of recipe.many.models) {
    const leaves: ModelNode[] = models.slice(0, count).map((model, i) => ({ id: model.path, members: [baseModelName(i)] }));
    const modelKeys = models.slice(0, count).map((model) => model.key);
    for (const variant of manyVariants(recipe)) {
      const align = alignmentOf(variant.align, spec);
      const merge = { method: variant.merge.method, options: variant.merge.options, ...(align.batchNorm ? { resetExamples: variant.merge.resetExamples } : {}) };
      const key = manyKey(variant, align, modelKeys);
      const path = join(layout.many.results, `${variant.strategy.method}-n${count}-${key.slice(0, 16)}.json`);
      const name = `${variantName(variant)}, ${count} models`;
      const saved = await readManyResult(path, key);
      const root = saved?.tree.at(-1);
      if (root && (await holdsArtifact(join(layout.dir, root.path), root.id, ctx.observer))) {
        ctx.observer.log(`${name}: reusing ${path}`);
        continue;
      }
      const strategy = strategies.get(variant.strategy.method);
      const result = await strategy.merge(leaves, services(variant, layout, ctx, environment), variant.strategy.options);
      const tree = await treeOf(leaves, result.steps, layout, ctx);
      await writeManyResult(path, { kind: 'many', key, strategy: variant.strategy, align, merge, models: modelKeys, tree });
      const [evaluation] = (await evaluateStage([result.root.id], ctx, { store: layout.evaluations })).models;
      ctx.observer.log(`${name}: test accuracy ${(100 * evaluation!.accuracy).toFixed(2)}%`);
      for (const { node } of result.steps) await ctx.release(node.id);
    }
  }
}
