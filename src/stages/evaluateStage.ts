import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { dataInfoOf, ensureSameArchitecture, ensureSameData, modelKinds, readCheckpointInfo, type CheckpointInfo, type DataInfo } from '../artifacts/checkpoint.js';
import { evaluateModels, type Evaluation } from '../eval/evaluate.js';
import { writeJsonAtomic } from '../io/atomicWrite.js';
import { architectureRecord } from '../nn/families.js';
import { settingsKey } from '../util/hash.js';
import type { StageContext } from './context.js';

/** The test accuracy and loss of a model (or of an ensemble), under the key of what was evaluated. */
export interface EvaluationRecord extends Evaluation {
  key: string;
}

/** The splits a model is evaluated on: the held-out test split, or the merge split (to choose among models). */
export type EvaluatedSplit = 'test' | 'merge';

/** What an evaluation depends on: the models' keys, the whole data split, and which part is evaluated. */
export function evaluationKey(modelKeys: string[], data: DataInfo, split: EvaluatedSplit = 'test'): string {
  return settingsKey({ kind: 'evaluation', models: modelKeys, data, split: split === 'test' ? undefined : split });
}

/** Where `store` keeps the evaluation of `key`. */
export function evaluationPath(store: string, key: string): string {
  return join(store, `${key}.json`);
}

/** The evaluation saved under `key` in `store`, if there is one. */
export async function savedEvaluation(store: string | undefined, key: string): Promise<EvaluationRecord | undefined> {
  const path = store === undefined ? undefined : evaluationPath(store, key);
  if (!path || !existsSync(path)) return undefined;
  try {
    const saved = JSON.parse(await readFile(path, 'utf8')) as Omit<EvaluationRecord, 'loss'> & { loss: number | null };
    // JSON writes a loss that is not finite as null.
    return saved.key === key && Number.isFinite(saved.accuracy) ? { ...saved, loss: saved.loss ?? Number.NaN } : undefined;
  } catch {
    return undefined; // unreadable: evaluated again and rewritten
  }
}

/**
 * The evaluate stage: test accuracy and mean cross-entropy of each model on the held-out test split
 * of its data (never used for training, alignment or alpha), and with `ensemble`, of their logit
 * ensemble. With `split: 'merge'`, the same on the merge split instead (for choices among models,
 * which must not see the test split). All models must come from one data split. With `store`, each result is kept there as
 * `<key>.json` and reused while the models and the split are the same (a model is then loaded only
 * when its result, or the ensemble it belongs to, is missing). The models still to evaluate are
 * scored in one pass over the split per architecture (evaluateModels), the ensemble in the same
 * pass as its members.
 */
export async function evaluateStage(
  paths: string[],
  ctx: StageContext,
  options: { ensemble?: boolean; store?: string; split?: EvaluatedSplit } = {},
): Promise<{ models: EvaluationRecord[]; ensemble?: EvaluationRecord }> {
  if (paths.length === 0) return { models: [] };
  const infos: CheckpointInfo[] = [];
  for (const path of paths) {
    const info = options.store === undefined ? (await ctx.checkpoint(path)).info : await readCheckpointInfo(path, modelKinds);
    if (infos[0]) ensureSameData(infos[0], paths[0]!, info, path);
    infos.push(info);
  }
  const data = dataInfoOf(infos[0]!);
  const split = options.split ?? 'test';
  const keys = infos.map((info) => evaluationKey([info.key], data, split));
  const ensembleKey = options.ensemble && paths.length >= 2 ? evaluationKey(infos.map((info) => info.key), data, split) : undefined;
  const saved = await Promise.all(keys.map((key) => savedEvaluation(options.store, key)));
  const savedEnsemble = ensembleKey === undefined ? undefined : await savedEvaluation(options.store, ensembleKey);
  const needsEnsemble = ensembleKey !== undefined && !savedEnsemble;
  // An ensemble is scored with all its members; otherwise only the models without a saved result.
  const evaluated = paths.map((_, i) => i).filter((i) => needsEnsemble || !saved[i]);
  const scores = new Map<number, Evaluation>();
  let ensembleScore: Evaluation | undefined;
  if (evaluated.length > 0) {
    const loaded = await ctx.data(data);
    const examples = split === 'test' ? loaded.test() : loaded.merge();
    const checkpoints = await Promise.all(evaluated.map((i) => ctx.checkpoint(paths[i]!)));
    if (needsEnsemble) checkpoints.slice(1).forEach((member, j) => ensureSameArchitecture(checkpoints[0]!, paths[0]!, member, paths[j + 1]!));
    // One pass per architecture, which scores the ensemble too when its members share one.
    const groups = new Map<string, number[]>();
    checkpoints.forEach((checkpoint, j) => {
      const group = settingsKey(architectureRecord(checkpoint.spec));
      groups.set(group, [...(groups.get(group) ?? []), j]);
    });
    const ensembleInPass = needsEnsemble && groups.size === 1;
    for (const members of groups.values()) {
      const { spec } = checkpoints[members[0]!]!;
      const result = ctx.time('evaluate', () => evaluateModels(spec, members.map((j) => checkpoints[j]!.params), examples, { ensemble: ensembleInPass }));
      members.forEach((j, k) => scores.set(evaluated[j]!, result.models[k]!));
      ensembleScore = result.ensemble;
    }
    if (needsEnsemble && !ensembleInPass) {
      // Members alike in their parameters but not in their configuration: scored with the first one's spec.
      const all = checkpoints.map((c) => c.params);
      ensembleScore = ctx.time('evaluate', () => evaluateModels(checkpoints[0]!.spec, all, examples, { models: false, ensemble: true }).ensemble);
    }
  }
  const record = async (key: string, score: Evaluation): Promise<EvaluationRecord> => {
    const made = { key, ...score };
    if (options.store !== undefined) await writeJsonAtomic(evaluationPath(options.store, key), made);
    return made;
  };
  const models: EvaluationRecord[] = [];
  for (const [i, key] of keys.entries()) models.push(saved[i] ?? (await record(key, scores.get(i)!)));
  if (ensembleKey === undefined) return { models };
  return { models, ensemble: savedEnsemble ?? (await record(ensembleKey, ensembleScore!)) };
}
