import { z } from 'zod';
import { InputError } from '../util/errors.js';
import { Registry, type RegistryEntry } from '../util/registry.js';
import { mlpSpec } from './mlp.js';
import { resnetSpec } from './resnet.js';
import { vggSpec } from './vgg.js';
import type { ModelSpec } from './spec.js';

/** An architecture family: builds a spec from its configuration and the data's shape. */
export interface FamilyEntry extends RegistryEntry {
  configSchema: z.ZodType<Record<string, unknown>>;
  /** Whether diagonalFisher can compute this family's Fisher information (dense layers only). */
  supportsFisher: boolean;
  build(config: Record<string, unknown>, inputShape: number[], numClasses: number): ModelSpec;
}

const mlpConfig = z.strictObject({
  hidden: z.array(z.number().int().positive()).min(1).default([512, 512]).describe('hidden layer widths'),
});

const vggConfig = z.strictObject({
  layout: z
    .union([z.literal('vgg11'), z.array(z.union([z.number().int().positive(), z.literal('M')])).min(1)])
    .default('vgg11')
    .describe('vgg11, or a list of conv widths and "M" (max-pool)'),
  width: z.number().positive().default(1).describe('channel multiplier'),
  batchNorm: z.boolean().default(true),
}).superRefine((config, context) => {
  if (Array.isArray(config.layout) && config.layout.every((item) => item === 'M')) {
    context.addIssue({ code: 'custom', path: ['layout'], input: config.layout, message: 'expected at least one convolution width besides "M"' });
  }
});

const resnetConfig = z.strictObject({
  blocks: z.array(z.number().int().positive()).min(1).default([3, 3, 3]).describe('BasicBlocks per stage; [3,3,3] is ResNet20'),
  widths: z.array(z.number().int().positive()).min(1).default([16, 32, 64]).describe('channels per stage'),
  width: z.number().positive().default(1).describe('channel multiplier'),
  batchNorm: z.boolean().default(true),
}).superRefine((config, context) => {
  if (config.blocks.length !== config.widths.length) {
    context.addIssue({
      code: 'custom',
      path: ['widths'],
      input: config.widths,
      message: `expected one width per stage, as many as model.config.blocks (${config.blocks.length})`,
    });
  }
});

export const families = new Registry<FamilyEntry>('model family', [
  {
    name: 'mlp',
    description: 'multilayer perceptron with ReLU hidden layers; each hidden layer is one feature space',
    configSchema: mlpConfig,
    supportsFisher: true,
    build: (config, inputShape, numClasses) => mlpSpec(mlpConfig.parse(config), inputShape, numClasses),
  },
  {
    name: 'vgg',
    description: 'VGG: 3x3 convolutions, optional BatchNorm, max-pools, global average pooling, linear classifier',
    reference: 'https://arxiv.org/abs/1409.1556',
    configSchema: vggConfig,
    supportsFisher: false,
    build: (config, inputShape, numClasses) => vggSpec(vggConfig.parse(config), inputShape, numClasses),
  },
  {
    name: 'resnet',
    description: 'CIFAR ResNet of BasicBlocks with BatchNorm; each stage\'s residual stream is one feature space',
    reference: 'https://arxiv.org/abs/1512.03385',
    configSchema: resnetConfig,
    supportsFisher: false,
    build: (config, inputShape, numClasses) => resnetSpec(resnetConfig.parse(config), inputShape, numClasses),
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

/** A family's configuration checked against its schema, naming `source` and the field in errors. */
export function parseFamilyConfig(family: FamilyEntry, config: unknown, source: string): Record<string, unknown> {
  const parsed = family.configSchema.safeParse(config);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.length ? `.${issue.path.join('.')}` : '';
    throw new InputError(`${source}: ${family.name} config${field}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}

/** Rebuilds a spec from a record, naming `source` in errors. */
export function specFromRecord(record: ArchitectureRecord, source: string): ModelSpec {
  const family = families.get(record.family);
  return family.build(parseFamilyConfig(family, record.config, source), record.inputShape, record.numClasses);
}
