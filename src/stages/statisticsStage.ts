import { existsSync } from 'node:fs';
import { collectSpaceMoments, type SpaceMoments } from '../align/moments.js';
import type { DataInfo } from '../artifacts/checkpoint.js';
import { readSafetensors, writeSafetensors, type NamedArrays } from '../io/safetensors.js';
import type { ModelSpec, ParamMap } from '../nn/spec.js';
import { settingsKey } from '../util/hash.js';
import type { StageContext } from './context.js';

/** Models A and B in one prepared form. */
export interface ModelPair {
  spec: ModelSpec;
  paramsA: ParamMap;
  paramsB: ParamMap;
}

/** The arrays of one space's moments, stored as `<space>/<name>` in float64. */
const momentArrays = ['meanA', 'meanB', 'covAA', 'covBB', 'covAB'] as const;

/** What the statistics of a pair depend on: both models (in their prepared form) and the batch size. */
export function statisticsKey(keyA: string, keyB: string, form: string | undefined, batchSize: number): string {
  return settingsKey({ kind: 'statistics', models: [keyA, keyB], form, batchSize });
}

async function readMoments(path: string, key: string): Promise<SpaceMoments[] | undefined> {
  if (!existsSync(path)) return undefined;
  const { tensors, metadata } = await readSafetensors(path).catch(() => ({ tensors: {} as NamedArrays, metadata: {} as Record<string, string> }));
  if (metadata.key !== key) return undefined;
  const spaces = JSON.parse(metadata.spaces ?? '[]') as { space: string; size: number; count: number }[];
  return spaces.map(({ space, size, count }) => {
    const array = (name: (typeof momentArrays)[number]) => tensors[`${space}/${name}`]!.data as Float64Array;
    return { space, size, count, meanA: array('meanA'), meanB: array('meanB'), covAA: array('covAA'), covBB: array('covBB'), covAB: array('covAB') };
  });
}

async function writeMoments(path: string, key: string, moments: SpaceMoments[]): Promise<void> {
  const arrays: NamedArrays = {};
  for (const m of moments) {
    for (const name of momentArrays) arrays[`${m.space}/${name}`] = { shape: name.startsWith('mean') ? [m.size] : [m.size, m.size], data: m[name] };
  }
  await writeSafetensors(path, arrays, { key, spaces: JSON.stringify(moments.map(({ space, size, count }) => ({ space, size, count }))) });
}

/**
 * The statistics stage: first and second moments of every feature space of models A and B (both in
 * the same prepared form) on the merge split of `data`. Read from `out` when it holds them for the
 * same key; otherwise streamed from the data and, when `out` is given, saved there (float64).
 */
export async function statisticsStage(
  models: ModelPair,
  data: DataInfo,
  key: string,
  batchSize: number,
  out: string | undefined,
  ctx: StageContext,
): Promise<SpaceMoments[]> {
  const saved = out === undefined ? undefined : await readMoments(out, key);
  if (saved) return saved;
  const merge = (await ctx.data(data)).merge();
  const moments = await ctx.timed('statistics', () => collectSpaceMoments(models.spec, models.paramsA, models.paramsB, merge, batchSize));
  if (out !== undefined) await writeMoments(out, key, moments);
  return moments;
}
