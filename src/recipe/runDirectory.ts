import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { AlignMethod, AlphaKind } from '../eval/metrics.js';

/** Where each stage of a run writes its files, under reports/<name>/. */
export function runPaths(dir: string) {
  const models = join(dir, 'models');
  const aligned = join(dir, 'aligned');
  const masks = join(dir, 'masks');
  const merges = join(dir, 'merges');
  return {
    dir,
    recipe: join(dir, 'recipe.json'),
    model: (index: number) => join(models, `model-${index}.safetensors`),
    /** Training in progress, saved after every epoch; removed when the model is finished. */
    trainState: (index: number) => join(models, `model-${index}.training.safetensors`),
    alignedDir: aligned,
    aligned: (align: AlignMethod) => join(aligned, `model-1-${align}.safetensors`),
    masksDir: masks,
    mergesDir: merges,
    masks: (align: AlignMethod, alpha: AlphaKind) => join(masks, `${align}-${alpha}.safetensors`),
    /** Learned-alpha training in progress, saved at each validation; removed when it finishes. */
    alphaState: (align: AlignMethod, alpha: AlphaKind) => join(masks, `${align}-${alpha}.training.safetensors`),
    /** A finished merge variant's metrics (and alpha curves): written last, so its presence means done. */
    mergeResult: (align: AlignMethod, alpha: AlphaKind) => join(merges, `${align}-${alpha}.json`),
    metrics: join(dir, 'metrics.json'),
    summary: join(dir, 'summary.md'),
    figures: join(dir, 'figures'),
  };
}

export type RunPaths = ReturnType<typeof runPaths>;

/** Removes everything a run derives from its base models: alignments, masks, merges, metrics, report. */
export async function removeDerivedOutputs(paths: RunPaths): Promise<void> {
  for (const output of [paths.alignedDir, paths.masksDir, paths.mergesDir, paths.metrics, paths.summary, paths.figures]) {
    await rm(output, { recursive: true, force: true });
  }
}

/**
 * A short, stable hash of a JSON value, for "was this file made from the same settings?" checks.
 * Object keys are sorted first, so the order fields are written in (a recipe's YAML) does not count.
 */
export function configHash(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(canonical(value))).digest('hex').slice(0, 16);
}

/** `value` with every object's keys in sorted order. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(Object.keys(value).sort().map((key) => [key, canonical((value as Record<string, unknown>)[key])]));
}

/**
 * The first field where two recipes differ, as `path: old → new`, or undefined when they are equal.
 * Used to refuse resuming a run directory with a recipe other than the one that started it.
 */
export function recipeChange(saved: unknown, current: unknown, path = ''): string | undefined {
  if (JSON.stringify(saved) === JSON.stringify(current)) return undefined;
  const bothObjects = typeof saved === 'object' && saved !== null && typeof current === 'object' && current !== null;
  if (!bothObjects || Array.isArray(saved) || Array.isArray(current)) {
    return `${path || '(the recipe)'}: ${JSON.stringify(saved)} → ${JSON.stringify(current)}`;
  }
  const keys = [...new Set([...Object.keys(saved), ...Object.keys(current)])];
  for (const key of keys) {
    const change = recipeChange((saved as Record<string, unknown>)[key], (current as Record<string, unknown>)[key], path ? `${path}.${key}` : key);
    if (change) return change;
  }
  return undefined;
}
