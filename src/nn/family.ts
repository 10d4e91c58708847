import type { z } from 'zod';
import type { RegistryEntry } from '../util/registry.js';
import { validateSpec, type ModelSpec } from './spec.js';

/** An architecture family: builds a spec from its configuration and the data's shape. */
export interface FamilyEntry extends RegistryEntry {
  /** The family's settings (`model.config` in a recipe), with their defaults. */
  configSchema: z.ZodType<Record<string, unknown>>;
  /** A validated spec; `config` is parsed against `configSchema` first (defaults filled in). */
  build(config: Record<string, unknown>, inputShape: number[], numClasses: number): ModelSpec;
  /**
   * The configuration of the same network with each BatchNorm folded into the convolution before it
   * (convolutions with biases, no BatchNorm); absent where the family has no such form.
   */
  withoutBatchNorm?(config: Record<string, unknown>): Record<string, unknown>;
}

/** What a family file writes: its entry, with a build function that returns the spec without its name. */
export interface FamilyDefinition<C extends Record<string, unknown>> extends RegistryEntry {
  configSchema: z.ZodType<C>;
  build(config: C, inputShape: number[], numClasses: number): Omit<ModelSpec, 'family'>;
  withoutBatchNorm?(config: C): C;
}

/**
 * A registry entry from a family definition: `build` parses the configuration, names the spec after
 * the family and validates its structure (see validateSpec).
 */
export function defineFamily<C extends Record<string, unknown>>(definition: FamilyDefinition<C>): FamilyEntry {
  const { configSchema, build, withoutBatchNorm } = definition;
  return {
    name: definition.name,
    description: definition.description,
    ...(definition.reference ? { reference: definition.reference } : {}),
    configSchema: configSchema as unknown as z.ZodType<Record<string, unknown>>,
    build: (config, inputShape, numClasses) =>
      validateSpec({ family: definition.name, ...build(configSchema.parse(config), inputShape, numClasses) }),
    ...(withoutBatchNorm ? { withoutBatchNorm: (config) => withoutBatchNorm(configSchema.parse(config)) } : {}),
  };
}
