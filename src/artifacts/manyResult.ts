import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { writeJsonAtomic } from '../io/atomicWrite.js';
import { readKeyedRecord } from '../io/keyedRecord.js';

/**
 * The record of one many-model merge: which strategy merged which base models with which alignment
 * and merge settings, and every merge it made on the way (its tree). The merged models themselves
 * are checkpoints beside it; this file ties them together, so the report can show every strategy
 * and N a run directory has seen, and a run that finds it (with its root model) skips the strategy.
 */

const variant = z.object({ method: z.string(), options: z.record(z.string(), z.unknown()) });

/** A model in the tree: a base model (a leaf) or a merge, with the file that holds it. */
const treeNodeRecord = z.strictObject({
  /** The base model's name ("model 3"), or the merge's key. */
  id: z.string(),
  /** The checkpoint, relative to the run directory. */
  path: z.string(),
  level: z.number().int().nonnegative(),
  /** The ids of the nodes merged here, the one the others were aligned to first. */
  inputs: z.array(z.string()),
  /** The base models under it, by name, in order. */
  members: z.array(z.string()),
});

const manyResultSchema = z.strictObject({
  kind: z.literal('many'),
  key: z.string(),
  strategy: variant,
  /** The alignment used at each step, as aligned checkpoints record it. */
  align: variant.extend({ batchNorm: z.string().optional(), batchSize: z.number().optional(), seed: z.number().optional() }),
  /** The merge used at each step: its method and settings, and the BatchNorm reset where there is one. */
  merge: variant.extend({ resetExamples: z.number().optional() }),
  /** Keys of the base models merged, in the run's order. */
  models: z.array(z.string()).min(2),
  /** Every node, the leaves first and the root last. */
  tree: z.array(treeNodeRecord).min(1),
});

export type ManyResult = z.infer<typeof manyResultSchema>;
export type TreeNodeRecord = z.infer<typeof treeNodeRecord>;

/** Writes a many-model record atomically. */
export async function writeManyResult(path: string, result: ManyResult): Promise<void> {
  await writeJsonAtomic(path, result);
}

/** The record at `path`, when it is one (of key `key`, when given); anything else reads as none. */
export function readManyResult(path: string, key?: string): Promise<ManyResult | undefined> {
  return readKeyedRecord(path, manyResultSchema, key);
}

/** Every readable record in `folder`, in file-name order. */
export async function readManyResults(folder: string): Promise<ManyResult[]> {
  if (!existsSync(folder)) return [];
  const found: ManyResult[] = [];
  for (const name of (await readdir(folder)).filter((file) => file.endsWith('.json')).sort()) {
    const result = await readManyResult(join(folder, name));
    if (result) found.push(result);
  }
  return found;
}
