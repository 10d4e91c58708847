import { DEFAULT_INTERPOLATION_POINTS } from '../merge/interpolation.js';
import { z } from 'zod';
import { aligners } from '../align/aligners.js';
import { batchNormModes } from '../align/batchNormModes.js';
import { backendNames } from '../backend/selectBackend.js';
import { mnistDataset } from '../data/registry.js';
import { alphaInits } from '../merge/alphaInits.js';
import { mergers } from '../merge/mergers.js';
import { strategies } from '../merge/strategies.js';
import { mlpFamily } from '../nn/mlp.js';
import { scheduleKinds } from '../train/schedule.js';
import { optimizerKinds } from '../train/trainModel.js';
import type { MethodEntry } from '../util/methodEntry.js';
import { Registry } from '../util/registry.js';

/**
 * The recipe: one experiment, as a YAML or JSON file in recipes/. Every number that matters lives here,
 * with its default in this one place. Unknown fields are errors. The method names and each method's
 * own settings come from the registries (aligners, BatchNorm modes, mergers, alpha inits), so a
 * method registered at run time is a valid choice with its settings.
 */

/** Lists where each entry names one variant to run: a repeat would run (and report) it twice. */
const noRepeats = (items: readonly (string | number)[]) => new Set(items).size === items.length;

/** A zod enum of a registry's names (the registries are never empty). */
const namesOf = (registry: Registry<{ name: string; description: string }>) => z.enum(registry.names() as [string, ...string[]]);

/** The settings every listed method declares, as the fields of one recipe section (a shared field is one schema). */
function methodFields(entries: readonly MethodEntry[], section: string): z.ZodRawShape {
  const fields: Record<string, z.ZodRawShape[string]> = {};
  for (const entry of entries) {
    for (const [key, schema] of Object.entries(entry.options)) {
      if (fields[key] !== undefined && fields[key] !== schema) throw new Error(`${section}.${key} is declared by two methods with different schemas (the second: ${entry.name})`);
      fields[key] = schema;
    }
  }
  return fields;
}

function buildRecipeSchema() {
  return z.strictObject({
    name: z
      .string()
      .min(1)
      .max(128)
      .regex(/^[\w.-]+$/, 'expected letters, digits, "_", "-" and "." only')
      .refine((name) => !/^\.+$/.test(name), 'expected a name that is not only dots (it names the folder reports/<name>/)')
      .describe('run name: results go to reports/<name>/'),
    seed: z.number().int().nonnegative().default(0).describe("seed of the data split; each base model's seed derives from it"),
    repeats: z
      .number()
      .int()
      .positive()
      .max(100)
      .default(1)
      .describe('independent repeats of the whole experiment with seeds seed, seed + 1, ...: every figure becomes a mean ± std'),
    backend: z.enum(backendNames).default('auto').describe('TensorFlow.js backend'),
    data: z
      .strictObject({
        dataset: z.string().default(mnistDataset.name).describe('dataset'),
        split: z
          .strictObject({
            train: z.number().int().positive().optional(),
            merge: z.number().int().positive().optional(),
            test: z.number().int().positive().optional(),
          })
          .default({})
          .describe("examples per split; the dataset's defaults where omitted"),
        cacheDir: z.string().min(1).default('data').describe('where decoded datasets are cached'),
      })
      .prefault({}),
    model: z
      .strictObject({
        family: z.string().default(mlpFamily.name).describe('model family'),
        config: z.record(z.string(), z.unknown()).default({}).describe("the family's settings; each has defaults"),
      })
      .prefault({}),
    train: z
      .strictObject({
        models: z.number().int().min(2).default(2).describe('independently trained base models (A, B, ...)'),
        epochs: z.number().int().positive().default(10).describe('base-model training epochs'),
        batchSize: z.number().int().positive().default(128).describe('base-model batch size'),
        optimizer: z.enum(optimizerKinds).default(optimizerKinds[0]).describe('base-model optimizer: SGD with momentum, or Adam'),
        learningRate: z.number().positive().default(0.05).describe('base-model (peak) learning rate'),
        momentum: z.number().min(0).max(1).default(0.9).describe('SGD momentum'),
        weightDecay: z.number().nonnegative().default(0).describe("L2 penalty, as PyTorch SGD's weight_decay"),
        schedule: z.enum(scheduleKinds).default(scheduleKinds[0]).describe('learning-rate decay after warm-up'),
        warmupEpochs: z.number().nonnegative().default(0).describe('epochs of linear learning-rate warm-up'),
        augment: z
          .strictObject({
            cropPadding: z.number().int().nonnegative().default(0).describe('random crop after this much zero padding'),
            flip: z.boolean().default(false).describe('random horizontal flips'),
          })
          .nullable()
          .default(null)
          .describe('image augmentation; null for none'),
      })
      .prefault({}),
    align: z
      .strictObject({
        methods: z.array(namesOf(aligners)).min(1).refine(noRepeats, 'expected each method at most once').default(aligners.names()).describe('alignment methods'),
        batchNorm: namesOf(batchNormModes).default(batchNormModes.names()[0]!).describe('BatchNorm under alignment'),
        batchSize: z.number().int().positive().default(500).describe('examples per batch of the alignment statistics'),
        ...methodFields(aligners.list(), 'align'),
      })
      .prefault({}),
    merge: z
      .strictObject({
        alphas: z.array(namesOf(mergers)).min(1).refine(noRepeats, 'expected each kind at most once').default(mergers.names()).describe('merge methods (alpha kinds)'),
        ...methodFields([...mergers.list(), ...alphaInits.list()], 'merge'),
        resetExamples: z
          .number()
          .int()
          .positive()
          .default(5000)
          .describe("training examples on which a merged BatchNorm network's statistics are recomputed"),
        interpolationPoints: z
          .number()
          .int()
          .refine((n) => n === 0 || n >= 2, 'expected 0 (no curve) or at least 2 points')
          .default(DEFAULT_INTERPOLATION_POINTS)
          .describe("evenly spaced t in [0, 1] where W(t) = t W_A + (1 - t) W_B' is evaluated for each alignment (interpolation curve, loss barrier); 0 for none"),
      })
      .prefault({}),
    many: z
      .strictObject({
        models: z
          .array(z.number().int().min(2))
          .min(1)
          .refine(noRepeats, 'expected each count at most once')
          .describe('N: merge the first N base models into one, for each N listed (each at most train.models)'),
        strategies: z
          .array(z.strictObject({ strategy: namesOf(strategies), align: namesOf(aligners), alpha: namesOf(mergers) }))
          .min(1)
          .refine((list) => noRepeats(list.map((entry) => JSON.stringify(entry))), 'expected each strategy variant at most once')
          .describe('how to merge them: each a strategy with an alignment method and a merge method (alpha kind)'),
        ...methodFields(strategies.list(), 'many'),
      })
      .nullable()
      .default(null)
      .describe('merging many models (besides models A and B); null for none'),
  });
}

export type RecipeSchema = ReturnType<typeof buildRecipeSchema>;

let built: { version: number; schema: RecipeSchema } | undefined;

/** The recipe schema for the methods registered now (rebuilt when a registry changes). */
export function recipeSchema(): RecipeSchema {
  if (built?.version !== Registry.version) built = { version: Registry.version, schema: buildRecipeSchema() };
  return built.schema;
}

/** A recipe as written (defaults optional). */
export type RecipeInput = z.input<RecipeSchema>;
/** A recipe with every default filled in. */
export type Recipe = z.output<RecipeSchema>;
