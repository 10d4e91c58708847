import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { AlignMethod, AlphaKind } from '../eval/metrics.js';

/** Where each stage of a run writes its files, under reports/<name>/. */
export function runPaths(dir: string) {
  return {
    dir,
    recipe: join(dir, 'recipe.json'),
    model: (index: number) => join(dir, 'models', `model-${index}.safetensors`),
    /** Training in progress, saved after every epoch; removed when the model is finished. */
    trainState: (index: number) => join(dir, 'models', `model-${index}.training.safetensors`),
    aligned: (align: AlignMethod) => join(dir, 'aligned', `model-1-${align}.safetensors`),
    masks: (align: AlignMethod, alpha: AlphaKind) => join(dir, 'masks', `${align}-${alpha}.safetensors`),
    metrics: join(dir, 'metrics.json'),
    summary: join(dir, 'summary.md'),
    figures: join(dir, 'figures'),
  };
}

export type RunPaths = ReturnType<typeof runPaths>;

/** A short, stable hash of a JSON value, for "was this file made from the same settings?" checks. */
export function configHash(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 16);
}
