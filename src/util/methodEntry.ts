import type { z } from 'zod';
import type { RegistryEntry } from './registry.js';

/**
 * A registered method (aligner, merger, alpha init): besides its name, description and reference it
 * declares the settings it reads, as zod fields of its recipe section (`align` or `merge`). The recipe
 * schema is assembled from these declarations, and an artifact's key holds exactly the settings of
 * the methods that made it, so changing one method's setting redoes only that method's work.
 */
export interface MethodEntry extends RegistryEntry {
  /** The recipe fields this method reads, with their defaults and descriptions. */
  readonly options: z.ZodRawShape;
}

/** The values of `entry`'s own settings in a parsed recipe section. */
export function optionsOf(entry: MethodEntry, section: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.keys(entry.options).map((key) => [key, section[key]]));
}

/**
 * Why a method cannot run on a given model or data: the reason, and the recipe field to change when it
 * is not the one that chose the method (e.g. `data.split.merge`).
 */
export interface Refusal {
  reason: string;
  field?: string;
}
