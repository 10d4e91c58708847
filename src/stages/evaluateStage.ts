import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { dataInfoOf, ensureSameArchitecture, ensureSameData, modelKinds, readCheckpointInfo, type CheckpointInfo, type DataInfo } from '../artifacts/checkpoint.js';
import { evaluateEnsemble, evaluateModel, type Evaluation } from '../eval/evaluate.js';
import { writeJsonAtomic } from '../io/atomicWrite.js';
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
 * when its result is missing).
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
  const examples = (loaded: Awaited<ReturnType<StageContext['data']>>) => (split === 'test' ? loaded.test() : loaded.merge());
  const evaluate = async (key: string, work: (test: Awaited<ReturnType<StageContext['data']>>) => Promise<Evaluation>): Promise<EvaluationRecord> => {
    const saved = await savedEvaluation(options.store, key);
    if (saved) return saved;
    const loaded = await ctx.data(data);
    const record = { key, ...(await work(loaded)) };
    if (options.store !== undefined) await writeJsonAtomic(evaluationPath(options.store, key), record);
    return record;
  };
  const models: EvaluationRecord[] = [];
  for (const [i, path] of paths.entries()) {
    models.push(
      await evaluate(evaluationKey([infos[i]!.key], data, split), async (loaded) => {
        const { spec, params } = await ctx.checkpoint(path);
        return ctx.time('evaluate', () => evaluateModel(spec, params, examples(loaded)));
      }),
    );
  }
  if (!options.ensemble || paths.length < 2) return { models };
  const ensemble = await evaluate(evaluationKey(infos.map((info) => info.key), data, split), async (loaded) => {
    const members = await Promise.all(paths.map((path) => ctx.checkpoint(path)));
    members.slice(1).forEach((member, i) => ensureSameArchitecture(members[0]!, paths[0]!, member, paths[i + 1]!));
    return ctx.time('evaluate', () => evaluateEnsemble(members[0]!.spec, members.map((m) => m.params), examples(loaded)));
  });
  return { models, ensemble };
}
