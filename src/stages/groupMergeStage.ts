import { join } from 'node:path';
import type { AlignSettings, MergeSettings } from '../recipe/methodSettings.js';
import { alignStage, type AlignOutputs } from './alignStage.js';
import { jointAlignStage } from './jointAlignStage.js';
import type { StageContext, StageOutcome } from './context.js';
import { mergeStage, type MergeOutputs } from './mergeStage.js';

/** The folders a group merge writes to; every file in them is named by the key of what it holds. */
export interface GroupFolders {
  aligned: string;
  statistics: string;
  merges: string;
  masks: string;
}

/** A short, readable file name: what made it, and its key. */
const named = (what: string, key: string) => `${what}-${key.slice(0, 16)}.safetensors`;

/** Where the statistics of a pair of models go, named by their key. */
export function groupStatisticsPath(folders: GroupFolders, statisticsKey: string): string {
  return join(folders.statistics, named('statistics', statisticsKey));
}

/** Where a group merge's alignments go (their statistics too), named by key. */
export function groupAlignOutputs(folders: GroupFolders, method: string): AlignOutputs {
  return (key, statisticsKey) => ({ model: join(folders.aligned, named(method, key)), statistics: groupStatisticsPath(folders, statisticsKey) });
}

/** Where a group merge's merged model, its masks and its before-reset copy go, named by key. */
export function groupMergeOutputs(folders: GroupFolders, method: string): (key: string) => MergeOutputs {
  return (key) => ({
    model: join(folders.merges, named(method, key)),
    masks: join(folders.masks, named(method, key)),
    beforeReset: join(folders.merges, named(method, key).replace(/\.safetensors$/, '.before-reset.safetensors')),
  });
}

/**
 * One merge of a group of models in one step: every model after the first aligned to the first with
 * `align` (or, `jointly`, all aligned together by the aligner's joint form), then all merged with
 * `merge` (N-way weights; for two models, alpha). Each alignment and the merge are stages of their
 * own, skipped where their files hold the same key, so a group that shares models and settings with
 * an earlier one reuses its work. Returns the merge's outcome.
 */
export async function groupMergeStage(
  models: readonly string[],
  align: AlignSettings,
  merge: MergeSettings,
  folders: GroupFolders,
  ctx: StageContext,
  options: { jointly?: boolean } = {},
): Promise<StageOutcome> {
  const [reference, ...others] = models as [string, ...string[]];
  const outputs = groupAlignOutputs(folders, align.method);
  const aligned: string[] = [];
  if (options.jointly) aligned.push(...(await jointAlignStage(models, align, outputs, ctx)).map((outcome) => outcome.path));
  else for (const other of others) aligned.push((await alignStage({ a: reference, b: other }, align, outputs, ctx)).path);
  const merged = await mergeStage([reference, ...aligned], merge, groupMergeOutputs(folders, merge.method), ctx);
  for (const path of aligned) await ctx.release(path);
  return merged;
}
