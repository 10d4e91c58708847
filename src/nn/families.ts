import { z } from 'zod';
import { InputError } from '../util/errors.js';
import { Registry, type RegistryEntry } from '../util/registry.js';
import { mlpSpec } from './mlp.js';
import type { ModelSpec } from './spec.js';

/** An architecture family: builds a spec from its configuration and the data's shape. */
export interface FamilyEntry extends RegistryEntry {
  configSchema: z.ZodType<Record<string, unknown>>;
  build(config: Record<string, unknown>, inputShape: number[], numClasses: number): ModelSpec;
}

const mlpConfig = z.strictObject({
  hidden: z.array(z.number().int().positive()).min(1).describe('hidden layer widths'),
});

export const families = new Registry<FamilyEntry>('model family', [
  {
    name: 'mlp',
    description: 'multilayer perceptron with ReLU hidden layers; each hidden layer is one feature space',
    configSchema: mlpConfig,
    build: (config, inputShape, numClasses) => mlpSpec(mlpConfig.parse(config), inputShape, numClasses),
  },
]);

/** What a checkpoint records to rebuild its spec. */
export interface ArchitectureRecord {
  family: string;
  config: Record<string, unknown>;
  inputShape: number[];
  numClasses: number;
}

export function architectureRecord(spec: ModelSpec): ArchitectureRecord {
  return { family: spec.family, config: spec.config, inputShape: spec.inputShape, numClasses: spec.numClasses };
}

/** Rebuilds a spec from a record, naming `source` in errors. */
export function specFromRecord(record: ArchitectureRecord, source: string): ModelSpec {
  const family = families.get(record.family);
  const parsed = family.configSchema.safeParse(record.config);
  if (!parsed.success) {
    throw new InputError(`${source}: invalid ${record.family} config: ${parsed.error.issues[0]?.message ?? 'unknown problem'}`);
  }
  return family.build(parsed.data, record.inputShape, record.numClasses);
}
